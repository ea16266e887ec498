/**
 * A page in Debian's Chromium (playwright-core) with the core, the dashboard and the
 * gateway client on `window`, served from a real HTTP server on 127.0.0.1 (not a test
 * file): what the browser tests of the remote dashboard, its cluster and queue views
 * share. The page comes from the gateway's own loopback address because Chromium blocks a
 * page from reaching a loopback address its origin is not on (Local Network Access).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../demo/chromium.js';
import { bundleForBrowser } from '../demo/serve.js';
import type { IBrowserBundle } from '../ts/gateway/sourcebundle.js';
import { checkedPage, waitInPage } from './dashboard-browser-helpers.js';

declare global {
  interface Window {
    taskbufferClient: typeof import('taskbuffer/client');
  }
}

export interface IRemotePageFixture {
  browser: Browser;
  bundle: IBrowserBundle;
  /** `http://127.0.0.1:<port>`: give it to the gateway's `allowedOrigins` when a test sets them. */
  origin: string;
  close(): Promise<void>;
}

/** Launches Chromium and serves the bundle; call once per test file (in `before`), `close()` in `after`. */
export async function startRemotePageFixture(): Promise<IRemotePageFixture> {
  const bundle = await bundleForBrowser('test/fixtures/remote-dashboard-entry.ts');
  const server: Server = createServer((request, response) => {
    if (request.url === '/fixture.js') return response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle.js);
    response.writeHead(200, { 'content-type': 'text/html' })
      .end('<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><script type="module" src="/fixture.js"></script></body></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await launchChromium().catch(async (error: unknown) => {
    await new Promise((resolve) => server.close(resolve));
    throw error;
  });
  return {
    browser,
    bundle,
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      await browser.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A fresh page with `window.taskbuffer`, `window.taskbufferWeb`, `window.taskbufferClient` and `window.t = {}`; uncaught page errors fail the test. */
export async function remotePage(t: TestContext, fixture: IRemotePageFixture): Promise<Page> {
  const page = await checkedPage(t, fixture.browser);
  await page.goto(`${fixture.origin}/`);
  await waitInPage(page, 'the fixture bundle to load', () => window.taskbufferClient !== undefined && window.taskbufferWeb !== undefined);
  await page.evaluate(() => (window.t = {}));
  return page;
}
