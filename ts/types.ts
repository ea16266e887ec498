import type { IRetryOptions } from './task/retry.js';

/** A step as declared in a task's `steps` option. Declare the array `as const` to type-check step names. */
export interface ITaskStepDefinition {
  readonly name: string;
  readonly description: string;
  /** This step's share of the task's progress, 0–100. All steps together sum to at most 100. */
  readonly percentage: number;
}

/** The union of the step names declared in `TSteps` (`never` when no steps are declared). */
export type StepNames<TSteps extends ReadonlyArray<ITaskStepDefinition>> = TSteps[number]['name'];

export type TStepStatus = 'pending' | 'active' | 'completed';

/** A step's state, as found in metadata and events. Times are epoch milliseconds. */
export interface ITaskStep {
  name: string;
  description: string;
  percentage: number;
  status: TStepStatus;
  startTime?: number;
  endTime?: number;
  duration?: number;
}

/** `idle` before the first run; `running` while any run is active; else the last run's outcome. */
export type TTaskStatus = 'idle' | 'running' | 'completed' | 'failed';

/**
 * The function a Task runs. It receives the trigger's input, the value `taskSetup`
 * produced (when the task has one) and a context with the run's abort signal and the
 * number of this try.
 */
export type ITaskFunction<T = undefined, TInput = any, TResult = any> = (
  input: TInput,
  setupValue: T,
  context: ITaskContext,
) => TResult | PromiseLike<TResult>;

/** What a task function learns about the try it runs in. */
export interface ITaskContext {
  /**
   * Aborted when the trigger's signal aborts, when the try passes its `timeoutMs`, or
   * when a draining `manager.stop()` gives up waiting. Pass it on to `fetch` and friends.
   */
  readonly signal: AbortSignal;
  /** 1 for the first try, 2 for the first retry, ... */
  readonly attempt: number;
  /** The run's id, as its events carry it (`event.runId`): the same across its retries. */
  readonly runId: string;
  /**
   * Publishes a progress message of this run's own (the bytes of one download so far) as
   * an `update` event: a dashboard or a remote client watching the run sees it live.
   * `payload` must be JSON-safe (plain objects, arrays, strings, finite numbers, booleans,
   * null), else an InvalidOptionError names the first value that is not. Costs nothing
   * while nobody listens; dropped once the try is over (aborted or timed out).
   */
  update(payload: unknown): void;
}

/** Options of a single trigger; the same object for `task.trigger` and every manager trigger. */
export interface ITriggerOptions {
  /** Aborts the trigger: a queued one never starts, a running one is signalled and rejects at once. */
  signal?: AbortSignal;
  /** Limits each try, from the moment it starts running, in ms; overrides the task's `timeoutMs`. */
  timeoutMs?: number;
  /**
   * Among triggers waiting for the same constraint slot, larger starts first; equal
   * priorities keep trigger order. Overrides the task's `priority`. Used by TaskManager.
   * @default 0
   */
  priority?: number;
  /**
   * This trigger's retries, in place of the task's `retry` option for this trigger only:
   * an object is a policy of its own (checked like the task option), `false` runs exactly
   * one try whatever the task's `retry` says, for a caller that retries on its own (with
   * the task's `retryPolicy`, say). Under a TaskManager, slots are given back between
   * tries as with the task's option.
   */
  retry?: IRetryOptions | false;
  /**
   * The id this run's events carry (`event.runId`, `context.runId`), so that a caller can
   * follow the run it starts (a gateway, a durable queue's job id). A non-empty string of
   * at most 1024 characters; by default an id unique across processes is made.
   */
  runId?: string;
}

/**
 * A plain, JSON-safe snapshot of a task. It is a copy: later changes to the task do not
 * show in it. Times are epoch milliseconds; errors are message strings.
 */
export interface ITaskMetadata {
  name: string;
  status: TTaskStatus;
  steps: ITaskStep[];
  /** The step marked active most recently, while a run is going. */
  currentStep?: string;
  /** 0–100: the percentages of completed steps (100 after a successful run). */
  currentProgress: number;
  /** Runs that have ended, successfully or not. */
  runCount: number;
  /** Failed runs, across all runs (not reset by `clearError`). */
  errorCount: number;
  /** Message of the last error, until a later success or `clearError()`. */
  lastError?: string;
  /** When the last run started. */
  lastRun?: number;
  /** How long the last run that ended took, in ms. */
  lastDuration?: number;
  /** Runs going on right now (a task may overlap with itself). */
  activeRuns: number;
  labels: Record<string, string>;
  buffered: boolean;
  bufferMax?: number;
  /** The cron expression, when a TaskManager schedules the task (set by the manager's metadata methods). */
  cronSchedule?: string;
  /** The IANA time zone `cronSchedule` is read in, when one was given (else the server's). */
  cronTimezone?: string;
  /** The next cron tick (epoch ms), alongside `cronSchedule`. */
  nextRun?: number;
  /** Whether a TaskManager holds new runs of this task back (`pauseTask`). */
  paused: boolean;
}
