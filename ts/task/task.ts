import { Subject } from 'rxjs';
import { CallBuffer } from './callbuffer.js';
import { takeTime, timeNow } from '../internal/clock.js';
import { AbortError, describeTask, InvalidOptionError, messageOf, toError, type SubscriberError } from '../errors.js';
import type { ITaskEvent } from '../events.js';
import { IsolatedSubject } from '../internal/isolatedsubject.js';
import { LabelSet } from './labels.js';
import { RetryPolicy, type IRetryOptions } from './retry.js';
import { StepTracker } from './steptracker.js';
import { TaskRun, TryContext, type IRunControl, type IRunHost } from './taskrun.js';
import type {
  ITaskContext,
  ITaskFunction,
  ITaskMetadata,
  ITaskStep,
  ITaskStepDefinition,
  ITriggerOptions,
  StepNames,
  TTaskStatus,
} from '../types.js';
import {
  assertBoolean,
  assertFinite,
  assertFunction,
  assertNonEmptyString,
  assertNonNegativeFinite,
  assertPositiveInteger,
  describeValue,
} from '../internal/validate.js';

/** A task of any type parameters, for APIs that accept every kind of task. */
export type AnyTask = Task<any, any, any, any, any>;

/** A task, or a function that returns one when it is needed (to refer to tasks defined later). */
export type TTaskReference = AnyTask | (() => AnyTask);

/** Options of `new Task(...)`. */
export interface ITaskOptions<
  T = undefined,
  TSteps extends ReadonlyArray<ITaskStepDefinition> = [],
  TData extends object = Record<string, unknown>,
  TInput = any,
  TResult = any,
> {
  /** The function to run. Receives the trigger's input and the `taskSetup` value. */
  taskFunction: ITaskFunction<T, TInput, TResult>;
  /** Identifies the task in metadata, events and errors. Required by TaskManager. */
  name?: string;
  /**
   * A typed bag of data for constraint keys and routing.
   * @default {}
   */
  data?: TData;
  /** Step definitions for progress tracking; declare them `as const` to type-check `notifyStep`. */
  steps?: TSteps;
  /**
   * Run at most `bufferMax` calls at once and queue at most `bufferMax` more; when the
   * queue is full a new call replaces the newest queued one (whose caller then gets the
   * new call's outcome).
   * @default false
   */
  buffered?: boolean;
  /**
   * Concurrency and queue length for `buffered` tasks. A positive integer.
   * @default 1
   */
  bufferMax?: number;
  /** Triggered with the same input before each run; its result is not used. */
  preTask?: TTaskReference;
  /** Triggered with the run's result after each successful run. */
  afterTask?: TTaskReference;
  /**
   * Runs once, before the first run; its value is the task function's second argument.
   * If it fails, the run fails and the next run tries the setup again.
   */
  taskSetup?: () => T | PromiseLike<T>;
  /**
   * Resolve `trigger()` with `undefined` instead of rejecting when the run fails. The
   * failure is still counted and reported.
   * @default false
   */
  catchErrors?: boolean;
  /**
   * Initial labels (string values only).
   * @default {}
   */
  labels?: Record<string, string>;
  /**
   * Limits each try, from the moment it starts running, in ms. When it passes, the try's
   * signal is aborted and the try fails with a `TimeoutError` (a retry may follow).
   * A trigger's own `timeoutMs` overrides it.
   */
  timeoutMs?: number;
  /** Try again after a failure, e.g. `{ attempts: 3, backoff: 'exponential', delayMs: 100 }`. */
  retry?: IRetryOptions;
  /**
   * The priority of this task's triggers in a TaskManager's queues when the trigger
   * gives none: larger starts first.
   * @default 0
   */
  priority?: number;
  /**
   * Receives the first error of each `eventSubject` subscriber that throws (or rejects).
   * Such an error never reaches the run or the other subscribers, and the subscriber stays
   * subscribed. Subscribers of a TaskManager's `taskSubject` report to its `onError`.
   * @default logs with console.error
   */
  onSubscriberError?: (error: SubscriberError) => void;
}

/**
 * What `trigger` accepts besides the input. `control` is how a TaskManager steers the
 * runs it starts.
 * @internal
 */
export interface IInternalTriggerOptions extends ITriggerOptions {
  control?: IRunControl;
}

/**
 * The unit of work: a function with a name, typed data, labels, steps with progress,
 * error tracking and an rxjs stream of lifecycle events.
 *
 * @typeParam T - the value `taskSetup` produces (the task function's second argument)
 * @typeParam TSteps - the declared steps; `as const` makes `notifyStep` check names
 * @typeParam TData - the type of `data`
 * @typeParam TInput - the trigger's input (inferred from the task function)
 * @typeParam TResult - what a run resolves with (inferred from the task function)
 */
export class Task<
  T = undefined,
  TSteps extends ReadonlyArray<ITaskStepDefinition> = [],
  TData extends object = Record<string, unknown>,
  TInput = any,
  TResult = any,
> {
  /** Identifies the task in metadata, events, errors and the TaskManager. */
  readonly name: string | undefined;
  /** The typed data bag. */
  data: TData;
  readonly taskFunction: ITaskFunction<T, TInput, TResult>;
  readonly buffered: boolean;
  readonly bufferMax: number | undefined;
  readonly preTask: TTaskReference | undefined;
  readonly afterTask: TTaskReference | undefined;
  readonly taskSetup: (() => T | PromiseLike<T>) | undefined;
  /** Resolve failed runs with `undefined` instead of rejecting. */
  catchErrors: boolean;
  /** The default limit of each try in ms, if any. */
  readonly timeoutMs: number | undefined;
  /** The default priority of this task's triggers in a TaskManager. */
  readonly priority: number;
  /** @internal */
  readonly retryPolicy: RetryPolicy | undefined;
  /**
   * Lifecycle events of this task: `started`, `step`, `completed`, `failed`. Events are
   * only built while someone subscribes, so an unobserved task pays nothing for them.
   * A subscriber that throws is caught and reported to `onSubscriberError`, once.
   */
  readonly eventSubject: Subject<ITaskEvent> = new IsolatedSubject<ITaskEvent>(
    'Task.eventSubject',
    (error) => this.reportSubscriberError(error),
  );
  /** Runs that ended, successfully or not. */
  runCount = 0;
  /** Failed runs across all runs. `clearError()` leaves it alone. */
  errorCount = 0;

  private lastErrorValue: Error | undefined;
  private activeRuns = 0;
  private pausedFlag = false;
  private lastRunAt: number | undefined;
  private lastDuration: number | undefined;
  private lastOutcome: 'completed' | 'failed' | undefined;
  private setupPromise: Promise<T> | undefined;
  private readonly hasHooks: boolean;
  private readonly steps: StepTracker;
  private readonly labelSet: LabelSet;
  // Typed loosely on purpose: a field typed by TResult would make Task contravariant in it,
  // and a task whose function only throws (TResult = never) would no longer fit AnyTask.
  private readonly callBuffer: CallBuffer<any, any> | undefined;
  private readonly eventSinks: Array<Subject<ITaskEvent>> = [];
  private readonly reportSubscriberError: (error: SubscriberError) => void;

  constructor(options: ITaskOptions<T, TSteps, TData, TInput, TResult>) {
    if (options === null || typeof options !== 'object') {
      throw new InvalidOptionError('options', options, `new Task(options): expected an options object, got ${describeValue(options)}`);
    }
    if (options.name !== undefined) assertNonEmptyString('new Task(options)', 'name', options.name);
    const owner = describeTask(options.name);
    assertFunction(owner, 'taskFunction', options.taskFunction);
    if (options.taskSetup !== undefined) assertFunction(owner, 'taskSetup', options.taskSetup);
    if (options.catchErrors !== undefined) assertBoolean(owner, 'catchErrors', options.catchErrors);
    if (options.buffered !== undefined) assertBoolean(owner, 'buffered', options.buffered);
    if (options.bufferMax !== undefined) {
      assertPositiveInteger(owner, 'bufferMax', options.bufferMax);
      if (options.buffered !== true) {
        throw new InvalidOptionError('bufferMax', options.bufferMax,
          `${owner}: \`bufferMax\` (${options.bufferMax}) only applies with \`buffered: true\``);
      }
    }
    assertTaskReference(owner, 'preTask', options.preTask);
    assertTaskReference(owner, 'afterTask', options.afterTask);
    if (options.timeoutMs !== undefined) assertNonNegativeFinite(owner, 'timeoutMs', options.timeoutMs);
    if (options.priority !== undefined) assertFinite(owner, 'priority', options.priority);
    if (options.onSubscriberError !== undefined) assertFunction(owner, 'onSubscriberError', options.onSubscriberError);

    this.name = options.name;
    this.taskFunction = options.taskFunction;
    this.data = options.data ?? ({} as TData);
    this.catchErrors = options.catchErrors ?? false;
    this.preTask = options.preTask;
    this.afterTask = options.afterTask;
    this.taskSetup = options.taskSetup;
    this.timeoutMs = options.timeoutMs;
    this.priority = options.priority ?? 0;
    this.reportSubscriberError = options.onSubscriberError ?? ((error) => console.error(`taskbuffer ${owner}: ${error.message}`, error));
    this.retryPolicy = options.retry === undefined ? undefined : new RetryPolicy(owner, options.retry);
    this.hasHooks = this.preTask !== undefined || this.afterTask !== undefined || this.taskSetup !== undefined;
    this.steps = new StepTracker(owner, options.steps);
    this.labelSet = new LabelSet(owner, options.labels);
    this.buffered = options.buffered ?? false;
    this.bufferMax = this.buffered ? options.bufferMax ?? 1 : undefined;
    this.callBuffer = this.buffered
      ? new CallBuffer(this.name, this.bufferMax!, (input, runOptions) => this.run(input, runOptions))
      : undefined;
  }

  /**
   * Runs the task with `input` and resolves with the task function's result. Rejects with
   * the function's error unless `catchErrors` is set (then it resolves `undefined`).
   * Buffered tasks queue the call as described under `buffered`. With `options.signal`
   * the trigger can be aborted: it then rejects at once with an `AbortError`.
   */
  trigger(input?: TInput, options?: ITriggerOptions): Promise<TResult> {
    const refusal = refuseTrigger(this.name, options);
    if (refusal !== undefined) return refusal;
    return (this.callBuffer === undefined ? this.run(input, options) : this.callBuffer.push(input, options)) as Promise<TResult>;
  }

  /** Marks `stepName` active (and the previously active step completed). */
  notifyStep(stepName: StepNames<TSteps>): void {
    const now = timeNow();
    this.steps.notify(this.name, stepName as string, now);
    if (this.isObserved()) {
      this.emit({ type: 'step', stepName: stepName as string, task: this.getMetadata(), timestamp: now });
    }
  }

  /** 0–100: the sum of completed steps' percentages; 100 after a successful run. */
  getProgress(): number {
    return this.steps.progress;
  }

  /** A copy of every step with its status. */
  getStepsMetadata(): ITaskStep[] {
    return this.steps.snapshot();
  }

  /** A JSON-safe snapshot of the task; later changes do not show in it. */
  getMetadata(): ITaskMetadata {
    const metadata: ITaskMetadata = {
      name: this.name ?? '',
      status: this.status,
      steps: this.steps.snapshot(),
      currentProgress: this.steps.progress,
      runCount: this.runCount,
      errorCount: this.errorCount,
      activeRuns: this.activeRuns,
      labels: this.labelSet.toRecord(),
      buffered: this.buffered,
      paused: this.pausedFlag,
    };
    const currentStep = this.steps.currentStepName;
    if (currentStep !== undefined) metadata.currentStep = currentStep;
    if (this.lastErrorValue !== undefined) metadata.lastError = this.lastErrorValue.message;
    if (this.lastRunAt !== undefined) metadata.lastRun = this.lastRunAt;
    if (this.lastDuration !== undefined) metadata.lastDuration = this.lastDuration;
    if (this.bufferMax !== undefined) metadata.bufferMax = this.bufferMax;
    return metadata;
  }

  /** `idle` before the first run, `running` while any run is active, else the last outcome. */
  get status(): TTaskStatus {
    if (this.activeRuns > 0) return 'running';
    return this.lastOutcome ?? 'idle';
  }

  /** Whether a run is active (stays true until the last of overlapping runs ends). */
  get running(): boolean {
    return this.activeRuns > 0;
  }

  get idle(): boolean {
    return this.activeRuns === 0;
  }

  /** When the last run started. */
  get lastRun(): Date | undefined {
    return this.lastRunAt === undefined ? undefined : new Date(this.lastRunAt);
  }

  /** The last run's error, until a later success or `clearError()`. */
  get lastError(): Error | undefined {
    return this.lastErrorValue;
  }

  /** Forgets `lastError`; `errorCount` and `status` stay. */
  clearError(): void {
    this.lastErrorValue = undefined;
  }

  /** The labels, as a frozen copy; change them with `setLabel` / `removeLabel`. */
  get labels(): Readonly<Record<string, string>> {
    return this.labelSet.snapshot();
  }

  setLabel(key: string, value: string): void {
    this.labelSet.set(key, value);
  }

  getLabel(key: string): string | undefined {
    return this.labelSet.get(key);
  }

  /** Whether the label exists, or, with `value`, whether it has that value. */
  hasLabel(key: string, value?: string): boolean {
    return this.labelSet.has(key, value);
  }

  /** Removes a label; `true` when it existed. */
  removeLabel(key: string): boolean {
    return this.labelSet.remove(key);
  }

  /**
   * Also deliver this task's events to `sink` (used by TaskManager). Events are then built
   * while either the task's own subject or the sink has subscribers.
   * @internal
   */
  addEventSink(sink: Subject<ITaskEvent>): void {
    if (!this.eventSinks.includes(sink)) this.eventSinks.push(sink);
  }

  /** @internal */
  removeEventSink(sink: Subject<ITaskEvent>): void {
    const index = this.eventSinks.indexOf(sink);
    if (index >= 0) this.eventSinks.splice(index, 1);
  }

  /** Whether a TaskManager holds new runs of this task back. */
  get paused(): boolean {
    return this.pausedFlag;
  }

  /**
   * Set by TaskManager's `pauseTask` / `resumeTask`; emits `paused` / `resumed`.
   * @internal
   */
  setPaused(paused: boolean): void {
    if (this.pausedFlag === paused) return;
    this.pausedFlag = paused;
    if (this.isObserved()) this.emit({ type: paused ? 'paused' : 'resumed', task: this.getMetadata(), timestamp: timeNow() });
  }

  /** One run, not buffered: its tries, timeouts, retries, bookkeeping and events. */
  protected run(input: unknown, options?: IInternalTriggerOptions): Promise<unknown> {
    const signal = options?.signal;
    const timeoutMs = options?.timeoutMs ?? this.timeoutMs;
    const control = options?.control;
    if (signal === undefined && timeoutMs === undefined && control === undefined && this.retryPolicy === undefined) {
      return this.runOnce(input);
    }
    return TaskRun.promised(this.runHost, input, signal, timeoutMs, control);
  }

  /**
   * A run that nothing can abort, time out or retry: one try, and the same bookkeeping
   * and outcome as a TaskRun would give it, without a TaskRun's machinery. This is what
   * a plain `task.trigger()` costs.
   */
  private runOnce(input: unknown): Promise<unknown> {
    const startedAt = this.beginRun();
    let pending: unknown;
    try {
      pending = this.callFunction(input as TInput, new TryContext(1));
    } catch (error) {
      pending = Promise.reject(error);
    }
    return Promise.resolve(pending).then(
      (result) => {
        this.endRunSucceeded(startedAt);
        return result;
      },
      (error: unknown) => {
        this.recordTryFailure(error);
        this.endRunFailed(startedAt, error);
        if (this.catchErrors) return undefined;
        throw error;
      },
    );
  }

  /**
   * Starts a run for a TaskManager that reports its outcome to `control.settled` instead
   * of through a promise. Returns false, and starts nothing, when the task's trigger is
   * not the plain one (a buffered task, TaskDebounced, TaskOnce, or a subclass that
   * overrides `trigger` or `run`): the manager must go through `trigger` then.
   * The manager checked the options, and its signal is not aborted (it would have ended
   * the trigger), so this skips what `trigger` checks.
   * @internal
   */
  startReportingRun(input: unknown, signal: AbortSignal | undefined, timeoutMs: number | undefined, control: IRunControl): boolean {
    if (this.callBuffer !== undefined || this.trigger !== Task.prototype.trigger || this.run !== Task.prototype.run) return false;
    const tryTimeoutMs = timeoutMs ?? this.timeoutMs;
    if (signal === undefined && tryTimeoutMs === undefined && this.retryPolicy === undefined && control.runSingleTry !== undefined) {
      control.runSingleTry(this.runHost, input);
    } else {
      TaskRun.reportingTo(this.runHost, input, signal, tryTimeoutMs, control);
    }
    return true;
  }

  /** The side of the task a TaskRun sees; an object of its own so these stay off the public surface. */
  private readonly runHost: IRunHost = hostFor(this, {
    callFunction: (input, context) => this.callFunction(input as TInput, context),
    beginRun: () => this.beginRun(),
    recordTryFailure: (error) => this.recordTryFailure(error),
    endRunSucceeded: (startedAt) => this.endRunSucceeded(startedAt),
    endRunFailed: (startedAt, error) => this.endRunFailed(startedAt, error),
    emitRetrying: (attempt, delayMs, error) => this.emitRetrying(attempt, delayMs, error),
  });

  private callFunction(input: TInput, context: ITaskContext): TResult | PromiseLike<TResult> {
    return this.hasHooks ? this.runWithHooks(input, context) : this.taskFunction(input, undefined as T, context);
  }

  private async runWithHooks(input: TInput, context: ITaskContext): Promise<TResult> {
    if (this.preTask !== undefined) await resolveTaskReference(this.preTask).trigger(input, { signal: context.signal });
    const setupValue = this.taskSetup === undefined ? (undefined as T) : await this.setupOnce();
    const result = await this.taskFunction(input, setupValue, context);
    if (this.afterTask !== undefined) await resolveTaskReference(this.afterTask).trigger(result, { signal: context.signal });
    return result;
  }

  /** Shares one setup between concurrent first runs; a failed setup is tried again next run. */
  private setupOnce(): Promise<T> {
    if (this.setupPromise === undefined) {
      const setup = Promise.resolve().then(this.taskSetup!);
      this.setupPromise = setup;
      setup.catch(() => {
        if (this.setupPromise === setup) this.setupPromise = undefined;
      });
    }
    return this.setupPromise;
  }

  private beginRun(): number {
    const now = takeTime();
    // Steps belong to the task, not to a run: overlapping runs share them, so only the
    // first of them starts the steps afresh.
    if (this.activeRuns === 0) this.steps.reset();
    this.activeRuns++;
    this.lastRunAt = now;
    if (this.isObserved()) this.emit({ type: 'started', task: this.getMetadata(), timestamp: now });
    return now;
  }

  private recordTryFailure(thrown: unknown): void {
    this.errorCount++;
    this.lastErrorValue = toError(thrown);
  }

  /** Returns the time it read when no event went out since (see clock.ts), else undefined. */
  private endRunSucceeded(startedAt: number): number | undefined {
    const now = timeNow();
    this.activeRuns--;
    this.runCount++;
    this.lastDuration = now - startedAt;
    this.lastOutcome = 'completed';
    this.lastErrorValue = undefined;
    if (this.activeRuns === 0) this.steps.completeAll(now);
    if (!this.isObserved()) return now;
    this.emit({ type: 'completed', duration: now - startedAt, task: this.getMetadata(), timestamp: now });
    return undefined;
  }

  /** Ends a failed run; the tries that failed were counted already. */
  private endRunFailed(startedAt: number, thrown: unknown): void {
    const now = timeNow();
    this.activeRuns--;
    this.runCount++;
    this.lastDuration = now - startedAt;
    this.lastOutcome = 'failed';
    this.lastErrorValue = toError(thrown);
    if (this.isObserved()) {
      this.emit({
        type: 'failed',
        error: messageOf(thrown),
        duration: now - startedAt,
        task: this.getMetadata(),
        timestamp: now,
      });
    }
  }

  private emitRetrying(attempt: number, delayMs: number, thrown: unknown): void {
    if (!this.isObserved()) return;
    this.emit({ type: 'retrying', attempt, delayMs, error: messageOf(thrown), task: this.getMetadata(), timestamp: timeNow() });
  }

  private isObserved(): boolean {
    if (this.eventSubject.observed) return true;
    const sinks = this.eventSinks;
    for (let i = 0; i < sinks.length; i++) if (sinks[i]!.observed) return true;
    return false;
  }

  private emit(event: ITaskEvent): void {
    this.eventSubject.next(event);
    for (const sink of this.eventSinks) sink.next(event);
  }
}

function hostFor(task: AnyTask, methods: Omit<IRunHost, 'name' | 'catchErrors' | 'retryPolicy'>): IRunHost {
  return {
    ...methods,
    get name() {
      return task.name;
    },
    get catchErrors() {
      return task.catchErrors;
    },
    get retryPolicy() {
      return task.retryPolicy;
    },
  };
}

/** Checks a trigger's options where they enter; `owner` names the caller in messages. */
export function checkTriggerOptions(owner: string, options: ITriggerOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', options, `${owner}: expected trigger options to be an object, got ${describeValue(options)}`);
  }
  if (options.signal !== undefined && !isAbortSignal(options.signal)) {
    throw new InvalidOptionError('signal', options.signal, `${owner}: expected \`signal\` to be an AbortSignal, got ${describeValue(options.signal)}`);
  }
  if (options.timeoutMs !== undefined) assertNonNegativeFinite(owner, 'timeoutMs', options.timeoutMs);
  if (options.priority !== undefined) assertFinite(owner, 'priority', options.priority);
}

/** The same checks as `checkTriggerOptions` without building any message: the hot path's test. */
function areValidTriggerOptions(options: ITriggerOptions): boolean {
  if (options === null || typeof options !== 'object') return false;
  const { signal, timeoutMs, priority } = options;
  return (
    (signal === undefined || isAbortSignal(signal)) &&
    (timeoutMs === undefined || (typeof timeoutMs === 'number' && timeoutMs >= 0 && Number.isFinite(timeoutMs))) &&
    (priority === undefined || (typeof priority === 'number' && Number.isFinite(priority)))
  );
}

function isAbortSignal(value: unknown): value is AbortSignal {
  return typeof value === 'object' && value !== null && typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function';
}

/**
 * A rejected promise when a trigger cannot even start: bad options (a clear error, as a
 * rejection like every other trigger failure) or a signal that is aborted already.
 * @internal
 */
export function refuseTrigger(taskName: string | undefined, options: ITriggerOptions | undefined): Promise<never> | undefined {
  if (options === undefined) return undefined;
  if (!areValidTriggerOptions(options)) {
    try {
      checkTriggerOptions(describeTask(taskName), options);
    } catch (error) {
      return Promise.reject(error);
    }
  }
  if (options.signal?.aborted) return Promise.reject(abortedBeforeStart(taskName, options.signal));
  return undefined;
}

/** The error of a trigger whose signal was aborted before anything ran. */
export function abortedBeforeStart(taskName: string | undefined, signal: AbortSignal): AbortError {
  return new AbortError(`${describeTask(taskName)} was aborted before it started: ${messageOf(signal.reason)}`, signal.reason);
}

function resolveTaskReference(reference: TTaskReference): AnyTask {
  const task = reference instanceof Task ? reference : reference();
  if (!(task instanceof Task)) {
    throw new InvalidOptionError('preTask/afterTask', task,
      `a preTask/afterTask function must return a Task, got ${describeValue(task)}`);
  }
  return task;
}

function assertTaskReference(owner: string, option: string, value: unknown): void {
  if (value === undefined || value instanceof Task || typeof value === 'function') return;
  throw new InvalidOptionError(option, value,
    `${owner}: expected \`${option}\` to be a Task or a function returning one, got ${describeValue(value)}`);
}
