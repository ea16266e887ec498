/**
 * Run ids and updates: every event of a run names it (`runId`), the task function reads
 * the same id from its context and publishes progress messages of its own with
 * `context.update(payload)`. Remote clients and the dashboard follow one run by its id.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidOptionError, Task, TaskOnce, type ITaskContext, type ITaskEvent } from '../ts/index.js';
import { useFakeClock } from './fake-clock.js';
import { managerFor, rejectionOf } from './manager-helpers.js';
import { collectEvents, deferred, flush } from './rule-helpers.js';

/** The ids of `events` that belong to runs, in order. */
function runIdsOf(events: ITaskEvent[]): string[] {
  return events.flatMap((event) => (event.runId === undefined ? [] : [event.runId]));
}

describe('run ids', () => {
  it('gives every event of one run the same id, the one the function reads from its context', async () => {
    let seen: string | undefined;
    const task = new Task({
      name: 'fetch',
      steps: [{ name: 'get', description: 'get', percentage: 100 }] as const,
      taskFunction: (_input: undefined, _setup, context) => {
        seen = context.runId;
        task.notifyStep('get');
        context.update({ bytes: 10 });
      },
    });
    const events = collectEvents(task);
    await task.trigger();
    assert.deepEqual(events.map((event) => event.type), ['started', 'step', 'update', 'completed']);
    assert.equal(typeof seen, 'string');
    assert.deepEqual(runIdsOf(events), [seen, seen, seen, seen]);
  });

  it('makes a different id for every run, unique across processes by a random prefix', async () => {
    const ids = new Set<string>();
    const task = new Task({ name: 'many', taskFunction: (_input: undefined, _setup, context) => void ids.add(context.runId) });
    for (let i = 0; i < 50; i++) await task.trigger();
    assert.equal(ids.size, 50);
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-\d+$/);
  });

  it('uses the runId a trigger gives, for the run and for every try of its retries', async (t) => {
    const clock = useFakeClock(t);
    const attempts: Array<[number, string]> = [];
    const task = new Task({
      name: 'flaky',
      retry: { attempts: 3, delayMs: 10 },
      taskFunction: (_input: undefined, _setup, context: ITaskContext) => {
        attempts.push([context.attempt, context.runId]);
        if (context.attempt < 3) throw new Error(`try ${context.attempt}`);
        return 'ok';
      },
    });
    const events = collectEvents(task);
    const result = task.trigger(undefined, { runId: 'job-7' });
    await clock.advance(100);
    assert.equal(await result, 'ok');
    assert.deepEqual(attempts, [[1, 'job-7'], [2, 'job-7'], [3, 'job-7']]);
    assert.deepEqual(events.map((event) => event.type), ['started', 'retrying', 'retrying', 'completed']);
    assert.ok(runIdsOf(events).every((id) => id === 'job-7'));
  });

  it('refuses a runId that is not a non-empty string of at most 1024 characters, naming the value', async () => {
    const task = new Task({ name: 'strict', taskFunction: () => 1 });
    for (const runId of ['', 'x'.repeat(1025), 42 as unknown as string]) {
      const error = await rejectionOf(task.trigger(undefined, { runId }));
      assert.ok(error instanceof InvalidOptionError);
      assert.equal(error.option, 'runId');
      assert.match(error.message, /runId/);
    }
  });

  it('carries the runId through a TaskManager, for constrained runs and for tasks with a trigger of their own', async (t) => {
    const manager = managerFor(t);
    const plain = new Task({ name: 'plain', taskFunction: (_input: undefined, _setup, context) => context.runId });
    const once = new TaskOnce({ name: 'once', taskFunction: (_input: undefined, _setup, context) => context.runId });
    const buffered = new Task({ name: 'buffered', buffered: true, bufferMax: 1, taskFunction: (_input: undefined, _setup, context) => context.runId });
    manager.addTask(plain);
    manager.addTask(once);
    manager.addTask(buffered);
    const events: ITaskEvent[] = [];
    manager.taskSubject.subscribe((event) => events.push(event));
    assert.equal(await manager.triggerTaskByName('plain', undefined, { runId: 'a' }), 'a');
    assert.equal(await manager.triggerTaskByName('once', undefined, { runId: 'b' }), 'b');
    assert.equal(await manager.triggerTaskByName('buffered', undefined, { runId: 'c' }), 'c');
    assert.deepEqual(events.map((event) => `${event.task.name}:${event.type}:${event.runId}`),
      ['plain:started:a', 'plain:completed:a', 'once:started:b', 'once:completed:b', 'buffered:started:c', 'buffered:completed:c']);
  });

  it('names the run in a failed event, and leaves paused and resumed events without one', async (t) => {
    const manager = managerFor(t);
    const task = new Task({ name: 'breaks', taskFunction: () => { throw new Error('no'); } });
    manager.addTask(task);
    const events = collectEvents(task);
    manager.pauseTask('breaks');
    manager.resumeTask('breaks');
    await assert.rejects(manager.triggerTaskByName('breaks', undefined, { runId: 'r1' }));
    assert.deepEqual(events.map((event) => [event.type, event.runId]), [['paused', undefined], ['resumed', undefined], ['started', 'r1'], ['failed', 'r1']]);
  });
});

describe('context.update', () => {
  it('publishes each payload as an update event of the run, in order, with the task snapshot', async () => {
    const task = new Task({
      name: 'download',
      taskFunction: async (_input: undefined, _setup, context) => {
        for (const bytes of [100, 200, 300]) context.update({ bytes, of: 300 });
      },
    });
    const events = collectEvents(task);
    await task.trigger(undefined, { runId: 'dl-1' });
    const updates = events.filter((event) => event.type === 'update');
    assert.deepEqual(updates.map((event) => event.type === 'update' && event.payload), [{ bytes: 100, of: 300 }, { bytes: 200, of: 300 }, { bytes: 300, of: 300 }]);
    assert.ok(updates.every((event) => event.runId === 'dl-1' && event.task.name === 'download' && event.task.status === 'running'));
  });

  it('refuses a payload JSON would change, naming the path, even while nobody listens', async () => {
    for (const [payload, path] of [[{ at: new Date(0) }, 'payload.at'], [{ n: Number.NaN }, 'payload.n'], [[1, () => 2], 'payload[1]'], [10n, 'payload']] as const) {
      const task = new Task({ name: 'bad', taskFunction: (_input: undefined, _setup, context) => context.update(payload) });
      const error = await rejectionOf(task.trigger());
      assert.ok(error instanceof InvalidOptionError, String(error));
      assert.ok(error.message.includes(path), `${error.message} names ${path}`);
      assert.match(error.message, /Task "bad"/);
    }
  });

  it('drops updates made after the try was abandoned by an abort or a timeout', async (t) => {
    const clock = useFakeClock(t);
    let context: ITaskContext | undefined;
    const hold = deferred();
    const task = new Task({
      name: 'slow',
      timeoutMs: 50,
      taskFunction: async (_input: undefined, _setup, ctx) => {
        context = ctx;
        await hold.promise;
      },
    });
    const events = collectEvents(task);
    const run = task.trigger().catch((error: unknown) => error);
    await clock.advance(60);
    await run;
    context!.update({ late: true });
    hold.resolve();
    await flush();
    assert.deepEqual(events.map((event) => event.type), ['started', 'failed']);
  });

  it('drops updates made after the run ended, from a callback the function left behind', async () => {
    let context: ITaskContext | undefined;
    const task = new Task({ name: 'quick', taskFunction: (_input: undefined, _setup, ctx) => void (context = ctx) });
    const events = collectEvents(task);
    await task.trigger();
    context!.update('after the end');
    assert.deepEqual(events.map((event) => event.type), ['started', 'completed']);
  });

  it("reaches the manager's taskSubject like every other event of the run", async (t) => {
    const manager = managerFor(t);
    const task = new Task({ name: 'report', taskFunction: (_input: undefined, _setup, context) => context.update(['half']) });
    manager.addTask(task);
    const events: ITaskEvent[] = [];
    manager.taskSubject.subscribe((event) => events.push(event));
    await manager.triggerTaskByName('report', undefined, { runId: 'm-1' });
    const update = events.find((event) => event.type === 'update');
    assert.deepEqual(update && [update.runId, update.type === 'update' && update.payload], ['m-1', ['half']]);
  });
});
