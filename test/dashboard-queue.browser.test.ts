/**
 * The dashboard's queue view in Chromium, over the network as an operator's page sees it: a
 * real redis-server, a RedisTaskQueue working for a TaskManager, a TaskGateway with that
 * queue, and in the page a TaskGatewayClient whose `client.queue` is the dashboard's
 * `queue`. The page's actions layer is a minimal one over the client's scopes, written here;
 * one test uses the dashboard's own remote layer instead (its `client` property).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import type { TaskbufferDashboard } from 'taskbuffer/web';
import { Task, type TaskManager } from '../ts/index.js';
import type { RedisTaskQueue } from '../ts/coordinator/redis.js';
import { clickIn, lowContrastTexts, textsIn, waitInPage } from './dashboard-browser-helpers.js';
import { ADMIN, gatewayFor } from './gateway-helpers.js';
import { queueFor, uniqueQueueName } from './jobqueue-helpers.js';
import { rejectionOf } from './manager-helpers.js';
import { failIfProcessLingers, startRedis, type IRedisServer } from './redis-helpers.js';
import { remotePage, startRemotePageFixture, type IRemotePageFixture } from './remote-page-helpers.js';

let redis: IRedisServer;
let fixture: IRemotePageFixture;

before(async () => {
  redis = await startRedis();
  fixture = await startRemotePageFixture();
});

after(async () => {
  await fixture?.close();
  await redis?.stop();
  failIfProcessLingers('dashboard-queue.browser.test.ts');
});

const READER = { name: 'reader', key: 'reader-key-1234' };
const IMAGES = { name: 'images-ops', key: 'images-key-1234' };
const CREDENTIALS = {
  [READER.name]: { key: READER.key, scopes: ['read'] },
  [IMAGES.name]: { key: IMAGES.key, scopes: ['read', 'control:images'] },
};

interface IQueueWorld {
  queue: RedisTaskQueue;
  manager: TaskManager;
  url: string;
  /** Runs of `flaky` so far (its first run fails, every later one completes). */
  flakyRuns(): number;
}

/**
 * A queue whose worker's manager has `boom` (fails in its step `write`, with code E_DISK) and `flaky`
 * (fails once), behind a gateway with that queue; jobs of other tasks wait for a worker.
 */
async function queueWorld(t: TestContext): Promise<IQueueWorld> {
  const queue = queueFor(t, redis.url, uniqueQueueName());
  let flakyRuns = 0;
  const { manager, url } = await gatewayFor(t, { queue, credentials: CREDENTIALS });
  const boom = new Task({
    name: 'boom',
    steps: [{ name: 'read', description: 'read the file', percentage: 40 }, { name: 'write', description: 'write it back', percentage: 60 }] as const,
    taskFunction: async () => {
      boom.notifyStep('read');
      boom.notifyStep('write');
      throw Object.assign(new Error('disk full'), { code: 'E_DISK' });
    },
  });
  manager.addTask(boom);
  manager.addTask(new Task({
    name: 'flaky',
    taskFunction: async (input: { image: string }) => {
      if (++flakyRuns === 1) throw new Error('upstream 503');
      return `${input.image} done`;
    },
  }));
  await queue.work(manager);
  return { queue, manager, url, flakyRuns: () => flakyRuns };
}

/** A job that ran and failed for good (one attempt). */
async function failed(queue: RedisTaskQueue, taskName: string, jobId: string, input: unknown): Promise<void> {
  await queue.add(taskName, input, { jobId, retry: { attempts: 1 } });
  await rejectionOf(queue.waitForResult(jobId, { timeoutMs: 10_000 }));
}

/** A page whose dashboard shows `client.queue` of a client connected as `credentials`, with an actions layer over its scopes. */
async function queuePage(t: TestContext, url: string, credentials = ADMIN): Promise<Page> {
  const page = await remotePage(t, fixture);
  await page.evaluate(async ({ url, name, key }) => {
    const { TaskGatewayClient, allows } = window.taskbufferClient;
    const client = new TaskGatewayClient({ url, name, key, reconnect: false });
    await client.connect();
    // The smallest IDashboardActions over a client: what is allowed follows its scopes.
    const scopeOf = (action: string) => (action === 'trigger' || action === 'retry' ? 'trigger' : 'control');
    const actions = {
      allowed: (action: string, taskName?: string) => allows(client.scopes, scopeOf(action), taskName ?? '*'),
      trigger: (taskName: string, input: unknown) => client.trigger(taskName, input).result,
      activeRuns: () => client.getActiveRuns(),
      abortRun: async () => false,
      pauseTask: (taskName: string) => client.pauseTask(taskName),
      resumeTask: (taskName: string) => client.resumeTask(taskName),
      pauseGroup: (groupName: string) => client.pauseConstraintGroup(groupName),
      resumeGroup: (groupName: string) => client.resumeConstraintGroup(groupName),
    };
    const dashboard = document.createElement('taskbuffer-dashboard') as TaskbufferDashboard;
    dashboard.refreshInterval = 150;
    dashboard.queue = client.queue;
    dashboard.dashboardActions = actions as TaskbufferDashboard['dashboardActions'];
    document.body.append(dashboard);
    window.t.client = client;
  }, { url, ...credentials });
  return page;
}

/** The count shown for `state`. */
async function countOf(page: Page, state: string): Promise<string | undefined> {
  return (await textsIn(page, `.queue-counts b[data-count="${state}"]`))[0];
}

async function waitForCount(page: Page, state: string, count: number): Promise<void> {
  await waitInPage(page, `${count} ${state} in the counts`, ([wanted, text]) =>
    document.querySelector('taskbuffer-dashboard')!.shadowRoot?.querySelector(`.queue-counts b[data-count="${wanted}"]`)?.textContent === text, [state, String(count)]);
}

async function waitForText(page: Page, selector: string, pattern: RegExp): Promise<string> {
  await waitInPage(page, `${selector} to read ${pattern}`, ([sel, source, flags]) => {
    const element = document.querySelector('taskbuffer-dashboard')!.shadowRoot?.querySelector(sel!);
    return element !== null && element !== undefined && new RegExp(source!, flags).test(element.textContent!.replace(/\s+/g, ' '));
  }, [selector, pattern.source, pattern.flags]);
  return (await textsIn(page, selector))[0]!;
}

/** The detail panel's facts, each `dt` with its `dd`. */
function factsOf(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() => {
    const terms = [...document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('.queue-facts dt')];
    return Object.fromEntries(terms.map((term) => [term.textContent!.trim(), term.nextElementSibling!.textContent!.replace(/\s+/g, ' ').trim()]));
  });
}

/** The ids in the jobs table, top to bottom. */
function shownIds(page: Page): Promise<string[]> {
  return textsIn(page, '.queue-jobs .job-link');
}

/** Opens the job in the detail panel through the find-by-id form, as a person would type it. */
async function findJob(page: Page, id: string): Promise<void> {
  await page.locator('taskbuffer-dashboard .queue-find input').fill(id);
  await page.locator('taskbuffer-dashboard .queue-find input').press('Enter');
}

async function waitForToast(page: Page, pattern: RegExp, outcome: string): Promise<string> {
  await waitInPage(page, `a ${outcome} toast matching ${pattern}`, ([source, flags, wanted]) =>
    [...document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll<HTMLElement>('.toast')]
      .some((toast) => toast.dataset.outcome === wanted && new RegExp(source!, flags).test(toast.textContent ?? '')), [pattern.source, pattern.flags, outcome]);
  return (await textsIn(page, `.toast[data-outcome="${outcome}"]`)).find((text) => pattern.test(text))!;
}

describe('the queue view', () => {
  test('shows the jobs per state, the waiting jobs no worker has, and pages through a state with next and previous', async (t) => {
    const { queue, url } = await queueWorld(t);
    const waiting = Array.from({ length: 30 }, (_, i) => `resize-${String(i).padStart(2, '0')}`);
    await queue.addBulk(waiting.map((jobId) => ({ taskName: 'images:resize', jobId, labels: { tenant: 'acme' } })));
    await queue.add('images:resize', undefined, { jobId: 'later', delayMs: 600_000 });
    await failed(queue, 'boom', 'boom-1', { file: 'a' });
    const page = await queuePage(t, url);
    await waitForCount(page, 'waiting', 30);
    assert.equal(await countOf(page, 'delayed'), '1');
    assert.equal(await countOf(page, 'failed'), '1');
    assert.equal(await countOf(page, 'active'), '0');
    assert.deepEqual(await textsIn(page, '.queue-no-worker li'), ['30 waiting for a worker that has images:resize']);
    await waitInPage(page, 'the first page', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('.queue-jobs .job-link').length === 25);
    assert.deepEqual(await shownIds(page), waiting.slice(0, 25));
    assert.match((await textsIn(page, '.queue-jobs tbody tr'))[0]!, /^resize-00 images:resize 1 0% tenantacme \d/);
    await clickIn(page, '[data-page="next"]');
    await waitForText(page, '.queue-page', /^page 2/);
    await waitInPage(page, 'the second page', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('.queue-jobs .job-link').length === 5);
    assert.deepEqual(await shownIds(page), waiting.slice(25));
    assert.equal(await page.locator('taskbuffer-dashboard [data-page="next"]').isDisabled(), true);
    await clickIn(page, '[data-page="previous"]');
    await waitInPage(page, 'the first page again', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('.queue-jobs .job-link').length === 25);
    assert.deepEqual(await shownIds(page), waiting.slice(0, 25));
    // A count shows its state's jobs.
    await clickIn(page, '.queue-state[data-state="failed"]');
    await waitInPage(page, 'the failed job listed', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.queue-jobs .job-link')?.textContent === 'boom-1');
    assert.equal(await page.locator('taskbuffer-dashboard .queue-state[data-state="failed"]').getAttribute('aria-pressed'), 'true');
    // The filter narrows the page read.
    await clickIn(page, '.queue-state[data-state="waiting"]');
    await waitInPage(page, 'the waiting page', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('.queue-jobs .job-link').length === 25);
    await page.locator('taskbuffer-dashboard input[name="queue-filter"]').fill('tenant=globex');
    await waitForText(page, '.queue-none', /No job on this page matches the filter/);
  });

  test("opens a failed job by its id, with its input, attempt, progress and steps, instance, times and its error's name, code and message", async (t) => {
    const { queue, url } = await queueWorld(t);
    await failed(queue, 'boom', 'boom-7', { file: 'disk.img', size: 42 });
    const page = await queuePage(t, url);
    await waitForCount(page, 'failed', 1);
    await findJob(page, 'boom-7');
    const error = await waitForText(page, '.queue-job [data-job-error]', /disk full/);
    assert.equal(error, 'Error (E_DISK): disk full');
    assert.deepEqual(await textsIn(page, '.queue-job .status'), ['failed']);
    const facts = await factsOf(page);
    assert.deepEqual(Object.keys(facts), ['task', 'attempt', 'progress', 'instance', 'created', 'started', 'finished']);
    assert.equal(facts.task, 'boom');
    assert.equal(facts.attempt, '1 of 1');
    assert.equal(facts.instance, queue.instanceId, 'the queue instance that ran it');
    assert.equal(facts.progress, '40%, step write');
    const steps = await textsIn(page, '.queue-steps li');
    assert.equal(steps.length, 2);
    assert.match(steps[0]!, /^read completed \d+ ms$/);
    assert.equal(steps[1], 'write active');
    assert.match(facts.finished!, /^\d\d:\d\d:\d\d \S+ \(.+ ago\)$/);
    assert.equal((await textsIn(page, '.queue-job [data-json="input"]'))[0], '{ "file": "disk.img", "size": 42 }');
    // An id the queue does not have says so.
    await findJob(page, 'no-such-job');
    await waitForText(page, '.queue-job [data-missing]', /No job "no-such-job" in the queue/);
    // Readable in both themes: the counts, the state shown, the badges, the detail and its error.
    await findJob(page, 'boom-7');
    await waitForText(page, '.queue-job [data-job-error]', /disk full/);
    for (const theme of ['light', 'dark']) {
      await page.evaluate((value) => document.querySelector('taskbuffer-dashboard')!.setAttribute('theme', value), theme);
      assert.deepEqual(await page.evaluate(lowContrastTexts), [], `${theme} theme`);
    }
    await clickIn(page, '.queue-job-close');
    await waitInPage(page, 'the detail closed', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.queue-job') === null);
  });

  test('cancels a waiting job after asking, reports it, and shows it cancelled', async (t) => {
    const { queue, url } = await queueWorld(t);
    await queue.add('images:resize', { image: 'a.jpg' }, { jobId: 'resize-a' });
    const page = await queuePage(t, url);
    await waitForCount(page, 'waiting', 1);
    // By keyboard: the job's id is a button, the dialog takes the focus, Escape sends nothing, Enter confirms.
    await page.locator('taskbuffer-dashboard .job-link[data-job="resize-a"]').focus();
    await page.keyboard.press('Enter');
    await waitForText(page, '.queue-job .status', /waiting/);
    assert.deepEqual(await textsIn(page, '.queue-job-actions button'), ['Cancel…']);
    await page.locator('taskbuffer-dashboard [data-action="cancel-job"]').focus();
    await page.keyboard.press('Enter');
    assert.deepEqual(await textsIn(page, '.dialog'), ['Cancel job resize-a Cancel job resize-a of images:resize? It will not run. Cancel Cancel job']);
    await waitInPage(page, 'the confirm button focused', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.activeElement?.classList.contains('confirm') === true);
    await page.keyboard.press('Escape');
    await waitInPage(page, 'the dialog closed', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.dialog') === null);
    assert.equal((await queue.getJob('resize-a'))?.state, 'waiting');
    await clickIn(page, '[data-action="cancel-job"]');
    await waitInPage(page, 'the confirm button focused', () =>
      document.querySelector('taskbuffer-dashboard')!.shadowRoot!.activeElement?.classList.contains('confirm') === true);
    await page.keyboard.press('Enter');
    assert.equal(await waitForToast(page, /^Cancelled /, 'ok'), 'Cancelled job resize-a of images:resize');
    assert.equal((await queue.getJob('resize-a'))?.state, 'cancelled');
    await waitForCount(page, 'cancelled', 1);
    assert.equal(await countOf(page, 'waiting'), '0');
    await waitForText(page, '.queue-job .status', /cancelled/);
    assert.match((await textsIn(page, '.queue-job [data-job-error]'))[0]!, /^JobCancelledError \(JOB_CANCELLED\): cancelled by client "admin"/);
    // Now it can be retried instead.
    assert.deepEqual(await textsIn(page, '.queue-job-actions button'), ['Retry…']);
  });

  test('retries a failed job after asking: it runs again, and completes', async (t) => {
    const { queue, url, flakyRuns } = await queueWorld(t);
    await failed(queue, 'flaky', 'flaky-1', { image: 'b.jpg' });
    const page = await queuePage(t, url);
    await waitForCount(page, 'failed', 1);
    await findJob(page, 'flaky-1');
    await waitForText(page, '.queue-job [data-job-error]', /upstream 503/);
    await clickIn(page, '[data-action="retry-job"]');
    assert.deepEqual(await textsIn(page, '.dialog h3'), ['Retry job flaky-1']);
    await clickIn(page, '.dialog .confirm');
    assert.match(await waitForToast(page, /^Retried /, 'ok'), /^Retried job flaky-1 of flaky: (waiting|active|completed) again$/);
    await waitForCount(page, 'completed', 1);
    assert.equal(await countOf(page, 'failed'), '0');
    assert.equal(flakyRuns(), 2);
    await waitForText(page, '.queue-job .status', /completed/);
    assert.equal((await textsIn(page, '.queue-job [data-json="result"]'))[0], '"b.jpg done"');
  });

  test('says in words when the queue cannot be read, and keeps showing what it read last', async (t) => {
    const { queue, url } = await queueWorld(t);
    await queue.addBulk([{ taskName: 'images:resize', jobId: 'kept-1' }, { taskName: 'images:resize', jobId: 'kept-2' }]);
    const page = await queuePage(t, url);
    await waitForCount(page, 'waiting', 2);
    await page.evaluate(() => window.t.client.close());
    const error = await waitForText(page, '.queue-error', /Could not read the queue/);
    assert.match(error, /^Could not read the queue: .+/);
    assert.equal(await countOf(page, 'waiting'), '2');
    assert.deepEqual(await shownIds(page), ['kept-1', 'kept-2']);
  });

  test('shows a hostile job id, label and input as text, never as HTML', async (t) => {
    const { queue, url } = await queueWorld(t);
    const hostile = '<img src=x onerror="window.__xss=1">';
    await queue.add('images:resize', { note: hostile }, { jobId: hostile, labels: { [hostile]: hostile } });
    const page = await queuePage(t, url);
    await waitInPage(page, 'the hostile job listed', () => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelector('.queue-jobs .job-link') !== null);
    assert.deepEqual(await shownIds(page), [hostile]);
    assert.deepEqual(await textsIn(page, '.queue-jobs .label'), [`${hostile}${hostile}`]);
    await page.locator('taskbuffer-dashboard .queue-jobs .job-link').click();
    await waitForText(page, '.queue-job h4', /Job/);
    assert.deepEqual(await textsIn(page, '.queue-job h4'), [`Job ${hostile}`]);
    assert.deepEqual(await textsIn(page, '.queue-job [data-json="input"]'), [`{ "note": ${JSON.stringify(hostile)} }`]);
    await clickIn(page, '[data-action="cancel-job"]');
    assert.deepEqual(await textsIn(page, '.dialog h3'), [`Cancel job ${hostile}`]);
    await clickIn(page, '.dialog .confirm');
    assert.equal(await waitForToast(page, /^Cancelled /, 'ok'), `Cancelled job ${hostile} of images:resize`);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.evaluate(() => document.querySelector('taskbuffer-dashboard')!.shadowRoot!.querySelectorAll('img').length), 0);
  });

  test("with only a client (its client property), the dashboard shows the gateway's queue, and Cancel and Retry follow the built-in remote actions layer", async (t) => {
    const { queue, url } = await queueWorld(t);
    await queue.add('images:resize', undefined, { jobId: 'resize-r' });
    await failed(queue, 'boom', 'boom-r', undefined);
    const page = await remotePage(t, fixture);
    await page.evaluate(async ({ url, name, key }) => {
      const client = new window.taskbufferClient.TaskGatewayClient({ url, name, key, reconnect: false });
      await client.connect();
      const dashboard = document.createElement('taskbuffer-dashboard') as TaskbufferDashboard;
      dashboard.refreshInterval = 150;
      dashboard.client = client; // no `queue`: the gateway's comes with the client
      document.body.append(dashboard);
    }, { url, ...IMAGES });
    await waitForCount(page, 'waiting', 1);
    await findJob(page, 'resize-r');
    await waitForText(page, '.queue-job .status', /waiting/);
    assert.deepEqual(await textsIn(page, '.queue-job-actions button'), ['Cancel…'], 'control:images covers images:resize');
    await findJob(page, 'boom-r');
    await waitForText(page, '.queue-job .status', /failed/);
    assert.deepEqual(await textsIn(page, '.queue-job-actions button'), [], 'no trigger scope: no Retry');
    await findJob(page, 'resize-r');
    await waitForText(page, '.queue-job .status', /waiting/);
    await clickIn(page, '[data-action="cancel-job"]');
    await clickIn(page, '.dialog .confirm');
    assert.equal(await waitForToast(page, /^Cancelled /, 'ok'), 'Cancelled job resize-r of images:resize');
    assert.equal((await queue.getJob('resize-r'))?.state, 'cancelled');
  });

  test('offers Cancel and Retry only where the client may: none with read only, Cancel without Retry with control of the task', async (t) => {
    const { queue, url } = await queueWorld(t);
    await queue.add('images:resize', undefined, { jobId: 'resize-w' });
    await failed(queue, 'boom', 'boom-f', undefined);
    for (const [credentials, waitingButtons] of [[READER, []], [IMAGES, ['Cancel…']]] as const) {
      const page = await queuePage(t, url, credentials);
      await waitForCount(page, 'waiting', 1);
      await findJob(page, 'resize-w');
      await waitForText(page, '.queue-job .status', /waiting/);
      assert.deepEqual(await textsIn(page, '.queue-job-actions button'), waitingButtons, `${credentials.name} on a waiting job`);
      await findJob(page, 'boom-f');
      await waitForText(page, '.queue-job .status', /failed/);
      assert.deepEqual(await textsIn(page, '[data-action="retry-job"], [data-action="cancel-job"]'), [], `${credentials.name} on a failed job of boom`);
    }
    assert.equal((await queue.getJob('resize-w'))?.state, 'waiting');
  });
});
