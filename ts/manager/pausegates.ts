import type { AnyTask } from '../task/task.js';
import type { AnyGroup } from './constraintgroup.js';
import { NO_GROUPS, plainRun, type ConstrainedRun, type RunLine } from './managedrun.js';
import { WaitLine } from './waitline.js';

type TGate = AnyTask | AnyGroup;

/**
 * Paused tasks and groups, and the runs waiting behind each of them. A retry never waits
 * here: it belongs to a run that started before the pause.
 */
export class PauseGates {
  private readonly tasks = new Set<AnyTask>();
  private readonly groups = new Set<AnyGroup>();
  private readonly lines = new Map<TGate, RunLine>();

  /** Whether any task or group is paused: the common answer, no, is one check. */
  get any(): boolean {
    return this.tasks.size > 0 || this.groups.size > 0;
  }

  /** Runs waiting behind gates. */
  get waiting(): number {
    let count = 0;
    for (const line of this.lines.values()) count += line.waitingCount;
    return count;
  }

  isPaused(gate: TGate): boolean {
    return this.tasks.has(gate as AnyTask) || this.groups.has(gate as AnyGroup);
  }

  pauseTask(task: AnyTask): void {
    this.tasks.add(task);
  }

  pauseGroup(group: AnyGroup): void {
    this.groups.add(group);
  }

  /** Opens the gate; returns the line of runs that waited behind it, to be placed again. */
  open(gate: TGate): RunLine | undefined {
    if (!this.tasks.delete(gate as AnyTask) && !this.groups.delete(gate as AnyGroup)) return undefined;
    const line = this.lines.get(gate);
    this.lines.delete(gate);
    return line;
  }

  /** The paused task or group that holds `run` back, if any. */
  gateOf(run: ConstrainedRun): TGate | undefined {
    if (this.tasks.size > 0 && this.tasks.has(run.task)) return run.task;
    if (this.groups.size > 0) {
      for (const group of run.groups) if (this.groups.has(group)) return group;
      for (const group of run.extras?.clusterGroups ?? NO_GROUPS) if (this.groups.has(group)) return group;
    }
    return undefined;
  }

  /** The line behind `gate`, made if there is none yet. */
  lineOf(gate: TGate): RunLine {
    let line = this.lines.get(gate);
    if (line === undefined) this.lines.set(gate, (line = new WaitLine(undefined, '', gate, plainRun)));
    return line;
  }

  /** Forgets an emptied line. */
  remove(line: RunLine): void {
    if (this.lines.get(line.gate!) === line) this.lines.delete(line.gate!);
  }

  /** Every line, emptied of the manager's view: the caller takes their runs. */
  takeAll(): RunLine[] {
    const lines = [...this.lines.values()];
    this.lines.clear();
    return lines;
  }

  forEachLine(visit: (line: RunLine) => void): void {
    this.lines.forEach(visit);
  }
}
