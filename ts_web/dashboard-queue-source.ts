import type { IJob, IQueueCounts, TJobState } from 'taskbuffer/client';

export type { IJob, IQueueCounts, TJobState };

/** What the queue view's page reads: the queue's own `listJobs` options. */
export interface IDashboardQueueListOptions {
  state: TJobState;
  limit?: number;
  /** The id of the last job of the previous page. */
  after?: string;
}

/**
 * The durable queue as the dashboard's queue view uses it: a structural interface, so that
 * both a `RedisTaskQueue` (`taskbuffer/redis`, in a Node-rendered or same-process page) and
 * a gateway client's `client.queue` (`taskbuffer/client`, in a browser) fit it unchanged.
 */
export interface IDashboardQueue {
  /** Jobs per state, `paused`, and `waitingWithoutWorker` (waiting jobs of tasks no live worker has). */
  getCounts(): Promise<IQueueCounts>;
  /** A page of jobs in one state, oldest first; `after` is the last id of the previous page. */
  listJobs(options: IDashboardQueueListOptions): Promise<IJob[]>;
  /** One job's record, or `null` when the queue has none by that id. */
  getJob(id: string): Promise<IJob | null>;
  /** Cancels the job; resolves with its state after the call. */
  cancel(id: string, reason?: string): Promise<TJobState>;
  /** Puts a failed or cancelled job back to waiting; resolves with its state after the call. */
  retry(id: string): Promise<TJobState>;
}

/** Each state's place in a job's life; `satisfies` makes a state added to TJobState a compile error here. */
const STATE_ORDER = { waiting: 0, delayed: 1, active: 2, completed: 3, failed: 4, cancelled: 5 } as const satisfies Record<TJobState, number>;

/** Every job state, in the order of a job's life (the order the counts are shown in). */
export const QUEUE_STATES = Object.keys(STATE_ORDER) as readonly TJobState[];

/** States a job can be cancelled in (an active one is aborted where it runs). */
export const CANCELLABLE_STATES: ReadonlySet<TJobState> = new Set(['waiting', 'delayed', 'active']);

/** States a job can be retried from (it goes back to waiting, as new). */
export const RETRYABLE_STATES: ReadonlySet<TJobState> = new Set(['failed', 'cancelled']);
