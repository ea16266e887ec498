/**
 * Why a run waits: `getWaitingRuns()` and the holders of `getConstraintGroupStates()`,
 * one kind of wait at a time, on the fake clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { distributedCoordination, Task, TaskConstraintGroup, type TaskManager } from '../ts/index.js';
import type { IClusterSlots } from '../ts/coordinator/abstract.js';
import { useFakeClock } from './fake-clock.js';
import { managerFor } from './manager-helpers.js';
import { deferred, flush } from './rule-helpers.js';

/** A task whose runs each wait for `release` (one gate for all of them). */
function heldTask(name: string, release: Promise<void>, extra: Partial<ConstructorParameters<typeof Task>[0]> = {}) {
  return new Task({ name, taskFunction: () => release, ...extra });
}

function perKeyGroup(options: { maxConcurrent?: number; cooldownMs?: number; shouldExecute?: () => boolean | Promise<boolean> } = {}) {
  return new TaskConstraintGroup({ name: 'tenant', constraintKeyForExecution: (_task, input?: string) => input ?? null, ...options });
}

/** What survives a trip through JSON is all a remote dashboard gets: it must be everything. */
function jsonRoundTrip<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function trigger(manager: TaskManager, name: string, input?: string, runId?: string): Promise<unknown> {
  const run = manager.triggerTaskByName(name, input, runId === undefined ? undefined : { runId });
  run.catch(() => undefined);
  return run;
}

describe('getWaitingRuns(): why each run waits', () => {
  it('held: the key of a mutex is held by a run, named with its task, id and start; later waiters count who is ahead', async (t) => {
    const clock = useFakeClock(t, { start: 1_000_000 });
    const manager = managerFor(t);
    const gate = deferred();
    manager.addTask(heldTask('sync-acme', gate.promise));
    manager.addConstraintGroup(perKeyGroup({ maxConcurrent: 1 }));
    trigger(manager, 'sync-acme', 'acme', '42');
    await flush();
    await clock.advance(1500);
    trigger(manager, 'sync-acme', 'acme', 'second');
    trigger(manager, 'sync-acme', 'acme'); // plain: no run id until it begins
    const waiting = jsonRoundTrip(manager.getWaitingRuns());
    const holders = [{ runId: '42', taskName: 'sync-acme', since: 1_000_000 }];
    assert.deepEqual(waiting, [
      { taskName: 'sync-acme', runId: 'second', priority: 0, ahead: 0, retry: false, reason: { kind: 'held', groupName: 'tenant', key: 'acme', holders } },
      { taskName: 'sync-acme', priority: 0, ahead: 1, retry: false, reason: { kind: 'held', groupName: 'tenant', key: 'acme', holders } },
    ]);
    const [state] = manager.getConstraintGroupStates();
    assert.deepEqual(jsonRoundTrip(state!.keys), [{ key: 'acme', running: 1, waiting: 2, cooldownRemainingMs: 0, holders }]);
    gate.resolve();
    await flush(6);
    assert.deepEqual(manager.getWaitingRuns(), []);
  });

  it('held by a plain trigger: the waiting list shows several plain waiters in trigger order', async (t) => {
    useFakeClock(t);
    const manager = managerFor(t);
    const gate = deferred();
    manager.addTask(heldTask('import', gate.promise));
    manager.addConstraintGroup(perKeyGroup({ maxConcurrent: 1 }));
    for (let i = 0; i < 20; i++) trigger(manager, 'import', 'k');
    await flush();
    const waiting = manager.getWaitingRuns();
    assert.equal(waiting.length, 19);
    assert.deepEqual(waiting.map((run) => run.ahead), Array.from({ length: 19 }, (_, i) => i));
    const reason = waiting[0]!.reason;
    assert.equal(reason.kind, 'held');
    assert.equal(reason.kind === 'held' && reason.holders.length, 1);
    gate.resolve();
  });

  it('cap: all slots of the key are taken, with how many and by whom', async (t) => {
    useFakeClock(t);
    const manager = managerFor(t);
    const gate = deferred();
    manager.addTask(heldTask('crawl', gate.promise));
    manager.addConstraintGroup(perKeyGroup({ maxConcurrent: 2 }));
    trigger(manager, 'crawl', 'example.com', 'a');
    trigger(manager, 'crawl', 'example.com', 'b');
    trigger(manager, 'crawl', 'example.com', 'c');
    await flush();
    const [waiting] = manager.getWaitingRuns();
    assert.deepEqual(waiting!.reason, {
      kind: 'cap', groupName: 'tenant', key: 'example.com', running: 2, max: 2,
      holders: [{ runId: 'a', taskName: 'crawl', since: 0 }, { runId: 'b', taskName: 'crawl', since: 0 }],
    });
    gate.resolve();
  });

  it('cooldown: the slot is free, the cooldown left is counted down on the clock', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    manager.addTask(new Task({ name: 'mail', taskFunction: async () => 'sent' }));
    manager.addConstraintGroup(perKeyGroup({ cooldownMs: 5000 }));
    await trigger(manager, 'mail', 'acme');
    const next = trigger(manager, 'mail', 'acme', 'next');
    await clock.advance(1800);
    assert.deepEqual(manager.getWaitingRuns(), [
      { taskName: 'mail', runId: 'next', priority: 0, ahead: 0, retry: false, reason: { kind: 'cooldown', groupName: 'tenant', key: 'acme', remainingMs: 3200 } },
    ]);
    await clock.settle(next, 'the run after the cooldown');
    assert.deepEqual(manager.getWaitingRuns(), []);
  });

  it('group-paused and task-paused: the gate says which', async (t) => {
    useFakeClock(t);
    const manager = managerFor(t);
    manager.addTask(new Task({ name: 'report', taskFunction: async () => 1 }));
    manager.addTask(new Task({ name: 'export', taskFunction: async () => 2 }));
    manager.addConstraintGroup(perKeyGroup());
    manager.pauseConstraintGroup('tenant');
    manager.pauseTask('export');
    trigger(manager, 'report', 'acme', 'r1');
    trigger(manager, 'export', undefined, 'e1');
    const waiting = manager.getWaitingRuns();
    assert.deepEqual(waiting.map((run) => [run.runId, run.reason]), [
      ['r1', { kind: 'group-paused', groupName: 'tenant' }],
      ['e1', { kind: 'task-paused' }],
    ]);
    manager.resumeConstraintGroup('tenant');
    manager.resumeTask('export');
    await flush();
    assert.deepEqual(manager.getWaitingRuns(), []);
  });

  it('should-execute: a run holding its slot while an async shouldExecute is asked; a refusal is kept on the group', async (t) => {
    const clock = useFakeClock(t, { start: 5000 });
    const manager = managerFor(t);
    const answer = deferred<boolean>();
    manager.addTask(new Task({ name: 'charge', taskFunction: async () => 'charged' }));
    manager.addConstraintGroup(perKeyGroup({ maxConcurrent: 1, shouldExecute: () => answer.promise }));
    const run = trigger(manager, 'charge', 'acme', 'pay-1');
    await flush();
    assert.deepEqual(manager.getWaitingRuns(), [
      { taskName: 'charge', runId: 'pay-1', priority: 0, ahead: 0, retry: false, reason: { kind: 'should-execute' } },
    ]);
    // Holding, not begun: the holder has no start time yet.
    assert.deepEqual(manager.getConstraintGroupStates()[0]!.keys[0]!.holders, [{ runId: 'pay-1', taskName: 'charge' }]);
    await clock.advance(250);
    answer.resolve(false);
    assert.equal(await run, undefined);
    const [state] = manager.getConstraintGroupStates();
    assert.deepEqual(state!.lastRefusal, { taskName: 'charge', runId: 'pay-1', at: 5250 });
    assert.deepEqual(manager.getWaitingRuns(), []);
  });

  it('cluster-slot: a run holding its local slots waits for the slot of a scope: "cluster" group', async (t) => {
    useFakeClock(t);
    const granted = deferred();
    // A cluster whose one slot is granted when the test says so.
    class FakeCluster extends distributedCoordination.AbstractDistributedCoordinator {
      override get clusterSlots(): IClusterSlots {
        return { acquire: () => granted.promise, release: () => undefined };
      }
      async fireDistributedTaskRequest(): Promise<never> {
        throw new Error('not used');
      }
      async updateDistributedTaskRequest(): Promise<void> {}
      async start(): Promise<void> {}
      async stop(): Promise<void> {}
    }
    const manager = managerFor(t, { distributedCoordinator: new FakeCluster() });
    manager.addTask(new Task({ name: 'bill', taskFunction: async () => 'billed' }));
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'local', constraintKeyForExecution: () => 'l' }));
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'everywhere', scope: 'cluster', maxConcurrent: 1, constraintKeyForExecution: () => 'acme' }));
    const run = trigger(manager, 'bill', undefined, 'b1');
    await flush();
    assert.deepEqual(manager.getWaitingRuns(), [
      { taskName: 'bill', runId: 'b1', priority: 0, ahead: 0, retry: false, reason: { kind: 'cluster-slot', groupName: 'everywhere', key: 'acme' } },
    ]);
    granted.resolve();
    assert.equal(await run, 'billed');
    assert.deepEqual(manager.getWaitingRuns(), []);
  });

  it('a retry waiting for its slot again says so, with the id of its run (the slot went to another run between its tries)', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const gate = deferred();
    let tries = 0;
    manager.addTask(new Task({
      name: 'flaky',
      retry: { attempts: 2, delayMs: 100 },
      taskFunction: async () => {
        if (++tries === 1) throw new Error('down');
      },
    }));
    manager.addTask(heldTask('blocker', gate.promise));
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'one', maxConcurrent: 1, constraintKeyForExecution: () => 'k' }));
    const flaky = trigger(manager, 'flaky', undefined, 'f');
    await flush();
    trigger(manager, 'blocker', undefined, 'b');
    await clock.advance(100);
    const waiting = manager.getWaitingRuns();
    assert.deepEqual(waiting.map(({ runId, retry, ahead }) => ({ runId, retry, ahead })), [{ runId: 'f', retry: true, ahead: 0 }]);
    assert.deepEqual(waiting[0]!.reason, { kind: 'held', groupName: 'one', key: 'k', holders: [{ runId: 'b', taskName: 'blocker', since: 0 }] });
    gate.resolve();
    await clock.settle(flaky, 'the retry');
  });

  it('stops at `limit` runs (in the order listed), and refuses a limit that is not a positive integer', async (t) => {
    useFakeClock(t);
    const manager = managerFor(t);
    const gate = deferred();
    manager.addTask(heldTask('import', gate.promise));
    manager.addConstraintGroup(perKeyGroup({ maxConcurrent: 1 }));
    for (let i = 0; i < 30; i++) trigger(manager, 'import', `k${i % 3}`);
    await flush();
    assert.equal(manager.getWaitingRuns().length, 27);
    const first = manager.getWaitingRuns(10);
    assert.equal(first.length, 10);
    assert.deepEqual(first, manager.getWaitingRuns().slice(0, 10));
    for (const bad of [0, -1, 1.5, Number.NaN, '3']) {
      assert.throws(() => manager.getWaitingRuns(bad as number), (error: Error) =>
        error.name === 'InvalidOptionError' && error.message.includes('limit'));
    }
    gate.resolve();
  });

  it('lists nothing and costs nothing when no run waits', (t) => {
    const manager = managerFor(t);
    assert.deepEqual(manager.getWaitingRuns(), []);
    assert.deepEqual(manager.getConstraintGroupStates(), []);
  });
});
