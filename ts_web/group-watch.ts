import type { IWaitingRunInfo } from 'taskbuffer';
import type { IConstraintGroupView, IDashboardSource } from './dashboard-source.js';
import { KeyTimeline } from './key-timeline.js';

/** Waiting runs listed at most; the rest are counted per key in the group lanes. */
export const WAITING_LISTED = 100;

/**
 * What the dashboard knows about waiting: the constraint groups with the runs holding each
 * key, the runs that wait and why, and the timeline of runs per key. Read together, so that
 * the lanes, the reasons and the timeline agree.
 */
export class GroupWatch {
  groups: IConstraintGroupView[] = [];
  waiting: IWaitingRunInfo[] = [];
  /** Whether the manager lists its waiting runs (`getWaitingRuns`): a manager from an older copy of the package does not. */
  listsWaiting = false;
  readonly timeline = new KeyTimeline();

  /** Reads the groups and the waiting runs now. */
  read(manager: IDashboardSource, now = Date.now()): void {
    this.groups = manager.getConstraintGroupStates();
    // A manager from before getWaitingRuns (another copy of the package) still shows its groups.
    this.listsWaiting = typeof manager.getWaitingRuns === 'function';
    // One more than is shown, to know whether there are more: a burst of 100,000 waiting
    // triggers would otherwise make 100,000 entries at every frame.
    this.waiting = this.listsWaiting ? manager.getWaitingRuns!(WAITING_LISTED + 1) : [];
    this.timeline.observe(this.groups, now);
  }

  /** A run event: its start and end go to the timeline. */
  onRunEvent(type: string, runId: unknown, taskName: string, at: number): void {
    if (typeof runId !== 'string') return;
    if (type === 'started') this.timeline.started(runId, taskName, at);
    else if (type === 'completed' || type === 'failed') this.timeline.ended(runId, type, at);
  }

  /** Whether more runs wait than `waiting` lists. */
  get waitingTruncated(): boolean {
    return this.waiting.length > WAITING_LISTED;
  }

  /** Runs waiting: exact up to `WAITING_LISTED`, beyond it at least those waiting in groups' keys. */
  get waitingCount(): number {
    if (!this.waitingTruncated) return this.waiting.length;
    const inKeys = this.groups.reduce((sum, group) => sum + group.keys.reduce((keys, key) => keys + key.waiting, 0), 0);
    return Math.max(this.waiting.length, inKeys);
  }

  clear(): void {
    this.groups = [];
    this.waiting = [];
    this.timeline.clear();
  }
}
