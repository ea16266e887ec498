/**
 * RetryPolicy: how the `retry` option of a Task is checked where it enters, when a failed
 * try gets another, and how long the wait before each retry is; and a trigger's own
 * `retry` option, which replaces the task's for that trigger.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvalidOptionError, Task, TaskbufferError, TaskDebounced, TaskOnce, type ITaskContext, type ITriggerOptions } from '../ts/index.js';
import { RetryPolicy, type IRetryOptions } from '../ts/task/retry.js';
import { useFakeClock } from './fake-clock.js';
import { rejectionOf } from './manager-helpers.js';
import { collectEvents } from './rule-helpers.js';

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

/** A task whose tries fail with `try 1`, `try 2`, ... and that records the time of each try. */
function failingTask(name: string, retry: IRetryOptions | undefined, clock: { now(): number }) {
  const tries: Array<[number, number]> = [];
  const task = new Task({
    name,
    retry,
    taskFunction: async (_input: unknown, _setup, { attempt }: ITaskContext) => {
      tries.push([attempt, clock.now()]);
      throw new Error(`try ${attempt}`);
    },
  });
  return { task, tries };
}

describe("a trigger's own retry option", () => {
  it('runs exactly one try with retry: false although the task retries, and rejects with the first error', async (t) => {
    const clock = useFakeClock(t);
    const { task, tries } = failingTask('flaky', { attempts: 5, delayMs: 10 }, clock);
    const events = collectEvents(task);
    const error = await rejectionOf(clock.settle(task.trigger(undefined, { retry: false })));
    assert.equal(error.message, 'try 1');
    assert.deepEqual(tries, [[1, 0]]);
    await clock.advance(1_000);
    assert.equal(tries.length, 1, 'no retry comes later either');
    assert.equal(task.errorCount, 1);
    assert.equal(task.runCount, 1);
    assert.deepEqual(events.map((e) => e.type), ['started', 'failed'], 'no retrying event');
  });

  it('follows a retry object in place of the task\'s policy: its attempts and its delays', async (t) => {
    const clock = useFakeClock(t);
    const { task, tries } = failingTask('flaky', { attempts: 5, delayMs: 10 }, clock);
    const error = await rejectionOf(clock.settle(task.trigger(undefined, { retry: { attempts: 3, backoff: 'exponential', delayMs: 100 } })));
    assert.equal(error.message, 'try 3');
    assert.deepEqual(tries, [[1, 0], [2, 100], [3, 300]]);
  });

  it('gives a task without a retry option retries for one trigger only', async (t) => {
    const clock = useFakeClock(t);
    const { task, tries } = failingTask('once', undefined, clock);
    await rejectionOf(clock.settle(task.trigger(undefined, { retry: { attempts: 2, delayMs: 50 } })));
    assert.deepEqual(tries, [[1, 0], [2, 50]]);
    await rejectionOf(clock.settle(task.trigger()));
    assert.deepEqual(tries.slice(2), [[1, 50]], 'the next plain trigger tries once, as the task says');
  });

  it('leaves plain triggers and triggers with other options to the task\'s own policy', async (t) => {
    const clock = useFakeClock(t);
    const { task, tries } = failingTask('flaky', { attempts: 2, delayMs: 10 }, clock);
    await rejectionOf(clock.settle(task.trigger()));
    await rejectionOf(clock.settle(task.trigger(undefined, { timeoutMs: 1_000 })));
    assert.deepEqual(tries, [[1, 0], [2, 10], [1, 10], [2, 20]]);
  });

  it('rejects a bad retry option with an InvalidOptionError naming the value, without running the task', async () => {
    let calls = 0;
    const task = new Task({ name: 'guarded', taskFunction: async () => ++calls });
    const cases: Array<[unknown, string, string]> = [
      [{ attempts: 0 }, 'retry.attempts', '0'],
      [{ attempts: 2, backoff: 'linear' }, 'retry.backoff', 'linear'],
      [{ attempts: 2, jitter: 2 }, 'retry.jitter', '2'],
      [true, 'retry', 'true'],
      [null, 'retry', 'null'],
    ];
    for (const [retry, option, valueText] of cases) {
      let promise: Promise<unknown> | undefined;
      assert.doesNotThrow(() => { promise = task.trigger(undefined, { retry } as ITriggerOptions); }, 'it rejects instead of throwing');
      const error = await rejectionOf(promise!);
      assert.ok(error instanceof InvalidOptionError, `expected an InvalidOptionError, got ${String(error)}`);
      assert.equal(error.code, 'INVALID_OPTION');
      assert.equal(error.option, option);
      assert.ok(error.message.includes(valueText), `the message names the value ${valueText}: ${error.message}`);
      assert.ok(error.message.includes('guarded'), `the message names the task: ${error.message}`);
    }
    assert.equal(calls, 0);
  });

  it('reads the retry object when the trigger enters: a buffered trigger that waits keeps the policy it was given', async (t) => {
    const clock = useFakeClock(t);
    const tries: Array<[string, number, number]> = [];
    const task = new Task({
      name: 'buffered',
      buffered: true,
      bufferMax: 1,
      taskFunction: async (label: string, _setup, { attempt }) => {
        tries.push([label, attempt, clock.now()]);
        await clock.sleep(10);
        throw new Error(`${label} ${attempt}`);
      },
    });
    const first = task.trigger('first', { retry: false });
    const retry = { attempts: 2, delayMs: 5 };
    const second = task.trigger('second', { retry });
    retry.attempts = 0; // too late to matter, and too late to break the waiting trigger
    const outcomes = await clock.settle(Promise.allSettled([first, second]));
    assert.deepEqual(outcomes.map((outcome) => outcome.status), ['rejected', 'rejected']);
    assert.deepEqual(tries, [['first', 1, 0], ['second', 1, 10], ['second', 2, 25]]);
  });

  it('passes the retry option through TaskOnce and TaskDebounced to their one run', async (t) => {
    const clock = useFakeClock(t);
    let onceTries = 0;
    const once = new TaskOnce({
      name: 'once',
      retry: { attempts: 4 },
      taskFunction: async () => {
        onceTries++;
        throw new Error('once fails');
      },
    });
    await rejectionOf(clock.settle(once.trigger(undefined, { retry: false })));
    assert.equal(onceTries, 1);
    let debouncedTries = 0;
    const debounced = new TaskDebounced({
      name: 'debounced',
      debounceTimeInMillis: 20,
      taskFunction: async () => {
        debouncedTries++;
        throw new Error('debounced fails');
      },
    });
    await rejectionOf(clock.settle(debounced.trigger(undefined, { retry: { attempts: 3 } })));
    assert.equal(debouncedTries, 3);
  });
});
