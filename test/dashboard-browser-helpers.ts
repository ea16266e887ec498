/**
 * A blank page with the core and the dashboard on `window`, in Debian's Chromium through
 * playwright-core (not a test file): what the browser tests of the waits view and the
 * actions share. Pages are answered by page.route at a localhost origin (a secure context,
 * which `new TaskManager()` needs for crypto.randomUUID); no server.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { TaskbufferDashboard } from 'taskbuffer/web';
import { launchChromium } from '../demo/chromium.js';
import { bundleForBrowser } from '../demo/serve.js';
import type { IBrowserBundle } from '../ts/gateway/sourcebundle.js';

declare global {
  interface Window {
    taskbuffer: typeof import('taskbuffer');
    taskbufferWeb: typeof import('taskbuffer/web');
    __xss?: number;
    t: Record<string, any>;
  }
}

/** Generous: the machine has 2 cores and may be busy with other test files. */
export const WAIT_MS = 20_000;
/**
 * Where fixture pages live: answered by page.route, no server. A localhost origin is a
 * secure context, which `new TaskManager()` needs (it calls crypto.randomUUID).
 */
export const FIXTURE_ORIGIN = 'http://localhost:4173';

export interface IBrowserFixture {
  browser: Browser;
  bundle: IBrowserBundle;
  close(): Promise<void>;
}

export async function startBrowserFixture(): Promise<IBrowserFixture> {
  const browser = await launchChromium();
  try {
    const bundle = await bundleForBrowser('test/fixtures/dashboard-entry.ts');
    return { browser, bundle, close: () => browser.close() };
  } catch (error) {
    await browser.close();
    throw error;
  }
}

/**
 * A new page that the test closes when it ends, failing it if the page threw an uncaught
 * error meanwhile: what every browser test's page starts as.
 */
export async function checkedPage(t: TestContext, browser: Browser, viewport = { width: 1280, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  // tsx compiles with keepNames: functions passed to page.evaluate may call `__name`.
  await page.addInitScript({ content: 'globalThis.__name = (target) => target;' });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  t.after(async () => {
    await page.close();
    assert.deepEqual(errors, [], 'uncaught errors in the page');
  });
  return page;
}

/**
 * A blank page with `window.taskbuffer` and `window.taskbufferWeb`; uncaught page errors
 * fail the test. `page`: one of the caller's own (with init scripts of its own), not yet navigated.
 */
export async function fixturePage(t: TestContext, fixture: Pick<IBrowserFixture, 'browser' | 'bundle'>, page?: Page): Promise<Page> {
  page ??= await checkedPage(t, fixture.browser);
  await page.route(`${FIXTURE_ORIGIN}/**`, (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/fixture.js') return route.fulfill({ contentType: 'text/javascript', body: fixture.bundle.js });
    return route.fulfill({
      contentType: 'text/html',
      body: '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><script type="module" src="/fixture.js"></script></body></html>',
    });
  });
  await page.goto(`${FIXTURE_ORIGIN}/`);
  await waitInPage(page, 'the fixture bundle to load', () => window.taskbufferWeb !== undefined && window.taskbuffer !== undefined);
  await page.evaluate(() => {
    window.t = {};
  });
  return page;
}

/** Waits until `predicate` is truthy in the page; on timeout says what it waited for. */
export async function waitInPage<Arg>(page: Page, what: string, predicate: (arg: Arg) => unknown, arg?: Arg, timeout = WAIT_MS): Promise<void> {
  try {
    await page.waitForFunction(predicate as (arg: unknown) => unknown, arg, { timeout, polling: 50 });
  } catch (error) {
    throw new Error(`timed out after ${timeout} ms waiting for: ${what}`, { cause: error });
  }
}

/** The text of every element matching `selector` inside the dashboard's shadow root. */
export function textsIn(page: Page, selector: string): Promise<string[]> {
  return page.evaluate((sel) => {
    const shadow = document.querySelector<TaskbufferDashboard>('taskbuffer-dashboard')!.shadowRoot!;
    return [...shadow.querySelectorAll(sel)].map((element) => element.textContent!.replace(/\s+/g, ' ').trim());
  }, selector);
}

/** Clicks the element matching `selector` inside the dashboard's shadow root (playwright pierces open shadow roots). */
export async function clickIn(page: Page, selector: string): Promise<void> {
  await page.locator(`taskbuffer-dashboard ${selector}`).first().click();
}

/**
 * Every visible text in the dashboard's shadow root whose contrast against its background
 * is under 4.5:1 (WCAG AA), in words. For `page.evaluate`: self-contained, it runs in the page.
 */
export const lowContrastTexts = (): string[] => {
  const parse = (color: string): number[] => (color.match(/[\d.]+/g) ?? []).map(Number);
  const luminance = ([r, g, b]: number[]) => {
    const channel = (value: number) => {
      const c = value / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * channel(r!) + 0.7152 * channel(g!) + 0.0722 * channel(b!);
  };
  const backgroundOf = (element: Element | null): number[] => {
    for (let at = element; at !== null; at = at.parentElement ?? ((at.getRootNode() as ShadowRoot).host ?? null)) {
      const rgba = parse(getComputedStyle(at).backgroundColor);
      if (rgba.length === 3 || (rgba.length === 4 && rgba[3]! > 0.5)) return rgba;
    }
    return [255, 255, 255];
  };
  const host = document.querySelector('taskbuffer-dashboard')!;
  const failures: string[] = [];
  for (const element of host.shadowRoot!.querySelectorAll<HTMLElement>('*')) {
    const ownText = [...element.childNodes].some((node) => node.nodeType === Node.TEXT_NODE && node.textContent!.trim() !== '');
    if (!ownText || element.closest('.visually-hidden, option, optgroup, table') !== null || element.getClientRects().length === 0) continue;
    const fg = luminance(parse(getComputedStyle(element).color));
    const bg = luminance(backgroundOf(element));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) failures.push(`${element.className || element.tagName} "${element.textContent!.trim().slice(0, 30)}": ${ratio.toFixed(2)}`);
  }
  return failures;
};
