/**
 * The lean paths of a run: a plain `task.trigger()` without signal, timeout or retry; a
 * manager run of a plain task that reports straight back to the manager (no promise of its
 * own), which a draining stop must still be able to abort; runs that share the manager's
 * array of groups when a group is removed; many keys and many active runs at once; and an
 * older run (a retry) that comes back into a line behind newer ones. Each is checked for
 * the same outcome, bookkeeping and order as the general path gives.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AbortError,
  ShutdownError,
  Task,
  TaskConstraintGroup,
  TaskManager,
  type ITaskContext,
} from '../ts/index.js';
import { useFakeClock } from './fake-clock.js';
import { managerFor, rejectionOf, within } from './manager-helpers.js';
import { collectEvents, deferred, flush, track } from './rule-helpers.js';

describe('a plain task.trigger()', () => {
  it('resolves, counts and reports like any run, and gives the function a context of try 1', async () => {
    let context: ITaskContext | undefined;
    const task = new Task({ name: 'plain', taskFunction: async (input: number, _setup, ctx) => { context = ctx; return input * 2; } });
    const events = collectEvents(task);
    assert.equal(await task.trigger(21), 42);
    assert.equal(context?.attempt, 1);
    assert.equal(context?.signal.aborted, false);
    assert.deepEqual(events.map((event) => event.type), ['started', 'completed']);
    assert.equal(task.runCount, 1);
    assert.equal(task.status, 'completed');
  });

  it('rejects with a thrown error (sync or async), counts it, and resolves undefined with catchErrors', async () => {
    const boom = new Error('boom');
    const sync = new Task({ name: 'sync', taskFunction: () => { throw boom; } });
    const events = collectEvents(sync);
    assert.equal(await rejectionOf(sync.trigger()), boom);
    assert.deepEqual(events.map((event) => event.type), ['started', 'failed']);
    assert.equal(sync.errorCount, 1);
    assert.equal(sync.lastError, boom);
    assert.equal(sync.status, 'failed');

    const caught = new Task({ name: 'caught', catchErrors: true, taskFunction: async () => { throw boom; } });
    assert.equal(await caught.trigger(), undefined);
    assert.equal(caught.errorCount, 1);
    assert.equal(caught.runCount, 1);
  });
});

describe('a manager run of a plain task', () => {
  it('settles the trigger with the outcome, releases the slot, and counts like a direct trigger', async (t) => {
    const manager = managerFor(t);
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'mutex', maxConcurrent: 1, constraintKeyForExecution: () => 'k' }));
    const boom = new Error('boom');
    const task = new Task({ name: 'mixed', taskFunction: async (input: number) => { if (input < 0) throw boom; return input; } });
    const results = await Promise.allSettled([manager.triggerTask(task, 1), manager.triggerTask(task, -1), manager.triggerTask(task, 3)]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal((results[1] as PromiseRejectedResult).reason, boom);
    assert.equal(task.runCount, 3);
    assert.equal(task.errorCount, 1);
    assert.deepEqual(manager.getConstraintGroupStates()[0]!.keys, [], 'no slot is held and nothing waits');
  });

  it('is aborted by a draining stop that gives up: signalled, rejected at once, counted as failed, its late outcome dropped', async (t) => {
    const clock = useFakeClock(t);
    const manager = new TaskManager();
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'cap', maxConcurrent: 2, constraintKeyForExecution: () => 'all' }));
    const gate = deferred<number>();
    const signals: AbortSignal[] = [];
    const task = new Task({ name: 'endless', taskFunction: (_input: unknown, _setup, ctx) => { signals.push(ctx.signal); return gate.promise; } });
    const events = collectEvents(task);
    await manager.start();
    const running = [track(manager.triggerTask(task)), track(manager.triggerTask(task))];
    const waiting = track(manager.triggerTask(task));
    await flush();
    assert.equal(signals.length, 2);
    const stopping = track(manager.stop({ drain: true, timeoutMs: 50 }));
    await clock.advance(49);
    assert.equal(stopping.current.state, 'pending', 'the drain waits its full timeout for the endless runs');
    assert.ok(signals.every((signal) => !signal.aborted));
    await clock.advance(1);
    assert.equal(stopping.current.state, 'fulfilled', 'and gives up exactly when it is over');
    for (const run of running) {
      assert.equal(run.current.state, 'rejected');
      const error = (run.current as { reason: Error }).reason;
      assert.ok(error instanceof AbortError);
      assert.ok(error.cause instanceof ShutdownError);
    }
    assert.equal(waiting.current.state, 'rejected');
    assert.ok((waiting.current as { reason: Error }).reason instanceof ShutdownError);
    assert.ok(signals.every((signal) => signal.aborted), 'every running function is signalled');
    assert.equal(task.runCount, 2);
    assert.equal(task.errorCount, 2);
    assert.equal(task.status, 'failed');
    gate.resolve(1);
    await flush();
    assert.equal(task.runCount, 2, 'the late outcome is dropped');
    assert.deepEqual(events.filter((event) => event.type === 'completed'), []);
    assert.equal(running[0]!.settledCount, 1);
    assert.deepEqual(manager.getConstraintGroupStates()[0]!.keys, [], 'the slots were given back');
  });

  it('aborts hundreds of active runs in one draining stop, and none is left behind', async (t) => {
    const clock = useFakeClock(t);
    const manager = new TaskManager();
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'per-key', maxConcurrent: 1, constraintKeyForExecution: (_task, key: string) => key }));
    const gate = deferred<void>();
    const quick = new Task({ name: 'quick', taskFunction: async (key: string) => key });
    const slow = new Task({ name: 'slow', taskFunction: async (key: string) => { await gate.promise; return key; } });
    await manager.start();
    const slowRuns = Array.from({ length: 300 }, (_, i) => track(manager.triggerTask(slow, `k${i}`)));
    // Runs that start and end while the slow ones hold their keys, and runs behind them.
    const quickRuns = Array.from({ length: 300 }, (_, i) => manager.triggerTask(quick, `q${i}`));
    const behind = Array.from({ length: 300 }, (_, i) => track(manager.triggerTask(quick, `k${i}`)));
    assert.deepEqual(await Promise.all(quickRuns), Array.from({ length: 300 }, (_, i) => `q${i}`));
    await clock.settle(manager.stop({ drain: true, timeoutMs: 20 }), 'stop with drain');
    assert.equal(clock.now(), 20);
    await flush();
    assert.ok(slowRuns.every((run) => run.current.state === 'rejected' && run.settledCount === 1));
    assert.ok(behind.every((run) => run.current.state === 'rejected' && run.settledCount === 1));
    assert.deepEqual(manager.getConstraintGroupStates()[0]!.keys, []);
    gate.resolve();
  });
});

describe('runs that share the manager\'s array of groups', () => {
  it('keep the remaining groups\' limits when a group is removed while they wait', async (t) => {
    const manager = managerFor(t);
    const mutex = new TaskConstraintGroup({ name: 'mutex', maxConcurrent: 1, constraintKeyForExecution: (_task, key: string) => key });
    const cap = new TaskConstraintGroup({ name: 'cap', maxConcurrent: 2, constraintKeyForExecution: () => 'all' });
    manager.addConstraintGroup(mutex);
    manager.addConstraintGroup(cap);
    let running = 0;
    let most = 0;
    const gates: Array<() => void> = [];
    const task = new Task({
      name: 'work',
      taskFunction: async () => {
        running++;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => gates.push(resolve));
        running--;
      },
    });
    const runs = ['a', 'a', 'b', 'b', 'c', 'c', 'd'].map((key) => manager.triggerTask(task, key));
    await flush();
    assert.equal(running, 2);
    assert.equal(manager.removeConstraintGroup('mutex'), true);
    assert.deepEqual(manager.constraintGroups.map((group) => group.name), ['cap']);
    // Let everything finish one gate at a time; the cap of 2 must hold throughout.
    while (gates.length > 0 || running > 0) {
      gates.shift()?.();
      await flush();
    }
    await within(Promise.all(runs), 'all runs');
    assert.equal(most, 2);
    assert.deepEqual(cap.getKeyStates(), []);
  });
});

describe('order in a line', () => {
  it('starts a retried run before runs triggered after it, then the rest in trigger order', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'mutex', maxConcurrent: 1, constraintKeyForExecution: () => 'k' }));
    const RETRY_DELAY_MS = 10;
    const started: string[] = [];
    let failFirst = true;
    const flaky = new Task({
      name: 'flaky',
      retry: { attempts: 2, delayMs: RETRY_DELAY_MS },
      taskFunction: async (name: string) => {
        started.push(name);
        if (failFirst) {
          failFirst = false;
          throw new Error('once');
        }
        return name;
      },
    });
    const gates = new Map<string, () => void>();
    const gated = new Task({
      name: 'gated',
      taskFunction: (name: string) => {
        started.push(name);
        return new Promise<string>((resolve) => gates.set(name, () => resolve(name)));
      },
    });
    const first = manager.triggerTask(flaky, 'retried');
    await flush();
    // The first try failed and gave the key back; these take it in turns meanwhile.
    const later = ['x1', 'x2', 'x3'].map((name) => manager.triggerTask(gated, name));
    await flush();
    assert.deepEqual(started, ['retried', 'x1']);
    // The retry's delay passes while x1 holds the key: it waits in the line, behind nobody.
    await clock.advance(RETRY_DELAY_MS + 100);
    assert.deepEqual(started, ['retried', 'x1']);
    gates.get('x1')!();
    assert.equal(await within(first, 'the retried run'), 'retried');
    for (const name of ['x2', 'x3']) {
      await flush();
      gates.get(name)!();
    }
    await within(Promise.all(later), 'later runs');
    assert.deepEqual(started, ['retried', 'x1', 'retried', 'x2', 'x3']);
  });

  it('keeps trigger order per key and mutual exclusion with 1,000 keys', async (t) => {
    const manager = managerFor(t);
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'mutex', maxConcurrent: 1, constraintKeyForExecution: (_task, input: [string, number]) => input[0] }));
    const busy = new Set<string>();
    const seen = new Map<string, number[]>();
    const task = new Task({
      name: 'keyed',
      taskFunction: async ([key, n]: [string, number]) => {
        assert.ok(!busy.has(key), `${key} ran twice at once`);
        busy.add(key);
        seen.set(key, [...(seen.get(key) ?? []), n]);
        await Promise.resolve();
        busy.delete(key);
      },
    });
    const runs: Array<Promise<unknown>> = [];
    for (let n = 0; n < 20; n++) for (let k = 0; k < 1000; k++) runs.push(manager.triggerTask(task, [`k${k}`, n]));
    await within(Promise.all(runs), 'every run', 20_000);
    assert.equal(seen.size, 1000);
    for (const order of seen.values()) assert.deepEqual(order, Array.from({ length: 20 }, (_, n) => n));
  });
});
