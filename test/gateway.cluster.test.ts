/**
 * What a gateway tells about its cluster and its waiting runs, in one process on a real
 * redis-server: two TaskManagers with RedisCoordinators, a gateway on one of them, and
 * real clients. `client.getInstances()` lists every live instance (`self` on the gateway's
 * own) with its tasks; without a coordinator the gateway lists itself;
 * `client.getWaitingRuns()` says why runs wait; both need the `read` scope. The gateways of
 * separate processes are in test/gateway.cluster.process.test.ts.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, test, type TestContext } from 'node:test';
import { GatewayRequestError, type IWireInstance } from '../ts/client/index.js';
import { RedisCoordinator } from '../ts/coordinator/redis.js';
import { Task, TaskConstraintGroup, TaskManager } from '../ts/index.js';
import { clientFor, gatewayFor } from './gateway-helpers.js';
import { rejectionOf, within } from './manager-helpers.js';
import { useRedisServer } from './redis-helpers.js';
import { deferred } from './rule-helpers.js';

const redis = useRedisServer('gateway.cluster.test.ts');

let prefixCount = 0;

/** A manager with a RedisCoordinator on the test's Redis (short leases: heartbeats every 200 ms), not started. */
function clusterManager(t: TestContext, instanceId: string, prefix: string): TaskManager {
  const coordinator = new RedisCoordinator({ redis: redis.url, instanceId, keyPrefix: prefix, leaseMs: 600 });
  const manager = new TaskManager({ distributedCoordinator: coordinator });
  t.after(() => within(manager.stop(), `stop of ${instanceId}`, 10_000));
  return manager;
}

/** Polls `client.getInstances()` until `ok` holds; fails with the last list after `ms`. */
async function instancesWhen(read: () => Promise<IWireInstance[]>, ok: (list: IWireInstance[]) => boolean, what: string, ms = 5000): Promise<IWireInstance[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const last = await read();
    if (ok(last)) return last;
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for: ${what}; last list: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('client.getInstances()', () => {
  test('lists both instances of the cluster, self only on the gateway\'s own, each with host, pid, heartbeat and tasks', async (t) => {
    const prefix = `tbgwc${process.pid}x${++prefixCount}`;
    const a = clusterManager(t, 'gw-a', prefix);
    const b = clusterManager(t, 'gw-b', prefix);
    const gate = deferred();
    t.after(() => gate.resolve());
    a.addTask(new Task({ name: 'shared', taskFunction: async () => 'a' }));
    b.addTask(new Task({ name: 'shared', taskFunction: async () => 'b' }));
    b.addTask(new Task({ name: 'only-b', taskFunction: () => gate.promise }));
    const startedBefore = Date.now();
    await b.start();
    const { url } = await gatewayFor(t, { manager: a });
    const client = await clientFor(t, url);

    const run = b.triggerTaskByName('only-b');
    const listed = await instancesWhen(() => client.getInstances(),
      (list) => list.length === 2 && list.find((instance) => instance.instanceId === 'gw-b')?.runningTasks.includes('only-b') === true,
      'both instances, b running only-b (from its next heartbeat)');
    assert.deepEqual(listed.map((instance) => [instance.instanceId, instance.self, [...instance.tasks!].sort()]), [
      ['gw-a', true, ['shared']],
      ['gw-b', false, ['only-b', 'shared']],
    ]);
    const now = Date.now();
    for (const instance of listed) {
      assert.equal(instance.host, hostname());
      assert.equal(instance.pid, process.pid);
      assert.ok(instance.startedAt >= startedBefore - 1000 && instance.startedAt <= now, `startedAt ${instance.startedAt}`);
      assert.ok(now - instance.lastHeartbeat < 2_000, `a recent heartbeat (${now - instance.lastHeartbeat} ms ago)`);
    }
    assert.deepEqual(listed.find((instance) => instance.instanceId === 'gw-a')!.runningTasks, []);

    gate.resolve();
    await run;
    await b.stop();
    await instancesWhen(() => client.getInstances(), (list) => list.map((instance) => instance.instanceId).join() === 'gw-a',
      'b is gone once it stopped (its record is dropped on stop)');
  });

  test('a gateway without a coordinator lists itself only: self, its host and pid, its tasks and what runs now', async (t) => {
    const manager = new TaskManager({ instanceId: 'alone' });
    const gate = deferred();
    t.after(() => gate.resolve());
    manager.addTask(new Task({ name: 'idle', taskFunction: async () => 'idle' }));
    manager.addTask(new Task({ name: 'busy', taskFunction: () => gate.promise }));
    const { url } = await gatewayFor(t, { manager });
    const client = await clientFor(t, url);
    const run = manager.triggerTaskByName('busy');
    const [own, ...others] = await client.getInstances();
    assert.deepEqual(others, []);
    assert.equal(own!.instanceId, 'alone');
    assert.equal(own!.self, true);
    assert.equal(own!.host, hostname());
    assert.equal(own!.pid, process.pid);
    assert.deepEqual([...own!.tasks!].sort(), ['busy', 'idle']);
    assert.deepEqual(own!.runningTasks, ['busy']);
    assert.ok(own!.startedAt <= Date.now() && Math.abs(Date.now() - own!.lastHeartbeat) < 2_000);
    gate.resolve();
    await run;
  });
});

describe('client.getWaitingRuns()', () => {
  test('lists the manager\'s waiting runs with their reasons: a mutex held by the first of two triggers', async (t) => {
    const manager = new TaskManager();
    const gate = deferred();
    t.after(() => gate.resolve());
    manager.addTask(new Task({ name: 'sync', taskFunction: () => gate.promise }));
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'tenant', maxConcurrent: 1, constraintKeyForExecution: () => 'acme' }));
    const { url } = await gatewayFor(t, { manager });
    const client = await clientFor(t, url);
    const runs = [manager.triggerTaskByName('sync', undefined, { runId: 'first' }), manager.triggerTaskByName('sync', undefined, { runId: 'second' })];

    const waiting = await client.getWaitingRuns();
    assert.equal(waiting.length, 1);
    const [second] = waiting;
    assert.equal(second!.taskName, 'sync');
    assert.equal(second!.runId, 'second');
    assert.equal(second!.ahead, 0);
    const reason = second!.reason;
    assert.equal(reason.kind, 'held', JSON.stringify(reason));
    if (reason.kind !== 'held') return;
    assert.equal(reason.groupName, 'tenant');
    assert.equal(reason.key, 'acme');
    assert.deepEqual(reason.holders.map((holder) => [holder.runId, holder.taskName, typeof holder.since]), [['first', 'sync', 'number']]);
    assert.deepEqual(await client.getWaitingRuns(1), waiting, 'a limit of 1 keeps the one');
    assert.deepEqual(JSON.parse(JSON.stringify(manager.getWaitingRuns())), waiting, 'what the manager itself says');

    gate.resolve();
    await Promise.all(runs);
    assert.deepEqual(await client.getWaitingRuns(), []);
  });
});

describe('the read scope', () => {
  test('getInstances and getWaitingRuns are refused FORBIDDEN (naming read) without it, and answered with it', async (t) => {
    const { url } = await gatewayFor(t, {
      credentials: {
        trigger: { key: 'trigger-key-1234', scopes: ['trigger:*', 'control:*'] },
        reader: { key: 'reader-key-1234', scopes: ['read'] },
      },
    });
    const noRead = await clientFor(t, url, { name: 'trigger', key: 'trigger-key-1234' });
    for (const [what, request] of [['getInstances', () => noRead.getInstances()], ['getWaitingRuns', () => noRead.getWaitingRuns()]] as const) {
      const error = await rejectionOf(request());
      assert.ok(error instanceof GatewayRequestError, `${what}: ${error}`);
      assert.equal(error.code, 'FORBIDDEN', what);
      assert.equal(error.scope, 'read', what);
    }
    assert.equal(noRead.state, 'open', 'the refusals leave the connection usable');

    const reader = await clientFor(t, url, { name: 'reader', key: 'reader-key-1234' });
    assert.equal((await reader.getInstances()).length, 1);
    assert.deepEqual(await reader.getWaitingRuns(), []);
  });
});
