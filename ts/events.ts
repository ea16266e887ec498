import type { ITaskMetadata } from './types.js';

/** Fields every task event has. */
interface ITaskEventBase {
  /** A snapshot of the task when the event was emitted (JSON-safe). */
  task: ITaskMetadata;
  /** Epoch milliseconds. */
  timestamp: number;
}

/** A run began (before `preTask` and `taskSetup`). */
export interface ITaskStartedEvent extends ITaskEventBase {
  type: 'started';
}

/** `notifyStep(stepName)` was called during a run. */
export interface ITaskStepEvent extends ITaskEventBase {
  type: 'step';
  stepName: string;
}

/** A run succeeded. */
export interface ITaskCompletedEvent extends ITaskEventBase {
  type: 'completed';
  /** How long the run took, in ms. */
  duration: number;
}

/** A run threw. */
export interface ITaskFailedEvent extends ITaskEventBase {
  type: 'failed';
  /** The error's message. */
  error: string;
  /** How long the run took, in ms. */
  duration: number;
}

/** A try failed and another follows after `delayMs` (the run goes on; no slot is held meanwhile). */
export interface ITaskRetryingEvent extends ITaskEventBase {
  type: 'retrying';
  /** The number of the try that comes next (2 for the first retry). */
  attempt: number;
  delayMs: number;
  /** The failed try's error message. */
  error: string;
}

/** A TaskManager paused the task: its new runs wait until it is resumed. */
export interface ITaskPausedEvent extends ITaskEventBase {
  type: 'paused';
}

/** A TaskManager resumed the task: runs that waited start in order. */
export interface ITaskResumedEvent extends ITaskEventBase {
  type: 'resumed';
}

/** One lifecycle event of a task; switch on `type` to narrow it. */
export type ITaskEvent =
  | ITaskStartedEvent
  | ITaskStepEvent
  | ITaskCompletedEvent
  | ITaskFailedEvent
  | ITaskRetryingEvent
  | ITaskPausedEvent
  | ITaskResumedEvent;

export type TTaskEventType = ITaskEvent['type'];
