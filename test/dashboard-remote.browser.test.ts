/**
 * `<taskbuffer-dashboard>` showing a manager on another machine through a real gateway on
 * localhost, in Chromium with its own WebSocket: `url` and `token` (or a `client` of the
 * page's own), the connection light, live events, a gateway restart, and actions offered
 * and refused by the client's scopes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { TaskGatewayClient } from '../ts/client/index.js';
import { TaskGateway } from '../ts/gateway/index.js';
import { Task, TaskManager } from '../ts/index.js';
import { clickIn, textsIn, waitInPage } from './dashboard-browser-helpers.js';
import { clientFor, gatewayFor } from './gateway-helpers.js';
import { freePort } from './redis-helpers.js';
import { remotePage, startRemotePageFixture, type IRemotePageFixture } from './remote-page-helpers.js';

let fixture: IRemotePageFixture;

before(async () => {
  fixture = await startRemotePageFixture();
});

after(async () => {
  await fixture?.close();
});

const VIEWER = { key: 'viewer-key-1234', scopes: ['read'] };
const REPORTER = { key: 'reporter-key-1234', scopes: ['read', 'trigger:report', 'control:report'] };

/** A manager with `report` (waits for `release()`, or its abort) and `cleanup`. */
function remoteManager(): { manager: TaskManager; release: () => void } {
  const manager = new TaskManager();
  let release = () => {};
  manager.addTask(new Task({
    name: 'report',
    taskFunction: (_input: unknown, _setup, context) => new Promise<string>((resolve, reject) => {
      release = () => resolve('done');
      context.signal.addEventListener('abort', () => reject(new Error('stopped')));
    }),
  }));
  manager.addTask(new Task({ name: 'cleanup', taskFunction: async () => 'clean' }));
  return { manager, release: () => release() };
}

/** A page whose dashboard shows the gateway at `url` with `token`; resolves once both cards show. */
async function dashboardFor(t: TestContext, url: string, token: string, refreshInterval = 200): Promise<Page> {
  const page = await remotePage(t, fixture);
  await page.evaluate(([gatewayUrl, auth, refresh]) => {
    const dashboard = document.createElement('taskbuffer-dashboard');
    dashboard.refreshInterval = Number(refresh);
    dashboard.setAttribute('url', gatewayUrl!);
    dashboard.setAttribute('token', auth!);
    document.body.append(dashboard);
  }, [url, token, String(refreshInterval)]);
  return page;
}

async function waitForStatus(page: Page, name: string, status: string): Promise<void> {
  await waitInPage(page, `${name} to show ${status}`, ([task, wanted]) => document.querySelector('taskbuffer-dashboard')!.shadowRoot!
    .querySelector<HTMLElement>(`.task[data-task="${task}"]`)?.dataset.status === wanted, [name, status]);
}

async function waitForConnection(page: Page, state: string): Promise<void> {
  await waitInPage(page, `the connection light to say ${state}`, (wanted) =>
    document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector<HTMLElement>('.connection')?.dataset.state === wanted, state);
}

describe('the dashboard of a remote manager', () => {
  test('shows the remote tasks, their runs live and the connection, from a url and a token', async (t) => {
    const { manager, release } = remoteManager();
    const { url } = await gatewayFor(t, { manager, credentials: { viewer: VIEWER } });
    const page = await dashboardFor(t, url, 'viewer:viewer-key-1234');
    await waitForConnection(page, 'open');
    await waitInPage(page, 'both cards', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('.task').length === 2);
    assert.deepEqual((await textsIn(page, '.task-name')).sort(), ['cleanup', 'report']);
    assert.match((await textsIn(page, '.connection'))[0]!, new RegExp(`connected ${url.replace(/[/.]/g, '\\$&')}`));

    const run = manager.triggerTaskByName('report');
    await waitForStatus(page, 'report', 'running');
    release();
    await run;
    await waitForStatus(page, 'report', 'completed');
    assert.deepEqual(await textsIn(page, '.act'), [], 'a read-only client is offered no action');
    await waitInPage(page, "the gateway's own instance in the cluster section", () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('.cluster .instance').length === 1);
    assert.equal(await page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.queue')), null, 'a gateway without a queue shows none');
  });

  test('uses a client the page made, and leaves it open when the dashboard goes', async (t) => {
    const { manager } = remoteManager();
    const { url } = await gatewayFor(t, { manager, credentials: { viewer: VIEWER } });
    const page = await remotePage(t, fixture);
    await page.evaluate(async (gatewayUrl) => {
      const client = new window.taskbufferClient.TaskGatewayClient({ url: gatewayUrl, name: 'viewer', key: 'viewer-key-1234' });
      await client.connect();
      const dashboard = document.createElement('taskbuffer-dashboard');
      dashboard.client = client;
      document.body.append(dashboard);
      window.t.client = client;
    }, url);
    await waitInPage(page, 'both cards', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('.task').length === 2);
    await page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.remove());
    assert.equal(await page.evaluate(() => window.t.client.state), 'open');
  });

  test('says it is reconnecting while the gateway is down, and shows live runs again once it is back', async (t) => {
    const { manager } = remoteManager();
    await manager.start();
    t.after(() => manager.stop());
    const credentials = { viewer: VIEWER };
    let gateway = new TaskGateway({ manager, host: '127.0.0.1', credentials });
    await gateway.start();
    const { port, url } = gateway.address();
    t.after(() => gateway.stop());
    // No polls: only a subscription restored after the restart can show the run below.
    const page = await dashboardFor(t, url, 'viewer:viewer-key-1234', 0);
    await waitForConnection(page, 'open');

    await gateway.stop();
    await waitForConnection(page, 'reconnecting');
    gateway = new TaskGateway({ manager, host: '127.0.0.1', port, credentials });
    await gateway.start();
    await waitForConnection(page, 'open');
    await manager.triggerTaskByName('cleanup');
    await waitForStatus(page, 'cleanup', 'completed');
  });

  test('opened while its gateway is down, keeps trying and shows the manager once the gateway is up', async (t) => {
    const { manager } = remoteManager();
    await manager.start();
    t.after(() => manager.stop());
    const port = await freePort();
    const page = await dashboardFor(t, `ws://127.0.0.1:${port}/taskbuffer`, 'viewer:viewer-key-1234');
    await waitForConnection(page, 'reconnecting');
    assert.equal((await textsIn(page, '.connection-problem')).length, 1, 'it says why it is not connected');
    const gateway = new TaskGateway({ manager, host: '127.0.0.1', port, credentials: { viewer: VIEWER } });
    await gateway.start();
    t.after(() => gateway.stop());
    await waitForConnection(page, 'open');
    await waitInPage(page, 'both cards', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('.task').length === 2);
    assert.deepEqual(await textsIn(page, '.connection-problem'), [], 'the problem is gone once connected');
  });

  test('offers the actions the scopes allow and runs them at the gateway, and none outside them', async (t) => {
    const { manager } = remoteManager();
    const { url } = await gatewayFor(t, { manager, credentials: { reporter: REPORTER } });
    const page = await dashboardFor(t, url, 'reporter:reporter-key-1234');
    await waitInPage(page, 'a Run button on report', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.task[data-task="report"] .act[data-action="trigger"]') !== null);
    const cleanupActions = await textsIn(page, '.task[data-task="cleanup"] .act');
    assert.deepEqual(cleanupActions, [], 'cleanup is outside trigger:report and control:report');

    await clickIn(page, '.task[data-task="report"] .act[data-action="trigger"]');
    await clickIn(page, '.dialog .confirm');
    await waitForStatus(page, 'report', 'running');
    assert.equal(manager.getActiveRuns().length, 1, 'the run is at the gateway');

    await clickIn(page, '.task[data-task="report"] .act[data-action="abort"]');
    await clickIn(page, '.dialog .confirm');
    await waitForStatus(page, 'report', 'failed');
    assert.equal(manager.getActiveRuns().length, 0);
  });

  test('says what is wrong with a wrong key, a missing read scope or a malformed token', async (t) => {
    const { manager } = remoteManager();
    const { url } = await gatewayFor(t, { manager, credentials: { writer: { key: 'writer-key-1234', scopes: ['trigger:*'] } } });
    const problem = async (token: string) => {
      const page = await dashboardFor(t, url, token);
      await waitInPage(page, 'a problem shown', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.connection-problem') !== null);
      return (await textsIn(page, '.connection-problem'))[0]!;
    };
    assert.match(await problem('writer:wrong-key-5678'), /wrong key/);
    assert.match(await problem('writer:writer-key-1234'), /lacks the scope "read"/);
    assert.match(await problem('no-colon-here'), /token must be "<client name>:<key>"/);
  });

  test('with a taskManager of the page set, url and token open no connection', async (t) => {
    const { manager } = remoteManager();
    const once = { ...VIEWER, key: 'once-key-1234', maxConnections: 1 };
    const { url } = await gatewayFor(t, { manager, credentials: { once } });
    const page = await remotePage(t, fixture);
    await page.evaluate((gatewayUrl) => {
      const local = new window.taskbuffer.TaskManager();
      local.addTask(new window.taskbuffer.Task({ name: 'local-only', taskFunction: async () => {} }));
      const dashboard = document.createElement('taskbuffer-dashboard');
      dashboard.taskManager = local;
      dashboard.setAttribute('url', gatewayUrl);
      dashboard.setAttribute('token', 'once:once-key-1234');
      document.body.append(dashboard);
    }, url);
    await waitInPage(page, 'the local card', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.task[data-task="local-only"]') !== null);
    assert.equal(await page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.connection')), null, 'no connection light');
    // The one connection these credentials allow is free: the dashboard holds none.
    const client = await clientFor(t, url, { name: 'once', key: once.key }, { reconnect: false });
    assert.equal(client.state, 'open');
    assert.deepEqual(await textsIn(page, '.task-name'), ['local-only']);
  });

  test('closes the connection it made when the dashboard is removed', async (t) => {
    const { manager } = remoteManager();
    const once = { ...VIEWER, key: 'once-key-1234', maxConnections: 1 };
    const { url } = await gatewayFor(t, { manager, credentials: { once } });
    const page = await dashboardFor(t, url, 'once:once-key-1234');
    await waitForConnection(page, 'open');
    await page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.remove());
    // Only one connection is allowed: another client gets in only once the dashboard's is closed.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const client = new TaskGatewayClient({ url, name: 'once', key: once.key, reconnect: false });
      const connected = await client.connect().then(() => true, () => false);
      client.close();
      if (connected) break;
      assert.ok(Date.now() < deadline, 'the dashboard kept its connection after it was removed');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
});
