import type { IScheduledTaskInfo, ITaskEvent, ITaskMetadata, IWaitingRunInfo, TaskManager } from 'taskbuffer';

/** Something to subscribe to with an observer, as rxjs Subjects are. */
export interface ISubscribableLike<T> {
  subscribe(observer: { next: (value: T) => void; error?: (error: unknown) => void }): { unsubscribe(): void };
}

/** A constraint group's state, as `TaskManager.getConstraintGroupStates()` returns it. */
export type IConstraintGroupView = ReturnType<TaskManager['getConstraintGroupStates']>[number];

/**
 * What the dashboard reads of a manager: a TaskManager is one, and so is a mirror of a
 * manager on another machine (`RemoteManagerMirror`, over the gateway). Every read is
 * synchronous; a mirror answers from what it fetched last, and says through `mirror`
 * when it has fetched again.
 */
export interface IDashboardSource {
  readonly taskSubject: ISubscribableLike<ITaskEvent>;
  /** Group pauses and resumes, when the source tells them. */
  readonly constraintGroupSubject?: ISubscribableLike<unknown>;
  /** The registered tasks, when the source tells their adds and removals. */
  readonly taskMap?: {
    readonly length: number;
    readonly eventSubject?: ISubscribableLike<{ operation: string; payload?: { name?: string } }>;
  };
  getAllTasksMetadata(): ITaskMetadata[];
  getTaskMetadata(name: string): ITaskMetadata | null;
  getScheduledTasks(): IScheduledTaskInfo[];
  getConstraintGroupStates(): IConstraintGroupView[];
  /** Absent on a manager from before it (another copy of the package). */
  getWaitingRuns?(limit?: number): IWaitingRunInfo[];
  /**
   * For a source that copies another machine's state: the dashboard's polls call `fetch()`
   * instead of reading at once, and read when `fetched` fires: everything after `all`,
   * the groups and waiting runs after `waits`.
   */
  readonly mirror?: {
    fetch(): void;
    readonly fetched: ISubscribableLike<'all' | 'waits'>;
  };
}
