/**
 * `<taskbuffer-dashboard>` says why runs wait, in Chromium: one lane per key with the runs
 * holding it, every waiting run with its reason in words (held, cap, cooldown, paused,
 * shouldExecute), and the timeline of runs per key.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fixturePage, startBrowserFixture, textsIn, waitInPage, type IBrowserFixture } from './dashboard-browser-helpers.js';

let fixture: IBrowserFixture;

before(async () => {
  fixture = await startBrowserFixture();
});

after(async () => {
  await fixture?.close();
});

/** Shadow root of the one dashboard on the page (page functions cannot call helpers of this file). */
const SHADOW = "document.querySelector('taskbuffer-dashboard').shadowRoot";

describe('why a run waits', () => {
  test('a lane per key names the run holding it; waiting runs say "held by run … of …", "cap 2/2 reached", "cooldown …"', async (t) => {
    const page = await fixturePage(t, fixture);
    await page.evaluate(() => {
      const { Task, TaskManager, TaskConstraintGroup } = window.taskbuffer;
      const manager = new TaskManager();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      manager.addTask(new Task({ name: 'sync-acme', taskFunction: () => gate }));
      manager.addTask(new Task({ name: 'crawl', taskFunction: () => gate }));
      manager.addTask(new Task({ name: 'mail', taskFunction: async () => 'sent' }));
      manager.addConstraintGroup(new TaskConstraintGroup({
        name: 'tenant', maxConcurrent: 1,
        constraintKeyForExecution: (task, input?: string) => (task.name === 'sync-acme' ? input ?? null : null),
      }));
      manager.addConstraintGroup(new TaskConstraintGroup({
        name: 'per-domain', maxConcurrent: 2,
        constraintKeyForExecution: (task, input?: string) => (task.name === 'crawl' ? input ?? null : null),
      }));
      manager.addConstraintGroup(new TaskConstraintGroup({
        name: 'mail-cooldown', cooldownMs: 60_000,
        constraintKeyForExecution: (task) => (task.name === 'mail' ? 'smtp' : null),
      }));
      void manager.triggerTaskByName('sync-acme', 'acme', { runId: '42' });
      void manager.triggerTaskByName('sync-acme', 'acme', { runId: '43' });
      void manager.triggerTaskByName('crawl', 'example.com', { runId: 'c1' });
      void manager.triggerTaskByName('crawl', 'example.com', { runId: 'c2' });
      void manager.triggerTaskByName('crawl', 'example.com', { runId: 'c3' });
      void manager.triggerTaskByName('mail').then(() => void manager.triggerTaskByName('mail', undefined, { runId: 'm2' }));
      window.t = { manager, release };
      const dashboard = document.createElement('taskbuffer-dashboard');
      dashboard.refreshInterval = 100;
      dashboard.taskManager = manager;
      document.body.append(dashboard);
    });
    await waitInPage(page, 'three waiting runs', new Function(`return ${SHADOW}?.querySelectorAll('.waiting-run').length === 3`) as () => boolean);
    const waiting = await textsIn(page, '.waiting-run');
    assert.ok(waiting.some((text) => /^sync-acme \(run 43\): held by run 42 of sync-acme for [\d.]+ (ms|s)$/.test(text)), waiting.join(' | '));
    assert.ok(waiting.includes('crawl (run c3): cap 2/2 reached on example.com'), waiting.join(' | '));
    assert.ok(waiting.some((text) => /^mail \(run m2\): cooldown (59|60|5\d) s$/.test(text)), waiting.join(' | '));
    const reasons = await page.evaluate(() => [...document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll<HTMLElement>('.waiting-run')]
      .map((element) => element.dataset.reason).sort());
    assert.deepEqual(reasons, ['cap', 'cooldown', 'held']);

    const lane = await textsIn(page, '.group[data-group="tenant"] .group-key[data-key="acme"]');
    assert.match(lane[0]!, /acme 1\/1 running 1 waiting run 42 of sync-acme for/);
    const holders = await textsIn(page, '.group[data-group="per-domain"] .key-holder');
    assert.deepEqual(holders.map((text) => text.replace(/ for .*/, '')), ['run c1 of crawl', 'run c2 of crawl']);
    assert.match((await textsIn(page, '.group[data-group="mail-cooldown"] .key-cooldown'))[0]!, /^cooldown \d+ s left$/);
    // No actions attribute: no action control anywhere.
    assert.equal(await page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('button, .select, .bulk').length), 0);

    await page.evaluate(() => window.t.release());
    await waitInPage(page, 'the held runs to end and the waiting list to shrink to the cooldown', new Function(
      `return [...${SHADOW}.querySelectorAll('.waiting-run')].map((e) => e.dataset.reason).join() === 'cooldown'`) as () => boolean);
  });

  test('"group … paused", "task paused", and what a shouldExecute said', async (t) => {
    const page = await fixturePage(t, fixture);
    await page.evaluate(() => {
      const { Task, TaskManager, TaskConstraintGroup } = window.taskbuffer;
      const manager = new TaskManager();
      manager.addTask(new Task({ name: 'report', taskFunction: async () => 1 }));
      manager.addTask(new Task({ name: 'export', taskFunction: async () => 2 }));
      manager.addTask(new Task({ name: 'charge', taskFunction: async () => 3 }));
      manager.addConstraintGroup(new TaskConstraintGroup({
        name: 'reports', constraintKeyForExecution: (task) => (task.name === 'report' ? 'all' : null),
      }));
      manager.addConstraintGroup(new TaskConstraintGroup({
        name: 'billing', constraintKeyForExecution: (task) => (task.name === 'charge' ? 'card' : null),
        shouldExecute: (task) => task.name !== 'charge',
      }));
      manager.pauseConstraintGroup('reports');
      manager.pauseTask('export');
      void manager.triggerTaskByName('report', undefined, { runId: 'r1' });
      void manager.triggerTaskByName('export', undefined, { runId: 'e1' });
      void manager.triggerTaskByName('charge', undefined, { runId: 'pay-7' });
      const dashboard = document.createElement('taskbuffer-dashboard');
      dashboard.refreshInterval = 100;
      dashboard.taskManager = manager;
      document.body.append(dashboard);
    });
    await waitInPage(page, 'two waiting runs and a refusal', new Function(
      `const s = ${SHADOW}; return s?.querySelectorAll('.waiting-run').length === 2 && s.querySelector('.group-refusal') !== null`) as () => boolean);
    assert.deepEqual((await textsIn(page, '.waiting-run')).sort(), ['export (run e1): task paused', 'report (run r1): group reports paused']);
    assert.match((await textsIn(page, '.group[data-group="billing"] .group-refusal'))[0]!, /^shouldExecute said no to run pay-7 of charge, [\d.]+ (ms|s) ago$/);
    assert.deepEqual(await textsIn(page, '.group[data-group="reports"] [data-badge="paused"]'), ['paused']);
  });

  test('the timeline shows the runs of each key as bars, cooldowns after them, with their words as titles; hostile names stay text', async (t) => {
    const page = await fixturePage(t, fixture);
    const hostile = '<img src=x onerror="window.__xss=1">';
    await page.evaluate((name) => {
      const { Task, TaskManager, TaskConstraintGroup } = window.taskbuffer;
      const manager = new TaskManager();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      manager.addTask(new Task({ name, taskFunction: () => gate }));
      manager.addConstraintGroup(new TaskConstraintGroup({
        name: `group ${name}`, maxConcurrent: 1, cooldownMs: 30_000, constraintKeyForExecution: (_task, input?: string) => input ?? null,
      }));
      void manager.triggerTaskByName(name, name, { runId: `r-${name}` });
      window.t = { manager, release };
      const dashboard = document.createElement('taskbuffer-dashboard');
      dashboard.refreshInterval = 100;
      dashboard.taskManager = manager;
      document.body.append(dashboard);
    }, hostile);
    await waitInPage(page, 'a running bar', new Function(`return ${SHADOW}?.querySelector('.timeline .bar[data-kind="running"]') !== null`) as () => boolean);
    await page.evaluate(() => window.t.release());
    await waitInPage(page, 'a completed bar and a cooldown bar', new Function(
      `const s = ${SHADOW}; return s.querySelector('.bar[data-kind="completed"]') !== null && s.querySelector('.bar[data-kind="cooldown"]') !== null`) as () => boolean);
    const row = await page.evaluate(() => {
      const element = document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector<HTMLElement>('.timeline-row')!;
      return {
        key: element.dataset.key,
        label: element.querySelector('.timeline-key')!.textContent,
        titles: [...element.querySelectorAll('title')].map((title) => title.textContent),
        aria: element.querySelector('svg')!.getAttribute('aria-label'),
      };
    });
    assert.equal(row.key, hostile);
    assert.equal(row.label, `${hostile} · group ${hostile}`);
    assert.match(row.titles[0]!, new RegExp(`^run r-.* of .*, completed after`));
    assert.match(row.titles[1]!, /^cooldown of 30 s$/);
    assert.match(row.aria!, /: 1 runs in the last [\d.]+ s, 1 cooldowns$/); // a page opened just now shows its first 30 s
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('img').length), 0);
  });
});
