/**
 * `<taskbuffer-dashboard>` in a real browser: Debian's Chromium (/usr/bin/chromium) driven
 * by playwright-core, which never downloads a browser. Where Chromium is missing, every
 * test here fails with a message that says how to install it.
 *
 * The demo page (what `npm start` serves) is checked as a person would see it; the
 * component's contract is checked on a blank page that loads the core and the dashboard
 * through their public import paths. Waits poll the page with generous timeouts: nothing
 * here asserts on a fixed sleep.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { Task, TaskConstraintGroup, TaskManager } from 'taskbuffer';
import type { TaskbufferDashboard } from 'taskbuffer/web';
import { launchChromium } from '../demo/chromium.js';
import { checkedPage, FIXTURE_ORIGIN, fixturePage as fixturePageOf, lowContrastTexts, WAIT_MS, waitInPage } from './dashboard-browser-helpers.js';
import { benchEventLatency, benchFirstShown } from './bench/dashboard-bench-page.js';
import { bundleForBrowser, portFrom, startDemoServer, type IDemoServer } from '../demo/serve.js';
import type { IBrowserBundle } from '../ts/gateway/sourcebundle.js';

declare global {
  interface Window {
    /** Set by demo/page.ts. */
    demo: { manager: TaskManager; dashboard: TaskbufferDashboard; Task: typeof Task; TaskManager: typeof TaskManager; TaskConstraintGroup: typeof TaskConstraintGroup };
    /** Set by test/fixtures/dashboard-entry.ts. */
    taskbuffer: typeof import('taskbuffer');
    taskbufferWeb: typeof import('taskbuffer/web');
    /** Set only if markup from task data ever ran. */
    __xss?: number;
    /** Scratch space of the tests. */
    t: Record<string, any>;
  }
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCREENSHOTS = path.join(root, 'test/screenshots');

let browser: Browser;
let server: IDemoServer;
let fixture: IBrowserBundle;

before(async () => {
  // The browser first: without it nothing else is worth starting (and nothing is left running).
  browser = await launchChromium();
  [server, fixture] = await Promise.all([startDemoServer({ port: 0 }), bundleForBrowser('test/fixtures/dashboard-entry.ts')]);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** A new page whose uncaught errors fail the test, with `summaryOf` (SUMMARY_OF) in it. */
async function newPage(t: TestContext, viewport = { width: 1280, height: 900 }): Promise<Page> {
  const page = await checkedPage(t, browser, viewport);
  await page.addInitScript({ content: SUMMARY_OF });
  return page;
}

/** A blank page with `window.taskbuffer` (the core) and `window.taskbufferWeb` (the dashboard). */
async function fixturePage(t: TestContext): Promise<Page> {
  return fixturePageOf(t, { browser, bundle: fixture }, await newPage(t));
}

/**
 * The task count of a dashboard's summary (`14 tasks`, `2 of 5 tasks`). Defined in every page by
 * `newPage`, since page functions cannot call helpers of this file.
 */
declare function summaryOf(selector: string): string;
const SUMMARY_OF = `globalThis.summaryOf = (selector) =>
  document.querySelector(selector)?.shadowRoot?.querySelector('[data-count="tasks"]')?.textContent ?? '';`;

/** Everything a test reads about one task card, from inside the shadow root. */
interface ICard {
  status: string | undefined;
  statusText: string;
  name: string;
  text: string;
  steps: Array<{ name: string; status: string }>;
  segments: string[];
  runs: number;
  errors: number;
  error: string | undefined;
  countdown: string | undefined;
}

/** Reads the card of `taskName` in the dashboard matched by `selector` (null when it is not shown). */
function readCard(page: Page, taskName: string, selector = 'taskbuffer-dashboard'): Promise<ICard | null> {
  return page.evaluate(
    ([name, sel]) => {
      const shadow = document.querySelector(sel)!.shadowRoot!;
      const card = [...shadow.querySelectorAll<HTMLElement>('.task')].find((element) => element.dataset.task === name);
      if (card === undefined) return null;
      const fact = (which: string) => Number(card.querySelector(`[data-fact="${which}"] b`)?.textContent ?? NaN);
      return {
        status: card.dataset.status,
        statusText: card.querySelector('.status')?.textContent ?? '',
        name: card.querySelector('.task-name')?.textContent ?? '',
        text: card.innerText,
        steps: [...card.querySelectorAll<HTMLElement>('.step')].map((step) => ({
          name: step.textContent ?? '',
          status: step.dataset.stepStatus ?? '',
        })),
        segments: [...card.querySelectorAll<HTMLElement>('.progress .segment')].map((segment) => segment.dataset.stepStatus ?? ''),
        runs: fact('runs'),
        errors: fact('errors'),
        error: card.querySelector('.error-message')?.textContent ?? undefined,
        countdown: card.querySelector('.countdown')?.textContent ?? undefined,
      };
    },
    [taskName, selector] as const,
  );
}

function taskNames(page: Page, selector = 'taskbuffer-dashboard'): Promise<string[]> {
  return page.evaluate(
    (sel) => [...document.querySelector(sel)!.shadowRoot!.querySelectorAll<HTMLElement>('.task')].map((card) => card.dataset.task ?? ''),
    selector,
  );
}

function hostBackground(page: Page, selector = 'taskbuffer-dashboard'): Promise<string> {
  return page.evaluate((sel) => getComputedStyle(document.querySelector(sel)!).backgroundColor, selector);
}

const LIGHT_BACKGROUND = 'rgb(245, 246, 248)';
const DARK_BACKGROUND = 'rgb(15, 20, 25)';

describe('the demo page (npm start)', () => {
  const DEMO_TASKS = [
    'deploy-storefront', 'renew-certificate', 'sync-acme', 'sync-globex', 'sync-initech', 'send-webhooks',
    'render-thumbnails', 'search-products', 'import-orders', 'fetch-orders', 'validate-orders', 'store-orders',
    'health-check', 'backup-database',
  ];

  test('shows every task with a progress bar and step segments, a failure, queued work and a cron countdown, all changing over time', async (t) => {
    const page = await newPage(t);
    await page.goto(server.url);
    await waitInPage(page, 'all 14 demo tasks as cards', (count) =>
      document.querySelector('taskbuffer-dashboard')?.shadowRoot?.querySelectorAll('.task').length === count, DEMO_TASKS.length);
    assert.deepEqual(new Set(await taskNames(page)), new Set(DEMO_TASKS));

    const deploy = (await readCard(page, 'deploy-storefront'))!;
    assert.deepEqual(deploy.steps.map((step) => step.name), ['build', 'test', 'upload', 'verify']);
    assert.equal(deploy.segments.length, 4, 'one progress segment per step');
    const progressBars = await page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('.task .progress').length);
    assert.equal(progressBars, DEMO_TASKS.length, 'every task has a progress bar');

    await waitInPage(page, 'a step segment of some task to be active (a run in progress)', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.task[data-status="running"] .segment[data-step-status="active"]') !== null);

    await waitInPage(page, 'send-webhooks to fail and show its error', () => {
      const card = [...document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll<HTMLElement>('.task')]
        .find((element) => element.dataset.task === 'send-webhooks');
      return card?.dataset.status === 'failed' && card.querySelector('.error-message')?.textContent?.includes('upstream timed out') === true;
    });
    const webhooks = (await readCard(page, 'send-webhooks'))!;
    assert.equal(webhooks.statusText, 'failed');
    assert.ok(webhooks.errors >= 1, `errors counted: ${webhooks.errors}`);

    await waitInPage(page, 'a constraint group with waiting work or a cooldown', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.group .key-waiting, .group .key-cooldown') !== null);

    const health = (await readCard(page, 'health-check'))!;
    assert.match(health.text, /cron \*\/3 \* \* \* \* \*/);
    assert.match(health.countdown ?? '', /^(in \d+ s|now)$/);
    await waitInPage(page, 'the health-check countdown to move', (before) => {
      const card = [...document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll<HTMLElement>('.task')]
        .find((element) => element.dataset.task === 'health-check');
      return card?.querySelector('.countdown')?.textContent !== before;
    }, health.countdown);
    await waitInPage(page, 'the cron task to run again', (runsBefore) => {
      const card = [...document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll<HTMLElement>('.task')]
        .find((element) => element.dataset.task === 'health-check');
      return Number(card?.querySelector('[data-fact="runs"] b')?.textContent) > runsBefore;
    }, health.runs);
    const backup = (await readCard(page, 'backup-database'))!;
    assert.match(backup.countdown ?? '', /^(in \d+ s|in \d+ min \d+ s|now)$/, 'the two-minute schedule counts down too');
  });

  test('a task named like markup, with markup in a label and its error, renders as text and runs nothing', async (t) => {
    const page = await newPage(t);
    await page.goto(server.url);
    await waitInPage(page, 'the demo to start', () => window.demo !== undefined);
    const evil = {
      name: '<img src=x onerror="window.__xss=1">',
      label: '<b onmouseover="window.__xss=2">bold</b>',
      step: '<svg onload="window.__xss=3">',
      error: '<img src=y onerror="window.__xss=4"><script>window.__xss=5</script>',
    };
    await page.evaluate((bad) => {
      const { manager, Task } = window.demo;
      manager.addTask(new Task({
        name: bad.name,
        labels: { note: bad.label },
        steps: [{ name: bad.step, description: bad.step, percentage: 100 }],
        catchErrors: true,
        taskFunction: async () => {
          throw new Error(bad.error);
        },
      }));
      void manager.triggerTaskByName(bad.name);
    }, evil);
    await waitInPage(page, 'the markup-named task to show as failed', (name) =>
      [...document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll<HTMLElement>('.task')]
        .some((element) => element.dataset.task === name && element.dataset.status === 'failed'), evil.name);
    const card = (await readCard(page, evil.name))!;
    assert.equal(card.name, evil.name, 'the name is shown literally');
    assert.equal(card.error, evil.error, 'the error message is shown literally');
    assert.ok(card.text.includes(evil.label), 'the label value is shown literally');
    assert.deepEqual(card.steps.map((step) => step.name), [evil.step]);
    const injected = await page.evaluate(() => ({
      // The dashboard's own sparklines and timeline tracks are the only svg allowed in it.
      inShadow: document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('img, script, svg:not(.sparkline):not(.timeline-track), [onerror], [onload], [onmouseover]').length,
      inPage: document.querySelectorAll('img, svg, [onerror], [onload], [onmouseover]').length,
      xss: window.__xss,
    }));
    assert.deepEqual(injected, { inShadow: 0, inPage: 0, xss: undefined });
  });

  test('follows prefers-color-scheme, a theme attribute or the theme picker overrides it, and each theme paints its own background', async (t) => {
    const page = await newPage(t);
    await page.emulateMedia({ colorScheme: 'light' });
    await page.goto(server.url);
    await waitInPage(page, 'the demo tasks', () => (document.querySelector('taskbuffer-dashboard')?.shadowRoot?.querySelectorAll('.task').length ?? 0) >= 14);
    assert.equal(await hostBackground(page), LIGHT_BACKGROUND);

    await page.emulateMedia({ colorScheme: 'dark' });
    assert.equal(await hostBackground(page), DARK_BACKGROUND, 'no theme attribute: follows the system (dark)');
    await page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.setAttribute('theme', 'light'));
    assert.equal(await hostBackground(page), LIGHT_BACKGROUND, 'theme="light" wins over a dark system');

    await page.emulateMedia({ colorScheme: 'light' });
    await page.evaluate(() => {
      window.t = { themeEvents: [] };
      document.addEventListener('taskbuffer-theme-change', (event) => window.t.themeEvents.push(event.detail.theme));
    });
    await page.locator('taskbuffer-dashboard select[name="theme"]').selectOption('dark');
    await waitInPage(page, 'the picker to set theme="dark"', () => document.querySelector('taskbuffer-dashboard')!.getAttribute('theme') === 'dark');
    assert.equal(await hostBackground(page), DARK_BACKGROUND, 'theme="dark" wins over a light system');
    const colors = await page.evaluate(() => {
      const shadow = document.querySelector('taskbuffer-dashboard')!.shadowRoot!;
      return {
        text: getComputedStyle(shadow.querySelector('.task-name')!).color,
        card: getComputedStyle(shadow.querySelector('.task')!).backgroundColor,
        events: window.t.themeEvents,
      };
    });
    assert.deepEqual(colors, { text: 'rgb(230, 233, 238)', card: 'rgb(23, 29, 36)', events: ['dark'] });

    await mkdir(SCREENSHOTS, { recursive: true });
    await waitInPage(page, 'some task to have failed once (so the screenshot shows an error)', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.task[data-task="send-webhooks"] [data-fact="errors"][data-nonzero]') !== null);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'dashboard-dark.png'), fullPage: true });
    await page.locator('taskbuffer-dashboard select[name="theme"]').selectOption('light');
    await waitInPage(page, 'the light theme', () => document.querySelector('taskbuffer-dashboard')!.getAttribute('theme') === 'light');
    assert.equal(await hostBackground(page), LIGHT_BACKGROUND);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'dashboard-light.png'), fullPage: true });

    await page.locator('taskbuffer-dashboard select[name="theme"]').selectOption('auto');
    await waitInPage(page, 'auto to remove the attribute', () => !document.querySelector('taskbuffer-dashboard')!.hasAttribute('theme'));
    await page.emulateMedia({ colorScheme: 'dark' });
    assert.equal(await hostBackground(page), DARK_BACKGROUND, 'back on auto: follows the system again');
  });
});

describe('accessibility and polish (on the demo page)', () => {
  test('every text has WCAG AA contrast (4.5:1) against its background, in the light and the dark theme', async (t) => {
    const page = await newPage(t);
    await page.goto(server.url);
    await waitInPage(page, 'a failure, a run and waiting work on screen', () => {
      const shadow = document.querySelector('taskbuffer-dashboard')?.shadowRoot;
      return shadow?.querySelector('.task[data-status="failed"] .error-message') != null && shadow.querySelector('.group .key-waiting') !== null &&
        shadow.querySelector('.task .metrics-text') !== null;
    });
    for (const theme of ['light', 'dark']) {
      await page.evaluate((value) => document.querySelector('taskbuffer-dashboard')!.setAttribute('theme', value), theme);
      assert.deepEqual(await page.evaluate(lowContrastTexts), [], `${theme} theme`);
    }
  });

  test('nothing moves while the demo runs live: header, totals, groups and every card keep their boxes, and layout shift stays near zero', async (t) => {
    const page = await newPage(t);
    await page.goto(server.url);
    await waitInPage(page, 'the demo running', () => document.querySelector('taskbuffer-dashboard')?.shadowRoot?.querySelector('.task[data-status="running"], .task[data-status="completed"]') != null);
    await page.waitForTimeout(1500); // the start-up (fonts, the first runs) is not "live"
    const result = await page.evaluate(() => new Promise<{ moved: string[]; shift: number; samples: number }>((resolve) => {
      const shadow = document.querySelector('taskbuffer-dashboard')!.shadowRoot!;
      const boxes = () => {
        const found = new Map<string, string>();
        const elements = shadow.querySelectorAll<HTMLElement>('.header, .totals, .groups, .group, ul.tasks, .task, .task .facts, .task .metrics, .task .history');
        elements.forEach((element, index) => {
          const rect = element.getBoundingClientRect();
          found.set(`${element.className}#${element.dataset.task ?? element.dataset.group ?? element.parentElement?.dataset.task ?? index}`,
            `${rect.x},${rect.y},${rect.width},${rect.height}`);
        });
        return found;
      };
      const first = boxes();
      const moved = new Set<string>();
      let shift = 0;
      let samples = 0;
      const observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries() as Array<PerformanceEntry & { value: number }>) shift += entry.value;
      });
      observer.observe({ type: 'layout-shift' });
      const timer = setInterval(() => {
        samples++;
        for (const [key, box] of boxes()) if (first.has(key) && first.get(key) !== box) moved.add(`${key}: ${first.get(key)} → ${box}`);
      }, 100);
      setTimeout(() => {
        clearInterval(timer);
        observer.disconnect();
        resolve({ moved: [...moved], shift, samples });
      }, 5000);
    }));
    t.diagnostic(`cumulative layout shift over 5 s of the live demo: ${result.shift.toFixed(5)} (text inside a line, e.g. a status word, may still change width)`);
    assert.ok(result.samples >= 20, `sampled ${result.samples} times`);
    assert.deepEqual(result.moved, [], 'boxes that moved or changed size');
    assert.ok(result.shift < 0.01, `cumulative layout shift ${result.shift} (0.1 is "good" for a whole page load)`);
  });

  test('times carry their time zone, a cron task\'s next run also in the cron\'s own zone; the controls are reachable with Tab and labelled', async (t) => {
    const page = await fixturePage(t);
    await page.evaluate(async () => {
      const { Task, TaskManager } = window.taskbuffer;
      const manager = new TaskManager();
      manager.addAndScheduleTask(new Task({ name: 'tokyo-report', taskFunction: async () => 1 }), '0 0 3 * * *', { timezone: 'Asia/Tokyo' });
      await manager.triggerTaskByName('tokyo-report');
      const dashboard = document.createElement('taskbuffer-dashboard');
      dashboard.taskManager = manager;
      document.body.append(dashboard);
    });
    await waitInPage(page, 'the run and the schedule', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.task[data-status="completed"] .next-run') !== null);
    const card = (await readCard(page, 'tokyo-report'))!;
    assert.match(card.text, /last: \d\d:\d\d:\d\d (UTC|GMT[+-]\d+|[A-Z]{3,4})/, 'the last run has a zone');
    assert.match(card.text, /\(\d\d:\d\d:\d\d \S+, 03:00:00 GMT\+9\)/, 'the next run in the viewer\'s zone and in Asia/Tokyo');

    const order: string[] = [];
    await page.locator('body').focus();
    for (let press = 0; press < 5; press++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => {
        const active = document.querySelector('taskbuffer-dashboard')!.shadowRoot!.activeElement as HTMLElement | null;
        return active === null ? 'outside' : `${active.tagName.toLowerCase()}${active.getAttribute('name') ? `[${active.getAttribute('name')}]` : ''}`;
      }));
    }
    assert.deepEqual(order, ['input[search]', 'select[status]', 'select[label]', 'select[theme]', 'summary'], 'Tab goes through the toolbar, then into the cards');
    const names = await page.evaluate(() => {
      const shadow = document.querySelector('taskbuffer-dashboard')!.shadowRoot!;
      return {
        list: shadow.querySelector('ul.tasks')!.getAttribute('aria-label'),
        progress: shadow.querySelector('[role="progressbar"]')!.getAttribute('aria-label'),
        sparklines: [...shadow.querySelectorAll('svg.sparkline')].every((svg) => svg.getAttribute('role') === 'img' && (svg.getAttribute('aria-label') ?? '') !== ''),
        search: shadow.querySelector('input[name="search"]')!.getAttribute('aria-keyshortcuts'),
      };
    });
    assert.deepEqual(names, { list: 'Tasks', progress: 'progress', sparklines: true, search: '/' });
  });
});

describe('the <taskbuffer-dashboard> contract', () => {
  test('a plain esbuild browser bundle of ts/ and ts_web/ works, and ts_web/ imports the core only as "taskbuffer"', async () => {
    // bundleForBrowser uses platform "browser": a Node-only import would have failed the bundle.
    assert.ok(fixture.inputs.includes('ts/index.ts') && fixture.inputs.includes('ts_web/index.ts'), 'bundled from the sources');
    assert.deepEqual(fixture.inputs.filter((input) => input.startsWith('node:')), []);
    const sources = (await readdir(path.join(root, 'ts_web'))).filter((file) => file.endsWith('.ts'));
    for (const file of sources) {
      const text = await readFile(path.join(root, 'ts_web', file), 'utf8');
      const specifiers = [...text.matchAll(/from\s+'([^']+)'/g)].map((match) => match[1]!);
      const outside = specifiers.filter((specifier) => specifier.startsWith('.') && !specifier.startsWith('./'));
      assert.deepEqual(outside, [], `${file} imports outside ts_web/ by relative path`);
    }
  });

  test('importing it registers the tag once; a second copy of the module does not throw', async (t) => {
    const page = await fixturePage(t);
    const first = await page.evaluate(() => {
      window.t.first = window.taskbufferWeb.TaskbufferDashboard;
      return customElements.get('taskbuffer-dashboard') === window.taskbufferWeb.TaskbufferDashboard;
    });
    assert.equal(first, true);
    await page.addScriptTag({ url: `${FIXTURE_ORIGIN}/fixture.js?copy=2`, type: 'module' });
    await waitInPage(page, 'the second copy to load', () => window.taskbufferWeb.TaskbufferDashboard !== window.t.first);
    assert.equal(await page.evaluate(() => customElements.get('taskbuffer-dashboard') === window.t.first), true);
  });

  test('has an open shadow root and shows a manager that was set before it was appended', async (t) => {
    const page = await fixturePage(t);
    await page.evaluate(() => {
      const { Task, TaskManager } = window.taskbuffer;
      const manager = new TaskManager();
      manager.addTask(new Task({ name: 'alpha-sync', taskFunction: async () => 1 }));
      manager.addTask(new Task({ name: 'bravo-report', taskFunction: async () => 2 }));
      const dashboard = document.createElement('taskbuffer-dashboard');
      dashboard.taskManager = manager;
      document.body.append(dashboard);
    });
    await waitInPage(page, 'two cards', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot?.querySelectorAll('.task').length === 2);
    assert.equal(await page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.mode), 'open');
    assert.deepEqual(await taskNames(page), ['alpha-sync', 'bravo-report']);
    assert.equal((await readCard(page, 'alpha-sync'))!.status, 'idle');
  });

  test('shows a manager set after it was appended, and each event at once: running with the active step, then completed, or failed with the error', async (t) => {
    const page = await fixturePage(t);
    await page.evaluate(() => {
      const dashboard = document.createElement('taskbuffer-dashboard');
      dashboard.refreshInterval = 0; // no polling: what changes below comes from events alone
      document.body.append(dashboard);
    });
    await waitInPage(page, 'the empty state', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot?.textContent?.includes('No task manager yet') === true);
    await page.evaluate(() => {
      const { Task, TaskManager } = window.taskbuffer;
      const manager = new TaskManager();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const publish = new Task({
        name: 'publish',
        labels: { tenantId: 'acme' },
        steps: [
          { name: 'prepare', description: 'Preparing', percentage: 40 },
          { name: 'ship', description: 'Shipping', percentage: 60 },
        ] as const,
        taskFunction: async () => {
          publish.notifyStep('prepare');
          await gate;
          publish.notifyStep('ship');
        },
      });
      manager.addTask(publish);
      manager.addTask(new Task({ name: 'cleanup', catchErrors: true, taskFunction: async () => { throw new Error('disk full on /var/data'); } }));
      window.t = { manager, release };
      document.querySelector('taskbuffer-dashboard')!.taskManager = manager;
    });
    await waitInPage(page, 'two idle cards', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('.task[data-status="idle"]').length === 2);

    await page.evaluate(() => void window.t.manager.triggerTaskByName('publish'));
    await waitInPage(page, 'publish running with "prepare" active', () => {
      const card = document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector<HTMLElement>('.task[data-task="publish"]');
      return card?.dataset.status === 'running' && card.querySelector('.step[data-step="prepare"]')?.getAttribute('data-step-status') === 'active';
    });
    let card = (await readCard(page, 'publish'))!;
    assert.equal(card.statusText, 'running');
    assert.deepEqual(card.segments, ['active', 'pending']);

    await page.evaluate(() => {
      window.t.release();
      void window.t.manager.triggerTaskByName('cleanup');
    });
    await waitInPage(page, 'publish completed and cleanup failed', () => {
      const shadow = document.querySelector('taskbuffer-dashboard')!.shadowRoot!;
      return shadow.querySelector('.task[data-task="publish"][data-status="completed"]') !== null &&
        shadow.querySelector('.task[data-task="cleanup"][data-status="failed"]') !== null;
    });
    card = (await readCard(page, 'publish'))!;
    assert.deepEqual(card.segments, ['completed', 'completed']);
    assert.deepEqual(card.steps, [{ name: 'prepare', status: 'completed' }, { name: 'ship', status: 'completed' }]);
    assert.equal(card.runs, 1);
    assert.match(card.text, /100%/);
    const cleanup = (await readCard(page, 'cleanup'))!;
    assert.equal(cleanup.error, 'disk full on /var/data');
    assert.equal(cleanup.errors, 1);
  });

  test('each task is one block with its own name only, its status as text and data-status, and its step names, label values and last error as visible text', async (t) => {
    const page = await fixturePage(t);
    const names = ['alpha-sync', 'bravo-deploy', 'charlie-report'];
    await page.evaluate(async (taskNamesToAdd) => {
      const { Task, TaskManager } = window.taskbuffer;
      const manager = new TaskManager();
      const [alpha, bravo, charlie] = taskNamesToAdd as [string, string, string];
      manager.addTask(new Task({
        name: alpha,
        labels: { tenantId: 'acme', region: 'eu-west' },
        steps: [{ name: 'download', description: 'Downloading', percentage: 70 }, { name: 'index', description: 'Indexing', percentage: 30 }],
        taskFunction: async () => 'ok',
      }));
      manager.addTask(new Task({ name: bravo, labels: { tenantId: 'globex' }, catchErrors: true, taskFunction: async () => { throw new Error('registry unreachable'); } }));
      manager.addTask(new Task({ name: charlie, taskFunction: async () => 'ok' }));
      await manager.triggerTaskByName(alpha);
      await manager.triggerTaskByName(bravo);
      const dashboard = document.createElement('taskbuffer-dashboard');
      dashboard.taskManager = manager;
      document.body.append(dashboard);
    }, names);
    await waitInPage(page, 'three cards', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot?.querySelectorAll('.task').length === 3);
    const cards = await Promise.all(names.map((name) => readCard(page, name)));
    for (const [index, card] of cards.entries()) {
      assert.ok(card !== null);
      assert.ok(card.text.includes(names[index]!), `${names[index]} shows its name`);
      for (const other of names.filter((name) => name !== names[index])) {
        assert.ok(!card.text.includes(other), `${names[index]}'s block does not contain ${other}`);
      }
      assert.equal(card.statusText, card.status, 'status as text and as data-status');
    }
    const [alpha, bravo, charlie] = cards as [ICard, ICard, ICard];
    assert.equal(alpha.status, 'completed');
    assert.equal(bravo.status, 'failed');
    assert.equal(charlie.status, 'idle');
    for (const visible of ['download', 'index', 'acme', 'eu-west', 'tenantId', 'region']) {
      assert.ok(alpha.text.includes(visible), `alpha shows "${visible}" as text`);
    }
    assert.ok(bravo.text.includes('globex'));
    assert.ok(bravo.text.includes('registry unreachable'), 'the last error is visible text');
  });

  test('replacing the manager shows only the new manager\'s tasks and events, and unsubscribes from the old one', async (t) => {
    const page = await fixturePage(t);
    await page.evaluate(() => {
      const { Task, TaskManager } = window.taskbuffer;
      const first = new TaskManager();
      first.addTask(new Task({ name: 'first-only', taskFunction: async () => 1 }));
      const second = new TaskManager();
      second.addTask(new Task({ name: 'second-only', taskFunction: async () => 2 }));
      const dashboard = document.createElement('taskbuffer-dashboard');
      dashboard.taskManager = first;
      document.body.append(dashboard);
      window.t = { first, second, dashboard };
    });
    await waitInPage(page, 'the first manager\'s task', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot?.querySelector('.task[data-task="first-only"]') != null);
    const observed = await page.evaluate(async () => {
      window.t.dashboard.taskManager = window.t.second;
      await window.t.dashboard.updateComplete;
      return { first: window.t.first.taskSubject.observed, second: window.t.second.taskSubject.observed };
    });
    assert.deepEqual(observed, { first: false, second: true });
    assert.deepEqual(await taskNames(page), ['second-only']);

    await page.evaluate(async () => {
      await window.t.first.triggerTaskByName('first-only');
      await window.t.second.triggerTaskByName('second-only');
    });
    await waitInPage(page, 'the second manager\'s event', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.task[data-task="second-only"][data-status="completed"]') !== null);
    assert.deepEqual(await taskNames(page), ['second-only'], 'nothing of the first manager came back');

    await page.evaluate(() => {
      const { Task } = window.taskbuffer;
      window.t.second.addTask(new Task({ name: 'added-later', taskFunction: async () => 3 }));
    });
    await waitInPage(page, 'a task added to the manager later', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.task[data-task="added-later"]') !== null);
    await page.evaluate(() => window.t.second.removeTask(window.t.second.getTaskByName('added-later')!));
    await waitInPage(page, 'a removed task to go', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.task[data-task="added-later"]') === null);
  });

  test('removing the element unsubscribes; appending it again subscribes again and catches up', async (t) => {
    const page = await fixturePage(t);
    await page.evaluate(() => {
      const { Task, TaskManager } = window.taskbuffer;
      const manager = new TaskManager();
      manager.addTask(new Task({ name: 'nightly', taskFunction: async () => 1 }));
      manager.addAndScheduleTask(new Task({ name: 'ticker', taskFunction: async () => 2 }), '0 0 3 * * *', { timezone: 'Asia/Tokyo' });
      const dashboard = document.createElement('taskbuffer-dashboard');
      dashboard.refreshInterval = 0; // no polling: catching up must come from appending it again
      dashboard.taskManager = manager;
      document.body.append(dashboard);
      window.t = { manager, dashboard };
    });
    await waitInPage(page, 'the cards', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot?.querySelectorAll('.task').length === 2);
    const detached = await page.evaluate(async () => {
      const { manager, dashboard } = window.t;
      dashboard.remove();
      const state = { taskSubject: manager.taskSubject.observed, taskMap: manager.taskMap.eventSubject.observed };
      await manager.triggerTaskByName('nightly'); // while nobody shows it
      return state;
    });
    assert.deepEqual(detached, { taskSubject: false, taskMap: false }, 'no subscription is left behind');

    const reattached = await page.evaluate(() => {
      document.body.append(window.t.dashboard);
      return window.t.manager.taskSubject.observed;
    });
    assert.equal(reattached, true);
    await waitInPage(page, 'the run made while detached', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.task[data-task="nightly"][data-status="completed"]') !== null);
    await page.evaluate(() => void window.t.manager.triggerTaskByName('ticker'));
    await waitInPage(page, 'a new event after re-appending', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.task[data-task="ticker"][data-status="completed"]') !== null);
    const ticker = (await readCard(page, 'ticker'))!;
    assert.match(ticker.text, /cron 0 0 3 \* \* \* \(Asia\/Tokyo\)/, 'the schedule and its zone survived the events');
    assert.match(ticker.countdown ?? '', /^in \d+ (h|min)/);
  });

  test('shows retries, paused tasks and paused groups, and passes over event types it does not know', async (t) => {
    const page = await fixturePage(t);
    await page.evaluate(() => {
      const { Task, TaskManager, TaskConstraintGroup } = window.taskbuffer;
      const manager = new TaskManager();
      let tries = 0;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      manager.addTask(new Task({
        name: 'resizer',
        retry: { attempts: 3 },
        taskFunction: async () => {
          tries++;
          if (tries < 3) throw new Error(`try ${tries} failed`);
          await gate;
        },
      }));
      manager.addConstraintGroup(new TaskConstraintGroup({ name: 'gpu', maxConcurrent: 2, constraintKeyForExecution: () => 'gpu' }));
      const dashboard = document.createElement('taskbuffer-dashboard');
      dashboard.taskManager = manager;
      document.body.append(dashboard);
      window.t = { manager, release };
      void manager.triggerTaskByName('resizer');
    });
    await waitInPage(page, 'the third try of resizer to be running', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.task[data-task="resizer"] .last-run')?.textContent?.includes('running, try 3') === true);
    await page.evaluate(() => window.t.release());
    await waitInPage(page, 'resizer completed after 3 tries', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.task[data-task="resizer"][data-status="completed"] .last-run')?.textContent?.includes('completed after 3 tries') === true);

    await page.evaluate(() => {
      window.t.manager.pauseTask('resizer');
      window.t.manager.pauseConstraintGroup('gpu');
    });
    await waitInPage(page, 'the paused badges of the task and the group', () => {
      const shadow = document.querySelector('taskbuffer-dashboard')!.shadowRoot!;
      return shadow.querySelector('.task[data-task="resizer"] [data-badge="paused"]')?.textContent === 'paused' &&
        shadow.querySelector('.group[data-group="gpu"] [data-badge="paused"]')?.textContent === 'paused';
    });
    await page.evaluate(() => {
      const { manager } = window.t;
      manager.resumeTask('resizer');
      manager.resumeConstraintGroup('gpu');
      // Event types a later core may add, and one without a task snapshot at all.
      const send = (event: object) => manager.taskSubject.next(event as never);
      send({ type: 'cancelled', task: manager.getTaskMetadata('resizer')!, timestamp: Date.now() });
      send({ type: 'something-new', timestamp: Date.now() });
    });
    await waitInPage(page, 'the badges to go', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('[data-badge="paused"]') === null);
    assert.equal((await readCard(page, 'resizer'))!.status, 'completed');
  });

  test('lists every task by default; filters by status and label only when asked, and reports the change', async (t) => {
    const page = await fixturePage(t);
    await page.evaluate(async () => {
      const { Task, TaskManager } = window.taskbuffer;
      const manager = new TaskManager();
      for (const [name, tenantId, fails] of [['a-1', 'acme', false], ['a-2', 'acme', true], ['g-1', 'globex', false], ['i-1', 'initech', true]] as const) {
        manager.addTask(new Task({ name, labels: { tenantId }, catchErrors: true, taskFunction: async () => { if (fails) throw new Error('nope'); } }));
        await manager.triggerTaskByName(name);
      }
      manager.addTask(new Task({ name: 'unlabelled', taskFunction: async () => 1 }));
      const dashboard = document.createElement('taskbuffer-dashboard');
      dashboard.id = 'filtered';
      dashboard.taskManager = manager;
      document.body.append(dashboard);
      window.t = { filterEvents: [] };
      document.addEventListener('taskbuffer-filter-change', (event) => window.t.filterEvents.push(event.detail));
    });
    await waitInPage(page, 'all five tasks', () => document.querySelector('#filtered')!.shadowRoot?.querySelectorAll('.task').length === 5);

    await page.locator('#filtered select[name="status"]').selectOption('failed');
    await waitInPage(page, 'only failed tasks', () => document.querySelector('#filtered')!.shadowRoot!.querySelectorAll('.task').length === 2);
    assert.deepEqual(await taskNames(page, '#filtered'), ['a-2', 'i-1']);

    await page.locator('#filtered select[name="label"]').selectOption('tenantId=acme');
    await waitInPage(page, 'failed tasks of acme', () => document.querySelector('#filtered')!.shadowRoot!.querySelectorAll('.task').length === 1);
    assert.deepEqual(await taskNames(page, '#filtered'), ['a-2']);
    assert.deepEqual(await page.evaluate(() => window.t.filterEvents), [
      { status: 'failed', label: '', name: '', query: '' },
      { status: 'failed', label: 'tenantId=acme', name: '', query: '' },
    ]);

    await page.evaluate(() => {
      const dashboard = document.querySelector('#filtered')!;
      dashboard.setAttribute('status-filter', '');
      dashboard.setAttribute('label-filter', 'tenantId');
    });
    await waitInPage(page, 'tasks that have a tenantId label', () => document.querySelector('#filtered')!.shadowRoot!.querySelectorAll('.task').length === 4);
  });

  test('the search box finds by name and error text, status, label, group and key, all combined; "/" focuses it; the URL carries the query both ways', async (t) => {
    const page = await fixturePage(t);
    const setUp = async () => {
      const { Task, TaskManager, TaskConstraintGroup } = window.taskbuffer;
      const manager = new TaskManager();
      manager.addTask(new Task({ name: 'sync-acme', labels: { tenantId: 'acme' }, taskFunction: async () => 1 }));
      manager.addTask(new Task({ name: 'sync-globex', labels: { tenantId: 'globex' }, catchErrors: true, taskFunction: async () => { throw new Error('quota exceeded'); } }));
      manager.addTask(new Task({ name: 'cert-renew', catchErrors: true, taskFunction: async () => { throw new Error('ACME challenge failed'); } }));
      manager.addTask(new Task({ name: '<b>report</b>', labels: { 'a"b': '<i>x</i>' }, taskFunction: async () => 1 }));
      manager.addConstraintGroup(new TaskConstraintGroup({ name: 'tenant-import', constraintKeyForExecution: (task) => task.getLabel('tenantId') ?? null }));
      for (const name of ['sync-acme', 'sync-globex', 'cert-renew']) await manager.triggerTaskByName(name);
      const dashboard = document.createElement('taskbuffer-dashboard');
      dashboard.taskManager = manager;
      document.body.append(dashboard);
      window.t = { manager, dashboard, filterEvents: [] };
      document.addEventListener('taskbuffer-filter-change', (event) => window.t.filterEvents.push(event.detail.query));
    };
    await page.evaluate(setUp);
    await waitInPage(page, 'four tasks', () => summaryOf('taskbuffer-dashboard') === '4 tasks');
    const search = page.locator('taskbuffer-dashboard input[name="search"]');
    const shownAfter = async (query: string, expected: string) => {
      await search.fill(query);
      await waitInPage(page, `the summary for "${query}": ${expected}`, (want) => summaryOf('taskbuffer-dashboard') === want, expected);
      return (await taskNames(page)).sort();
    };

    await page.locator('body').press('/');
    assert.equal(await page.evaluate(() => (document.querySelector('taskbuffer-dashboard')!.shadowRoot!.activeElement as HTMLInputElement | null)?.name), 'search', '"/" focused the search box');
    await page.keyboard.type('acme');
    await waitInPage(page, 'the typed query to filter', () => summaryOf('taskbuffer-dashboard') === '2 of 4 tasks');
    assert.deepEqual((await taskNames(page)).sort(), ['cert-renew', 'sync-acme'], 'free text matches a name or an error message');
    await page.keyboard.type('/');
    assert.equal(await search.inputValue(), 'acme/', 'in the search box, "/" is just a slash');

    assert.deepEqual(await shownAfter('status:failed acme', '1 of 4 tasks'), ['cert-renew']);
    assert.deepEqual(await shownAfter('label:tenantId=globex', '1 of 4 tasks'), ['sync-globex']);
    assert.deepEqual(await shownAfter('label:tenantId', '2 of 4 tasks'), ['sync-acme', 'sync-globex']);
    assert.deepEqual(await shownAfter('group:tenant-import key:acme', '1 of 4 tasks'), ['sync-acme']);
    assert.deepEqual(await shownAfter('group:tenant-import QUOTA', '1 of 4 tasks'), ['sync-globex']);
    assert.deepEqual(await shownAfter('"<b>report"', '1 of 4 tasks'), ['<b>report</b>'], 'a markup-like name is found and shown as text');
    assert.deepEqual(await shownAfter('status:running', '0 of 4 tasks'), []);
    assert.ok((await page.evaluate(() => window.t.filterEvents as string[])).includes('status:running'), 'each change is reported');

    const query = 'status:failed label:"tenantId=globex"';
    await shownAfter(query, '1 of 4 tasks');
    await waitInPage(page, 'the query in the URL', (want) => new URL(location.href).searchParams.get('tb-search') === want, query);
    const bookmark = page.url();
    assert.ok(bookmark.includes('tb-search='), bookmark);

    // Opening the bookmarked URL shows the same filtered view.
    await page.goto(bookmark);
    await waitInPage(page, 'the fixture bundle to load again', () => window.taskbufferWeb !== undefined);
    await page.evaluate(setUp);
    await waitInPage(page, 'the bookmarked filter', () => summaryOf('taskbuffer-dashboard') === '1 of 4 tasks');
    assert.deepEqual(await taskNames(page), ['sync-globex']);
    assert.equal(await search.inputValue(), query);

    // Clearing the search takes the parameter out of the URL; going back in history brings the query back.
    await page.evaluate(() => history.pushState(null, '', location.href));
    await shownAfter('', '4 tasks');
    await waitInPage(page, 'the parameter to leave the URL', () => !new URL(location.href).searchParams.has('tb-search'));
    await page.goBack();
    await waitInPage(page, 'the query back after going back', () => summaryOf('taskbuffer-dashboard') === '1 of 4 tasks');
    assert.equal(await page.evaluate(() => window.__xss), undefined);
  });

  test('shows runs per minute, failure rate and p50/p95 duration of the last hour, per task and in total, as sparklines with a text alternative', async (t) => {
    const page = await fixturePage(t);
    await page.evaluate(async () => {
      const { Task, TaskManager } = window.taskbuffer;
      const manager = new TaskManager();
      manager.addTask(new Task({ name: 'steady', taskFunction: async () => new Promise((resolve) => setTimeout(resolve, 20)) }));
      manager.addTask(new Task({ name: 'flaky', catchErrors: true, taskFunction: async () => { throw new Error('nope'); } }));
      manager.addTask(new Task({ name: 'never', taskFunction: async () => 1 }));
      const dashboard = document.createElement('taskbuffer-dashboard');
      dashboard.taskManager = manager;
      document.body.append(dashboard);
      await dashboard.updateComplete;
      for (let run = 0; run < 3; run++) await manager.triggerTaskByName('steady');
      await manager.triggerTaskByName('flaky');
    });
    await waitInPage(page, 'the totals to count four runs, one failed', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('[data-total="failure-rate"] .total-value')?.textContent === '25%');
    const read = await page.evaluate(() => {
      const shadow = document.querySelector('taskbuffer-dashboard')!.shadowRoot!;
      const card = (name: string) => shadow.querySelector(`.task[data-task="${name}"] .metrics`)!;
      return {
        throughput: shadow.querySelector('[data-total="throughput"] svg')!.getAttribute('aria-label'),
        duration: shadow.querySelector('[data-total="duration"] .total-value')!.textContent,
        steady: card('steady').textContent!.trim(),
        steadyBars: card('steady').querySelector('.bars-completed')!.getAttribute('d'),
        flaky: card('flaky').textContent!.trim(),
        flakyBars: card('flaky').querySelector('.bars-failed')!.getAttribute('d'),
        flakyLabel: card('flaky').querySelector('svg')!.getAttribute('aria-label'),
        never: card('never').textContent!.trim(),
      };
    });
    assert.match(read.throughput ?? '', /4 runs, 1 failed/);
    assert.match(read.duration ?? '', /^\d+(\.\d)? (ms|s) \/ \d+(\.\d)? (ms|s)$/);
    assert.match(read.steady, /^3 runs · 0% failed · p95 \d+ ms$/);
    assert.match(read.steadyBars ?? '', /^M118/, 'the current minute is the rightmost bar');
    assert.match(read.flaky, /^1 run · 100% failed/);
    assert.notEqual(read.flakyBars, '', 'failed runs are drawn');
    assert.match(read.flakyLabel ?? '', /^Runs per minute, last 60 minutes: 1 run\/60 min · 100% failed/);
    assert.equal(read.never, 'no runs in the last 60 min');
  });

  test('1,000 tasks are all listed, and a burst of 4,000 events is rendered in a few animation frames', async (t) => {
    const page = await fixturePage(t);
    const initial = await page.evaluate(async () => {
      const { Task, TaskManager } = window.taskbuffer;
      const manager = new TaskManager();
      const steps = [
        { name: 'fetch', description: 'Fetching', percentage: 50 },
        { name: 'store', description: 'Storing', percentage: 50 },
      ] as const;
      for (let i = 0; i < 1000; i++) {
        const task = new Task({
          name: `bulk-${String(i).padStart(4, '0')}`,
          labels: { tenantId: `tenant-${i % 10}` },
          steps,
          taskFunction: async () => {
            task.notifyStep('fetch');
            await null;
            task.notifyStep('store');
          },
        });
        manager.addTask(task);
      }
      const dashboard = document.createElement('taskbuffer-dashboard');
      const started = performance.now();
      dashboard.taskManager = manager;
      document.body.append(dashboard);
      await dashboard.updateComplete;
      window.t = { manager, dashboard, updates: 0, events: 0 };
      return performance.now() - started;
    });
    await waitInPage(page, 'the summary to count 1,000 tasks', () => summaryOf('taskbuffer-dashboard') === '1000 tasks');
    // Only the cards on screen (and a margin) are in the DOM; the summary counts them all.
    const cardsInDom = await page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('.task').length);
    assert.ok(cardsInDom > 0 && cardsInDom < 150, `cards in the DOM: ${cardsInDom}`);
    const burstStarted = await page.evaluate(() => {
      const { manager, dashboard } = window.t;
      (dashboard as unknown as { updated: () => void }).updated = () => void window.t.updates++;
      manager.taskSubject.subscribe(() => void window.t.events++);
      dashboard.statusFilter = 'completed';
      window.t.burstStarted = performance.now();
      for (const task of manager.taskMap.getArray()) void manager.triggerTask(task);
      return window.t.burstStarted as number;
    });
    await waitInPage(page, 'all 1,000 tasks completed on screen', () => summaryOf('taskbuffer-dashboard') === '1000 tasks' &&
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('.task:not([data-status="completed"])').length === 0, undefined, 60_000);
    const burst = await page.evaluate((startedAt) => ({ ms: performance.now() - startedAt, updates: window.t.updates, events: window.t.events }), burstStarted);
    t.diagnostic(`first render of 1,000 tasks: ${Math.round(initial)} ms; burst: ${burst.events} events in ${burst.updates} renders, ${Math.round(burst.ms)} ms until all shown completed`);
    assert.equal(burst.events, 4000);
    assert.ok(burst.updates <= 50, `renders are batched to frames: ${burst.updates} renders for ${burst.events} events`);
    assert.ok(initial < 10_000, `first render took ${Math.round(initial)} ms`);
    assert.ok(burst.ms < 10_000, `the burst took ${Math.round(burst.ms)} ms to show`);

    await page.evaluate(() => {
      window.t.dashboard.statusFilter = '';
      window.t.dashboard.setAttribute('label-filter', 'tenantId=tenant-3');
    });
    await waitInPage(page, 'the 100 tasks of one tenant', () => summaryOf('taskbuffer-dashboard') === '100 of 1000 tasks');
    const tenants = await page.evaluate(() => [...document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll<HTMLElement>('.task')]
      .map((card) => card.querySelector('[data-label="tenantId"] .label-value')?.textContent));
    assert.ok(tenants.length > 0 && tenants.every((tenant) => tenant === 'tenant-3'), `shown tenants: ${[...new Set(tenants)].join(', ')}`);
  });

  test('shows 1,000 tasks at once, and an event reaches the DOM quickly while 500 events per second arrive (sanity bounds; the readme has the figures)', async (t) => {
    const first = await fixturePage(t);
    const firstShownMs = await first.evaluate(benchFirstShown, 1000);
    const page = await fixturePage(t);
    const latency = await page.evaluate(benchEventLatency, { tasks: 1000, rate: 500, seconds: 3 });
    t.diagnostic(`1,000 tasks first shown in ${Math.round(firstShownMs)} ms; event to DOM at 500/s: ${JSON.stringify(latency)}`);
    // 5× the targets (300 ms, 50 ms p95): these catch a return to rendering every card, not a slow machine.
    assert.ok(firstShownMs < 1500, `first shown after ${Math.round(firstShownMs)} ms`);
    // A probe that a later probe of the same card replaces within one frame is never drawn, as
    // it should not be; on a loaded machine frames are long and that happens more often.
    assert.ok(latency.seen! >= latency.probes! * 0.5, `most probe events were seen in the DOM: ${latency.seen} of ${latency.probes}`);
    assert.ok(latency.p95! < 250, `event to DOM p95 ${latency.p95} ms`);
    assert.ok(latency.renders! <= latency.events! / 3, `renders are batched to frames: ${latency.renders} for ${latency.events} events`);
  });

  test('10,000 tasks keep only the cards on screen in the DOM, and scrolling or filtering shows the right ones', async (t) => {
    const page = await fixturePage(t);
    await page.evaluate(async () => {
      const { Task, TaskManager } = window.taskbuffer;
      const manager = new TaskManager();
      for (let i = 0; i < 10_000; i++) {
        manager.addTask(new Task({ name: `bulk-${String(i).padStart(5, '0')}`, labels: { tenantId: `tenant-${i % 10}` }, taskFunction: async () => undefined }));
      }
      const dashboard = document.createElement('taskbuffer-dashboard');
      dashboard.taskManager = manager;
      document.body.append(dashboard);
      await dashboard.updateComplete;
      window.t = { manager, dashboard };
    });
    await waitInPage(page, 'the summary to count 10,000 tasks', () => summaryOf('taskbuffer-dashboard') === '10000 tasks');
    const cardsOf = () => page.evaluate(() => [...document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll<HTMLElement>('.task')].map((card) => card.dataset.task!));
    const top = await cardsOf();
    assert.ok(top.length > 0 && top.length < 150, `cards in the DOM at the top: ${top.length}`);
    assert.equal(top[0], 'bulk-00000');

    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await waitInPage(page, 'the last task to be rendered at the bottom', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.task[data-task="bulk-09999"]') !== null);
    const bottom = await cardsOf();
    assert.ok(bottom.length < 150, `cards in the DOM at the bottom: ${bottom.length}`);
    assert.ok(!bottom.includes('bulk-00000'), 'the first cards left the DOM');
    const card = await page.evaluate(() => {
      const element = document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector<HTMLElement>('.task[data-task="bulk-09999"]')!;
      const rect = element.getBoundingClientRect();
      return { top: rect.top, bottom: rect.bottom, viewport: innerHeight, posinset: element.getAttribute('aria-posinset'), setsize: element.getAttribute('aria-setsize') };
    });
    assert.ok(card.top >= 0 && card.bottom <= card.viewport + 1, `the last card is on screen: ${JSON.stringify(card)}`);
    assert.deepEqual([card.posinset, card.setsize], ['10000', '10000'], 'each card says where it sits in the whole list');

    await page.evaluate(() => {
      window.t.dashboard.nameFilter = 'bulk-0999';
    });
    await waitInPage(page, 'the ten tasks named bulk-0999x', () => summaryOf('taskbuffer-dashboard') === '10 of 10000 tasks');
    await waitInPage(page, 'their cards, scrolled into view', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('.task').length === 10);
    assert.deepEqual((await cardsOf()).sort(), Array.from({ length: 10 }, (_, i) => `bulk-0999${i}`));
  });
});

describe('npm start (demo/serve.ts)', () => {
  test('takes the port from --port, then PORT, else 3000, and refuses anything else', () => {
    assert.equal(portFrom([], {}), 3000);
    assert.equal(portFrom([], { PORT: '8080' }), 8080);
    assert.equal(portFrom(['--port', '4000'], { PORT: '8080' }), 4000);
    assert.equal(portFrom(['--port=0'], {}), 0);
    assert.throws(() => portFrom(['--port', 'http'], {}), /expected a port number from 0 to 65535 \(from --port or PORT\), got "http"/);
    assert.throws(() => portFrom([], { PORT: '70000' }), /got "70000"/);
  });

  test('serves the page, prints its URL, and stops cleanly on Ctrl-C (SIGINT)', async (t) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'demo/serve.ts', '--port', '0'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed within ${WAIT_MS} ms; stdout: ${stdout} stderr: ${stderr}`)), WAIT_MS);
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        const match = /open (http:\/\/localhost:\d+\/)/.exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code} before printing a URL: ${stderr}`)));
    });
    const html = await fetch(url);
    assert.equal(html.status, 200);
    assert.match(await html.text(), /<taskbuffer-dashboard/);
    const script = await fetch(new URL('page.js', url));
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /javascript/);
    assert.equal((await fetch(new URL('nope', url))).status, 404);

    const exited = once(child, 'exit');
    child.kill('SIGINT');
    const [code] = await exited;
    assert.equal(code, 0, `exit code after SIGINT (stderr: ${stderr})`);
    assert.match(stdout, /SIGINT, stopping/);
  });
});
