/**
 * The dashboard page a TaskGateway serves with `dashboard: true`, in Chromium: opened at
 * the gateway's own URL, it asks for a client name and key, says so when they are wrong,
 * and then shows the gateway's manager live; with the headers that keep it to itself.
 */
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../demo/chromium.js';
import { TaskGateway } from '../ts/gateway/index.js';
import { InvalidOptionError, Task, TaskManager } from '../ts/index.js';
import { waitInPage } from './dashboard-browser-helpers.js';
import { gatewayFor } from './gateway-helpers.js';
import { freePort } from './redis-helpers.js';

let browser: Browser;

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

function httpUrl(wsUrl: string): string {
  return wsUrl.replace(/^ws/, 'http');
}

function withTasks(): TaskManager {
  const manager = new TaskManager();
  manager.addTask(new Task({ name: 'nightly-report', taskFunction: async () => 'ok' }));
  manager.addTask(new Task({ name: '<img src=x onerror=alert(1)>', taskFunction: async () => 'ok' }));
  return manager;
}

async function openPage(url: string, errors: string[]): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/.test(message.text())) errors.push(message.text());
  });
  await page.goto(url);
  return page;
}

async function signIn(page: Page, name: string, key: string): Promise<void> {
  await page.locator('taskbuffer-gateway-login input[name="name"]').fill(name);
  await page.locator('taskbuffer-gateway-login input[name="key"]').fill(key);
  await page.locator('taskbuffer-gateway-login button[type="submit"]').click();
}

function dashboardCards(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const login = document.querySelector('taskbuffer-gateway-login')!.shadowRoot!;
    const dashboard = login.querySelector('taskbuffer-dashboard')?.shadowRoot;
    return [...(dashboard?.querySelectorAll('.task-name') ?? [])].map((element) => element.textContent!).sort();
  });
}

/** The status of a websocket upgrade to the gateway on `port` with these headers (101 when it was accepted). */
function upgradeStatus(port: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port: Number(port), path: '/taskbuffer', headers: {
      ...headers, Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    } });
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve(response.statusCode ?? 0);
    });
    request.on('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    request.end();
  });
}

describe('the dashboard page a gateway serves', () => {
  test('asks for a name and key, says when they are wrong, then shows the manager live, with allowedOrigins that list its own origin', async (t) => {
    const manager = withTasks();
    const port = await freePort();
    const { url } = await gatewayFor(t, {
      manager,
      port,
      dashboard: { title: 'Ops <tasks>' },
      allowedOrigins: ['https://elsewhere.example.com', `http://127.0.0.1:${port}`],
      credentials: { ops: { key: 'ops-key-1234', scopes: ['read'] } },
    });
    const errors: string[] = [];
    const page = await openPage(httpUrl(url), errors);
    t.after(() => page.close());
    assert.equal(await page.title(), 'Ops <tasks>');

    await signIn(page, 'ops', 'not-the-key');
    await waitInPage(page, 'the sign-in to fail', () =>
      document.querySelector('taskbuffer-gateway-login')!.shadowRoot!.querySelector('[role="alert"]') !== null);
    const alert = await page.evaluate(() => document.querySelector('taskbuffer-gateway-login')!.shadowRoot!.querySelector('[role="alert"]')!.textContent!);
    assert.match(alert, /wrong key/);

    await signIn(page, 'ops', 'ops-key-1234');
    await waitInPage(page, 'the dashboard with both tasks', () => {
      const dashboard = document.querySelector('taskbuffer-gateway-login')!.shadowRoot!.querySelector('taskbuffer-dashboard');
      return dashboard?.shadowRoot?.querySelectorAll('.task').length === 2;
    });
    assert.deepEqual(await dashboardCards(page), ['<img src=x onerror=alert(1)>', 'nightly-report']);

    await manager.triggerTaskByName('nightly-report');
    await waitInPage(page, 'the run to show', () => document.querySelector('taskbuffer-gateway-login')!.shadowRoot!
      .querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector<HTMLElement>('.task[data-task="nightly-report"]')?.dataset.status === 'completed');

    await page.locator('taskbuffer-gateway-login .bar button').click();
    await waitInPage(page, 'the sign-in form again', () =>
      document.querySelector('taskbuffer-gateway-login')!.shadowRoot!.querySelector('form') !== null);
    assert.equal(await page.locator('taskbuffer-gateway-login input[name="name"]').inputValue(), 'ops', 'the name is remembered');
    const stored = await page.evaluate(() => [...Object.values(localStorage), ...Object.values(sessionStorage), document.cookie].join(' '));
    assert.doesNotMatch(stored, /ops-key-1234/, 'the key is kept nowhere');
    assert.deepEqual(errors, []);
  });

  test('serves the page and its script with a strict content security policy, gzipped when asked, and nothing else', async (t) => {
    const { url } = await gatewayFor(t, { manager: withTasks(), dashboard: true });
    const base = httpUrl(url);
    const page = await fetch(base);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy')!, /default-src 'none'; script-src 'self'; connect-src 'self'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.match(await page.text(), /<taskbuffer-gateway-login path="\/taskbuffer" heading="taskbuffer">/);

    const script = await fetch(`${base}/app.js`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(script.headers.get('content-encoding'), 'gzip');
    assert.match(await script.text(), /taskbuffer-gateway-login/);
    assert.equal((await fetch(`${base}/app.js`, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${base}/other.js`)).status, 426, 'other paths still say: connect with a websocket');
  });

  test("refuses a websocket from an origin allowedOrigins does not list, even when it matches the Host header (a rebound domain's page)", async (t) => {
    const { url } = await gatewayFor(t, { manager: withTasks(), dashboard: true, allowedOrigins: ['https://ops.example.com'] });
    const { port } = new URL(url);
    const status = await upgradeStatus(port, { Host: `evil.example:${port}`, Origin: `http://evil.example:${port}` });
    assert.equal(status, 403);
    assert.equal(await upgradeStatus(port, { Host: `127.0.0.1:${port}`, Origin: 'https://ops.example.com' }), 101);
  });

  test('answers from a server of the user through handleRequest, leaving other requests to it', async (t) => {
    const manager = withTasks();
    await manager.start();
    let gateway: TaskGateway | undefined;
    const server = createServer((request, response) => {
      if (gateway?.handleRequest(request, response)) return;
      response.writeHead(200, { 'content-type': 'text/plain' }).end('the app');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    gateway = new TaskGateway({ manager, server, dashboard: true });
    await gateway.start();
    t.after(async () => {
      await gateway!.stop();
      await manager.stop();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    assert.match(await (await fetch(`${base}/taskbuffer`)).text(), /taskbuffer-gateway-login/);
    assert.equal(await (await fetch(`${base}/`)).text(), 'the app');
  });

  test('refuses a dashboard option that is not true, false or { title }', () => {
    const manager = new TaskManager();
    assert.throws(() => new TaskGateway({ manager, dashboard: 'yes' as never }), (error: Error) =>
      error instanceof InvalidOptionError && /`dashboard` to be true, false or \{ title \}, got "yes"/.test(error.message));
    assert.throws(() => new TaskGateway({ manager, dashboard: { title: 5 } as never }), InvalidOptionError);
    assert.throws(() => new TaskGateway({ manager, dashboard: { heading: 'x' } as never }), /heading/);
  });
});

