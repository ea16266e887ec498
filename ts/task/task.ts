import { describeTask, InvalidOptionError, type SubscriberError } from '../errors.js';
import {
  assertBoolean,
  assertFinite,
  assertFunction,
  assertNonEmptyString,
  assertNonNegativeFinite,
  assertPositiveInteger,
  describeValue,
} from '../internal/validate.js';
import type { ITaskContext, ITaskFunction, ITaskStepDefinition, ITriggerOptions, StepNames } from '../types.js';
import { CallBuffer } from './callbuffer.js';
import type { IRetryOptions } from './retry.js';
import { TaskCore } from './taskcore.js';
import { PromisedRun, runOneTry, type IRunControl } from './taskrun.js';
import { refuseTrigger, RUN_CONTROL, type TControlledOptions } from './triggeroptions.js';
import { runRetryPolicy, withEnteredRetry } from './triggerretry.js';

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
> extends TaskCore {
  /** The typed data bag. */
  data: TData;
  readonly taskFunction: ITaskFunction<T, TInput, TResult>;
  readonly preTask: TTaskReference | undefined;
  readonly afterTask: TTaskReference | undefined;
  readonly taskSetup: (() => T | PromiseLike<T>) | undefined;
  /** The default limit of each try in ms, if any. */
  readonly timeoutMs: number | undefined;
  /** The default priority of this task's triggers in a TaskManager. */
  readonly priority: number;

  private setupPromise: Promise<T> | undefined;
  private readonly hasHooks: boolean;
  // Typed loosely on purpose: a field typed by TResult would make Task contravariant in it,
  // and a task whose function only throws (TResult = never) would no longer fit AnyTask.
  private readonly callBuffer: CallBuffer<any, any> | undefined;

  constructor(options: ITaskOptions<T, TSteps, TData, TInput, TResult>) {
    const owner = checkTaskOptions(options);
    super({
      owner,
      name: options.name,
      catchErrors: options.catchErrors,
      retry: options.retry,
      steps: options.steps,
      labels: options.labels,
      bufferMax: options.buffered === true ? options.bufferMax ?? 1 : undefined,
      onSubscriberError: options.onSubscriberError,
    });
    this.taskFunction = options.taskFunction;
    this.data = options.data ?? ({} as TData);
    this.preTask = options.preTask;
    this.afterTask = options.afterTask;
    this.taskSetup = options.taskSetup;
    this.timeoutMs = options.timeoutMs;
    this.priority = options.priority ?? 0;
    this.hasHooks = this.preTask !== undefined || this.afterTask !== undefined || this.taskSetup !== undefined;
    this.callBuffer = this.bufferMax === undefined
      ? undefined
      : new CallBuffer(this.name, this.bufferMax, (input, runOptions, control) => this.startRun(input, runOptions, control));
  }

  /**
   * Runs the task with `input` and resolves with the task function's result. Rejects with
   * the function's error unless `catchErrors` is set (then it resolves `undefined`).
   * Buffered tasks queue the call as described under `buffered`. With `options.signal`
   * the trigger can be aborted: it then rejects at once with an `AbortError`;
   * `options.retry` replaces the task's `retry` for this trigger (`false`: one try only).
   * Bad options reject with an `InvalidOptionError`.
   */
  trigger(input?: TInput, options?: ITriggerOptions): Promise<TResult> {
    // The plain trigger first: it has nothing to check, and most triggers are plain.
    if (options === undefined) return this.admit(input, undefined, undefined) as Promise<TResult>;
    const refusal = refuseTrigger(this.name, options);
    if (refusal !== undefined) return refusal;
    return this.admit(input, withEnteredRetry(this.name, options), (options as TControlledOptions)[RUN_CONTROL]) as Promise<TResult>;
  }

  /**
   * Whether a TaskManager may run this task's runs itself: its trigger is the plain one
   * (not buffered, and neither a subclass nor a wrapper brings a trigger of its own).
   * Asked at every launch, so that a trigger replaced on the instance counts too.
   * @internal
   */
  get runsDirectly(): boolean {
    return this.callBuffer === undefined && this.trigger === Task.prototype.trigger && this.admit === Task.prototype.admit;
  }

  /**
   * How a TaskManager triggers a task that it cannot run itself (`runsDirectly` is
   * false): like `trigger`, with `control` to follow and steer the run. The manager
   * checked the options already.
   * @internal
   */
  triggerUnder(control: IRunControl, input: unknown, options: ITriggerOptions): Promise<unknown> {
    // A trigger of its own is called as every other caller would, with the control in the options.
    if (this.trigger !== Task.prototype.trigger) return this.trigger(input as TInput, { ...options, [RUN_CONTROL]: control } as TControlledOptions);
    return this.admit(input, options, control);
  }

  /**
   * What this kind of task does with a trigger whose options were checked: run it, or
   * queue it (buffered), or share a run (TaskOnce, TaskDebounced override it). `control`
   * is set when a TaskManager triggered it.
   * @internal
   */
  protected admit(input: unknown, options: ITriggerOptions | undefined, control: IRunControl | undefined): Promise<unknown> {
    return this.callBuffer === undefined ? this.startRun(input, options, control) : this.callBuffer.push(input, options, control);
  }

  /** Marks `stepName` active (and the previously active step completed). */
  notifyStep(stepName: StepNames<TSteps>): void {
    this.markStep(stepName as string);
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

  /** @internal */
  callFunction(input: unknown, context: ITaskContext): unknown {
    return this.hasHooks ? this.runWithHooks(input as TInput, context) : this.taskFunction(input as TInput, undefined as T, context);
  }

  /** One run, not buffered: its tries, timeouts, retries, bookkeeping and events. */
  private startRun(input: unknown, options: ITriggerOptions | undefined, control: IRunControl | undefined): Promise<unknown> {
    // Apart from triggers with options, so that a plain trigger asks nothing about them.
    if (options === undefined) {
      if (control === undefined && this.timeoutMs === undefined && this.retryPolicy === undefined) return runOneTry(this, input, undefined);
      return new PromisedRun(this, input, undefined, this.timeoutMs, this.retryPolicy, control, undefined).promise();
    }
    const signal = options.signal;
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const retryPolicy = runRetryPolicy(this.name, options.retry, this.retryPolicy);
    if (signal === undefined && timeoutMs === undefined && control === undefined && retryPolicy === undefined) return runOneTry(this, input, options.runId);
    return new PromisedRun(this, input, signal, timeoutMs, retryPolicy, control, options.runId).promise();
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
}

/** Checks the options of `new Task` where they enter; returns the owner named in messages. */
function checkTaskOptions(options: ITaskOptions<any, any, any, any, any>): string {
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
  return owner;
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
