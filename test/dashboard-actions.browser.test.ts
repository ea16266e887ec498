/**
 * `<taskbuffer-dashboard>` actions in Chromium: run with a JSON input checked before it is
 * sent, abort, retry with the last input, pause and resume a task or a group, act on
 * several selected tasks at once; each confirmed first and reported after, and offered only
 * when the `actions` attribute (or a page's own actions layer) allows it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { clickIn, fixturePage, lowContrastTexts, startBrowserFixture, textsIn, waitInPage, type IBrowserFixture } from './dashboard-browser-helpers.js';

let fixture: IBrowserFixture;

before(async () => {
  fixture = await startBrowserFixture();
});

after(async () => {
  await fixture?.close();
});

/**
 * A page with a manager of three tasks: `echo` records its inputs, `hold` runs until
 * released (or aborted), `flaky` fails on its first run. The dashboard has `actions`.
 */
async function actionsPage(t: TestContext, actions: string | undefined): Promise<Page> {
  const page = await fixturePage(t, fixture);
  await page.evaluate((attribute) => {
    const { Task, TaskManager, TaskConstraintGroup } = window.taskbuffer;
    const manager = new TaskManager();
    const inputs: unknown[] = [];
    let runs = 0;
    manager.addTask(new Task({ name: 'echo', taskFunction: async (input: unknown) => void inputs.push(input) }));
    manager.addTask(new Task({
      name: 'hold',
      taskFunction: (_input: unknown, _setup, context) => new Promise<void>((resolve, reject) => {
        window.t.releaseHold = resolve;
        context.signal.addEventListener('abort', () => reject(new Error('stopped')));
      }),
    }));
    manager.addTask(new Task({
      name: 'flaky',
      catchErrors: true,
      taskFunction: async (input: unknown) => {
        inputs.push(input);
        if (++runs === 1) throw new Error('upstream 503');
      },
    }));
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'holds', maxConcurrent: 1, constraintKeyForExecution: (task) => (task.name === 'hold' ? 'h' : null) }));
    window.t = { manager, inputs };
    const dashboard = document.createElement('taskbuffer-dashboard');
    dashboard.refreshInterval = 100;
    if (attribute !== undefined) dashboard.setAttribute('actions', attribute);
    dashboard.taskManager = manager;
    document.body.append(dashboard);
  }, actions);
  await waitInPage(page, 'three cards', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot?.querySelectorAll('.task').length === 3);
  return page;
}

function dialogText(page: Page): Promise<string | undefined> {
  return page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.dialog')?.textContent?.replace(/\s+/g, ' ').trim());
}

async function waitForToast(page: Page, pattern: RegExp, outcome: string): Promise<string> {
  await waitInPage(page, `a ${outcome} toast matching ${pattern}`, ([source, flags, wanted]) =>
    [...document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll<HTMLElement>('.toast')]
      .some((toast) => toast.dataset.outcome === wanted && new RegExp(source!, flags).test(toast.textContent ?? '')), [pattern.source, pattern.flags, outcome]);
  return (await textsIn(page, `.toast[data-outcome="${outcome}"]`)).find((text) => pattern.test(text))!;
}

async function typeInput(page: Page, text: string): Promise<void> {
  await page.locator('taskbuffer-dashboard .dialog textarea').fill(text);
}

function isConfirmDisabled(page: Page): Promise<boolean> {
  return page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector<HTMLButtonElement>('.dialog .confirm')!.disabled);
}

describe('actions', () => {
  test('none without the attribute or with actions=""; only the ones named otherwise', async (t) => {
    for (const attribute of [undefined, '']) {
      const page = await actionsPage(t, attribute);
      const controls = await page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('button, .select, .bulk, .toasts').length);
      assert.equal(controls, 0, `actions=${JSON.stringify(attribute)}`);
    }
    const page = await actionsPage(t, 'pause');
    const actions = await page.evaluate(() => [...document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll<HTMLElement>('.task [data-action]')]
      .map((button) => button.dataset.action));
    assert.deepEqual([...new Set(actions)], ['pause']);
    assert.deepEqual(await textsIn(page, '.bulk button'), ['Pause…', 'Resume…', 'Select shown', 'Clear']);
  });

  test('run: the JSON input is checked before anything is sent; Cancel and Escape send nothing; the outcome is reported', async (t) => {
    const page = await actionsPage(t, 'all');
    await clickIn(page, '.task[data-task="echo"] [data-action="trigger"]');
    assert.match((await dialogText(page))!, /^Run echo Run echo with this input \(JSON; empty for none\)\? Input \(JSON\)/);
    assert.equal(await page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.activeElement?.tagName), 'TEXTAREA');
    await typeInput(page, '{"tenant": "acme",');
    assert.equal(await isConfirmDisabled(page), true);
    assert.match((await textsIn(page, '.input-error'))[0]!, /^not valid JSON: /);
    await clickIn(page, '.dialog .cancel');
    assert.equal(await dialogText(page), undefined);
    await clickIn(page, '.task[data-task="echo"] [data-action="trigger"]');
    // Modal: Tab goes round the dialog's controls and never reaches the page behind.
    const focused = () => page.evaluate(() => {
      const active = document.querySelector('taskbuffer-dashboard')!.shadowRoot!.activeElement as HTMLElement | null;
      return active?.tagName === 'BUTTON' ? active.textContent : active?.tagName;
    });
    assert.equal(await focused(), 'TEXTAREA');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Cancel');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Run');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'TEXTAREA');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await focused(), 'Run');
    await page.keyboard.press('Escape');
    assert.equal(await dialogText(page), undefined);
    // The focus is back on the button that opened it.
    assert.equal(await page.evaluate(() => (document.querySelector('taskbuffer-dashboard')!.shadowRoot!.activeElement as HTMLElement | null)?.dataset.action), 'trigger');
    assert.deepEqual(await page.evaluate(() => window.t.inputs), []);

    await clickIn(page, '.task[data-task="echo"] [data-action="trigger"]');
    await typeInput(page, '{"tenant": "acme", "full": true}');
    assert.equal(await isConfirmDisabled(page), false);
    await clickIn(page, '.dialog .confirm');
    await waitForToast(page, /^echo: run ended$/, 'ok');
    assert.deepEqual(await page.evaluate(() => window.t.inputs), [{ tenant: 'acme', full: true }]);
  });

  test('the confirmation dialog and its buttons are readable in both themes', async (t) => {
    const page = await actionsPage(t, 'all');
    await clickIn(page, '.act[data-action="trigger"][data-task="echo"]');
    await waitInPage(page, 'the dialog', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.dialog .confirm') !== null);
    for (const theme of ['light', 'dark']) {
      await page.evaluate((value) => document.querySelector('taskbuffer-dashboard')!.setAttribute('theme', value), theme);
      assert.deepEqual(await page.evaluate(lowContrastTexts), [], `${theme} theme`);
    }
  });

  test('retry: offered on a failed task, prefilled with the last input this dashboard sent, editable', async (t) => {
    const page = await actionsPage(t, 'trigger retry');
    assert.equal(await page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.shadowRoot!
      .querySelector<HTMLButtonElement>('.task[data-task="flaky"] [data-action="retry"]')!.disabled), true);
    await clickIn(page, '.task[data-task="flaky"] [data-action="trigger"]');
    await typeInput(page, '{"attempt": 1}');
    await clickIn(page, '.dialog .confirm');
    await waitForToast(page, /^flaky: run ended$/, 'ok'); // catchErrors: the trigger resolves, the task failed
    await waitInPage(page, 'flaky failed', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!
      .querySelector<HTMLButtonElement>('.task[data-task="flaky"][data-status="failed"] [data-action="retry"]')?.disabled === false);
    await clickIn(page, '.task[data-task="flaky"] [data-action="retry"]');
    const prefilled = await page.locator('taskbuffer-dashboard .dialog textarea').inputValue();
    assert.deepEqual(JSON.parse(prefilled), { attempt: 1 });
    await typeInput(page, '{"attempt": 2}');
    await clickIn(page, '.dialog .confirm');
    await waitInPage(page, 'flaky completed', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.task[data-task="flaky"][data-status="completed"]') !== null);
    assert.deepEqual(await page.evaluate(() => window.t.inputs), [{ attempt: 1 }, { attempt: 2 }]);
  });

  test('abort: from the card (disabled while nothing runs) and from the lane of the key it holds', async (t) => {
    const page = await actionsPage(t, 'all');
    assert.equal(await page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.shadowRoot!
      .querySelector<HTMLButtonElement>('.task[data-task="hold"] [data-action="abort"]')!.disabled), true);
    await page.evaluate(() => {
      window.t.first = window.t.manager.triggerTaskByName('hold', undefined, { runId: 'h-1' }).catch((error: Error) => error.name);
    });
    await waitInPage(page, 'hold running', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!
      .querySelector<HTMLButtonElement>('.task[data-task="hold"][data-status="running"] [data-action="abort"]')?.disabled === false);
    await clickIn(page, '.task[data-task="hold"] [data-action="abort"]');
    await waitInPage(page, 'the abort dialog', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.dialog') !== null);
    assert.match((await dialogText(page))!, /Abort run h-1 of hold\?/);
    await clickIn(page, '.dialog .confirm');
    assert.equal(await waitForToast(page, /^Aborted run h-1$/, 'ok'), 'Aborted run h-1');
    assert.equal(await page.evaluate(() => window.t.first), 'AbortError');

    await page.evaluate(() => void window.t.manager.triggerTaskByName('hold', undefined, { runId: 'h-2' }).catch(() => undefined));
    await waitInPage(page, 'the lane of h with its abort button', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!
      .querySelector('.group-key[data-key="h"] [data-action="abort-run"][data-run="h-2"]') !== null);
    await clickIn(page, '.group-key[data-key="h"] [data-action="abort-run"]');
    assert.equal(await dialogText(page), 'Abort a run Abort run h-2 of hold? Cancel Abort');
    await clickIn(page, '.dialog .confirm');
    await waitForToast(page, /^Aborted run h-2$/, 'ok');
  });

  test('pause and resume a task and a group, each confirmed, the badge following', async (t) => {
    const page = await actionsPage(t, 'all');
    await clickIn(page, '.task[data-task="echo"] [data-action="pause"]');
    assert.match((await dialogText(page))!, /^Pause echo Pause echo\? New runs wait until resumed/);
    await clickIn(page, '.dialog .confirm');
    await waitForToast(page, /^Paused echo$/, 'ok');
    await waitInPage(page, 'echo paused', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.task[data-task="echo"] [data-badge="paused"]') !== null);
    assert.equal(await page.evaluate(() => window.t.manager.getTaskByName('echo').paused ?? window.t.manager.getTaskMetadata('echo').paused), true);
    await clickIn(page, '.task[data-task="echo"] [data-action="resume"]');
    await clickIn(page, '.dialog .confirm');
    await waitForToast(page, /^Resumed echo$/, 'ok');

    await clickIn(page, '.group[data-group="holds"] [data-action="pause-group"]');
    assert.match((await dialogText(page))!, /^Pause group holds/);
    await clickIn(page, '.dialog .confirm');
    await waitInPage(page, 'the group paused', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.group[data-group="holds"] [data-badge="paused"]') !== null);
    assert.equal(await page.evaluate(() => window.t.manager.getConstraintGroupStates()[0].paused), true);
    await clickIn(page, '.group[data-group="holds"] [data-action="resume-group"]');
    await clickIn(page, '.dialog .confirm');
    await waitForToast(page, /^Resumed group holds$/, 'ok');
    assert.equal(await page.evaluate(() => window.t.manager.getConstraintGroupStates()[0].paused), false);
  });

  test('several selected tasks at once: pause, resume and run with one input; the count follows the selection', async (t) => {
    const page = await actionsPage(t, 'all');
    assert.deepEqual(await textsIn(page, '[data-count="selected"]'), ['0 selected']);
    await page.locator('taskbuffer-dashboard .task[data-task="echo"] .select').check();
    await page.locator('taskbuffer-dashboard .task[data-task="flaky"] .select').check();
    assert.deepEqual(await textsIn(page, '[data-count="selected"]'), ['2 selected']);
    await clickIn(page, '.bulk [data-bulk="pause"]');
    assert.match((await dialogText(page))!, /^Pause echo and flaky/);
    await clickIn(page, '.dialog .confirm');
    await waitForToast(page, /^Paused echo and flaky$/, 'ok');
    assert.deepEqual(await page.evaluate(() => ['echo', 'hold', 'flaky'].map((name) => window.t.manager.getTaskMetadata(name).paused === true)), [true, false, true]);
    await clickIn(page, '.bulk [data-bulk="resume"]');
    await clickIn(page, '.dialog .confirm');
    await waitForToast(page, /^Resumed echo and flaky$/, 'ok');

    await clickIn(page, '.bulk [data-bulk="trigger"]');
    await typeInput(page, '[1, 2]');
    await clickIn(page, '.dialog .confirm');
    await waitForToast(page, /^echo: run ended$/, 'ok');
    await waitForToast(page, /^flaky: run ended$/, 'ok');
    assert.deepEqual(await page.evaluate(() => window.t.inputs), [[1, 2], [1, 2]]);
    await clickIn(page, '.bulk [data-bulk="clear"]');
    assert.deepEqual(await textsIn(page, '[data-count="selected"]'), ['0 selected']);
  });

  test('a page\'s own actions layer decides what is offered per task; hostile names stay text in buttons, dialogs and toasts', async (t) => {
    const page = await fixturePage(t, fixture);
    const hostile = '<img src=x onerror="window.__xss=1">';
    await page.evaluate((name) => {
      const { Task, TaskManager } = window.taskbuffer;
      const manager = new TaskManager();
      manager.addTask(new Task({ name, taskFunction: async () => 1 }));
      manager.addTask(new Task({ name: 'secret', taskFunction: async () => 2 }));
      const calls: string[] = [];
      const layer = {
        allowed: (action: string, taskName?: string) => action === 'pause' && taskName !== 'secret',
        trigger: async () => undefined,
        activeRuns: async () => [],
        abortRun: async () => false,
        pauseTask: async (taskName: string) => void calls.push(`pause ${taskName}`),
        resumeTask: async () => undefined,
        pauseGroup: async () => undefined,
        resumeGroup: async () => undefined,
      };
      window.t = { calls };
      const dashboard = document.createElement('taskbuffer-dashboard');
      dashboard.dashboardActions = layer;
      dashboard.taskManager = manager;
      document.body.append(dashboard);
    }, hostile);
    await waitInPage(page, 'two cards', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot?.querySelectorAll('.task').length === 2);
    const buttons = await page.evaluate(() => [...document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll<HTMLElement>('.task [data-action]')]
      .map((button) => `${button.dataset.task}:${button.dataset.action}`));
    assert.deepEqual(buttons, [`${hostile}:pause`]);
    await page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector<HTMLElement>('.task [data-action="pause"]')!.click());
    assert.equal(await dialogText(page), `Pause ${hostile} Pause ${hostile}? New runs wait until resumed; running ones finish. Cancel Pause`);
    await clickIn(page, '.dialog .confirm');
    assert.equal(await waitForToast(page, /^Paused /, 'ok'), `Paused ${hostile}`);
    assert.deepEqual(await page.evaluate(() => window.t.calls), [`pause ${'<img src=x onerror="window.__xss=1">'}`]);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('img').length), 0);
  });
});
