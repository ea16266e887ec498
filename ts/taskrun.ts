import { AbortError, describeTask, messageOf, TimeoutError } from './errors.js';
import type { RetryPolicy } from './retry.js';
import type { ITaskContext } from './types.js';

/**
 * How a TaskManager follows and steers a run it started.
 * @internal
 */
export interface IRunControl {
  /** The run has started: the manager may abort it from now on. */
  attach(run: TaskRun): void;
  /** The trigger waits in a task's own line (buffer, debounce, once): `cancel` withdraws it. */
  attachWaiter?(cancel: (reason: unknown) => void): void;
  /** A try failed and a retry waits: give constraint slots back meanwhile. */
  releaseForRetry(): void;
  /** The retry's wait is over: resolves once the slots are held again. */
  reacquireForRetry(): Promise<void>;
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
  endRunSucceeded(startedAt: number): void;
  endRunFailed(startedAt: number, error: unknown): void;
  emitRetrying(attempt: number, delayMs: number, error: unknown): void;
}

/** @internal */
export interface IRunOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  control?: IRunControl | undefined;
}

/** The context of one try. Its signal is made only when the function asks for it. */
class TryContext implements ITaskContext {
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
 * caller's signal. The run's promise settles exactly once; whatever a try does after
 * it was abandoned (aborted or timed out) is dropped.
 * @internal
 */
export class TaskRun {
  readonly promise: Promise<unknown>;
  private resolvePromise!: (value: unknown) => void;
  private rejectPromise!: (reason: unknown) => void;
  private settled = false;
  private attempt = 0;
  /** The try going on now; undefined between tries and after the end. */
  private current: TryContext | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly startedAt: number;
  private readonly onCallerAbort: (() => void) | undefined;

  constructor(
    private readonly host: IRunHost,
    private readonly input: unknown,
    private readonly options: IRunOptions,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.resolvePromise = resolve;
      this.rejectPromise = reject;
    });
    this.startedAt = host.beginRun();
    const signal = options.signal;
    if (signal !== undefined) {
      this.onCallerAbort = () => this.abort(signal.reason);
      signal.addEventListener('abort', this.onCallerAbort, { once: true });
    }
    options.control?.attach(this);
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
    const timeoutMs = this.options.timeoutMs;
    if (timeoutMs !== undefined) this.timer = setTimeout(() => this.onTimeout(context, timeoutMs), timeoutMs);
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
    this.resolvePromise(result);
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
    this.options.control?.releaseForRetry();
    this.timer = setTimeout(() => this.afterRetryDelay(), delayMs);
  }

  private afterRetryDelay(): void {
    this.timer = undefined;
    if (this.settled) return;
    const control = this.options.control;
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
    if (catchable && this.host.catchErrors) this.resolvePromise(undefined);
    else this.rejectPromise(error);
  }

  private settle(): void {
    this.settled = true;
    this.clearTimer();
    if (this.onCallerAbort !== undefined) this.options.signal!.removeEventListener('abort', this.onCallerAbort);
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
