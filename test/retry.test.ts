/**
 * RetryPolicy: how the `retry` option of a Task is checked where it enters, when a failed
 * try gets another, and how long the wait before each retry is.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvalidOptionError, Task, TaskbufferError } from '../ts/index.js';
import { RetryPolicy, type IRetryOptions } from '../ts/task/retry.js';

/** Runs `fn`, expecting an InvalidOptionError for `option` whose message names the value. */
function expectRefusal(fn: () => unknown, option: string, valueText: string): InvalidOptionError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof InvalidOptionError, `expected an InvalidOptionError, got ${String(caught)}`);
  assert.ok(caught instanceof TaskbufferError);
  assert.equal(caught.name, 'InvalidOptionError');
  assert.equal(caught.code, 'INVALID_OPTION');
  assert.equal(caught.option, option);
  assert.ok(caught.message.includes(option), `message should name ${option}: ${caught.message}`);
  assert.ok(caught.message.includes(valueText), `message should name the value ${valueText}: ${caught.message}`);
  return caught;
}

const policy = (options: IRetryOptions, random?: () => number) => new RetryPolicy('Task "t"', options, random);

describe('RetryPolicy validation', () => {
  it('refuses attempts that are not a positive integer, naming the value', () => {
    for (const [value, text] of [[0, '0'], [-1, '-1'], [1.5, '1.5'], [Number.NaN, 'NaN'], [Number.POSITIVE_INFINITY, 'Infinity']] as const) {
      const error = expectRefusal(() => policy({ attempts: value }), 'retry.attempts', text);
      assert.equal(error.value, value);
    }
    expectRefusal(() => policy({ attempts: '3' as unknown as number }), 'retry.attempts', '"3"');
    expectRefusal(() => policy({} as IRetryOptions), 'retry.attempts', 'undefined');
  });

  it('refuses a backoff other than fixed or exponential, naming the value', () => {
    const error = expectRefusal(() => policy({ attempts: 2, backoff: 'linear' as 'fixed' }), 'retry.backoff', 'linear');
    assert.equal(error.value, 'linear');
  });

  it('refuses a negative or non-finite delayMs', () => {
    expectRefusal(() => policy({ attempts: 2, delayMs: -1 }), 'retry.delayMs', '-1');
    expectRefusal(() => policy({ attempts: 2, delayMs: Number.NaN }), 'retry.delayMs', 'NaN');
    expectRefusal(() => policy({ attempts: 2, delayMs: Number.POSITIVE_INFINITY }), 'retry.delayMs', 'Infinity');
  });

  it('refuses a negative or NaN maxDelayMs but accepts Infinity', () => {
    expectRefusal(() => policy({ attempts: 2, maxDelayMs: -5 }), 'retry.maxDelayMs', '-5');
    expectRefusal(() => policy({ attempts: 2, maxDelayMs: Number.NaN }), 'retry.maxDelayMs', 'NaN');
    assert.doesNotThrow(() => policy({ attempts: 2, maxDelayMs: Number.POSITIVE_INFINITY }));
  });

  it('refuses a jitter outside 0 to 1, naming the value', () => {
    const error = expectRefusal(() => policy({ attempts: 2, jitter: 2 }), 'retry.jitter', '2');
    assert.equal(error.value, 2);
    expectRefusal(() => policy({ attempts: 2, jitter: -0.1 }), 'retry.jitter', '-0.1');
    expectRefusal(() => policy({ attempts: 2, jitter: Number.NaN }), 'retry.jitter', 'NaN');
    assert.doesNotThrow(() => policy({ attempts: 2, jitter: 0 }));
    assert.doesNotThrow(() => policy({ attempts: 2, jitter: 1 }));
  });

  it('refuses a retryIf that is not a function', () => {
    expectRefusal(() => policy({ attempts: 2, retryIf: true as unknown as () => boolean }), 'retry.retryIf', 'true');
  });

  it('refuses a retry option that is not an object', () => {
    expectRefusal(() => policy(null as unknown as IRetryOptions), 'retry', 'null');
    expectRefusal(() => policy(3 as unknown as IRetryOptions), 'retry', '3');
  });

  it('is checked when the Task is built, so a bad retry option never reaches a run', () => {
    const build = (retry: IRetryOptions) => () => new Task({ name: 'flaky', retry, taskFunction: async () => 1 });
    expectRefusal(build({ attempts: 0 }), 'retry.attempts', '0');
    expectRefusal(build({ attempts: 2, backoff: 'linear' as 'fixed' }), 'retry.backoff', 'linear');
    expectRefusal(build({ attempts: 2, jitter: 2 }), 'retry.jitter', '2');
    const error = expectRefusal(build({ attempts: 0 }), 'retry.attempts', '0');
    assert.ok(error.message.includes('flaky'), `the message names the task: ${error.message}`);
  });
});

describe('RetryPolicy.shouldRetry', () => {
  it('counts attempts as total tries, the first included', () => {
    const p = policy({ attempts: 3 });
    assert.equal(p.attempts, 3);
    assert.equal(p.shouldRetry(new Error('x'), 1), true);
    assert.equal(p.shouldRetry(new Error('x'), 2), true);
    assert.equal(p.shouldRetry(new Error('x'), 3), false);
  });

  it('never retries with attempts: 1', () => {
    assert.equal(policy({ attempts: 1 }).shouldRetry(new Error('x'), 1), false);
  });

  it('asks retryIf with the error and the number of the try that failed', () => {
    const asked: Array<[unknown, number]> = [];
    const transient = new Error('transient');
    const fatal = new Error('fatal');
    const p = policy({
      attempts: 5,
      retryIf: (error, attempt) => {
        asked.push([error, attempt]);
        return error === transient;
      },
    });
    assert.equal(p.shouldRetry(transient, 1), true);
    assert.equal(p.shouldRetry(fatal, 2), false);
    assert.deepEqual(asked, [[transient, 1], [fatal, 2]]);
  });

  it('does not ask retryIf once the attempts are used up', () => {
    let asked = 0;
    const p = policy({ attempts: 2, retryIf: () => (asked++, true) });
    assert.equal(p.shouldRetry(new Error('x'), 2), false);
    assert.equal(asked, 0);
  });
});

describe('RetryPolicy.delayBefore', () => {
  it('waits nothing by default', () => {
    const p = policy({ attempts: 4 });
    assert.deepEqual([2, 3, 4].map((n) => p.delayBefore(n)), [0, 0, 0]);
  });

  it('waits delayMs before every retry with fixed backoff', () => {
    const p = policy({ attempts: 4, backoff: 'fixed', delayMs: 70 });
    assert.deepEqual([2, 3, 4].map((n) => p.delayBefore(n)), [70, 70, 70]);
  });

  it('waits delayMs before the first retry and doubles each later wait with exponential backoff', () => {
    const p = policy({ attempts: 6, backoff: 'exponential', delayMs: 100 });
    assert.deepEqual([2, 3, 4, 5, 6].map((n) => p.delayBefore(n)), [100, 200, 400, 800, 1600]);
  });

  it('caps every wait at maxDelayMs', () => {
    const exponential = policy({ attempts: 6, backoff: 'exponential', delayMs: 100, maxDelayMs: 250 });
    assert.deepEqual([2, 3, 4, 5, 6].map((n) => exponential.delayBefore(n)), [100, 200, 250, 250, 250]);
    const fixed = policy({ attempts: 3, delayMs: 500, maxDelayMs: 300 });
    assert.equal(fixed.delayBefore(2), 300);
  });

  it('shortens each wait by up to the jitter fraction, never lengthens it', () => {
    const capped = 400;
    const atZero = policy({ attempts: 3, delayMs: capped, jitter: 0.25 }, () => 0);
    assert.equal(atZero.delayBefore(2), capped);
    const atHalf = policy({ attempts: 3, delayMs: capped, jitter: 0.25 }, () => 0.5);
    assert.equal(atHalf.delayBefore(2), capped * (1 - 0.25 * 0.5));
    const nearOne = policy({ attempts: 3, delayMs: capped, jitter: 0.25 }, () => 0.999999);
    assert.ok(nearOne.delayBefore(2) > capped * 0.75 - 1e-9);
  });

  it('keeps every jittered wait between (1 - jitter) times the capped wait and the capped wait', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom<'fixed' | 'exponential'>('fixed', 'exponential'),
        fc.integer({ min: 0, max: 10_000 }),
        fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retries, backoff, delayMs, maxDelayMs, jitter, random) => {
          const nextAttempt = retries + 1;
          const p = policy({ attempts: nextAttempt, backoff, delayMs, maxDelayMs, jitter }, () => random);
          const base = backoff === 'exponential' ? delayMs * 2 ** (nextAttempt - 2) : delayMs;
          const capped = Math.min(base, maxDelayMs ?? Number.POSITIVE_INFINITY);
          const delay = p.delayBefore(nextAttempt);
          assert.ok(delay <= capped + 1e-9, `delay ${delay} > capped ${capped}`);
          assert.ok(delay >= capped * (1 - jitter) - 1e-9, `delay ${delay} < ${capped * (1 - jitter)}`);
          assert.ok(delay >= 0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('uses Math.random for jitter when nothing else is injected', () => {
    const p = new RetryPolicy('Task "t"', { attempts: 2, delayMs: 1000, jitter: 0.5 });
    for (let i = 0; i < 50; i++) {
      const delay = p.delayBefore(2);
      assert.ok(delay > 500 - 1e-9 && delay <= 1000, `delay ${delay} outside (500, 1000]`);
    }
  });
});
