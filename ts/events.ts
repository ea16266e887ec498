import type { ITaskMetadata } from './types.js';

/** Fields every task event has. */
interface ITaskEventBase {
  /**
   * Task events carry no `scope`; constraint group events carry `scope: 'group'`. In an
   * `ITaskbufferEvent`, `event.scope === 'group'` tells the two apart.
   */
  scope?: undefined;
  /** A snapshot of the task when the event was emitted (JSON-safe). */
  task: ITaskMetadata;
  /** Epoch milliseconds. */
  timestamp: number;
}

/** Fields every event of one run has. */
interface ITaskRunEventBase extends ITaskEventBase {
  /**
   * The run the event belongs to: the trigger's `runId` option, else an id made for the
   * run, unique across processes (e.g. `3f9c01ab-42`). Every event of a run has the same
   * one, across its retries; the task function reads it as `context.runId`.
   */
  runId: string;
}

/** A run began (before `preTask` and `taskSetup`). */
export interface ITaskStartedEvent extends ITaskRunEventBase {
  type: 'started';
}

/**
 * `notifyStep(stepName)` was called during a run. Steps belong to the task, so while runs
 * of one task overlap, `runId` is the run that started last.
 */
export interface ITaskStepEvent extends ITaskRunEventBase {
  type: 'step';
  stepName: string;
}

/**
 * The task function called `context.update(payload)`: a progress message of the run's
 * own, such as the bytes of one download so far.
 */
export interface ITaskUpdateEvent extends ITaskRunEventBase {
  type: 'update';
  /** What the function passed, JSON-safe (checked by `update`). */
  payload: unknown;
}

/** A run succeeded. */
export interface ITaskCompletedEvent extends ITaskRunEventBase {
  type: 'completed';
  /** How long the run took, in ms. */
  duration: number;
}

/** A run threw. */
export interface ITaskFailedEvent extends ITaskRunEventBase {
  type: 'failed';
  /** The error's message. */
  error: string;
  /** How long the run took, in ms. */
  duration: number;
}

/** A try failed and another follows after `delayMs` (the run goes on; no slot is held meanwhile). */
export interface ITaskRetryingEvent extends ITaskRunEventBase {
  type: 'retrying';
  /** The number of the try that comes next (2 for the first retry). */
  attempt: number;
  delayMs: number;
  /** The failed try's error message. */
  error: string;
}

/** A TaskManager paused the task: its new runs wait until it is resumed (see `IConstraintGroupPausedEvent` for groups). */
export interface ITaskPausedEvent extends ITaskEventBase {
  type: 'paused';
  /** Pausing is about the task, not one run. */
  runId?: undefined;
}

/** A TaskManager resumed the task: runs that waited start in order. */
export interface ITaskResumedEvent extends ITaskEventBase {
  type: 'resumed';
  runId?: undefined;
}

/** Fields every event of a Taskgraph's node has; `runId` is the graph run's. */
interface ITaskNodeEventBase extends ITaskRunEventBase {
  /** The node's name, which is also its step's name. */
  node: string;
}

/** A node of a Taskgraph run started (its prerequisites completed). */
export interface ITaskNodeStartedEvent extends ITaskNodeEventBase {
  type: 'node-started';
  /** The node's own run: the `runId` its task's events carry. */
  nodeRunId: string;
}

/** A node of a Taskgraph run completed. */
export interface ITaskNodeCompletedEvent extends ITaskNodeEventBase {
  type: 'node-completed';
  nodeRunId: string;
  /** How long the node ran, in ms. */
  duration: number;
}

/** A node of a Taskgraph run failed, or was cancelled while it ran (the graph stopped, was aborted or timed out). */
export interface ITaskNodeFailedEvent extends ITaskNodeEventBase {
  type: 'node-failed';
  nodeRunId: string;
  /** The error's message. */
  error: string;
  duration: number;
  /** True when the graph cut the node short rather than the node failing on its own. */
  cancelled: boolean;
}

/** A node of a Taskgraph run will not run: a prerequisite did not complete, or the graph stopped. */
export interface ITaskNodeSkippedEvent extends ITaskNodeEventBase {
  type: 'node-skipped';
  /** Why, e.g. `"build" failed` or `the graph stopped`. */
  reason: string;
}

/** One lifecycle event of a task; switch on `type` to narrow it. */
export type ITaskEvent =
  | ITaskStartedEvent
  | ITaskStepEvent
  | ITaskUpdateEvent
  | ITaskCompletedEvent
  | ITaskFailedEvent
  | ITaskRetryingEvent
  | ITaskPausedEvent
  | ITaskResumedEvent
  | ITaskNodeStartedEvent
  | ITaskNodeCompletedEvent
  | ITaskNodeFailedEvent
  | ITaskNodeSkippedEvent;

/** The events of a Taskgraph's nodes, a part of ITaskEvent. */
export type ITaskNodeEvent = ITaskNodeStartedEvent | ITaskNodeCompletedEvent | ITaskNodeFailedEvent | ITaskNodeSkippedEvent;

export type TTaskEventType = ITaskEvent['type'];

/** Fields every constraint group event has. */
interface IConstraintGroupEventBase {
  /** Tells group events apart from task events, whose `type`s `paused` and `resumed` they share. */
  scope: 'group';
  groupName: string;
  /** Epoch milliseconds. */
  timestamp: number;
}

/** A TaskManager paused a constraint group: new runs it applies to wait until it is resumed. */
export interface IConstraintGroupPausedEvent extends IConstraintGroupEventBase {
  type: 'paused';
}

/** A TaskManager resumed a constraint group: runs that waited start in order. */
export interface IConstraintGroupResumedEvent extends IConstraintGroupEventBase {
  type: 'resumed';
}

/** A constraint group was paused or resumed (`manager.constraintGroupSubject`). */
export type IConstraintGroupEvent = IConstraintGroupPausedEvent | IConstraintGroupResumedEvent;

/**
 * Every event taskbuffer emits: task events (`taskSubject`, `eventSubject`) and constraint
 * group events (`constraintGroupSubject`). Check `scope === 'group'` first, then switch on
 * `type`; both narrow:
 *
 * ```ts
 * function describe(event: ITaskbufferEvent): string {
 *   if (event.scope === 'group') return `group ${event.groupName} ${event.type}`;
 *   return event.type === 'failed' ? `${event.task.name} failed: ${event.error}` : `${event.task.name} ${event.type}`;
 * }
 * ```
 */
export type ITaskbufferEvent = ITaskEvent | IConstraintGroupEvent;
