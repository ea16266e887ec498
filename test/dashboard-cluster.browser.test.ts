/**
 * `<taskbuffer-dashboard>`'s cluster view in Chromium, against a real cluster: a real
 * redis-server, two TaskManagers with RedisCoordinators in this process (the second with a
 * task the first lacks), a real gateway on the first, and a page whose
 * `dashboard.cluster` is a `TaskGatewayClient`. Both instances are listed with host:pid,
 * since when they are up and their heartbeat's age; one that stops disappears; a task no
 * live instance has gets a badge, others not; names like markup show as text; a failed read
 * says why and keeps the instances.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { RedisCoordinator } from '../ts/coordinator/redis.js';
import { Task, TaskManager } from '../ts/index.js';
import { textsIn, waitInPage } from './dashboard-browser-helpers.js';
import { ADMIN, gatewayFor } from './gateway-helpers.js';
import { within } from './manager-helpers.js';
import { failIfProcessLingers, startRedis, type IRedisServer } from './redis-helpers.js';
import { deferred } from './rule-helpers.js';
import { remotePage, startRemotePageFixture, type IRemotePageFixture } from './remote-page-helpers.js';

let redis: IRedisServer;
let fixture: IRemotePageFixture;

before(async () => {
  [redis, fixture] = await Promise.all([startRedis(), startRemotePageFixture()]);
});

after(async () => {
  await fixture?.close();
  await redis?.stop();
  failIfProcessLingers('dashboard-cluster.browser.test.ts');
});

let prefixCount = 0;

interface ICluster {
  first: TaskManager;
  second: TaskManager;
  /** The gateway on `first`. */
  url: string;
  /** Resolves the runs of `slow` (on the second instance). */
  release(): void;
}

/**
 * Two instances on one keyPrefix, started, with a gateway (host 127.0.0.1) on the first:
 * the first has `shared`, the second `shared` and `slow` (runs until `release`); heartbeats
 * every 200 ms. Everything is stopped when the test ends.
 */
async function startCluster(t: TestContext, ids: [string, string] = ['first', 'second'], slowName = 'slow'): Promise<ICluster> {
  const prefix = `tbdc${process.pid}x${++prefixCount}`;
  const [first, second] = ids.map((instanceId) => {
    const manager = new TaskManager({ distributedCoordinator: new RedisCoordinator({ redis: redis.url, instanceId, keyPrefix: prefix, leaseMs: 600 }) });
    t.after(() => within(manager.stop(), `stop of ${instanceId}`, 10_000));
    return manager;
  }) as [TaskManager, TaskManager];
  const gate = deferred();
  t.after(() => gate.resolve());
  first.addTask(new Task({ name: 'shared', taskFunction: async () => 1 }));
  second.addTask(new Task({ name: 'shared', taskFunction: async () => 2 }));
  second.addTask(new Task({ name: slowName, taskFunction: () => gate.promise }));
  await second.start();
  const { url } = await gatewayFor(t, { manager: first });
  return { first, second, url, release: () => gate.resolve() };
}

/**
 * A page whose dashboard lists the cluster through a TaskGatewayClient (`window.t.client`),
 * polling every 200 ms, and shows the gateway's manager over the same client (`'remote'`)
 * or an in-page manager (`window.t.manager`) with the tasks named.
 */
async function clusterPage(t: TestContext, url: string, tasks: string[] | 'remote'): Promise<Page> {
  const page = await remotePage(t, fixture);
  await page.evaluate(async ({ url, credentials, tasks }) => {
    const { Task, TaskManager } = window.taskbuffer;
    const client = new window.taskbufferClient.TaskGatewayClient({ url, ...credentials });
    await client.connect();
    const dashboard = document.createElement('taskbuffer-dashboard');
    dashboard.refreshInterval = 200;
    dashboard.cluster = client;
    let manager;
    if (tasks === 'remote') {
      dashboard.client = client;
    } else {
      manager = new TaskManager();
      for (const name of tasks) manager.addTask(new Task({ name, taskFunction: async () => name }));
      dashboard.taskManager = manager;
    }
    document.body.append(dashboard);
    window.t = { client, manager, dashboard };
  }, { url, credentials: ADMIN, tasks });
  t.after(() => page.evaluate(() => window.t.client?.close()).catch(() => undefined));
  return page;
}

/** Waits until the dashboard lists `count` instances. */
function instancesListed(page: Page, count: number, what: string): Promise<void> {
  return waitInPage(page, what, (n) => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('.instance').length === n, count);
}

describe('the cluster view', () => {
  test('lists both instances with host:pid, up since (with its zone), the heartbeat\'s age, what runs and how many tasks; the gateway\'s own marked', async (t) => {
    const cluster = await startCluster(t);
    const run = cluster.second.triggerTaskByName('slow');
    const page = await clusterPage(t, cluster.url, 'remote');
    await waitInPage(page, 'both instances, the second running slow', () => {
      const shadow = document.querySelector('taskbuffer-dashboard')!.shadowRoot!;
      return shadow.querySelectorAll('.instance').length === 2
        && shadow.querySelector('.instance[data-instance="second"] .instance-running')?.textContent === 'running slow';
    });
    const section = await page.evaluate(() => {
      const element = document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector<HTMLElement>('section.cluster')!;
      return { part: element.getAttribute('part'), label: element.getAttribute('aria-label'), listLabel: element.querySelector('ul')!.getAttribute('aria-label') };
    });
    assert.deepEqual(section, { part: 'cluster', label: 'Cluster', listLabel: 'Live instances' });
    assert.deepEqual(await textsIn(page, '.cluster-count'), ['2 live instances']);
    assert.deepEqual(await textsIn(page, '.instance-id'), ['first', 'second']);
    assert.deepEqual(await textsIn(page, '.instance-host'), [`${hostname()}:${process.pid}`, `${hostname()}:${process.pid}`]);
    for (const since of await textsIn(page, '.instance-since')) assert.match(since, /^up since \d\d:\d\d:\d\d (UTC|GMT[+-]?\d*)$/);
    for (const heartbeat of await textsIn(page, '.instance-heartbeat')) assert.match(heartbeat, /^heartbeat \d s ago$/);
    assert.deepEqual(await textsIn(page, '.instance-running'), ['runs nothing now', 'running slow']);
    assert.deepEqual(await textsIn(page, '.instance-tasks'), ['1 task', '2 tasks']);
    assert.deepEqual(await textsIn(page, '.instance[data-self] .instance-id'), ['first'], 'the gateway\'s own instance is marked');
    assert.deepEqual(await textsIn(page, '.instance [data-badge="self"]'), ['gateway']);
    assert.deepEqual(await textsIn(page, '.instance[data-late]'), [], 'no heartbeat is late');
    // The gateway's manager is shown over the same client: its one task, which live instances have.
    await waitInPage(page, 'the gateway manager\'s card', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.task[data-task="shared"]') !== null);
    assert.deepEqual(await textsIn(page, '[data-badge="orphan"]'), []);

    // Keyboard: the list of instances takes the focus (it scrolls when the instances do not fit).
    const focused = await page.evaluate(() => {
      const shadow = document.querySelector('taskbuffer-dashboard')!.shadowRoot!;
      shadow.querySelector<HTMLElement>('.instances')!.focus();
      return shadow.activeElement?.className;
    });
    assert.equal(focused, 'instances');

    // The heartbeat's age moves on, and the running task leaves the line once it ended.
    cluster.release();
    await run;
    await waitInPage(page, 'the second instance to run nothing', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.instance[data-instance="second"] .instance-running')?.textContent === 'runs nothing now');
  });

  test('an instance that stops disappears (its record is dropped on stop), and nothing below the section moves', async (t) => {
    const cluster = await startCluster(t);
    const page = await clusterPage(t, cluster.url, ['shared']);
    await page.setViewportSize({ width: 560, height: 900 }); // one instance per row: two rows, then one
    await instancesListed(page, 2, 'both instances');
    const sectionHeight = () => page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.cluster')!.getBoundingClientRect().height);
    const before = await sectionHeight();
    await cluster.second.stop();
    await instancesListed(page, 1, 'the stopped instance to disappear');
    assert.deepEqual(await textsIn(page, '.instance-id'), ['first']);
    assert.deepEqual(await textsIn(page, '.cluster-count'), ['1 live instance']);
    assert.equal(await sectionHeight(), before);
  });

  test('a task no live instance has gets the "no live instance" badge, others not; a task whose only instance stops gets it then', async (t) => {
    const cluster = await startCluster(t);
    // The page's own manager: `shared` (both instances), `slow` (only the second) and `nowhere` (none).
    const page = await clusterPage(t, cluster.url, ['shared', 'slow', 'nowhere']);
    const badged = () => page.evaluate(() => [...document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll<HTMLElement>('.task')]
      .filter((card) => card.querySelector('[data-badge="orphan"]') !== null).map((card) => card.dataset.task).sort());
    await waitInPage(page, 'the badge on nowhere', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.task[data-task="nowhere"] [data-badge="orphan"]') !== null);
    assert.deepEqual(await badged(), ['nowhere']);
    assert.deepEqual(await textsIn(page, '.task[data-task="nowhere"] [data-badge="orphan"]'), ['no live instance']);

    await cluster.second.stop();
    await waitInPage(page, 'the badge on slow too, once the one instance that has it stopped', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.task[data-task="slow"] [data-badge="orphan"]') !== null);
    assert.deepEqual(await badged(), ['nowhere', 'slow']);
  });

  test('instance and task names like markup show as text and run nothing', async (t) => {
    const evilInstance = '<img src=x onerror="window.__xss=1">';
    const evilTask = '<script>window.__xss=2</script><b onmouseover="window.__xss=3">b</b>';
    const cluster = await startCluster(t, ['first', evilInstance], evilTask);
    const run = cluster.second.triggerTaskByName(evilTask);
    const page = await clusterPage(t, cluster.url, ['shared']);
    await waitInPage(page, 'the markup-named instance running the markup-named task', (name) =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.instance:not([data-instance="first"]) .instance-running')?.textContent === `running ${name}`, evilTask);
    assert.deepEqual((await textsIn(page, '.instance-id')).sort(), ['first', evilInstance].sort());
    const injected = await page.evaluate(() => ({
      // (The dashboard's own facts use <b>: markup of the names would come with its attributes.)
      inShadow: document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('img, script, [onerror], [onmouseover]').length,
      inPage: document.querySelectorAll('img, b, [onerror], [onmouseover]').length,
      xss: window.__xss,
    }));
    assert.deepEqual(injected, { inShadow: 0, inPage: 0, xss: undefined });
    cluster.release();
    await run;
  });

  test('a read that fails says why in words and keeps the instances last read', async (t) => {
    const cluster = await startCluster(t);
    const page = await clusterPage(t, cluster.url, ['shared']);
    await instancesListed(page, 2, 'both instances');
    await page.evaluate(() => window.t.client.close());
    await waitInPage(page, 'the error', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.cluster-error') !== null);
    const [error] = await textsIn(page, '.cluster-error');
    // Closed between two reads, or during one (its request is then rejected by the close).
    assert.match(error!, /^Could not read the cluster: (not connected to the gateway \(the client is closed\)|the client was closed)$/);
    assert.equal(await page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.cluster-error')!.getAttribute('role')), 'status');
    assert.match((await textsIn(page, '.cluster-stale'))[0]!, /^showing what was read \d+ s ago$/);
    assert.equal((await textsIn(page, '.instance')).length, 2, 'the instances last read stay');
  });
});
