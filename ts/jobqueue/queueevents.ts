import type { IJobError } from './queueerrors.js';

/** Fields every queue event has. */
interface IQueueEventBase {
  jobId: string;
  taskName: string;
  /** The instance that caused the event: the producer for `added`, the caller for `retried`, else the worker. */
  instanceId: string;
  /** Epoch ms, Redis's clock. */
  timestamp: number;
}

/** A job was added (not sent for an idempotent `add` of an id that exists). */
export interface IJobAddedEvent extends IQueueEventBase {
  type: 'added';
}

/** A worker took the job and starts try number `attempt`. */
export interface IJobStartedEvent extends IQueueEventBase {
  type: 'started';
  attempt: number;
}

/** The job's task began a step; `progress` is the task's progress then (the steps before it, completed). */
export interface IJobStepEvent extends IQueueEventBase {
  type: 'step';
  stepName: string;
  progress: number;
}

/** The job's progress (0–100) changed. */
export interface IJobProgressEvent extends IQueueEventBase {
  type: 'progress';
  progress: number;
}

/** A try failed; try number `attempt` follows after `delayMs` (kept in Redis). */
export interface IJobRetryingEvent extends IQueueEventBase {
  type: 'retrying';
  attempt: number;
  delayMs: number;
  error: IJobError;
}

/** The job succeeded; read its result with `getJob` or `waitForResult`. */
export interface IJobCompletedEvent extends IQueueEventBase {
  type: 'completed';
}

/** The job failed for good (its last attempt, or too many stalls). */
export interface IJobFailedEvent extends IQueueEventBase {
  type: 'failed';
  error: IJobError;
}

/** The job was cancelled. */
export interface IJobCancelledEvent extends IQueueEventBase {
  type: 'cancelled';
  error: IJobError;
}

/** A failed or cancelled job was put back to waiting by `retry`: it runs again from its first try. */
export interface IJobRetriedEvent extends IQueueEventBase {
  type: 'retried';
}

/** The job's worker stopped renewing its lease (it died, or its event loop was blocked): it runs again elsewhere. */
export interface IJobStalledEvent extends IQueueEventBase {
  type: 'stalled';
  /** `instanceId` is the worker that lost it; this is how often the job stalled so far. */
  stalls: number;
}

/** One event of a RedisTaskQueue job, from any instance; switch on `type` to narrow it. */
export type IQueueEvent =
  | IJobAddedEvent
  | IJobStartedEvent
  | IJobStepEvent
  | IJobProgressEvent
  | IJobRetryingEvent
  | IJobCompletedEvent
  | IJobFailedEvent
  | IJobCancelledEvent
  | IJobStalledEvent
  | IJobRetriedEvent;

export type TQueueEventType = IQueueEvent['type'];
