import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Task } from '../ts/index.js';
import { deferred, flush, track, type Deferred } from './rule-helpers.js';

/**
 * A buffered task whose runs are held open until the test ends them, so the tests can
 * look at what is running and what waits without measuring time.
 */
function controlledBufferedTask(bufferMax: number | undefined, options: { catchErrors?: boolean } = {}) {
  const started: string[] = [];
  const gates = new Map<string, Deferred<string>>();
  let active = 0;
  let maxActive = 0;
  const task = new Task({
    name: 'buffered',
    buffered: true,
    ...(bufferMax === undefined ? {} : { bufferMax }),
    catchErrors: options.catchErrors ?? false,
    taskFunction: async (input: string) => {
      started.push(input);
      active++;
      maxActive = Math.max(maxActive, active);
      const gate = deferred<string>();
      gates.set(input, gate);
      try {
        return await gate.promise;
      } finally {
        active--;
      }
    },
  });
  return {
    task,
    started,
    get active() {
      return active;
    },
    get maxActive() {
      return maxActive;
    },
    async succeed(input: string, result = `result:${input}`) {
      const gate = gates.get(input);
      assert.ok(gate, `run ${input} has not started`);
      gate.resolve(result);
      await flush();
    },
    async fail(input: string, error: Error) {
      const gate = gates.get(input);
      assert.ok(gate, `run ${input} has not started`);
      gate.reject(error);
      await flush();
    },
  };
}

describe('buffered Task (CallBuffer)', () => {
  it('starts the first bufferMax calls at once, in call order', async () => {
    const b = controlledBufferedTask(3);
    const calls = ['a', 'b', 'c', 'd', 'e'].map((input) => track(b.task.trigger(input)));
    await flush();
    assert.deepEqual(b.started, ['a', 'b', 'c']);
    assert.equal(b.active, 3);
    assert.equal(b.task.getMetadata().activeRuns, 3);
    assert.ok(calls.every((c) => c.current.state === 'pending'));
    await b.succeed('a');
    await b.succeed('b');
    assert.deepEqual(b.started, ['a', 'b', 'c', 'd', 'e']);
    for (const input of ['c', 'd', 'e']) await b.succeed(input);
    assert.ok(calls.every((c) => c.current.state === 'fulfilled'));
  });

  it('never runs more than bufferMax calls at the same time', async () => {
    const b = controlledBufferedTask(2);
    const calls = ['1', '2', '3', '4'].map((input) => track(b.task.trigger(input)));
    await flush();
    assert.equal(b.active, 2);
    await b.succeed('1');
    assert.equal(b.active, 2);
    assert.deepEqual(b.started, ['1', '2', '3']);
    await b.succeed('2');
    await b.succeed('3');
    await b.succeed('4');
    assert.equal(b.maxActive, 2);
    assert.deepEqual(
      calls.map((c) => c.current),
      ['1', '2', '3', '4'].map((input) => ({ state: 'fulfilled', value: `result:${input}` })),
    );
  });

  it('starts queued calls in call order as running ones end', async () => {
    const b = controlledBufferedTask(2);
    const calls = ['r1', 'r2', 'q1', 'q2'].map((input) => track(b.task.trigger(input)));
    await flush();
    assert.deepEqual(b.started, ['r1', 'r2']);
    assert.equal(b.task.getMetadata().activeRuns, 2, 'queued calls are not runs yet');
    await b.succeed('r2');
    assert.deepEqual(b.started, ['r1', 'r2', 'q1']);
    await b.succeed('r1');
    assert.deepEqual(b.started, ['r1', 'r2', 'q1', 'q2']);
    await b.succeed('q1');
    await b.succeed('q2');
    assert.ok(calls.every((c) => c.current.state === 'fulfilled'));
    assert.equal(b.task.runCount, 4);
  });

  it('lets a failed run free its slot for the next queued call', async () => {
    const b = controlledBufferedTask(1);
    const first = track(b.task.trigger('first'));
    const second = track(b.task.trigger('second'));
    await flush();
    const error = new Error('first failed');
    await b.fail('first', error);
    assert.deepEqual(b.started, ['first', 'second']);
    assert.deepEqual(first.current, { state: 'rejected', reason: error });
    await b.succeed('second');
    assert.deepEqual(second.current, { state: 'fulfilled', value: 'result:second' });
  });

  it('holds at most bufferMax queued calls: a new call replaces the newest queued one and the replaced caller gets the replacing call result', async () => {
    const b = controlledBufferedTask(2);
    const calls = new Map(['c1', 'c2', 'c3', 'c4', 'c5', 'c6'].map((input) => [input, track(b.task.trigger(input))]));
    await flush();
    assert.deepEqual(b.started, ['c1', 'c2']);
    // Queue: c3, c4. c5 replaces c4, then c6 replaces c5.
    await b.succeed('c1');
    await b.succeed('c2');
    assert.deepEqual(b.started, ['c1', 'c2', 'c3', 'c6']);
    await b.succeed('c3');
    assert.equal(calls.get('c4')!.current.state, 'pending', 'replaced callers wait for the replacing run');
    await b.succeed('c6', 'six');
    assert.deepEqual(calls.get('c1')!.current, { state: 'fulfilled', value: 'result:c1' });
    assert.deepEqual(calls.get('c3')!.current, { state: 'fulfilled', value: 'result:c3' });
    for (const input of ['c4', 'c5', 'c6']) {
      assert.deepEqual(calls.get(input)!.current, { state: 'fulfilled', value: 'six' }, input);
    }
    assert.equal(b.task.runCount, 4);
    assert.ok([...calls.values()].every((c) => c.settledCount === 1));
  });

  it('settles replaced callers with the rejection of the call that replaced them', async () => {
    const b = controlledBufferedTask(1);
    const running = track(b.task.trigger('running'));
    const replaced = track(b.task.trigger('replaced'));
    const replacing = track(b.task.trigger('replacing'));
    await flush();
    await b.succeed('running');
    assert.deepEqual(b.started, ['running', 'replacing']);
    const error = new Error('replacing failed');
    await b.fail('replacing', error);
    assert.deepEqual(running.current, { state: 'fulfilled', value: 'result:running' });
    assert.deepEqual(replaced.current, { state: 'rejected', reason: error });
    assert.deepEqual(replacing.current, { state: 'rejected', reason: error });
    assert.equal(b.task.errorCount, 1);
    assert.equal(b.task.runCount, 2);
  });

  it('resolves replaced and replacing callers with undefined when the replacing run fails under catchErrors', async () => {
    const b = controlledBufferedTask(1, { catchErrors: true });
    const running = track(b.task.trigger('running'));
    const replaced = track(b.task.trigger('replaced'));
    const replacing = track(b.task.trigger('replacing'));
    await flush();
    await b.succeed('running');
    await b.fail('replacing', new Error('swallowed'));
    assert.deepEqual(running.current, { state: 'fulfilled', value: 'result:running' });
    assert.deepEqual(replaced.current, { state: 'fulfilled', value: undefined });
    assert.deepEqual(replacing.current, { state: 'fulfilled', value: undefined });
    assert.equal(b.task.lastError?.message, 'swallowed');
  });

  it('runs one call at a time and queues one when bufferMax is not given', async () => {
    const b = controlledBufferedTask(undefined);
    assert.equal(b.task.bufferMax, 1);
    assert.equal(b.task.getMetadata().bufferMax, 1);
    const calls = ['a', 'b', 'c'].map((input) => track(b.task.trigger(input)));
    await flush();
    assert.deepEqual(b.started, ['a']);
    await b.succeed('a');
    assert.deepEqual(b.started, ['a', 'c']);
    await b.succeed('c');
    assert.deepEqual(calls.map((c) => c.current), [
      { state: 'fulfilled', value: 'result:a' },
      { state: 'fulfilled', value: 'result:c' },
      { state: 'fulfilled', value: 'result:c' },
    ]);
    assert.equal(b.maxActive, 1);
  });

  it('accepts new calls normally again once the queue has drained', async () => {
    const b = controlledBufferedTask(1);
    const first = track(b.task.trigger('x'));
    await flush();
    await b.succeed('x');
    assert.equal(first.current.state, 'fulfilled');
    const later = ['y', 'z'].map((input) => track(b.task.trigger(input)));
    await flush();
    assert.deepEqual(b.started, ['x', 'y']);
    await b.succeed('y');
    await b.succeed('z');
    assert.deepEqual(later.map((c) => c.current), [
      { state: 'fulfilled', value: 'result:y' },
      { state: 'fulfilled', value: 'result:z' },
    ]);
  });

  it('keeps the spec rule for random call sequences with random durations and failures (property)', async () => {
    interface Call {
      /** Tick at which the call is made. */
      at: number;
      /** How many ticks the run takes if this call's input runs. */
      duration: number;
      fails: boolean;
    }
    type Outcome = { state: 'fulfilled'; value: string } | { state: 'rejected'; message: string };

    /** The spec's rule, on virtual time: which inputs run (in start order) and what each caller gets. */
    function model(bufferMax: number, calls: Call[]) {
      const running: Array<{ input: number; endTick: number }> = [];
      const queue: Array<{ input: number; callers: number[] }> = [];
      const ran: number[] = [];
      const callerRun = new Map<number, number>();
      let maxRunning = 0;
      const start = (input: number, callers: number[], now: number) => {
        ran.push(input);
        running.push({ input, endTick: now + calls[input]!.duration });
        maxRunning = Math.max(maxRunning, running.length);
        for (const caller of callers) callerRun.set(caller, input);
      };
      const lastTick = Math.max(...calls.map((c) => c.at));
      for (let now = 0; now <= lastTick || running.length > 0 || queue.length > 0; now++) {
        for (;;) {
          const index = running.findIndex((r) => r.endTick <= now);
          if (index < 0) break;
          running.splice(index, 1);
          const next = queue.shift();
          if (next !== undefined) start(next.input, next.callers, now);
        }
        calls.forEach((call, input) => {
          if (call.at !== now) return;
          if (running.length < bufferMax) start(input, [input], now);
          else if (queue.length < bufferMax) queue.push({ input, callers: [input] });
          else {
            const newest = queue[queue.length - 1]!;
            newest.input = input;
            newest.callers.push(input);
          }
        });
      }
      const outcomes: Outcome[] = calls.map((_, caller) => {
        const input = callerRun.get(caller)!;
        return calls[input]!.fails
          ? { state: 'rejected', message: `failure of ${input}` }
          : { state: 'fulfilled', value: `result of ${input}` };
      });
      return { ran, outcomes, maxRunning };
    }

    /** Drives a real buffered Task through the same virtual time. */
    async function drive(bufferMax: number, calls: Call[]) {
      const ran: number[] = [];
      const running: Array<{ input: number; endTick: number; gate: Deferred<string> }> = [];
      let now = 0;
      let active = 0;
      let maxActive = 0;
      const task = new Task({
        buffered: true,
        bufferMax,
        taskFunction: async (input: number) => {
          ran.push(input);
          active++;
          maxActive = Math.max(maxActive, active, task.getMetadata().activeRuns);
          const gate = deferred<string>();
          running.push({ input, endTick: now + calls[input]!.duration, gate });
          try {
            return await gate.promise;
          } finally {
            active--;
          }
        },
      });
      const startedEvents: number[] = [];
      task.eventSubject.subscribe((event) => {
        if (event.type === 'started') startedEvents.push(event.task.activeRuns);
      });
      const settlements: Array<ReturnType<typeof track<string>>> = [];
      const lastTick = Math.max(...calls.map((c) => c.at));
      let guard = 0;
      for (now = 0; now <= lastTick || running.length > 0; now++) {
        assert.ok(guard++ < 10_000, 'the buffer stalled');
        for (;;) {
          const index = running.findIndex((r) => r.endTick <= now);
          if (index < 0) break;
          const [run] = running.splice(index, 1);
          if (calls[run!.input]!.fails) run!.gate.reject(new Error(`failure of ${run!.input}`));
          else run!.gate.resolve(`result of ${run!.input}`);
          await flush(1);
        }
        calls.forEach((call, input) => {
          if (call.at === now) settlements[input] = track(task.trigger(input));
        });
        await flush(1);
      }
      await flush();
      return { ran, settlements, maxActive, task, startedEvents };
    }

    const callArb = fc.record({
      at: fc.integer({ min: 0, max: 15 }),
      duration: fc.integer({ min: 1, max: 6 }),
      fails: fc.boolean(),
    });

    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(callArb, { minLength: 1, maxLength: 25 }),
        async (bufferMax, unsorted) => {
          // Call order is the order of arrival; the array index is the input.
          const calls = [...unsorted].sort((a, b) => a.at - b.at);
          const expected = model(bufferMax, calls);
          const actual = await drive(bufferMax, calls);

          assert.ok(actual.maxActive <= bufferMax, `max concurrency ${actual.maxActive} > bufferMax ${bufferMax}`);
          assert.equal(actual.maxActive, expected.maxRunning);
          assert.deepEqual(actual.ran, expected.ran);
          assert.equal(actual.settlements.length, calls.length);
          actual.settlements.forEach((settlement, caller) => {
            assert.equal(settlement.settledCount, 1, `caller ${caller} settled ${settlement.settledCount} times`);
            const got = settlement.current;
            const want = expected.outcomes[caller]!;
            if (want.state === 'fulfilled') {
              assert.deepEqual(got, want, `caller ${caller}`);
            } else {
              assert.equal(got.state, 'rejected', `caller ${caller}`);
              assert.ok(got.state === 'rejected' && got.reason instanceof Error);
              assert.equal((got.reason as Error).message, want.message, `caller ${caller}`);
            }
          });
          assert.equal(actual.task.runCount, expected.ran.length);
          assert.equal(actual.task.errorCount, expected.ran.filter((input) => calls[input]!.fails).length);
          assert.equal(actual.task.running, false);
          // Only calls that actually run are runs: one started event each, never above bufferMax.
          assert.equal(actual.startedEvents.length, expected.ran.length);
          assert.ok(actual.startedEvents.every((active) => active <= bufferMax));
        },
      ),
      { numRuns: 150 },
    );
  });
});
