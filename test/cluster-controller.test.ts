/**
 * The dashboard's cluster view without a browser (ts_web/cluster-controller.ts) with a fake
 * host: when it reads (never two reads at once, no timer once the host is gone), what a
 * failed read keeps, which tasks no live instance has, which heartbeats are late; and the
 * same controller over a real RedisCoordinator on a real redis-server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { TaskGatewayClient } from '../ts/client/index.js';
import { RedisCoordinator } from '../ts/coordinator/redis.js';
import { Task, TaskManager } from '../ts/index.js';
import { ClusterController, LATE_HEARTBEAT_MS, type IDashboardCluster, type IDashboardInstance } from '../ts_web/cluster-controller.js';
import { formatClock, formatInstant } from '../ts_web/format.js';
import { waitFor, within } from './manager-helpers.js';
import { useRedisServer } from './redis-helpers.js';
import { deferred, sleep } from './rule-helpers.js';

// Both kinds of cluster the readme names fit the dashboard's property (checked by tsc).
const fits: Array<(value: RedisCoordinator | TaskGatewayClient) => IDashboardCluster> = [(value) => value];
void fits;

/** A host element stand-in: the controller it got, and how many updates were asked for. */
class FakeHost implements ReactiveControllerHost {
  controller: ReactiveController | undefined;
  updates = 0;
  readonly updateComplete = Promise.resolve(true);
  addController(controller: ReactiveController): void {
    this.controller = controller;
  }
  removeController(): void {}
  requestUpdate(): void {
    this.updates++;
  }
  connect(): void {
    this.controller!.hostConnected!();
  }
  disconnect(): void {
    this.controller!.hostDisconnected!();
  }
}

function instance(instanceId: string, overrides: Partial<IDashboardInstance> = {}): IDashboardInstance {
  return { instanceId, host: 'box', pid: 1, startedAt: Date.now() - 60_000, lastHeartbeat: Date.now(), runningTasks: [], tasks: [], ...overrides };
}

/** A cluster whose answers the test gives: each getInstances() waits for `answer()` (or `fail()`). */
class ScriptedCluster implements IDashboardCluster {
  calls = 0;
  inFlight = 0;
  maxInFlight = 0;
  private pending: Array<ReturnType<typeof deferred<IDashboardInstance[]>>> = [];

  getInstances(): Promise<IDashboardInstance[]> {
    this.calls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const reply = deferred<IDashboardInstance[]>();
    this.pending.push(reply);
    return reply.promise.finally(() => this.inFlight--);
  }

  get waiting(): number {
    return this.pending.length;
  }

  answer(instances: IDashboardInstance[]): void {
    this.pending.shift()!.resolve(instances);
  }

  fail(error: unknown): void {
    this.pending.shift()!.reject(error);
  }
}

/** Answers at once, every time, with what `list` holds then. */
function steadyCluster(list: () => unknown): IDashboardCluster & { calls: number } {
  const cluster = {
    calls: 0,
    getInstances: async () => {
      cluster.calls++;
      return list() as IDashboardInstance[];
    },
  };
  return cluster;
}

describe('ClusterController: when it reads', () => {
  it('reads once connected, then refreshInterval after each answer: never two reads at once, however slow the cluster', async (t) => {
    const host = new FakeHost();
    const controller = new ClusterController(host);
    const cluster = new ScriptedCluster();
    controller.watch(cluster, 20);
    assert.equal(cluster.calls, 0, 'nothing is read while the host is not connected');
    host.connect();
    t.after(() => host.disconnect());
    assert.equal(cluster.calls, 1);
    await sleep(100); // five intervals pass while the first read is on its way
    assert.equal(cluster.calls, 1, 'no second read while the first is on its way');
    cluster.answer([instance('a')]);
    await waitFor(() => cluster.calls === 2, 'the next read, an interval after the answer');
    controller.watch(cluster, 30); // a new interval while a read is on its way: no extra read
    host.disconnect();
    host.connect(); // a reconnect while a read is on its way: no extra read either
    await sleep(60);
    assert.equal(cluster.calls, 2);
    cluster.answer([instance('a')]);
    await waitFor(() => cluster.calls === 3, 'reads go on after the answer');
    assert.equal(cluster.maxInFlight, 1);
    assert.deepEqual(controller.instances.map((each) => each.instanceId), ['a']);
    assert.ok(host.updates >= 2, 'each answer asks the host to update');
  });

  it('leaves no timer once the host is disconnected, and reads again at once when it is back', async () => {
    const host = new FakeHost();
    const controller = new ClusterController(host);
    const cluster = steadyCluster(() => [instance('a')]);
    controller.watch(cluster, 20);
    host.connect();
    await waitFor(() => cluster.calls >= 3, 'a few polls');
    host.disconnect();
    const timeouts = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    await sleep(10); // the read on its way (if any) answers and must not arm a timer
    const calls = cluster.calls;
    await sleep(100);
    assert.equal(cluster.calls, calls, 'no read after disconnect');
    const before = timeouts();
    host.connect();
    assert.equal(cluster.calls, calls + 1, 'reconnecting reads at once');
    await waitFor(() => cluster.calls >= calls + 2, 'and polls again');
    host.disconnect();
    await sleep(40);
    assert.ok(timeouts() <= before, `no timer of the controller is left (${timeouts()} timeouts, ${before} before)`);
  });

  it('with refreshInterval 0 reads once; setting another cluster drops what was read and reads it at once', async (t) => {
    const host = new FakeHost();
    const controller = new ClusterController(host);
    const first = steadyCluster(() => [instance('a')]);
    const second = new ScriptedCluster();
    controller.watch(first, 0);
    host.connect();
    t.after(() => host.disconnect());
    await waitFor(() => controller.instances.length === 1, 'the first read');
    await sleep(60);
    assert.equal(first.calls, 1, 'no polling with refreshInterval 0');
    controller.watch(second, 0);
    assert.equal(controller.instances.length, 0, 'the other cluster\'s instances are gone');
    assert.equal(controller.readAt, undefined);
    assert.equal(second.calls, 1);
    second.answer([instance('b')]);
    await waitFor(() => controller.instances.length === 1, 'the second cluster read');
    assert.equal(controller.instances[0]!.instanceId, 'b');
  });

  it('drops an answer of a cluster that was replaced while it was on its way, and reads the new one right after it', async (t) => {
    const host = new FakeHost();
    const controller = new ClusterController(host);
    const old = new ScriptedCluster();
    const replacement = steadyCluster(() => [instance('new')]);
    controller.watch(old, 20);
    host.connect();
    t.after(() => host.disconnect());
    controller.watch(replacement, 20);
    assert.equal(replacement.calls, 0, 'not while the old read is on its way');
    old.answer([instance('old')]);
    await waitFor(() => controller.instances.length === 1, 'the new cluster read after the old answer');
    assert.equal(controller.instances[0]!.instanceId, 'new');
    assert.equal(old.calls, 1);
  });
});

describe('ClusterController: what it shows', () => {
  it('keeps the last instances when a read fails and says why in words; the next answer clears the error', async (t) => {
    const host = new FakeHost();
    const controller = new ClusterController(host);
    const cluster = new ScriptedCluster();
    controller.watch(cluster, 20);
    host.connect();
    t.after(() => host.disconnect());
    cluster.answer([instance('a', { tasks: ['x'] })]);
    await waitFor(() => cluster.waiting === 1, 'the second read');
    const readAt = controller.readAt;
    cluster.fail(new Error('connection lost'));
    await waitFor(() => controller.error !== undefined, 'the error');
    assert.equal(controller.error, 'Could not read the cluster: connection lost');
    assert.deepEqual(controller.instances.map((each) => each.instanceId), ['a'], 'the last instances stay');
    assert.equal(controller.readAt, readAt);
    assert.equal(controller.orphans.has('y'), true, 'and so does what they say about tasks');
    await waitFor(() => cluster.waiting === 1, 'the next read after a failure');
    cluster.fail('a string');
    await waitFor(() => controller.error === 'Could not read the cluster: a string', 'a thrown string');
    await waitFor(() => cluster.waiting === 1, 'the next read');
    cluster.answer({ not: 'a list' } as never);
    await waitFor(() => /did not answer a list/.test(controller.error ?? ''), 'an answer that is no list');
    await waitFor(() => cluster.waiting === 1, 'the next read');
    cluster.answer([instance('b')]);
    await waitFor(() => controller.error === undefined, 'the error cleared');
    assert.equal(controller.instances[0]!.instanceId, 'b');
  });

  it('a task is orphaned when no live instance has it; unknown (no badge) while an instance does not report its tasks, or none is listed', async (t) => {
    let list: unknown[] = [instance('a', { tasks: ['x', 'y'] }), instance('b', { tasks: ['y', 'z'] })];
    const host = new FakeHost();
    const controller = new ClusterController(host);
    const cluster = steadyCluster(() => list);
    controller.watch(cluster, 20);
    host.connect();
    t.after(() => host.disconnect());
    await waitFor(() => controller.liveTasks !== undefined, 'the first read');
    assert.deepEqual([...controller.liveTasks!].sort(), ['x', 'y', 'z']);
    assert.deepEqual(['x', 'y', 'z', 'w'].map((name) => controller.orphans.has(name)), [false, false, false, true]);

    const { tasks: _dropped, ...older } = instance('c');
    list = [instance('a', { tasks: ['x'] }), older];
    await waitFor(() => controller.instances.length === 2 && controller.instances[1]!.instanceId === 'c', 'an older instance listed');
    assert.equal(controller.liveTasks, undefined);
    assert.equal(controller.orphans.has('w'), false, 'no badge while an instance does not say');

    list = [];
    await waitFor(() => controller.instances.length === 0, 'nothing listed');
    assert.equal(controller.orphans.has('w'), false, 'no badge when no instance is listed');
  });

  it('takes what a hostile cluster answers as plain data: names become strings, a tasks that is no list is unknown', async (t) => {
    const host = new FakeHost();
    const controller = new ClusterController(host);
    controller.watch(steadyCluster(() => [
      { instanceId: '<img src=x onerror=alert(1)>', host: 7, pid: '12', startedAt: 0, lastHeartbeat: Date.now(), runningTasks: [1, '<b>'], tasks: 'all', self: 'yes' },
      null,
    ]), 0);
    host.connect();
    t.after(() => host.disconnect());
    await waitFor(() => controller.instances.length === 2, 'the read');
    const [hostile, empty] = controller.instances;
    assert.deepEqual(hostile, { instanceId: '<img src=x onerror=alert(1)>', host: '7', pid: 12, startedAt: 0, lastHeartbeat: hostile!.lastHeartbeat, runningTasks: ['1', '<b>'] });
    assert.equal(empty!.instanceId, 'undefined');
    assert.equal(controller.liveTasks, undefined);
  });

  it(`marks a heartbeat late when it was over ${LATE_HEARTBEAT_MS} ms old at the read, or over two of the instance's own periods when it beats more slowly`, async (t) => {
    const start = Date.now();
    let slowBeat = start - 45_000;
    const host = new FakeHost();
    const controller = new ClusterController(host);
    const cluster = steadyCluster(() => [
      instance('fresh', { lastHeartbeat: Date.now() - 100 }),
      instance('stale', { lastHeartbeat: Date.now() - 60_000 }),
      instance('slow', { lastHeartbeat: slowBeat }),
    ]);
    controller.watch(cluster, 20);
    host.connect();
    t.after(() => host.disconnect());
    await waitFor(() => controller.instances.length === 3, 'the read');
    const late = () => Object.fromEntries(controller.instances.map((each) => [each.instanceId, controller.isLate(each)]));
    assert.deepEqual(late(), { fresh: false, stale: true, slow: true });
    // The slow instance beats every 30 s (a long leaseMs): once two of its beats were read, 15 s old is on time.
    slowBeat = start - 15_000;
    await waitFor(() => controller.instances[2]!.lastHeartbeat === slowBeat, 'its next beat read');
    assert.deepEqual(late(), { fresh: false, stale: true, slow: false });
  });
});

describe('formatInstant (an instance\'s "up since")', () => {
  it('says the time with its zone, and the day before it when that is not today', () => {
    const now = Date.UTC(2026, 0, 10, 11, 30); // not near midnight in any zone
    assert.equal(formatInstant(now - 60_000, now), formatClock(now - 60_000));
    assert.match(formatInstant(now - 60_000, now), /^\d\d:\d\d:\d\d \S+$/);
    const earlier = now - 3 * 24 * 3600_000;
    // Three days earlier, in whatever zone the machine is in (UTC-12 to UTC+14): the 6th, 7th or 8th.
    assert.match(formatInstant(earlier, now), /^2026-01-0[678] \d\d:\d\d:\d\d \S+$/);
    assert.ok(formatInstant(earlier, now).endsWith(` ${formatClock(earlier)}`));
  });
});

describe('ClusterController over a RedisCoordinator', () => {
  const redis = useRedisServer('cluster-controller.test.ts');

  it('lists the live instances with their tasks, marks what none has, and drops an instance that stopped', async (t) => {
    const prefix = `tbcc${process.pid}`;
    const managers = ['one', 'two'].map((instanceId) => {
      const coordinator = new RedisCoordinator({ redis: redis.url, instanceId, keyPrefix: prefix, leaseMs: 600 });
      const manager = new TaskManager({ distributedCoordinator: coordinator });
      t.after(() => within(manager.stop(), `stop of ${instanceId}`, 10_000));
      return { manager, coordinator };
    });
    const gate = deferred();
    t.after(() => gate.resolve());
    managers[0]!.manager.addTask(new Task({ name: 'shared', taskFunction: async () => 1 }));
    managers[1]!.manager.addTask(new Task({ name: 'shared', taskFunction: async () => 2 }));
    managers[1]!.manager.addTask(new Task({ name: 'only-two', taskFunction: () => gate.promise }));
    await Promise.all(managers.map(({ manager }) => manager.start()));
    const host = new FakeHost();
    const controller = new ClusterController(host);
    controller.watch(managers[0]!.coordinator, 50);
    host.connect();
    t.after(() => host.disconnect());

    const run = managers[1]!.manager.triggerTaskByName('only-two');
    await waitFor(() => controller.instances.find((each) => each.instanceId === 'two')?.runningTasks.includes('only-two') === true,
      'two running only-two', 5000);
    assert.deepEqual(controller.instances.map((each) => [each.instanceId, each.pid, [...each.tasks!].sort()]),
      [['one', process.pid, ['shared']], ['two', process.pid, ['only-two', 'shared']]]);
    assert.deepEqual(['shared', 'only-two', 'nowhere'].map((name) => controller.orphans.has(name)), [false, false, true]);
    assert.equal(controller.instances.some((each) => controller.isLate(each)), false);

    gate.resolve();
    await run;
    await managers[1]!.manager.stop();
    await waitFor(() => controller.instances.length === 1, 'two gone after stop()', 5000);
    assert.equal(controller.orphans.has('only-two'), true, 'only-two has no live instance any more');
  });
});
