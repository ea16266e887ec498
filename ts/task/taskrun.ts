import { AbortError, describeTask, messageOf, TimeoutError } from '../errors.js';
import { clearTimer, setTimer, type TTimer } from '../internal/clock.js';
import { keepShapeAlive, NO_TIME } from '../internal/hotpath.js';
import type { ITaskContext, ITriggerOptions } from '../types.js';
import type { RetryPolicy } from './retry.js';
import { nextRunKey, runIdOf, type TRunKey } from './runid.js';
import type { TaskCore } from './taskcore.js';

/**
 * A run that its TaskManager can abort (a draining stop that gives up waiting).
 * @internal
 */
export interface IAbortableRun {
  abort(reason: unknown): void;
}

/**
 * How a run that a TaskManager started triggers other tasks through the same manager (so
 * that its constraint groups, priority and pauses apply to them): a Taskgraph's nodes.
 * @internal
 */
export type TManagedTrigger = (task: TaskCore, input: unknown, options: ITriggerOptions) => Promise<unknown>;

/**
 * How a TaskManager follows and steers a run that it starts through a task's own
 * `trigger` (buffered, debounced, once): the run itself cannot report to the manager.
 * @internal
 */
export interface IRunControl {
  /** The run has started: the manager may abort it from now on. */
  attach(run: IAbortableRun): void;
  /** The trigger waits in a task's own line (buffer, debounce, once): `cancel` withdraws it. */
  attachWaiter(cancel: (reason: unknown) => void): void;
  /** A try failed and a retry waits: give constraint slots back meanwhile. */
  releaseForRetry(): void;
  /** The retry's wait is over: resolves once the slots are held again. */
  reacquireForRetry(): Promise<void>;
  /** Triggers other tasks through the manager (see TManagedTrigger). */
  readonly managedTrigger: TManagedTrigger | undefined;
}

const NOT_BEGUN = 0;
const BEGUN = 1;
const OVER = 2;

/** What only a run with a signal, a time limit or retries needs. */
interface IRunLimits {
  readonly signal: AbortSignal | undefined;
  readonly timeoutMs: number | undefined;
  /** The trigger's own policy or the task's (see triggerretry.ts). */
  readonly retryPolicy: RetryPolicy | undefined;
  onCallerAbort: (() => void) | undefined;
  /** The try's time limit, or the wait before a retry. */
  timer: TTimer | undefined;
}

/** The context of one try. Its signal is made only when the function asks for it. */
class TryContext implements ITaskContext {
  private controller: AbortController | undefined = undefined;
  private abortedWith: { reason: unknown } | undefined = undefined;
  /** Set once the try's outcome is in (or it was abandoned): later updates are dropped. */
  over = false;
  /** The run's start, kept here by `runOneTry` (which has no run object). */
  startedAt = NO_TIME;

  constructor(
    readonly task: TaskCore,
    readonly runKey: TRunKey,
    readonly attempt: number,
    /** The run the try belongs to; undefined for a run of one plain try (`runOneTry`). */
    readonly run: TaskRun | undefined,
  ) {}

  get runId(): string {
    return runIdOf(this.runKey);
  }

  update(payload: unknown): void {
    if (this.over) return;
    this.task.emitUpdate(this.runKey, payload);
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortedWith !== undefined) this.controller.abort(this.abortedWith.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.abortedWith !== undefined) return;
    this.over = true;
    this.abortedWith = { reason };
    this.controller?.abort(reason);
  }
}

/**
 * One run of a task: its tries, their timeouts, the waits between retries, and the
 * caller's signal; the one place where a try is made and booked. The run settles exactly
 * once; whatever a try does after it was abandoned (aborted or timed out) is dropped.
 *
 * Subclasses say where the outcome goes (`report`) and what a retry does with the slots
 * the run holds: a PromisedRun settles the promise of `task.trigger`, the manager's
 * ActiveRun settles its trigger and gives its constraint slots back between tries.
 * @internal
 */
export abstract class TaskRun implements IAbortableRun {
  private attempt = 0;
  /** The try going on now; undefined between tries and after the end. */
  private current: TryContext | undefined = undefined;
  private startedAt = NO_TIME;
  private phase = NOT_BEGUN;
  /** Made only for a run with a signal, a time limit or retries: most runs have none. */
  private readonly limits: IRunLimits | undefined;
  /** The run's id as events carry it (see runid.ts). */
  private readonly runKey: TRunKey;

  constructor(
    protected readonly task: TaskCore,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    retryPolicy: RetryPolicy | undefined,
    runId: string | undefined,
  ) {
    this.runKey = runId ?? nextRunKey();
    this.limits = signal === undefined && timeoutMs === undefined && retryPolicy === undefined
      ? undefined
      : { signal, timeoutMs, retryPolicy, onCallerAbort: undefined, timer: undefined };
  }

  /** The id the run's events carry. */
  get runId(): string {
    return runIdOf(this.runKey);
  }

  /** When the run began (epoch ms), NaN before. */
  get startTime(): number {
    return this.startedAt;
  }

  /** Whether the run began (and can be aborted): it did from the moment `start` was called. */
  protected get begun(): boolean {
    return this.phase !== NOT_BEGUN;
  }

  private get over(): boolean {
    return this.phase === OVER;
  }

  /**
   * The manager's trigger when a TaskManager started this run, else undefined.
   * @internal
   */
  get managedTrigger(): TManagedTrigger | undefined {
    return undefined;
  }

  /** The trigger's input, which every try gets. */
  protected abstract get input(): unknown;

  /** Where the outcome goes, exactly once; `endedAt` is a fresh reading of the clock, if one was taken. */
  protected abstract report(ok: boolean, value: unknown, endedAt: number | undefined): void;

  /** The run has begun and can be aborted from now on. */
  protected began(): void {}

  /** A try failed and the retry waits: slots held for the run may go back meanwhile. */
  protected releaseForRetry(): void {}

  /** The retry's wait is over: a promise when the next try must wait for slots again. */
  protected reacquireForRetry(): Promise<void> | undefined {
    return undefined;
  }

  /** Begins the run, at `startedAt` when the caller has a fresh reading of the clock. */
  start(startedAt: number | undefined): void {
    // Abortable from the first moment: a `started` subscriber may abort the caller's signal.
    this.phase = BEGUN;
    this.began();
    this.startedAt = this.task.beginRun(startedAt, this.runKey);
    const signal = this.limits?.signal;
    if (signal !== undefined) {
      if (signal.aborted) return this.abort(signal.reason);
      this.listenToCaller(this.limits!, signal);
    }
    this.nextTry();
  }

  // Apart from `start`: a closure in `start` would make a context at every call, signal or not.
  private listenToCaller(limits: IRunLimits, signal: AbortSignal): void {
    limits.onCallerAbort = () => this.abort(signal.reason);
    signal.addEventListener('abort', limits.onCallerAbort, { once: true });
  }

  /** Ends the run at once with an `AbortError`; the try going on is signalled and its outcome dropped. */
  abort(reason: unknown): void {
    if (this.over) return;
    const error = new AbortError(`${describeTask(this.task.name)} was aborted: ${messageOf(reason)}`, reason);
    if (this.current !== undefined) {
      this.current.abort(reason);
      this.task.recordTryFailure(error);
    }
    this.fail(error, false);
  }

  private nextTry(): void {
    const context = new TryContext(this.task, this.runKey, ++this.attempt, this);
    this.current = context;
    const timeoutMs = this.limits?.timeoutMs;
    if (timeoutMs !== undefined) this.limits!.timer = setTimer(() => this.onTimeout(context, timeoutMs), timeoutMs);
    callTry(this.task, this.input, context).then(
      (result) => this.onTryFulfilled(context, result),
      (error: unknown) => this.onTryRejected(context, error),
    );
  }

  private onTryFulfilled(context: TryContext, result: unknown): void {
    if (context !== this.current) return;
    context.over = true;
    this.current = undefined;
    // Over before the bookkeeping: its `completed` event runs subscribers, which may abort.
    this.end();
    const endedAt = this.task.endRunSucceeded(this.startedAt, this.runKey);
    this.report(true, result, endedAt);
  }

  private onTryRejected(context: TryContext, error: unknown): void {
    if (context !== this.current) return;
    context.over = true;
    this.clearTimer();
    this.tryFailed(error);
  }

  private onTimeout(context: TryContext, timeoutMs: number): void {
    if (context !== this.current) return;
    this.limits!.timer = undefined;
    const error = new TimeoutError(this.task.name, timeoutMs);
    context.abort(error);
    this.tryFailed(error);
  }

  private tryFailed(error: unknown): void {
    this.current = undefined;
    this.task.recordTryFailure(error);
    const policy = this.limits?.retryPolicy;
    let retry = false;
    if (policy !== undefined) {
      try {
        retry = policy.shouldRetry(error, this.attempt);
      } catch (retryIfError) {
        // A broken retryIf is the error worth seeing, not the one it was asked about.
        return this.fail(retryIfError, true);
      }
    }
    if (!retry) return this.fail(error, true);
    const delayMs = policy!.delayBefore(this.attempt + 1);
    this.task.emitRetrying(this.attempt + 1, delayMs, error, this.runKey);
    this.releaseForRetry();
    // Giving slots back starts other runs, and a `retrying` subscriber runs too: either may have aborted this one.
    if (!this.over) this.limits!.timer = setTimer(() => this.afterRetryDelay(), delayMs);
  }

  private afterRetryDelay(): void {
    this.limits!.timer = undefined;
    if (this.over) return;
    const reacquired = this.reacquireForRetry();
    if (reacquired === undefined) return this.nextTry();
    reacquired.then(
      () => {
        if (!this.over) this.nextTry();
      },
      (error: unknown) => this.fail(error, false),
    );
  }

  private fail(error: unknown, catchable: boolean): void {
    if (this.over) return;
    this.current = undefined;
    this.end();
    this.task.endRunFailed(this.startedAt, error, this.runKey);
    if (catchable && this.task.catchErrors) this.report(true, undefined, undefined);
    else this.report(false, error, undefined);
  }

  private end(): void {
    this.phase = OVER;
    const limits = this.limits;
    if (limits === undefined) return;
    this.clearTimer();
    if (limits.onCallerAbort !== undefined) limits.signal!.removeEventListener('abort', limits.onCallerAbort);
  }

  private clearTimer(): void {
    const limits = this.limits;
    if (limits?.timer === undefined) return;
    clearTimer(limits.timer);
    limits.timer = undefined;
  }
}

/**
 * The run of `task.trigger`: its outcome settles the promise the caller holds. Under a
 * TaskManager that triggers a task with a trigger of its own (buffered, debounced, once),
 * `control` lets the manager abort the run and take its slots back between tries.
 * @internal
 */
export class PromisedRun extends TaskRun {
  private resolve: ((value: unknown) => void) | undefined = undefined;
  private reject: ((reason: unknown) => void) | undefined = undefined;

  constructor(task: TaskCore, protected readonly input: unknown, signal: AbortSignal | undefined, timeoutMs: number | undefined,
    retryPolicy: RetryPolicy | undefined, private readonly control: IRunControl | undefined, runId: string | undefined) {
    super(task, signal, timeoutMs, retryPolicy, runId);
  }

  /** Starts the run and returns the promise of its outcome. */
  promise(): Promise<unknown> {
    const promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.start(undefined);
    return promise;
  }

  protected report(ok: boolean, value: unknown): void {
    if (ok) this.resolve!(value);
    else this.reject!(value);
  }

  protected override began(): void {
    this.control?.attach(this);
  }

  override get managedTrigger(): TManagedTrigger | undefined {
    return this.control?.managedTrigger;
  }

  protected override releaseForRetry(): void {
    this.control?.releaseForRetry();
  }

  protected override reacquireForRetry(): Promise<void> | undefined {
    return this.control?.reacquireForRetry();
  }
}

/** Calls the task function for one try; a synchronous throw becomes a rejection like an async one. */
function callTry(task: TaskCore, input: unknown, context: TryContext): Promise<unknown> {
  try {
    return Promise.resolve(task.callFunction(input, context));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * A run that nothing but its one try can end: no signal, timeout, retry or manager, as
 * most runs of `task.trigger` are. The same try (`callTry`) and the same bookkeeping as a
 * TaskRun's, with the run's one piece of state, its start, held by the try's reactions
 * instead of a run object (internal/hotpath.ts, trick 6).
 */
export function runOneTry(task: TaskCore, input: unknown, runId: string | undefined): Promise<unknown> {
  const context = new TryContext(task, runId ?? nextRunKey(), 1, undefined);
  context.startedAt = task.beginRun(undefined, context.runKey);
  // The reactions reach everything through the context, so that their closure holds one object.
  return callTry(task, input, context).then(
    (result) => {
      context.over = true;
      context.task.endRunSucceeded(context.startedAt, context.runKey);
      return result;
    },
    (error: unknown) => {
      context.over = true;
      const { task } = context;
      task.recordTryFailure(error);
      task.endRunFailed(context.startedAt, error, context.runKey);
      if (task.catchErrors) return undefined;
      throw error;
    },
  );
}

/**
 * The manager's trigger of the run a task function's `context` belongs to, when a
 * TaskManager started that run (see TManagedTrigger); else undefined.
 * @internal
 */
export function managedTriggerOf(context: ITaskContext): TManagedTrigger | undefined {
  return context instanceof TryContext ? context.run?.managedTrigger : undefined;
}

keepShapeAlive(new TryContext(undefined as unknown as TaskCore, 0, 0, undefined));
keepShapeAlive(new PromisedRun(undefined as unknown as TaskCore, undefined, undefined, undefined, undefined, undefined, undefined));
