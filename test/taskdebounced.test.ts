/**
 * TaskDebounced: triggers within the quiet period collapse into one run. Every test runs on a
 * fake clock (fake-clock.ts), so the quiet periods are exact and take no real time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidOptionError, TaskDebounced } from '../ts/index.js';
import { useFakeClock } from './fake-clock.js';
import { deferred, flush, track } from './rule-helpers.js';

const QUIET_MS = 30;

describe('TaskDebounced', () => {
  it('collapses rapid triggers into one run with the last input, exactly one quiet period after the last trigger', async (t) => {
    const clock = useFakeClock(t);
    const calls: string[] = [];
    const searchTask = new TaskDebounced({
      name: 'Search',
      debounceTimeInMillis: QUIET_MS,
      taskFunction: async (query: string) => {
        calls.push(query);
        return `results for ${query}`;
      },
    });
    const promises = ['h', 'he', 'hel', 'hello'].map((query) => searchTask.trigger(query));
    await clock.advance(QUIET_MS - 1);
    assert.deepEqual(calls, [], 'nothing runs before the quiet period has passed');
    await clock.advance(1);
    assert.deepEqual(calls, ['hello']);
    const results = await clock.settle(Promise.all(promises));
    assert.deepEqual(results, Array(4).fill('results for hello'));
    assert.equal(searchTask.runCount, 1);
  });

  it('settles every collapsed caller with the rejection when the one run fails', async (t) => {
    const clock = useFakeClock(t);
    let calls = 0;
    const original = new Error('search backend down');
    const task = new TaskDebounced({
      debounceTimeInMillis: QUIET_MS,
      taskFunction: async (_query: string): Promise<string> => {
        calls++;
        throw original;
      },
    });
    const outcomes = await clock.settle(Promise.allSettled(['a', 'ab', 'abc'].map((query) => task.trigger(query))));
    assert.equal(calls, 1);
    assert.deepEqual(outcomes, Array(3).fill({ status: 'rejected', reason: original }));
    assert.equal(task.errorCount, 1);
    assert.equal(task.lastError, original);
  });

  it('resolves every collapsed caller with undefined when the run fails under catchErrors', async (t) => {
    const clock = useFakeClock(t);
    const task = new TaskDebounced({
      debounceTimeInMillis: QUIET_MS,
      catchErrors: true,
      taskFunction: async (): Promise<string> => {
        throw new Error('swallowed');
      },
    });
    assert.deepEqual(await clock.settle(Promise.all([task.trigger(), task.trigger()])), [undefined, undefined]);
    assert.equal(task.errorCount, 1);
  });

  it('keeps postponing the run while triggers come closer together than the quiet period', async (t) => {
    const clock = useFakeClock(t);
    const calls: number[] = [];
    const task = new TaskDebounced({
      debounceTimeInMillis: 100,
      taskFunction: async (input: number) => {
        calls.push(input);
        return input * 10;
      },
    });
    const promises = [];
    for (let i = 1; i <= 5; i++) {
      promises.push(track(task.trigger(i)));
      await clock.advance(60);
      assert.deepEqual(calls, [], `no run 60 ms after trigger ${i}, although ${i * 60} ms passed in total`);
    }
    await clock.advance(39);
    assert.deepEqual(calls, [], 'still quiet 99 ms after the last trigger');
    await clock.advance(1);
    assert.deepEqual(calls, [5]);
    assert.deepEqual(
      promises.map((p) => p.current),
      Array(5).fill({ state: 'fulfilled', value: 50 }),
    );
  });

  it('opens a new window for a trigger made while the run is going, which gets a run of its own', async (t) => {
    const clock = useFakeClock(t);
    const calls: string[] = [];
    const gates = [deferred<void>(), deferred<void>()];
    const task = new TaskDebounced({
      debounceTimeInMillis: QUIET_MS,
      taskFunction: async (input: string) => {
        const gate = gates[calls.length]!;
        calls.push(input);
        await gate.promise;
        return `done ${input}`;
      },
    });
    const first = track(task.trigger('first'));
    await clock.advance(QUIET_MS);
    assert.deepEqual(calls, ['first'], 'the first run starts after its quiet period');
    const second = track(task.trigger('second'));
    gates[0]!.resolve();
    await flush();
    assert.deepEqual(first.current, { state: 'fulfilled', value: 'done first' });
    assert.equal(second.current.state, 'pending', 'the later caller is not settled by the earlier run');
    await clock.advance(QUIET_MS - 1);
    assert.deepEqual(calls, ['first'], 'the second window is a full quiet period from its trigger');
    await clock.advance(1);
    assert.deepEqual(calls, ['first', 'second']);
    gates[1]!.resolve();
    await flush();
    assert.deepEqual(calls, ['first', 'second']);
    assert.deepEqual(second.current, { state: 'fulfilled', value: 'done second' });
  });

  it('runs again for a trigger that comes after the previous run has finished', async (t) => {
    const clock = useFakeClock(t);
    const calls: number[] = [];
    const task = new TaskDebounced({
      debounceTimeInMillis: QUIET_MS,
      taskFunction: async (input: number) => {
        calls.push(input);
        return input;
      },
    });
    assert.equal(await clock.settle(task.trigger(1)), 1);
    assert.equal(await clock.settle(task.trigger(2)), 2);
    assert.equal(clock.now(), 2 * QUIET_MS, 'each run comes one quiet period after its trigger');
    assert.deepEqual(calls, [1, 2]);
    assert.equal(task.runCount, 2);
  });

  it('collapses triggers made in the same tick even with a quiet period of 0', async (t) => {
    const clock = useFakeClock(t);
    const calls: string[] = [];
    const task = new TaskDebounced({
      debounceTimeInMillis: 0,
      taskFunction: async (input: string) => {
        calls.push(input);
        return input;
      },
    });
    const results = await clock.settle(Promise.all([task.trigger('x'), task.trigger('y'), task.trigger('z')]));
    assert.deepEqual(calls, ['z']);
    assert.deepEqual(results, ['z', 'z', 'z']);
  });

  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    it(`refuses debounceTimeInMillis ${bad} with InvalidOptionError naming the option and the value`, () => {
      let caught: unknown;
      try {
        new TaskDebounced({ name: 'bad', debounceTimeInMillis: bad, taskFunction: async () => undefined });
      } catch (error) {
        caught = error;
      }
      assert.ok(caught instanceof InvalidOptionError);
      assert.equal(caught.name, 'InvalidOptionError');
      assert.equal(caught.option, 'debounceTimeInMillis');
      assert.match(caught.message, /debounceTimeInMillis/);
      assert.ok(caught.message.includes(String(bad)), `message should name ${bad}: ${caught.message}`);
    });
  }

  it('refuses a missing debounceTimeInMillis with InvalidOptionError', () => {
    assert.throws(
      () =>
        new TaskDebounced({ taskFunction: async () => undefined } as unknown as ConstructorParameters<
          typeof TaskDebounced
        >[0]),
      (error: unknown) => error instanceof InvalidOptionError && /debounceTimeInMillis/.test(error.message),
    );
  });
});
