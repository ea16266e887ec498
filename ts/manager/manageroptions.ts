import type { AbstractDistributedCoordinator } from '../coordinator/abstract.js';
import { DuplicateTaskError, InvalidOptionError, type TaskbufferError } from '../errors.js';
import { assertBoolean, assertNonEmptyString, assertNonNegativeFinite, describeValue } from '../internal/validate.js';
import { timeNow } from '../internal/clock.js';
import { Task, type AnyTask } from '../task/task.js';
import type { ITaskStep, ITriggerOptions } from '../types.js';
import type { IKeyHolder, IShouldExecuteRefusal } from './waitreasons.js';

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

/** A constraint group's state, as `getConstraintGroupStates()` reports it (JSON-safe, but for an infinite `maxConcurrent`). */
export interface IConstraintGroupState {
  name: string;
  maxConcurrent: number;
  cooldownMs: number;
  paused: boolean;
  /** The keys that have runs holding or waiting, or a cooldown left. */
  keys: IConstraintKeyState[];
  /** The last run this group's `shouldExecute` said no to (it was skipped), if any. */
  lastRefusal?: IShouldExecuteRefusal;
}

/** One key of a constraint group, as `getConstraintGroupStates()` reports it. */
export interface IConstraintKeyState {
  key: string;
  /** Slots held (also those taken by hand with `acquireSlot`, which have no holder). */
  running: number;
  /** Runs waiting in the key's line. */
  waiting: number;
  cooldownRemainingMs: number;
  /** The runs holding a slot of it, oldest first. */
  holders: IKeyHolder[];
}

/** A run of a manager that started and has not ended, as `getActiveRuns()` reports it. */
export interface IActiveRunInfo {
  /** The id its events carry. */
  runId: string;
  taskName: string;
  /** When it began (epoch ms). */
  startTime: number;
  /** `running` while it holds its slots; `retrying` between the tries of a retry. */
  state: 'running' | 'retrying';
}

/** Refuses what `addTask` cannot register: not a Task, no name, or a name taken. */
export function checkTaskToAdd(task: unknown, tasksByName: ReadonlyMap<string, AnyTask>): void {
  if (!(task instanceof Task)) {
    throw new InvalidOptionError('task', task, `addTask: expected a Task, got ${describeValue(task)}`);
  }
  if (task.name === undefined) throw new InvalidOptionError('name', undefined, 'addTask: a Task added to a TaskManager needs a name');
  if (tasksByName.has(task.name)) throw new DuplicateTaskError(task.name);
}

/** Checks the options of `stop()` where they enter. */
export function checkStopOptions(options: IStopOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', options, `stop(options): expected an options object, got ${describeValue(options)}`);
  }
  if (options.drain !== undefined) assertBoolean('stop', 'drain', options.drain);
  if (options.timeoutMs !== undefined && options.timeoutMs !== Number.POSITIVE_INFINITY) {
    assertNonNegativeFinite('stop', 'timeoutMs', options.timeoutMs);
  }
}

/** Checks the options of `new TaskManager` where they enter. */
export function checkManagerOptions(options: ITaskManagerOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', options, `new TaskManager(options): expected an options object, got ${describeValue(options)}`);
  }
  if (options.instanceId !== undefined) assertNonEmptyString('TaskManager', 'instanceId', options.instanceId);
}

/** What `addExecuteRemoveTask` resolves with, for a run that began at `startTime` and ended now. */
export function executionReport<TResult>(task: AnyTask, startTime: number, skipped: boolean, result: TResult | undefined): ITaskExecutionReport<TResult> {
  const endTime = timeNow();
  const steps = task.getStepsMetadata();
  return {
    taskName: task.name!,
    startTime,
    endTime,
    duration: endTime - startTime,
    steps,
    stepsCompleted: steps.filter((step) => step.status === 'completed').map((step) => step.name),
    progress: task.getProgress(),
    skipped,
    result,
  };
}
