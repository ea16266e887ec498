/**
 * `taskbuffer/client` in a real browser (Debian's Chromium through playwright-core), with
 * the browser's own WebSocket, against a real gateway on localhost: the bundle holds no
 * Node module, a browser origin the gateway allows gets in and others are refused, and
 * a page triggers a task with live events, subscribes, and serves a task itself.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../demo/chromium.js';
import { bundleForBrowser } from '../demo/serve.js';
import type { IBrowserBundle } from '../ts/gateway/sourcebundle.js';
import { Task } from '../ts/index.js';
import { checkedPage } from './dashboard-browser-helpers.js';
import { gatewayFor } from './gateway-helpers.js';

declare global {
  interface Window {
    taskbufferClient: typeof import('taskbuffer/client');
    t: Record<string, any>;
  }
}

const WAIT_MS = 20_000;
let browser: Browser;
let bundle: IBrowserBundle;
/**
 * The page comes from a real server on 127.0.0.1, like the gateway: Chromium blocks a
 * page from reaching a loopback address that its own origin is not on (Local Network
 * Access), as it would block a public page from reaching a gateway on the intranet.
 */
let pageServer: Server;
let ORIGIN: string;

before(async () => {
  browser = await launchChromium();
  bundle = await bundleForBrowser('test/fixtures/client-entry.ts');
  pageServer = createServer((request, response) => {
    if (request.url === '/client.js') return response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle.js);
    response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><html><body><script type="module" src="/client.js"></script></body></html>');
  });
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  ORIGIN = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
});

after(async () => {
  await browser?.close();
  pageServer?.closeAllConnections();
  await new Promise((resolve) => pageServer?.close(resolve));
});

async function clientPage(t: TestContext): Promise<Page> {
  const page = await checkedPage(t, browser);
  await page.goto(`${ORIGIN}/`);
  await page.waitForFunction(() => window.taskbufferClient !== undefined, undefined, { timeout: WAIT_MS });
  await page.evaluate(() => (window.t = {}));
  return page;
}

describe('the gateway client in Chromium', () => {
  test('bundles for the browser without ws or any node: module', () => {
    const nodeOnly = bundle.inputs.filter((input) => /node_modules\/ws\/|^node:|ts\/gateway\//.test(input));
    assert.deepEqual(nodeOnly, []);
  });

  test('triggers a task with its live updates and result, and receives subscribed events, with the browser WebSocket', async (t) => {
    const { manager, url } = await gatewayFor(t, { allowedOrigins: [ORIGIN], credentials: { page: { key: 'page-key', scopes: ['read', 'trigger:*'] } } });
    manager.addTask(new Task({
      name: 'download',
      taskFunction: async (input: string, _setup, context) => {
        for (const percent of [50, 100]) context.update({ percent });
        return `${input} done`;
      },
    }));
    const page = await clientPage(t);
    const outcome = await page.evaluate(async (gatewayUrl) => {
      const { TaskGatewayClient } = window.taskbufferClient;
      const client = new TaskGatewayClient({ url: gatewayUrl, name: 'page', key: 'page-key' });
      await client.connect();
      const subscribed: string[] = [];
      client.subscribe({ taskName: 'download' }, (event) => subscribed.push(event.type));
      await client.listTasks();
      const run = client.trigger('download', 'file.iso');
      const events: string[] = [];
      run.events.subscribe((event) => events.push(event.type === 'update' ? `update ${JSON.stringify(event.payload)}` : event.type));
      const result = await run.result;
      while (subscribed.length < 4) await new Promise((resolve) => setTimeout(resolve, 10));
      client.close();
      return { result, events, subscribed, native: typeof WebSocket === 'function' };
    }, url);
    assert.deepEqual(outcome, {
      result: 'file.iso done',
      events: ['started', 'update {"percent":50}', 'update {"percent":100}', 'completed'],
      subscribed: ['started', 'update', 'update', 'completed'],
      native: true,
    });
  });

  test('serves a task from the page: runs the gateway starts execute in the browser', async (t) => {
    const { manager, url } = await gatewayFor(t, { allowedOrigins: [ORIGIN], credentials: { page: { key: 'page-key', scopes: ['serve:browser'] } } });
    const page = await clientPage(t);
    await page.evaluate(async (gatewayUrl) => {
      const { TaskGatewayClient } = window.taskbufferClient;
      const client = new TaskGatewayClient({ url: gatewayUrl, name: 'page', key: 'page-key' });
      await client.connect();
      await client.serve('browser:title', (input: string) => `${input} from ${navigator.userAgent.includes('Chrome') ? 'Chromium' : 'a browser'}`);
      window.t.client = client;
    }, url);
    assert.equal(await manager.triggerTaskByName('browser:title', 'hello'), 'hello from Chromium');
  });

  test('is refused by a gateway whose allowedOrigins do not list the page', async (t) => {
    const { url } = await gatewayFor(t, { allowedOrigins: ['https://ops.example.com'] });
    const page = await clientPage(t);
    const failure = await page.evaluate(async (gatewayUrl) => {
      const { TaskGatewayClient } = window.taskbufferClient;
      const client = new TaskGatewayClient({ url: gatewayUrl, name: 'admin', key: 'admin-key-1234', reconnect: false });
      return client.connect().then(() => 'connected', (error: Error & { code?: string }) => error.code);
    }, url);
    assert.equal(failure, 'CONNECTION_LOST');
  });
});
