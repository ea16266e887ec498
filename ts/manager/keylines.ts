import type { AnyGroup } from './constraintgroup.js';
import { plainRun, type ConstrainedRun, type RunLine } from './managedrun.js';
import { WaitLine } from './waitline.js';

/**
 * The lines of runs waiting for a key of a group that has no room. A blocked run waits in
 * the line of the first key that blocks it, so a release looks only at the line of the
 * key it freed: the cost per trigger does not grow with the number of waiting runs or
 * keys, and a busy key never holds back a free one. A line lives while it has waiters.
 */
export class KeyLines {
  private readonly byGroup = new Map<AnyGroup, Map<string, RunLine>>();

  /** Runs waiting in every line. */
  get waiting(): number {
    let count = 0;
    for (const byKey of this.byGroup.values()) for (const line of byKey.values()) count += line.waitingCount;
    return count;
  }

  get(group: AnyGroup, key: string): RunLine | undefined {
    return this.byGroup.get(group)?.get(key);
  }

  /** The line of `key` in `group`, made if there is none yet. */
  lineOf(group: AnyGroup, key: string): RunLine {
    let byKey = this.byGroup.get(group);
    if (byKey === undefined) this.byGroup.set(group, (byKey = new Map()));
    let line = byKey.get(key);
    if (line === undefined) byKey.set(key, (line = new WaitLine(group, key, undefined, plainRun)));
    return line;
  }

  /**
   * The line of `key` in `group` if it has waiters, found through the run when it came
   * from there (see ConstrainedRun's `cameFrom`) without a lookup.
   */
  waitingLineOf(run: ConstrainedRun, group: AnyGroup, key: string): RunLine | undefined {
    const from = run.cameFrom;
    if (from !== undefined && from.waitingCount > 0 && from.group === group && from.key === key) return from;
    return this.get(group, key);
  }

  /** Forgets an emptied line. */
  remove(line: RunLine): void {
    const byKey = this.byGroup.get(line.group!);
    if (byKey?.get(line.key) !== line) return;
    byKey.delete(line.key);
    if (byKey.size === 0) this.byGroup.delete(line.group!);
  }

  /** Waiting runs per key of `group`, for dashboards. */
  waitingByKey(group: AnyGroup): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [key, line] of this.byGroup.get(group) ?? []) counts.set(key, line.waitingCount);
    return counts;
  }

  /** The lines of `group` (all of them when `key` is undefined, else the one of `key`). */
  linesOf(group: AnyGroup, key: string | undefined): RunLine[] {
    const byKey = this.byGroup.get(group);
    if (byKey === undefined) return [];
    if (key === undefined) return [...byKey.values()];
    const line = byKey.get(key);
    return line === undefined ? [] : [line];
  }

  /** Takes the lines of a group that was removed out of the manager's view. */
  takeGroup(group: AnyGroup): RunLine[] {
    const byKey = this.byGroup.get(group);
    this.byGroup.delete(group);
    return byKey === undefined ? [] : [...byKey.values()];
  }

  /** Takes every line out of the manager's view: the caller takes their runs. */
  takeAll(): RunLine[] {
    const lines: RunLine[] = [];
    for (const byKey of this.byGroup.values()) lines.push(...byKey.values());
    this.byGroup.clear();
    return lines;
  }

  forEachLine(visit: (line: RunLine) => void): void {
    for (const byKey of this.byGroup.values()) byKey.forEach(visit);
  }
}
