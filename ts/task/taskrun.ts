import { clearTimer, handOnTime, setTimer, timeNow, type TTimer, withdrawTime } from '../internal/clock.js';
import { AbortError, describeTask, messageOf, TimeoutError } from '../errors.js';
import type { RetryPolicy } from './retry.js';
import type { ITaskContext } from '../types.js';

/**
 * A run that its TaskManager can abort (a draining stop that gives up waiting).
 * @internal
 */
export interface IAbortableRun {
  abort(reason: unknown): void;
}

/**
 * How a TaskManager follows and steers a run it started.
 * @internal
 */
export interface IRunControl {
  /** The run has started: the manager may abort it from now on. */
  attach(run: IAbortableRun): void;
  /** The trigger waits in a task's own line (buffer, debounce, once): `cancel` withdraws it. */
  attachWaiter?(cancel: (reason: unknown) => void): void;
  /** A try failed and a retry waits: give constraint slots back meanwhile. */
  releaseForRetry(): void;
  /** The retry's wait is over: resolves once the slots are held again. */
  reacquireForRetry(): Promise<void>;
  /**
   * The run's outcome, for a run started with `TaskRun.reportingTo`: the manager settles
   * its caller's promise itself, so the run needs no promise of its own.
   */
  settled?(ok: boolean, value: unknown): void;
  /**
   * Runs a run of one plain try itself (see SingleTryRun), reporting like `settled`; a
   * control without it gets a `TaskRun.reportingTo` for such runs too.
   */
  runSingleTry?(host: IRunHost, input: unknown): void;
}

/**
 * What a run needs from its task: the function with its hooks, the retry policy and the
 * bookkeeping that keeps counts, status and events right.
 * @internal
 */
export interface IRunHost {
  readonly name: string | undefined;
  readonly catchErrors: boolean;
  readonly retryPolicy: RetryPolicy | undefined;
  callFunction(input: unknown, context: ITaskContext): unknown;
  beginRun(): number;
  recordTryFailure(error: unknown): void;
  /** Returns the time it read, when nothing (no event) ran since: the next start may take it (see clock.ts). */
  endRunSucceeded(startedAt: number): number | undefined;
  endRunFailed(startedAt: number, error: unknown): void;
  emitRetrying(attempt: number, delayMs: number, error: unknown): void;
}

/** The context of one try. Its signal is made only when the function asks for it. */
export class TryContext implements ITaskContext {
  private controller: AbortController | undefined;
  private abortedWith: { reason: unknown } | undefined;

  constructor(readonly attempt: number) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortedWith !== undefined) this.controller.abort(this.abortedWith.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.abortedWith !== undefined) return;
    this.abortedWith = { reason };
    this.controller?.abort(reason);
  }
}

/**
 * One run of a task: its tries, their timeouts, the waits between retries, and the
 * caller's signal. The run settles exactly once; whatever a try does after it was
 * abandoned (aborted or timed out) is dropped.
 *
 * The outcome goes to one of two places: the run's own promise (`TaskRun.promised`, for
 * `task.trigger`), or, for a run a TaskManager started, straight to its control
 * (`TaskRun.reportingTo`), which settles the trigger's promise itself.
 * @internal
 */
export class TaskRun implements IAbortableRun {
  /** Set for a run with a promise of its own; a run without reports to `control.settled`. */
  private resolvePromise: ((value: unknown) => void) | undefined;
  private rejectPromise: ((reason: unknown) => void) | undefined;
  private settled = false;
  private attempt = 0;
  /** The try going on now; undefined between tries and after the end. */
  private current: TryContext | undefined;
  private timer: TTimer | undefined;
  /**
   * A time (epoch ms) is not a small integer: NaN makes the field hold doubles from the
   * start, so setting it does not change the hidden class of runs (see keptForItsClass).
   */
  private startedAt = Number.NaN;
  private onCallerAbort: (() => void) | undefined;

  /**
   * One run and one try context that live as long as the class, so that V8 keeps their
   * hidden classes. V8 holds the class of a fully built object only weakly: once every
   * run has ended and a full garbage collection runs, the class is dropped, all code
   * optimised for it is thrown away, and the next burst of triggers starts slow.
   */
  private static readonly keptForItsClass = [
    new TaskRun(undefined as unknown as IRunHost, undefined, undefined, undefined, undefined),
    new TryContext(0),
  ];

  /** Starts a run and returns its promise. */
  static promised(host: IRunHost, input: unknown, signal: AbortSignal | undefined, timeoutMs: number | undefined,
    control: IRunControl | undefined): Promise<unknown> {
    const run = new TaskRun(host, input, signal, timeoutMs, control);
    const promise = new Promise((resolve, reject) => {
      run.resolvePromise = resolve;
      run.rejectPromise = reject;
    });
    run.start();
    return promise;
  }

  /** Starts a run whose outcome goes to `control.settled`. */
  static reportingTo(host: IRunHost, input: unknown, signal: AbortSignal | undefined, timeoutMs: number | undefined,
    control: IRunControl): void {
    new TaskRun(host, input, signal, timeoutMs, control).start();
  }

  private constructor(
    private readonly host: IRunHost,
    private readonly input: unknown,
    private readonly signal: AbortSignal | undefined,
    private readonly timeoutMs: number | undefined,
    private readonly control: IRunControl | undefined,
  ) {}

  private start(): void {
    this.startedAt = this.host.beginRun();
    const signal = this.signal;
    if (signal !== undefined) {
      this.onCallerAbort = () => this.abort(signal.reason);
      signal.addEventListener('abort', this.onCallerAbort, { once: true });
    }
    this.control?.attach(this);
    this.nextTry();
  }

  /** Ends the run at once with an `AbortError`; the try going on is signalled and its outcome dropped. */
  abort(reason: unknown): void {
    if (this.settled) return;
    const error = new AbortError(`${describeTask(this.host.name)} was aborted: ${messageOf(reason)}`, reason);
    if (this.current !== undefined) {
      this.current.abort(reason);
      this.host.recordTryFailure(error);
    }
    this.fail(error, false);
  }

  private nextTry(): void {
    const context = new TryContext(++this.attempt);
    this.current = context;
    const timeoutMs = this.timeoutMs;
    if (timeoutMs !== undefined) this.timer = setTimer(() => this.onTimeout(context, timeoutMs), timeoutMs);
    let pending: unknown;
    try {
      pending = this.host.callFunction(this.input, context);
    } catch (error) {
      pending = Promise.reject(error);
    }
    Promise.resolve(pending).then(
      (result) => this.onTryFulfilled(context, result),
      (error: unknown) => this.onTryRejected(context, error),
    );
  }

  private onTryFulfilled(context: TryContext, result: unknown): void {
    if (context !== this.current) return;
    this.current = undefined;
    this.clearTimer();
    this.host.endRunSucceeded(this.startedAt);
    this.settle();
    this.report(true, result);
  }

  private onTryRejected(context: TryContext, error: unknown): void {
    if (context !== this.current) return;
    this.clearTimer();
    this.tryFailed(error);
  }

  private onTimeout(context: TryContext, timeoutMs: number): void {
    if (context !== this.current) return;
    this.timer = undefined;
    const error = new TimeoutError(this.host.name, timeoutMs);
    context.abort(error);
    this.tryFailed(error);
  }

  private tryFailed(error: unknown): void {
    this.current = undefined;
    this.host.recordTryFailure(error);
    const policy = this.host.retryPolicy;
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
    this.host.emitRetrying(this.attempt + 1, delayMs, error);
    this.control?.releaseForRetry();
    this.timer = setTimer(() => this.afterRetryDelay(), delayMs);
  }

  private afterRetryDelay(): void {
    this.timer = undefined;
    if (this.settled) return;
    const control = this.control;
    if (control === undefined) return this.nextTry();
    control.reacquireForRetry().then(
      () => {
        if (!this.settled) this.nextTry();
      },
      (error: unknown) => this.fail(error, false),
    );
  }

  private fail(error: unknown, catchable: boolean): void {
    if (this.settled) return;
    this.current = undefined;
    this.host.endRunFailed(this.startedAt, error);
    this.settle();
    if (catchable && this.host.catchErrors) this.report(true, undefined);
    else this.report(false, error);
  }

  private report(ok: boolean, value: unknown): void {
    if (this.resolvePromise === undefined) return this.control!.settled!(ok, value);
    if (ok) this.resolvePromise(value);
    else this.rejectPromise!(value);
  }

  private settle(): void {
    this.settled = true;
    this.clearTimer();
    if (this.onCallerAbort !== undefined) this.signal!.removeEventListener('abort', this.onCallerAbort);
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    clearTimer(this.timer);
    this.timer = undefined;
  }
}

/**
 * A run of exactly one try that nothing can time out, retry or abort through a signal,
 * started by a TaskManager: most runs. It keeps the bookkeeping and the outcome of a
 * TaskRun with a single try (see TaskRun's `nextTry`, `onTryFulfilled`, `tryFailed` and
 * `fail`) and skips the machinery it has no use for. A draining stop can still abort it.
 *
 * Abstract so that the manager's record of an active run can be the run itself, one
 * object per run instead of two: a subclass says where the outcome goes (`reportTry`).
 * @internal
 */
export abstract class SingleTryRun implements IAbortableRun {
  private host: IRunHost | undefined = undefined;
  /** The try's context while it runs; undefined before and once it is over. */
  private context: TryContext | undefined = undefined;
  /** A double from the start; see TaskRun's `startedAt`. */
  private startedAt = Number.NaN;

  /** Where the outcome of the try goes, exactly once. */
  protected abstract reportTry(ok: boolean, value: unknown): void;

  /** Runs the one try of `host`'s function with `input`. */
  startSingleTry(host: IRunHost, input: unknown): void {
    const context = new TryContext(1);
    this.host = host;
    this.context = context;
    this.startedAt = host.beginRun();
    let pending: unknown;
    try {
      pending = host.callFunction(input, context);
    } catch (error) {
      pending = Promise.reject(error);
    }
    Promise.resolve(pending).then(
      (result) => this.trySucceeded(context, result),
      (error: unknown) => this.tryFailed(context, error),
    );
  }

  /** Ends the run at once with an `AbortError`; the try is signalled and its outcome dropped. */
  abort(reason: unknown): void {
    const context = this.context;
    if (context === undefined) return;
    const host = this.host!;
    const error = new AbortError(`${describeTask(host.name)} was aborted: ${messageOf(reason)}`, reason);
    context.abort(reason);
    host.recordTryFailure(error);
    this.endFailed(error, false);
  }

  private trySucceeded(context: TryContext, result: unknown): void {
    if (context !== this.context) return;
    this.context = undefined;
    const endedAt = this.host!.endRunSucceeded(this.startedAt);
    if (endedAt === undefined) return this.reportTry(true, result);
    // A manager starts the next run within the report, before any user code runs.
    handOnTime(endedAt);
    try {
      this.reportTry(true, result);
    } finally {
      withdrawTime();
    }
  }

  private tryFailed(context: TryContext, error: unknown): void {
    if (context !== this.context) return;
    this.host!.recordTryFailure(error);
    this.endFailed(error, true);
  }

  private endFailed(error: unknown, catchable: boolean): void {
    this.context = undefined;
    const host = this.host!;
    host.endRunFailed(this.startedAt, error);
    if (catchable && host.catchErrors) this.reportTry(true, undefined);
    else this.reportTry(false, error);
  }
}
