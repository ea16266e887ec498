import { InvalidOptionError } from '../errors.js';
import { assertFunction, assertNonNegativeFinite, assertPositiveInteger, describeValue } from '../internal/validate.js';

/** The `retry` option of a Task, and of a single trigger (`ITriggerOptions.retry`). */
export interface IRetryOptions {
  /** Tries in all, the first included: `attempts: 3` calls the function at most 3 times. */
  attempts: number;
  /**
   * `fixed` waits `delayMs` before every retry; `exponential` doubles the wait each time.
   * @default 'fixed'
   */
  backoff?: 'fixed' | 'exponential';
  /**
   * The wait before the first retry, in ms.
   * @default 0
   */
  delayMs?: number;
  /**
   * The longest wait, in ms, however often it doubled.
   * @default Infinity
   */
  maxDelayMs?: number;
  /**
   * Randomly shortens each wait by up to this fraction (0–1), so that many clients that
   * failed together do not retry together.
   * @default 0
   */
  jitter?: number;
  /** Decides whether an error is worth another try. @default every error is */
  retryIf?: (error: unknown, attempt: number) => boolean;
}

/**
 * The checked `retry` option and the waits it gives: what a run asks after a failed try,
 * and what a caller that retries on its own asks of `task.retryPolicy` (public API: keep
 * `attempts`, `shouldRetry` and `delayBefore` as they are).
 */
export class RetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  private readonly exponential: boolean;
  private readonly delayMs: number;
  private readonly maxDelayMs: number;
  private readonly jitter: number;
  private readonly retryIf: IRetryOptions['retryIf'];

  /**
   * Checks `options` (an InvalidOptionError names a bad value); `owner` names the task or
   * trigger in messages. `random` is for tests of the jitter.
   */
  constructor(owner: string, options: IRetryOptions, private readonly random: () => number = Math.random) {
    if (options === null || typeof options !== 'object') {
      throw new InvalidOptionError('retry', options, `${owner}: expected \`retry\` to be an object like { attempts: 3 }, got ${describeValue(options)}`);
    }
    assertPositiveInteger(owner, 'retry.attempts', options.attempts);
    if (options.backoff !== undefined && options.backoff !== 'fixed' && options.backoff !== 'exponential') {
      throw new InvalidOptionError('retry.backoff', options.backoff,
        `${owner}: expected \`retry.backoff\` to be 'fixed' or 'exponential', got ${describeValue(options.backoff)}`);
    }
    if (options.delayMs !== undefined) assertNonNegativeFinite(owner, 'retry.delayMs', options.delayMs);
    if (options.maxDelayMs !== undefined && options.maxDelayMs !== Number.POSITIVE_INFINITY) {
      assertNonNegativeFinite(owner, 'retry.maxDelayMs', options.maxDelayMs);
    }
    if (options.jitter !== undefined) {
      assertNonNegativeFinite(owner, 'retry.jitter', options.jitter);
      if (options.jitter > 1) {
        throw new InvalidOptionError('retry.jitter', options.jitter, `${owner}: expected \`retry.jitter\` to be a fraction from 0 to 1, got ${options.jitter}`);
      }
    }
    if (options.retryIf !== undefined) assertFunction(owner, 'retry.retryIf', options.retryIf);
    this.attempts = options.attempts;
    this.exponential = options.backoff === 'exponential';
    this.delayMs = options.delayMs ?? 0;
    this.maxDelayMs = options.maxDelayMs ?? Number.POSITIVE_INFINITY;
    this.jitter = options.jitter ?? 0;
    this.retryIf = options.retryIf;
  }

  /**
   * Whether try number `failedAttempt` (1-based), which failed with `error`, gets another:
   * not once `attempts` are used up, else what `retryIf` says. A `retryIf` that throws
   * throws here.
   */
  shouldRetry(error: unknown, failedAttempt: number): boolean {
    if (failedAttempt >= this.attempts) return false;
    return this.retryIf === undefined || this.retryIf(error, failedAttempt) === true;
  }

  /** The wait before try number `nextAttempt` (2 for the first retry), in ms; jittered anew at each call. */
  delayBefore(nextAttempt: number): number {
    const base = this.exponential ? this.delayMs * 2 ** (nextAttempt - 2) : this.delayMs;
    const capped = Math.min(base, this.maxDelayMs);
    return this.jitter === 0 ? capped : capped * (1 - this.jitter * this.random());
  }
}
