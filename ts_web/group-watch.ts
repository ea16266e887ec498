import type { IWaitingRunInfo, TaskManager } from 'taskbuffer';
import { KeyTimeline } from './key-timeline.js';

/** A constraint group's state, as `TaskManager.getConstraintGroupStates()` returns it. */
export type IConstraintGroupView = ReturnType<TaskManager['getConstraintGroupStates']>[number];

/**
 * What the dashboard knows about waiting: the constraint groups with the runs holding each
 * key, the runs that wait and why, and the timeline of runs per key. Read together, so that
 * the lanes, the reasons and the timeline agree.
 */
export class GroupWatch {
  groups: IConstraintGroupView[] = [];
  waiting: IWaitingRunInfo[] = [];
  readonly timeline = new KeyTimeline();

  /** Reads the groups and the waiting runs now. */
  read(manager: TaskManager, now = Date.now()): void {
    this.groups = manager.getConstraintGroupStates();
    // A manager from before getWaitingRuns (another copy of the package) still shows its groups.
    this.waiting = typeof manager.getWaitingRuns === 'function' ? manager.getWaitingRuns() : [];
    this.timeline.observe(this.groups, now);
  }

  /** A run event: its start and end go to the timeline. */
  onRunEvent(type: string, runId: unknown, taskName: string, at: number): void {
    if (typeof runId !== 'string') return;
    if (type === 'started') this.timeline.started(runId, taskName, at);
    else if (type === 'completed' || type === 'failed') this.timeline.ended(runId, type, at);
  }

  clear(): void {
    this.groups = [];
    this.waiting = [];
    this.timeline.clear();
  }
}
