import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskOnce } from '../ts/index.js';
import { deferred, flush } from './rule-helpers.js';

describe('TaskOnce', () => {
  it('runs its function on the first trigger only', async () => {
    let calls = 0;
    const initTask = new TaskOnce({
      name: 'Init',
      taskFunction: async () => {
        calls++;
        return 'initialized';
      },
    });
    assert.equal(await initTask.trigger(), 'initialized');
    await initTask.trigger();
    await initTask.trigger();
    assert.equal(calls, 1);
    assert.equal(initTask.runCount, 1);
  });

  it('reports hasTriggered false before the first trigger and true as soon as it is triggered', async () => {
    const gate = deferred<void>();
    const task = new TaskOnce({ taskFunction: () => gate.promise });
    assert.equal(task.hasTriggered, false);
    const run = task.trigger();
    assert.equal(task.hasTriggered, true);
    gate.resolve();
    await run;
    assert.equal(task.hasTriggered, true);
  });

  it('lets concurrent triggers share the one run and its result', async () => {
    let calls = 0;
    const gate = deferred<{ id: number }>();
    const task = new TaskOnce({
      name: 'shared',
      taskFunction: async () => {
        calls++;
        return gate.promise;
      },
    });
    const triggers = [task.trigger(), task.trigger(), task.trigger()];
    await flush();
    assert.equal(calls, 1);
    assert.equal(task.getMetadata().activeRuns, 1);
    const value = { id: 7 };
    gate.resolve(value);
    const results = await Promise.all(triggers);
    assert.ok(results.every((result) => result === value));
    assert.equal(calls, 1);
  });

  it('runs with the first trigger input and ignores later inputs', async () => {
    const inputs: string[] = [];
    const task = new TaskOnce({
      taskFunction: async (input: string) => {
        inputs.push(input);
        return input;
      },
    });
    const first = task.trigger('first');
    const second = task.trigger('second');
    assert.equal(await first, 'first');
    assert.equal(await second, 'first');
    await task.trigger('third');
    assert.deepEqual(inputs, ['first']);
  });

  it('hands the failure of the one run to every concurrent caller', async () => {
    let calls = 0;
    const original = new Error('init failed');
    const task = new TaskOnce({
      name: 'fragile',
      taskFunction: async (): Promise<string> => {
        calls++;
        await flush(1);
        throw original;
      },
    });
    const outcomes = await Promise.allSettled([task.trigger(), task.trigger()]);
    assert.deepEqual(outcomes, [
      { status: 'rejected', reason: original },
      { status: 'rejected', reason: original },
    ]);
    assert.equal(calls, 1);
    assert.equal(task.errorCount, 1);
    assert.equal(task.status, 'failed');
  });
});
