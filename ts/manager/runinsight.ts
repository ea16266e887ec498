import type { AnyTask } from '../task/task.js';
import type { AnyGroup } from './constraintgroup.js';
import { ConstrainedRun, HOLDING, keyAt, REQUEUED, type RunLine } from './managedrun.js';
import type { IPlainWaiter } from './waitline.js';
import type { WaitingRuns } from './waitingruns.js';
import type { IKeyHolder, IWaitingRunInfo, TWaitReason } from './waitreasons.js';

const NO_HOLDERS: readonly IKeyHolder[] = Object.freeze([]);

/**
 * Who holds which key and why each waiting run waits, read on demand by walking the runs
 * started and the lines (see waitreasons.ts). Nothing here is kept while runs go: asking
 * costs a walk, triggering costs nothing more.
 */
export class RunInsight {
  /** Holders per group, then per key, of the runs that hold their slots now. */
  private readonly holders = new Map<AnyGroup, Map<string, IKeyHolder[]>>();

  constructor(
    private readonly waiters: WaitingRuns,
    /** The started runs, oldest first. */
    private readonly started: readonly ConstrainedRun[],
  ) {
    for (const run of started) if (run.state === HOLDING && run.active !== undefined) this.addHolder(run);
  }

  /** The runs holding a slot of `key` in `group`, oldest first (slots taken by hand with `acquireSlot` have none). */
  holdersOf(group: AnyGroup, key: string): IKeyHolder[] {
    return [...(this.holders.get(group)?.get(key) ?? NO_HOLDERS)];
  }

  /**
   * The runs that wait, at most `limit`: line by line (each line in the order its runs
   * start), then the runs whose start is checked.
   */
  waitingRuns(limit: number): IWaitingRunInfo[] {
    const list: IWaitingRunInfo[] = [];
    this.waiters.keyLines.forEachLine((line) => this.describeLine(line, () => this.reasonInKeyLine(line), list, limit));
    this.waiters.gates.forEachLine((line) => this.describeLine(line, () => reasonAtGate(line.gate!), list, limit));
    for (const run of this.started) {
      if (list.length >= limit) break;
      const reason = reasonBeforeBegin(run);
      if (reason !== undefined) list.push(infoOf(run, 0, reason));
    }
    return list;
  }

  private describeLine(line: RunLine, reasonOf: () => TWaitReason, list: IWaitingRunInfo[], limit: number): void {
    if (list.length >= limit) return;
    const reason = reasonOf();
    for (const [ahead, waiter] of line.inOrder(limit - list.length).entries()) list.push(infoOf(waiter, ahead, reason));
  }

  /** The first waiter of a key line waits for what its key lacks; the others wait for the same, behind it. */
  private reasonInKeyLine(line: RunLine): TWaitReason {
    const group = line.group!;
    const key = line.key;
    const groupName = group.name;
    const running = group.getRunningCount(key);
    if (running >= group.maxConcurrent) {
      const holders = this.holdersOf(group, key);
      return group.maxConcurrent === 1
        ? { kind: 'held', groupName, key, holders }
        : { kind: 'cap', groupName, key, running, max: group.maxConcurrent, holders };
    }
    const remainingMs = group.getCooldownRemaining(key);
    if (remainingMs > 0) return { kind: 'cooldown', groupName, key, remainingMs };
    return { kind: 'queued', groupName, key };
  }

  private addHolder(run: ConstrainedRun): void {
    const active = run.active!;
    const since = active.startTime;
    const holder: IKeyHolder = Number.isFinite(since)
      ? { runId: active.runId, taskName: run.task.name!, since }
      : { runId: active.runId, taskName: run.task.name! };
    run.groups.forEach((group, index) => {
      let byKey = this.holders.get(group);
      if (byKey === undefined) this.holders.set(group, (byKey = new Map()));
      const key = keyAt(run.keys, index);
      const list = byKey.get(key);
      if (list === undefined) byKey.set(key, [holder]);
      else list.push(holder);
    });
  }
}

function reasonAtGate(gate: AnyTask | AnyGroup): TWaitReason {
  // A gate is a paused task or a paused group; only groups have `maxConcurrent`.
  return 'maxConcurrent' in gate ? { kind: 'group-paused', groupName: gate.name } : { kind: 'task-paused' };
}

/**
 * Why a run that holds its local slots has not begun, if it waits for the manager: for a
 * cluster slot, or for a `shouldExecute` it returned a promise for. A task with a trigger of
 * its own (buffered, debounced, once) waits in its own line then, which is not the manager's.
 */
function reasonBeforeBegin(run: ConstrainedRun): TWaitReason | undefined {
  if (run.state !== HOLDING || run.active === undefined || run.active.taskRun !== undefined) return undefined;
  const extras = run.extras;
  if (extras !== undefined && extras.clusterHeld < extras.clusterGroups.length) {
    const index = extras.clusterHeld;
    return { kind: 'cluster-slot', groupName: extras.clusterGroups[index]!.name, key: extras.clusterKeys[index]! };
  }
  return run.task.runsDirectly ? { kind: 'should-execute' } : undefined;
}

function infoOf(waiter: ConstrainedRun | IPlainWaiter, ahead: number, reason: TWaitReason): IWaitingRunInfo {
  const info: IWaitingRunInfo = { taskName: waiter.task.name!, priority: waiter.task.priority, ahead, retry: false, reason };
  if (!(waiter instanceof ConstrainedRun)) return info;
  info.priority = waiter.priority;
  info.retry = waiter.state === REQUEUED;
  const runId = waiter.active?.runId ?? waiter.extras?.runId;
  if (runId !== undefined) info.runId = runId;
  return info;
}
