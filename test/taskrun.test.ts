/**
 * Execution control of a single Task, outside any TaskManager: the context argument,
 * cancellation through the trigger's signal, timeouts, retries with backoff, and how
 * the wrappers (Taskchain, Taskparallel, buffered tasks, TaskDebounced, TaskOnce) pass
 * signals on. Timing-sensitive tests run on a fake clock (fake-clock.ts), so they are
 * exact and fast.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import {
  AbortError,
  InvalidOptionError,
  Task,
  TaskbufferError,
  Taskchain,
  TaskDebounced,
  TaskOnce,
  Taskparallel,
  TimeoutError,
  type ITaskContext,
} from '../ts/index.js';
import { rejectionOf } from './manager-helpers.js';
import { useFakeClock } from './fake-clock.js';
import { collectEvents, deferred, flush, track } from './rule-helpers.js';


/** A promise that never settles, for functions that ignore their signal and hang. */
const never = () => new Promise<never>(() => {});

/** Expects `fn` to refuse with an InvalidOptionError, thrown or as a rejection; returns it. */
async function refusalOf(fn: () => unknown): Promise<InvalidOptionError> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof InvalidOptionError, `expected an InvalidOptionError, got ${String(caught)}`);
  assert.ok(caught instanceof TaskbufferError);
  assert.equal(caught.name, 'InvalidOptionError');
  return caught;
}

describe('the task context', () => {
  it('passes a context with an unaborted signal and attempt 1 as the third argument, after input and setup value', async () => {
    let seen: [unknown, unknown, ITaskContext] | undefined;
    const task = new Task({
      name: 'ctx',
      taskSetup: async () => 'setup-value',
      taskFunction: async (input: string, setup, context) => {
        seen = [input, setup, context];
        return context.attempt;
      },
    });
    assert.equal(await task.trigger('in'), 1);
    assert.ok(seen);
    assert.equal(seen[0], 'in');
    assert.equal(seen[1], 'setup-value');
    assert.ok(seen[2].signal instanceof AbortSignal);
    assert.equal(seen[2].signal.aborted, false);
    assert.equal(seen[2].attempt, 1);
  });

  it('keeps a two-argument task function working unchanged', async () => {
    const task = new Task({ name: 'plain', taskFunction: async (input: number, setup: undefined) => [input, setup] });
    assert.deepEqual(await task.trigger(5), [5, undefined]);
  });

  it('numbers the tries and gives each try a signal of its own', async () => {
    const contexts: ITaskContext[] = [];
    const task = new Task({
      name: 'tries',
      retry: { attempts: 3 },
      taskFunction: async (_input: undefined, _setup, context) => {
        contexts.push(context);
        if (context.attempt < 3) throw new Error(`try ${context.attempt}`);
        return 'ok';
      },
    });
    assert.equal(await task.trigger(), 'ok');
    assert.deepEqual(contexts.map((c) => c.attempt), [1, 2, 3]);
    assert.equal(new Set(contexts.map((c) => c.signal)).size, 3);
  });
});

describe('cancelling a Task trigger', () => {
  it('rejects at once without calling the function when the signal is already aborted', async () => {
    let calls = 0;
    const task = new Task({ name: 'pre-aborted', taskFunction: async () => ++calls });
    const controller = new AbortController();
    const reason = new Error('user left');
    controller.abort(reason);
    const error = await rejectionOf(task.trigger(undefined, { signal: controller.signal }));
    assert.equal(error.name, 'AbortError');
    assert.ok(error instanceof AbortError);
    assert.equal(error.cause, reason);
    assert.equal(calls, 0);
    assert.equal(task.runCount, 0);
    assert.equal(task.status, 'idle');
  });

  it('rejects a running trigger at once with an AbortError whose cause is the signal reason, and aborts the function signal', async () => {
    const release = deferred<string>();
    let functionSignal: AbortSignal | undefined;
    const task = new Task({
      name: 'abortable',
      taskFunction: async (_input: undefined, _setup, context) => {
        functionSignal = context.signal;
        return release.promise; // ignores the signal
      },
    });
    const controller = new AbortController();
    const outcome = track(task.trigger(undefined, { signal: controller.signal }));
    await flush();
    assert.equal(outcome.current.state, 'pending');
    assert.equal(task.status, 'running');
    const reason = new Error('cancelled by user');
    controller.abort(reason);
    await flush(1);
    assert.equal(outcome.current.state, 'rejected', 'the trigger rejects without waiting for the function');
    const error = (outcome.current as { reason: Error }).reason;
    assert.equal(error.name, 'AbortError');
    assert.ok(error instanceof AbortError);
    assert.equal((error as AbortError).code, 'ABORTED');
    assert.equal(error.cause, reason);
    assert.ok(error.message.includes('abortable'), error.message);
    assert.ok(functionSignal?.aborted, 'the function sees its signal aborted');
    assert.equal(functionSignal.reason, reason);
    release.resolve('late');
  });

  it('drops the late result of an aborted run: metadata, lastError and events never report it as success', async () => {
    const release = deferred<string>();
    const task = new Task({ name: 'late-result', taskFunction: async () => release.promise });
    const events = collectEvents(task);
    const controller = new AbortController();
    const outcome = task.trigger(undefined, { signal: controller.signal });
    await flush();
    controller.abort('stop');
    await assert.rejects(outcome, { name: 'AbortError' });
    const check = () => {
      assert.equal(task.status, 'failed');
      assert.equal(task.runCount, 1);
      assert.equal(task.running, false);
      assert.ok(task.lastError);
      assert.equal(task.lastError.name, 'AbortError');
      const metadata = task.getMetadata();
      assert.equal(metadata.status, 'failed');
      assert.equal(metadata.activeRuns, 0);
      assert.match(metadata.lastError ?? '', /abort/i);
      assert.deepEqual(events.map((e) => e.type), ['started', 'failed']);
    };
    check();
    release.resolve('finally done');
    await flush();
    check();
  });

  it('drops the late error of an aborted run as well', async () => {
    const release = deferred<never>();
    const task = new Task({ name: 'late-error', taskFunction: async () => release.promise });
    const controller = new AbortController();
    const outcome = task.trigger(undefined, { signal: controller.signal });
    await flush();
    controller.abort(new Error('go away'));
    await assert.rejects(outcome, { name: 'AbortError' });
    const errorsBefore = task.errorCount;
    release.reject(new Error('late failure'));
    await flush();
    assert.equal(task.errorCount, errorsBefore);
    assert.equal(task.lastError?.name, 'AbortError');
    assert.doesNotMatch(task.getMetadata().lastError ?? '', /late failure/);
    assert.equal(task.runCount, 1);
  });

  it('rejects an aborted trigger even with catchErrors, since the caller asked for it', async () => {
    const task = new Task({ name: 'caught', catchErrors: true, taskFunction: never });
    const controller = new AbortController();
    const outcome = task.trigger(undefined, { signal: controller.signal });
    await flush();
    controller.abort('bye');
    await assert.rejects(outcome, { name: 'AbortError' });
  });

  it('leaves nothing on the caller signal once the trigger settled, so aborting later changes nothing', async () => {
    const task = new Task({ name: 'tidy', taskFunction: async (input: number) => input });
    const controller = new AbortController();
    assert.equal(await task.trigger(3, { signal: controller.signal }), 3);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    controller.abort('too late');
    await flush();
    assert.equal(task.status, 'completed');
    assert.equal(task.lastError, undefined);
  });

  it('passes the signal to preTask and afterTask', async () => {
    const seen: AbortSignal[] = [];
    const hold = deferred<void>();
    const pre = new Task({ name: 'pre', taskFunction: async (_i: unknown, _s, context) => void seen.push(context.signal) });
    const main = new Task({
      name: 'main',
      preTask: pre,
      taskFunction: async (_i: unknown, _s, context) => {
        seen.push(context.signal);
        await hold.promise;
      },
    });
    const controller = new AbortController();
    const outcome = main.trigger(undefined, { signal: controller.signal });
    await flush();
    assert.equal(seen.length, 2);
    controller.abort('stop');
    await assert.rejects(outcome, { name: 'AbortError' });
    assert.equal(seen[1]!.aborted, true, 'the main function is signalled');
    hold.resolve();
  });
});

describe('timeouts of a Task', () => {
  it('rejects with a TimeoutError naming the task and the limit, and aborts the function signal with it', async (t) => {
    const clock = useFakeClock(t);
    let functionSignal: AbortSignal | undefined;
    const task = new Task({
      name: 'slow-report',
      timeoutMs: 250,
      taskFunction: (_input: undefined, _setup, context) => {
        functionSignal = context.signal;
        return never();
      },
    });
    const outcome = track(task.trigger());
    await clock.advance(249);
    assert.equal(outcome.current.state, 'pending');
    assert.equal(functionSignal?.aborted, false);
    await clock.advance(1);
    assert.equal(outcome.current.state, 'rejected');
    const error = (outcome.current as { reason: Error }).reason;
    assert.equal(error.name, 'TimeoutError');
    assert.ok(error instanceof TimeoutError);
    assert.equal(error.taskName, 'slow-report');
    assert.equal(error.timeoutMs, 250);
    assert.equal(error.code, 'TIMEOUT');
    assert.ok(error.message.includes('slow-report'), error.message);
    assert.match(error.message, /\b250 ?ms\b/);
    assert.equal(functionSignal?.aborted, true);
    assert.equal(functionSignal?.reason, error);
    assert.equal(task.status, 'failed');
    assert.equal(task.lastError, error);
  });

  it('lets a trigger timeoutMs override the task timeoutMs', async (t) => {
    const clock = useFakeClock(t);
    const task = new Task({ name: 'override', timeoutMs: 1000, taskFunction: never });
    const outcome = track(task.trigger(undefined, { timeoutMs: 40 }));
    await clock.advance(40);
    assert.equal(outcome.current.state, 'rejected');
    assert.equal(((outcome.current as { reason: TimeoutError }).reason).timeoutMs, 40);
  });

  it('does not report the late result of a timed-out function as success', async (t) => {
    const clock = useFakeClock(t);
    const release = deferred<string>();
    const task = new Task({ name: 'too-late', timeoutMs: 10, taskFunction: () => release.promise });
    const events = collectEvents(task);
    const outcome = track(task.trigger());
    await clock.advance(10);
    assert.equal(outcome.current.state, 'rejected');
    release.resolve('late');
    await flush();
    assert.equal(task.status, 'failed');
    assert.equal(task.lastError?.name, 'TimeoutError');
    assert.equal(task.runCount, 1);
    assert.deepEqual(events.map((e) => e.type), ['started', 'failed']);
  });

  it('lets a run that finishes in time succeed and clears its timer', async (t) => {
    const clock = useFakeClock(t);
    const task = new Task({
      name: 'quick',
      timeoutMs: 100,
      taskFunction: () => clock.sleep(60).then(() => 'done'),
    });
    const outcome = track(task.trigger());
    await clock.advance(60);
    assert.deepEqual(outcome.current, { state: 'fulfilled', value: 'done' });
    await clock.advance(1000);
    assert.equal(task.status, 'completed');
    assert.equal(task.errorCount, 0);
  });

  it('limits each try on its own, so a retry after a timeout gets the full limit again', async (t) => {
    const clock = useFakeClock(t);
    const starts: number[] = [];
    const task = new Task({
      name: 'per-try',
      timeoutMs: 50,
      retry: { attempts: 2, delayMs: 10 },
      taskFunction: (_input: undefined, _setup, context) => {
        starts.push(clock.now());
        if (context.attempt === 1) return never();
        return clock.sleep(45).then(() => 'second try');
      },
    });
    const outcome = track(task.trigger());
    await clock.advance(50); // try 1 times out
    assert.equal(outcome.current.state, 'pending');
    await clock.advance(10); // the retry delay
    assert.deepEqual(starts, [0, 60]);
    await clock.advance(45);
    assert.deepEqual(outcome.current, { state: 'fulfilled', value: 'second try' });
    assert.equal(task.errorCount, 1);
  });
});

describe('retries of a Task', () => {
  it('spaces exponential retries exactly as configured: delayMs, then doubling', async (t) => {
    const clock = useFakeClock(t);
    const calls: number[] = [];
    const task = new Task({
      name: 'backoff',
      retry: { attempts: 4, backoff: 'exponential', delayMs: 100 },
      taskFunction: async () => {
        calls.push(clock.now());
        throw new Error(`fail ${calls.length}`);
      },
    });
    const outcome = track(task.trigger());
    await flush();
    assert.deepEqual(calls, [0]);
    await clock.advance(99);
    assert.deepEqual(calls, [0], 'not a millisecond early');
    await clock.advance(1);
    assert.deepEqual(calls, [0, 100]);
    await clock.advance(199);
    assert.equal(calls.length, 2);
    await clock.advance(1);
    assert.deepEqual(calls, [0, 100, 300]);
    await clock.advance(399);
    assert.equal(calls.length, 3);
    await clock.advance(1);
    assert.deepEqual(calls, [0, 100, 300, 700]);
    assert.equal(outcome.current.state, 'rejected');
    await clock.advance(10_000);
    assert.equal(calls.length, 4, 'attempts counts all tries, the first included');
  });

  it('counts every failed try in errorCount, keeps the last try error and counts one run', async (t) => {
    const clock = useFakeClock(t);
    let n = 0;
    const task = new Task({
      name: 'always-fails',
      retry: { attempts: 3, delayMs: 5 },
      taskFunction: async () => {
        throw new Error(`fail ${++n}`);
      },
    });
    const events = collectEvents(task);
    const outcome = track(task.trigger());
    await flush();
    await clock.advance(5);
    await clock.advance(5);
    assert.equal(outcome.current.state, 'rejected');
    assert.equal((outcome.current as { reason: Error }).reason.message, 'fail 3');
    assert.equal(n, 3);
    assert.equal(task.errorCount, 3);
    assert.equal(task.runCount, 1);
    assert.equal(task.lastError?.message, 'fail 3');
    assert.equal(task.getMetadata().lastError, 'fail 3');
    assert.equal(task.status, 'failed');
    assert.deepEqual(events.map((e) => e.type), ['started', 'retrying', 'retrying', 'failed']);
  });

  it('resolves when a retry succeeds, with the failed tries counted and lastError cleared', async (t) => {
    const clock = useFakeClock(t);
    const task = new Task({
      name: 'third-time-lucky',
      retry: { attempts: 5, delayMs: 20 },
      taskFunction: async (_input: undefined, _setup, context) => {
        if (context.attempt < 3) throw new Error(`fail ${context.attempt}`);
        return `ok on ${context.attempt}`;
      },
    });
    const events = collectEvents(task);
    const outcome = track(task.trigger());
    await flush();
    await clock.advance(20);
    await clock.advance(20);
    assert.deepEqual(outcome.current, { state: 'fulfilled', value: 'ok on 3' });
    assert.equal(task.errorCount, 2);
    assert.equal(task.runCount, 1);
    assert.equal(task.status, 'completed');
    assert.equal(task.lastError, undefined);
    assert.deepEqual(events.map((e) => e.type), ['started', 'retrying', 'retrying', 'completed']);
  });

  it('emits a retrying event per retry with the next attempt number, the delay and the error message', async (t) => {
    const clock = useFakeClock(t);
    const task = new Task({
      name: 'announces',
      retry: { attempts: 3, backoff: 'exponential', delayMs: 30 },
      taskFunction: async (_input: undefined, _setup, context) => {
        throw new Error(`boom ${context.attempt}`);
      },
    });
    const events = collectEvents(task);
    const outcome = track(task.trigger());
    await flush();
    await clock.advance(30);
    await clock.advance(60);
    assert.equal(outcome.current.state, 'rejected');
    const retrying = events.filter((e) => e.type === 'retrying');
    assert.deepEqual(
      retrying.map((e) => e.type === 'retrying' && { attempt: e.attempt, delayMs: e.delayMs, error: e.error }),
      [
        { attempt: 2, delayMs: 30, error: 'boom 1' },
        { attempt: 3, delayMs: 60, error: 'boom 2' },
      ],
    );
    for (const event of retrying) assert.doesNotThrow(() => JSON.stringify(event));
  });

  it('caps the waits at maxDelayMs', async (t) => {
    const clock = useFakeClock(t);
    const calls: number[] = [];
    const task = new Task({
      name: 'capped',
      retry: { attempts: 5, backoff: 'exponential', delayMs: 100, maxDelayMs: 250 },
      taskFunction: async () => {
        calls.push(clock.now());
        throw new Error('no');
      },
    });
    await assert.rejects(clock.settle(task.trigger()), { message: 'no' });
    assert.deepEqual(calls, [0, 100, 300, 550, 800]);
  });

  it('keeps jittered waits between (1 - jitter) times the wait and the wait, and waits what it announced', async (t) => {
    const clock = useFakeClock(t);
    const calls: number[] = [];
    const task = new Task({
      name: 'jittery',
      retry: { attempts: 6, delayMs: 200, jitter: 0.5 },
      taskFunction: async () => {
        calls.push(clock.now());
        throw new Error('no');
      },
    });
    const events = collectEvents(task);
    await assert.rejects(clock.settle(task.trigger()), { message: 'no' });
    assert.equal(calls.length, 6);
    const delays = events.flatMap((e) => (e.type === 'retrying' ? [e.delayMs] : []));
    assert.equal(delays.length, 5);
    delays.forEach((delay, i) => {
      assert.ok(delay > 100 - 1e-9 && delay <= 200, `delay ${delay} outside (100, 200]`);
      const gap = calls[i + 1]! - calls[i]!;
      assert.ok(gap >= delay && gap < delay + 1, `waited ${gap} ms, announced ${delay} ms`);
    });
  });

  it('stops retrying when retryIf says no', async (t) => {
    const clock = useFakeClock(t);
    let calls = 0;
    const fatal = new Error('fatal');
    const task = new Task({
      name: 'picky',
      retry: { attempts: 5, delayMs: 10, retryIf: (error) => error !== fatal },
      taskFunction: async () => {
        calls++;
        throw calls === 1 ? new Error('transient') : fatal;
      },
    });
    const outcome = track(task.trigger());
    await clock.advance(10);
    await clock.advance(1000);
    assert.equal(calls, 2);
    assert.equal(outcome.current.state, 'rejected');
    assert.equal((outcome.current as { reason: unknown }).reason, fatal);
    assert.equal(task.errorCount, 2);
  });

  it('rejects with the error of a retryIf that throws', async () => {
    const broken = new Error('retryIf broke');
    const task = new Task({
      name: 'broken-retryif',
      retry: {
        attempts: 3,
        retryIf: () => {
          throw broken;
        },
      },
      taskFunction: async () => {
        throw new Error('original');
      },
    });
    await assert.rejects(task.trigger(), (error) => error === broken);
  });

  it('stops retrying when the signal aborts during the delay, and rejects at once', async (t) => {
    const clock = useFakeClock(t);
    let calls = 0;
    const task = new Task({
      name: 'abort-in-delay',
      retry: { attempts: 5, delayMs: 1000 },
      taskFunction: async () => {
        calls++;
        throw new Error('nope');
      },
    });
    const controller = new AbortController();
    const outcome = track(task.trigger(undefined, { signal: controller.signal }));
    await clock.advance(500);
    assert.equal(calls, 1);
    assert.equal(outcome.current.state, 'pending');
    const reason = new Error('enough');
    controller.abort(reason);
    await flush();
    assert.equal(outcome.current.state, 'rejected');
    const error = (outcome.current as { reason: Error }).reason;
    assert.equal(error.name, 'AbortError');
    assert.equal(error.cause, reason);
    await clock.advance(10_000);
    assert.equal(calls, 1, 'no retry after the abort');
    assert.equal(task.runCount, 1);
    assert.equal(task.running, false);
  });

  it('retries a try that timed out like any other failure', async (t) => {
    const clock = useFakeClock(t);
    const task = new Task({
      name: 'timeout-retry',
      timeoutMs: 20,
      retry: { attempts: 3, delayMs: 5 },
      taskFunction: never,
    });
    const events = collectEvents(task);
    const outcome = track(task.trigger());
    // Three tries of 20 ms with 5 ms between them: the last one times out at 70 ms.
    await clock.advance(69);
    assert.equal(outcome.current.state, 'pending');
    await clock.advance(1);
    assert.equal(outcome.current.state, 'rejected');
    assert.equal((outcome.current as { reason: Error }).reason.name, 'TimeoutError');
    assert.equal(task.errorCount, 3);
    assert.equal(events.filter((e) => e.type === 'retrying').length, 2);
  });
});

describe('signals through Taskchain and Taskparallel', () => {
  it('Taskchain passes its signal to every task and aborting stops the chain at the running task', async () => {
    const signals: AbortSignal[] = [];
    const hold = deferred<void>();
    let thirdCalled = false;
    const first = new Task({ name: 'c1', taskFunction: async (x: number, _s, c) => (signals.push(c.signal), x + 1) });
    const second = new Task({
      name: 'c2',
      taskFunction: async (x: number, _s, c) => {
        signals.push(c.signal);
        await hold.promise;
        return x + 1;
      },
    });
    const third = new Task({ name: 'c3', taskFunction: async (x: number) => ((thirdCalled = true), x) });
    const chain = new Taskchain({ name: 'chain', taskArray: [first, second, third] });
    const controller = new AbortController();
    const outcome = chain.trigger(1, { signal: controller.signal });
    await flush();
    assert.equal(signals.length, 2);
    assert.equal(signals[0]!.aborted, false);
    const reason = new Error('stop chain');
    controller.abort(reason);
    const error = await rejectionOf(outcome);
    assert.equal(error.name, 'AbortError');
    assert.equal(error.cause, reason);
    assert.equal(signals[1]!.aborted, true, 'the running task is signalled');
    hold.resolve();
    await flush();
    assert.equal(thirdCalled, false, 'later tasks never start');
  });

  it('Taskparallel passes its signal to every task and aborting signals all of them', async () => {
    const signals: AbortSignal[] = [];
    const make = (name: string) => new Task({
      name,
      taskFunction: (_x: unknown, _s, c) => {
        signals.push(c.signal);
        return never();
      },
    });
    const parallel = new Taskparallel({ name: 'par', taskArray: [make('p1'), make('p2'), make('p3')] });
    const controller = new AbortController();
    const outcome = parallel.trigger('x', { signal: controller.signal });
    await flush();
    assert.equal(signals.length, 3);
    assert.ok(signals.every((s) => !s.aborted));
    controller.abort('enough');
    await assert.rejects(outcome, { name: 'AbortError' });
    assert.ok(signals.every((s) => s.aborted), 'every task is signalled');
  });

  it('a Taskchain timeout aborts the signal of the task that runs', async (t) => {
    const clock = useFakeClock(t);
    let inner: AbortSignal | undefined;
    const slow = new Task({ name: 'slow', taskFunction: (_x: unknown, _s, c) => ((inner = c.signal), never()) });
    const chain = new Taskchain({ name: 'timed-chain', taskArray: [slow] });
    const outcome = track(chain.trigger(undefined, { timeoutMs: 30 }));
    await clock.advance(30);
    assert.equal(outcome.current.state, 'rejected');
    assert.equal((outcome.current as { reason: Error }).reason.name, 'TimeoutError');
    assert.equal(inner?.aborted, true);
  });
});

describe('signals of buffered tasks', () => {
  it('lets a queued caller that aborts leave the queue; its input never runs and others are unaffected', async () => {
    const holds: Array<ReturnType<typeof deferred<void>>> = [];
    const ran: number[] = [];
    const task = new Task({
      name: 'buffered',
      buffered: true,
      bufferMax: 1,
      taskFunction: async (input: number) => {
        ran.push(input);
        const hold = deferred<void>();
        holds.push(hold);
        await hold.promise;
        return input * 10;
      },
    });
    const first = track(task.trigger(1));
    const controller = new AbortController();
    const second = track(task.trigger(2, { signal: controller.signal }));
    await flush();
    assert.deepEqual(ran, [1]);
    const reason = new Error('not needed');
    controller.abort(reason);
    await flush();
    assert.equal(second.current.state, 'rejected');
    const error = (second.current as { reason: Error }).reason;
    assert.equal(error.name, 'AbortError');
    assert.equal(error.cause, reason);
    assert.equal(first.current.state, 'pending', 'the running caller is unaffected');
    const third = track(task.trigger(3));
    holds[0]!.resolve();
    await flush();
    assert.deepEqual(first.current, { state: 'fulfilled', value: 10 });
    assert.deepEqual(ran, [1, 3], 'the aborted input never runs');
    holds[1]!.resolve();
    await flush();
    assert.deepEqual(third.current, { state: 'fulfilled', value: 30 });
  });

  it('lets one of two callers that share a queued call abort while the other still gets the outcome', async () => {
    const hold = deferred<void>();
    const ran: number[] = [];
    const task = new Task({
      name: 'buffered-shared',
      buffered: true,
      bufferMax: 1,
      taskFunction: async (input: number) => {
        ran.push(input);
        if (input === 1) await hold.promise;
        return input;
      },
    });
    const first = track(task.trigger(1));
    const controller = new AbortController();
    const replaced = track(task.trigger(2, { signal: controller.signal }));
    const replacing = track(task.trigger(3));
    await flush();
    controller.abort('leave');
    await flush();
    assert.equal(replaced.current.state, 'rejected');
    assert.equal((replaced.current as { reason: Error }).reason.name, 'AbortError');
    hold.resolve();
    await flush();
    assert.deepEqual(first.current, { state: 'fulfilled', value: 1 });
    assert.deepEqual(replacing.current, { state: 'fulfilled', value: 3 });
    assert.deepEqual(ran, [1, 3]);
  });

  it('aborts a running buffered call when its caller aborts', async () => {
    let inner: AbortSignal | undefined;
    const task = new Task({
      name: 'buffered-running',
      buffered: true,
      taskFunction: (_x: unknown, _s, c) => ((inner = c.signal), never()),
    });
    const controller = new AbortController();
    const outcome = task.trigger(undefined, { signal: controller.signal });
    await flush();
    controller.abort('halt');
    await assert.rejects(outcome, { name: 'AbortError' });
    assert.equal(inner?.aborted, true);
  });
});

describe('signals of TaskDebounced', () => {
  it('rejects a caller that aborts at once while the others still get the run', async (t) => {
    const clock = useFakeClock(t);
    const ran: string[] = [];
    const task = new TaskDebounced({
      name: 'debounced',
      debounceTimeInMillis: 50,
      taskFunction: async (input: string) => (ran.push(input), input.toUpperCase()),
    });
    const controller = new AbortController();
    const leaving = track(task.trigger('a', { signal: controller.signal }));
    const staying = track(task.trigger('b'));
    await clock.advance(10);
    const reason = new Error('changed my mind');
    controller.abort(reason);
    await flush();
    assert.equal(leaving.current.state, 'rejected');
    const error = (leaving.current as { reason: Error }).reason;
    assert.equal(error.name, 'AbortError');
    assert.equal(error.cause, reason);
    assert.equal(staying.current.state, 'pending');
    await clock.advance(50);
    assert.deepEqual(staying.current, { state: 'fulfilled', value: 'B' });
    assert.deepEqual(ran, ['b']);
  });

  it('runs nothing when every waiting caller aborted', async (t) => {
    const clock = useFakeClock(t);
    let calls = 0;
    const task = new TaskDebounced({ name: 'all-leave', debounceTimeInMillis: 50, taskFunction: async () => ++calls });
    const a = new AbortController();
    const b = new AbortController();
    const first = track(task.trigger(1, { signal: a.signal }));
    const second = track(task.trigger(2, { signal: b.signal }));
    await clock.advance(20);
    a.abort('x');
    b.abort('y');
    await clock.advance(1000);
    assert.equal(first.current.state, 'rejected');
    assert.equal(second.current.state, 'rejected');
    assert.equal(calls, 0);
    assert.equal(task.runCount, 0);
    // A later trigger starts a fresh quiet period and runs normally.
    const later = track(task.trigger(3));
    await clock.advance(50);
    assert.deepEqual(later.current, { state: 'fulfilled', value: 1 });
  });
});

describe('signals of TaskOnce', () => {
  it('ends only the aborting caller wait; the one run goes on for the others', async () => {
    const release = deferred<string>();
    let calls = 0;
    let inner: AbortSignal | undefined;
    const task = new TaskOnce({
      name: 'once',
      taskFunction: (_x: unknown, _s, c) => {
        calls++;
        inner = c.signal;
        return release.promise;
      },
    });
    const controller = new AbortController();
    const leaving = track(task.trigger(undefined, { signal: controller.signal }));
    const staying = track(task.trigger());
    await flush();
    const reason = new Error('bored');
    controller.abort(reason);
    await flush();
    assert.equal(leaving.current.state, 'rejected');
    assert.equal((leaving.current as { reason: Error }).reason.name, 'AbortError');
    assert.equal((leaving.current as { reason: Error }).reason.cause, reason);
    assert.equal(inner?.aborted, false, 'the one run is not aborted by one caller');
    release.resolve('shared');
    await flush();
    assert.deepEqual(staying.current, { state: 'fulfilled', value: 'shared' });
    assert.equal(await task.trigger(), 'shared');
    assert.equal(calls, 1);
  });
});

describe('execution-control options are checked where they enter', () => {
  it('refuses Task options timeoutMs -1 and priority NaN, naming the value', async () => {
    const timeout = await refusalOf(() => new Task({ name: 'x', timeoutMs: -1, taskFunction: async () => 1 }));
    assert.equal(timeout.option, 'timeoutMs');
    assert.match(timeout.message, /timeoutMs/);
    assert.match(timeout.message, /-1/);
    const priority = await refusalOf(() => new Task({ name: 'x', priority: Number.NaN, taskFunction: async () => 1 }));
    assert.equal(priority.option, 'priority');
    assert.match(priority.message, /NaN/);
  });

  it('refuses retry options attempts 0, backoff linear and jitter 2 on a Task, naming the value', async () => {
    const attempts = await refusalOf(() => new Task({ name: 'r', retry: { attempts: 0 }, taskFunction: async () => 1 }));
    assert.equal(attempts.option, 'retry.attempts');
    assert.match(attempts.message, /\b0\b/);
    const backoff = await refusalOf(() => new Task({
      name: 'r',
      retry: { attempts: 2, backoff: 'linear' as 'fixed' },
      taskFunction: async () => 1,
    }));
    assert.match(backoff.message, /linear/);
    const jitter = await refusalOf(() => new Task({ name: 'r', retry: { attempts: 2, jitter: 2 }, taskFunction: async () => 1 }));
    assert.match(jitter.message, /\b2\b/);
  });

  it('refuses trigger options timeoutMs -1, priority NaN and a signal that is not an AbortSignal, without running', async () => {
    let calls = 0;
    const task = new Task({ name: 'guarded', taskFunction: async () => ++calls });
    const timeout = await refusalOf(() => task.trigger(undefined, { timeoutMs: -1 }));
    assert.equal(timeout.option, 'timeoutMs');
    assert.match(timeout.message, /-1/);
    const priority = await refusalOf(() => task.trigger(undefined, { priority: Number.NaN }));
    assert.match(priority.message, /NaN/);
    const signal = await refusalOf(() => task.trigger(undefined, { signal: { aborted: 'no' } as unknown as AbortSignal }));
    assert.equal(signal.option, 'signal');
    assert.match(signal.message, /no/);
    const notObject = await refusalOf(() => task.trigger(undefined, 'fast' as never));
    assert.match(notObject.message, /fast/);
    assert.equal(calls, 0);
  });

  it('checks trigger options of TaskDebounced and TaskOnce as well', async () => {
    const debounced = new TaskDebounced({ name: 'd', debounceTimeInMillis: 10, taskFunction: async () => 1 });
    await refusalOf(() => debounced.trigger(undefined, { timeoutMs: -1 }));
    const once = new TaskOnce({ name: 'o', taskFunction: async () => 1 });
    await refusalOf(() => once.trigger(undefined, { signal: 'abort' as unknown as AbortSignal }));
    assert.equal(once.hasTriggered, false);
  });
});
