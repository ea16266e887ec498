import type { AbstractDistributedCoordinator } from '../coordinator/abstract.js';
import type { TaskbufferError } from '../errors.js';
import type { ITaskStep, ITriggerOptions } from '../types.js';

/** Options of `new TaskManager(...)`. */
export interface ITaskManagerOptions {
  /** Consulted before every cron-fired run; only the instance it elects runs the tick. */
  distributedCoordinator?: AbstractDistributedCoordinator;
  /**
   * Identifies this instance in distributed task requests.
   * @default the coordinator's `instanceId`, else a random UUID
   */
  instanceId?: string;
  /**
   * Receives failures that have no caller to reject: a `CoordinatorError` when the
   * coordinator could not be asked or told about a cron tick, and a `SubscriberError`
   * for the first error of each subscriber of `taskSubject` or `constraintGroupSubject`
   * that throws (it never reaches the run or the other subscribers). Task failures are
   * not reported here; they are in the task's metadata and `failed` events.
   * @default logs with console.error
   */
  onError?: (error: TaskbufferError) => void;
}

/** Identifies a run in `ITaskExecutionReport` and similar records. */
export interface ITaskExecution {
  taskName: string;
  /** When the trigger was made (epoch ms); includes any wait for constraint slots. */
  startTime: number;
  endTime: number;
  duration: number;
}

/** What `addExecuteRemoveTask` resolves with. */
export interface ITaskExecutionReport<TResult = any> extends ITaskExecution {
  steps: ITaskStep[];
  /** Names of the steps that completed. */
  stepsCompleted: string[];
  progress: number;
  /** `true` when a `shouldExecute` said no, so the function did not run. */
  skipped: boolean;
  result: TResult | undefined;
}

/** Options of `addExecuteRemoveTask`: the input and the usual trigger options. */
export interface IExecuteRemoveOptions<TInput = any> extends ITriggerOptions {
  /** The input to trigger the task with. */
  input?: TInput;
}

/** Options of `stop()`. */
export interface IStopOptions {
  /**
   * Let running work finish (and reject what still waits in queues) before resolving.
   * @default false
   */
  drain?: boolean;
  /**
   * With `drain`: how long to wait for running work, in ms; what still runs then is
   * aborted (signalled, its trigger rejected), so `stop()` resolves within this time.
   * @default Infinity
   */
  timeoutMs?: number;
}

/** A constraint group's state, as `getConstraintGroupStates()` reports it. */
export interface IConstraintGroupState {
  name: string;
  maxConcurrent: number;
  cooldownMs: number;
  paused: boolean;
  keys: Array<{ key: string; running: number; waiting: number; cooldownRemainingMs: number }>;
}
