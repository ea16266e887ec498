/**
 * RemoteManagerMirror, the dashboard's copy of a manager behind a gateway, in Node against
 * a real gateway and client on localhost: what it fetches, when, and that it stops.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Task, TaskConstraintGroup, TaskManager } from '../ts/index.js';
import { RemoteManagerMirror } from '../ts_web/remote-mirror.js';
import { clientFor, gatewayFor } from './gateway-helpers.js';

async function until(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A manager with a cron task in a time zone, and `hold` in a group of one slot (released by `release()`). */
function heldManager(): { manager: TaskManager; release: () => void } {
  const manager = new TaskManager();
  const releases: Array<() => void> = [];
  manager.addTask(new Task({ name: 'hold', taskFunction: () => new Promise<void>((resolve) => releases.push(resolve)) }));
  manager.addAndScheduleTask(new Task({ name: 'report', taskFunction: async () => {} }), '0 6 * * *', { timezone: 'Europe/Berlin' });
  manager.addConstraintGroup(new TaskConstraintGroup({ name: 'one', maxConcurrent: 1, constraintKeyForExecution: (task) => (task.name === 'hold' ? 'k' : null) }));
  return { manager, release: () => releases.splice(0).forEach((resolve) => resolve()) };
}

describe('RemoteManagerMirror', () => {
  test('reads the remote tasks and their schedules once connected, and tells when it has', async (t) => {
    const { manager } = heldManager();
    const { url } = await gatewayFor(t, { manager });
    const client = await clientFor(t, url);
    const mirror = new RemoteManagerMirror(client);
    let fetched = 0;
    mirror.mirror.fetched.subscribe({ next: () => fetched++ });
    mirror.start();
    t.after(() => mirror.stop());
    await until('the first fetch', () => fetched === 1);
    assert.deepEqual(mirror.getAllTasksMetadata().map((task) => task.name).sort(), ['hold', 'report']);
    const [schedule] = mirror.getScheduledTasks();
    assert.equal(schedule?.name, 'report');
    assert.equal(schedule?.timezone, 'Europe/Berlin');
    assert.equal(schedule?.nextRun.getTime(), manager.getScheduledTasks()[0]!.nextRun.getTime());
    assert.equal(mirror.getTaskMetadata('missing'), null);
  });

  test('never fetches twice at once: fetches asked for meanwhile become one more, right after', async (t) => {
    const { manager } = heldManager();
    const { url } = await gatewayFor(t, { manager });
    const client = await clientFor(t, url);
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    const listTasks = client.listTasks.bind(client);
    client.listTasks = async () => {
      calls++;
      most = Math.max(most, ++inFlight);
      try {
        return await listTasks();
      } finally {
        inFlight--;
      }
    };
    const mirror = new RemoteManagerMirror(client);
    let fetched = 0;
    mirror.mirror.fetched.subscribe({ next: () => fetched++ });
    mirror.start(); // the client is open: this fetches
    for (let i = 0; i < 5; i++) mirror.mirror.fetch();
    t.after(() => mirror.stop());
    await until('two fetches', () => fetched === 2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(most, 1);
    assert.equal(calls, 2);
  });

  test('fetches the groups and waiting runs again after a run event, without waiting for a poll, and not the task list', async (t) => {
    const { manager, release } = heldManager();
    const { url } = await gatewayFor(t, { manager });
    t.after(release);
    const client = await clientFor(t, url);
    let listed = 0;
    const listTasks = client.listTasks.bind(client);
    client.listTasks = () => {
      listed++;
      return listTasks();
    };
    const mirror = new RemoteManagerMirror(client);
    const kinds: string[] = [];
    mirror.mirror.fetched.subscribe({ next: (kind) => kinds.push(kind) });
    mirror.start();
    t.after(() => mirror.stop());
    await mirror.subscriptionReady;
    await until('the first fetch', () => kinds.length === 1);
    void manager.triggerTaskByName('hold');
    void manager.triggerTaskByName('hold');
    await until('the holder and the waiting run', () =>
      mirror.getConstraintGroupStates()[0]?.keys[0]?.holders?.length === 1 && mirror.getWaitingRuns().length === 1);
    assert.equal(mirror.getWaitingRuns()[0]!.taskName, 'hold');
    // A run event changes the groups, not the list of tasks (which may be large): that is left to the polls.
    assert.equal(listed, 1);
    assert.deepEqual([...new Set(kinds.slice(1))], ['waits']);
  });

  test('shows a refusal in words: a client without read cannot mirror', async (t) => {
    const { manager } = heldManager();
    const { url } = await gatewayFor(t, { manager, credentials: { writer: { key: 'writer-key-1234', scopes: ['trigger:*'] } } });
    const client = await clientFor(t, url, { name: 'writer', key: 'writer-key-1234' });
    let changes = 0;
    const mirror = new RemoteManagerMirror(client, () => changes++);
    mirror.start();
    t.after(() => mirror.stop());
    await until('the refusal', () => mirror.lastError !== undefined);
    assert.match(String((mirror.lastError as Error).message), /lacks the scope "read"/);
    assert.ok(changes > 0, 'the dashboard was told to show it');
  });

  test('after stop(), events fetch nothing and no timer is left', async (t) => {
    const { manager } = heldManager();
    const { url } = await gatewayFor(t, { manager });
    const client = await clientFor(t, url);
    let calls = 0;
    const listTasks = client.listTasks.bind(client);
    client.listTasks = () => {
      calls++;
      return listTasks();
    };
    const mirror = new RemoteManagerMirror(client);
    mirror.start();
    await until('the first fetch', () => calls === 1);
    await mirror.subscriptionReady;
    mirror.stop();
    await manager.triggerTaskByName('report');
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(calls, 1);
  });
});
