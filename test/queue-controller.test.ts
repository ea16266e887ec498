/**
 * The queue view's controller without a browser: paging with `after` against a real
 * RedisTaskQueue (the dashboard's IDashboardQueue is structural, so the queue itself fits),
 * and its polling against a queue whose answers the test holds back: one read at a time,
 * ticks skipped while one is in flight, no timer after disconnect, errors kept in words
 * with the last data, and a late answer of a previous queue ignored.
 */
import assert from 'node:assert/strict';
import { describe, mock, test, type TestContext } from 'node:test';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { RemoteQueue } from '../ts/client/index.js';
import type { IJob, IQueueCounts, RedisTaskQueue, TJobState } from '../ts/coordinator/redis.js';
import type { IDashboardQueue, IDashboardQueueListOptions } from '../ts_web/dashboard-queue-source.js';
import { QUEUE_PAGE_SIZE, QueueController } from '../ts_web/queue-controller.js';
import { clientFor, gatewayFor } from './gateway-helpers.js';
import { queueFor, uniqueQueueName } from './jobqueue-helpers.js';
import { useRedisServer } from './redis-helpers.js';
import { deferred, flush, type Deferred } from './rule-helpers.js';

// Both queues the dashboard is given in practice fit the interface as they are.
const fitsRedis = (queue: RedisTaskQueue): IDashboardQueue => queue;
const fitsRemote = (queue: RemoteQueue): IDashboardQueue => queue;
void fitsRedis;
void fitsRemote;

/** A host as Lit's elements are, without a DOM: counts the updates asked for. */
class FakeHost implements ReactiveControllerHost {
  readonly controllers: ReactiveController[] = [];
  updates = 0;
  readonly updateComplete = Promise.resolve(true);
  addController(controller: ReactiveController): void {
    this.controllers.push(controller);
  }
  removeController(): void {}
  requestUpdate(): void {
    this.updates++;
  }
  connect(): void {
    for (const controller of this.controllers) controller.hostConnected?.();
  }
  disconnect(): void {
    for (const controller of this.controllers) controller.hostDisconnected?.();
  }
}

/** A connected controller over `queue`, disconnected when the test ends (so that no timer is left). */
function controllerFor(t: TestContext, queue: IDashboardQueue, refreshInterval = 0): { view: QueueController; host: FakeHost } {
  const host = new FakeHost();
  const view = new QueueController(host, { refreshInterval });
  view.setQueue(queue);
  host.connect();
  t.after(() => host.disconnect());
  return { view, host };
}

const ids = (jobs: readonly IJob[]) => jobs.map((job) => job.id);

describe('paging a real queue', () => {
  const redis = useRedisServer('queue-controller.test.ts');

  test('pages forward and back through the jobs of a state, knowing when there is no next page', async (t) => {
    const queue = queueFor(t, redis.url, uniqueQueueName());
    const all = Array.from({ length: 2 * QUEUE_PAGE_SIZE + 5 }, (_, i) => `job-${String(i).padStart(3, '0')}`);
    await queue.addBulk(all.map((jobId) => ({ taskName: 'work', jobId })));
    const { view } = controllerFor(t, queue);
    await view.whenIdle();
    assert.equal(view.counts?.waiting, all.length);
    assert.deepEqual(ids(view.jobs), all.slice(0, QUEUE_PAGE_SIZE));
    assert.equal(view.hasMore, true);
    view.nextPage();
    assert.equal(view.pageLoaded, false, 'the previous page is not shown as the next one');
    await view.whenIdle();
    assert.equal(view.pageNumber, 2);
    assert.deepEqual(ids(view.jobs), all.slice(QUEUE_PAGE_SIZE, 2 * QUEUE_PAGE_SIZE));
    view.nextPage();
    await view.whenIdle();
    assert.deepEqual(ids(view.jobs), all.slice(2 * QUEUE_PAGE_SIZE));
    assert.equal(view.hasMore, false);
    view.nextPage(); // nothing after the last page
    assert.equal(view.pageNumber, 3);
    view.previousPage();
    await view.whenIdle();
    assert.equal(view.pageNumber, 2);
    assert.deepEqual(ids(view.jobs), all.slice(QUEUE_PAGE_SIZE, 2 * QUEUE_PAGE_SIZE));
    view.previousPage();
    await view.whenIdle();
    assert.equal(view.pageNumber, 1);
    assert.deepEqual(ids(view.jobs), all.slice(0, QUEUE_PAGE_SIZE));
  });

  test('a state chosen starts from its first page; an exact page count has no empty next page', async (t) => {
    const queue = queueFor(t, redis.url, uniqueQueueName());
    await queue.addBulk(Array.from({ length: QUEUE_PAGE_SIZE }, (_, i) => ({ taskName: 'work', jobId: `w${i}` })));
    await queue.add('work', undefined, { jobId: 'later', delayMs: 60_000 });
    const { view } = controllerFor(t, queue);
    await view.whenIdle();
    assert.equal(view.jobs.length, QUEUE_PAGE_SIZE);
    assert.equal(view.hasMore, false);
    view.showState('delayed');
    await view.whenIdle();
    assert.equal(view.pageNumber, 1);
    assert.deepEqual(ids(view.jobs), ['later']);
  });

  test('filters the page read by label key=value and by task name, every term applying', async (t) => {
    const queue = queueFor(t, redis.url, uniqueQueueName());
    await queue.addBulk([
      { taskName: 'images:resize', jobId: 'a', labels: { tenant: 'acme' } },
      { taskName: 'images:resize', jobId: 'b', labels: { tenant: 'globex' } },
      { taskName: 'mail:send', jobId: 'c', labels: { tenant: 'acme' } },
    ]);
    const { view } = controllerFor(t, queue);
    await view.whenIdle();
    view.setFilter('tenant=acme');
    assert.deepEqual(ids(view.visibleJobs), ['a', 'c']);
    view.setFilter('RESIZE tenant=acme');
    assert.deepEqual(ids(view.visibleJobs), ['a']);
    view.setFilter('tenant=');
    assert.deepEqual(ids(view.visibleJobs), []);
    view.setFilter('  ');
    assert.deepEqual(ids(view.visibleJobs), ['a', 'b', 'c']);
  });

  test('opens a job by its id, also one not on the page, and says when the queue has none by that id', async (t) => {
    const queue = queueFor(t, redis.url, uniqueQueueName());
    await queue.add('work', { n: 1 }, { jobId: 'elsewhere', delayMs: 60_000 });
    const { view } = controllerFor(t, queue);
    await view.whenIdle();
    // Read through a function: an assertion on view.detail would narrow its type for the lines after it.
    const detail = () => view.detail;
    view.showJob(' elsewhere ');
    assert.deepEqual(detail(), { id: 'elsewhere', job: undefined });
    await view.whenIdle();
    assert.equal(detail()?.job?.state, 'delayed');
    assert.deepEqual(detail()?.job?.input, { n: 1 });
    view.showJob('nobody');
    await view.whenIdle();
    assert.deepEqual(detail(), { id: 'nobody', job: null });
  });

  test("a job that cannot be read (an id too long for the gateway) says so in the detail; the counts and the page still refresh", async (t) => {
    const queue = queueFor(t, redis.url, uniqueQueueName());
    await queue.add('work', undefined, { jobId: 'first' });
    const { url } = await gatewayFor(t, { queue });
    const client = await clientFor(t, url);
    const { view } = controllerFor(t, client.queue);
    await view.whenIdle();
    view.showJob('x'.repeat(1025));
    await view.whenIdle();
    assert.equal(view.detail?.job, null);
    assert.match(view.detail?.problem ?? '', /^Could not read job "x{57}\.\.\.": client\.queue\.getJob: expected `id` to be at most 1024 characters, got 1025$/);
    await queue.add('work', undefined, { jobId: 'second' });
    await view.refresh();
    assert.equal(view.error, undefined);
    assert.equal(view.counts?.waiting, 2);
    assert.deepEqual(ids(view.jobs), ['first', 'second']);
  });
});

/** A queue whose every answer waits until the test gives it. */
class HeldQueue implements IDashboardQueue {
  readonly calls: string[] = [];
  readonly pending: Array<Deferred<unknown>> = [];
  getCounts(): Promise<IQueueCounts> {
    return this.held('counts') as Promise<IQueueCounts>;
  }
  listJobs(options: IDashboardQueueListOptions): Promise<IJob[]> {
    return this.held(`list ${options.state} ${options.after ?? '-'}`) as Promise<IJob[]>;
  }
  getJob(id: string): Promise<IJob | null> {
    return this.held(`job ${id}`) as Promise<IJob | null>;
  }
  cancel(): Promise<TJobState> {
    return Promise.resolve('cancelled');
  }
  retry(): Promise<TJobState> {
    return Promise.resolve('waiting');
  }
  /** Answers every held call: counts with `waiting`, pages with `jobs`, or everything with `error`. */
  async answer(reply: { waiting?: number; jobs?: IJob[]; error?: Error }): Promise<void> {
    const calls = this.pending.splice(0);
    const names = this.calls.slice(-calls.length);
    calls.forEach((call, i) => {
      if (reply.error !== undefined) return call.reject(reply.error);
      const name = names[i]!;
      call.resolve(name === 'counts' ? counts(reply.waiting ?? 0) : name.startsWith('list') ? (reply.jobs ?? []) : null);
    });
    await flush();
  }
  private held(name: string): Promise<unknown> {
    this.calls.push(name);
    const call = deferred<unknown>();
    this.pending.push(call);
    return call.promise;
  }
}

function counts(waiting: number): IQueueCounts {
  return { waiting, delayed: 0, active: 0, completed: 0, failed: 0, cancelled: 0, paused: false, waitingByTask: {}, waitingWithoutWorker: {} };
}

function job(id: string): IJob {
  return { id, taskName: 'work', input: undefined, state: 'waiting', attempt: 1, stalls: 0, progress: 0, steps: [], priority: 0, labels: {}, createdAt: 0 };
}

describe('polling', () => {
  test('reads once at connect and every interval, skipping ticks while a read is in flight', async (t) => {
    mock.timers.enable({ apis: ['setInterval'] });
    t.after(() => mock.timers.reset());
    const queue = new HeldQueue();
    const { view } = controllerFor(t, queue, 1000);
    assert.deepEqual(queue.calls, ['counts', 'list waiting -']);
    mock.timers.tick(1000);
    mock.timers.tick(1000);
    assert.equal(queue.calls.length, 2, 'no second read while the first is in flight');
    await queue.answer({ waiting: 1, jobs: [job('a')] });
    assert.deepEqual(ids(view.jobs), ['a']);
    mock.timers.tick(1000);
    assert.equal(queue.calls.length, 4, 'the next tick reads again');
  });

  test('a change while a read is in flight is read right after it, not beside it', async (t) => {
    const queue = new HeldQueue();
    const { view } = controllerFor(t, queue);
    view.showState('failed');
    assert.equal(queue.calls.length, 2);
    await queue.answer({ jobs: [job('stale')] });
    assert.deepEqual(view.jobs, [], 'the waiting page is not shown as the failed one');
    assert.deepEqual(queue.calls.slice(2), ['counts', 'list failed -']);
    await queue.answer({ jobs: [job('f')] });
    assert.deepEqual(ids(view.jobs), ['f']);
    assert.equal(view.reading, false);
  });

  test('no timer is left after disconnect, and a reconnect reads at once and polls again', async (t) => {
    mock.timers.enable({ apis: ['setInterval'] });
    t.after(() => mock.timers.reset());
    const queue = new HeldQueue();
    const { view, host } = controllerFor(t, queue, 500);
    await queue.answer({ waiting: 2 });
    host.disconnect();
    mock.timers.tick(10_000);
    assert.equal(queue.calls.length, 2, 'nothing read while disconnected');
    await view.refresh();
    assert.equal(queue.calls.length, 2, 'refresh does nothing while disconnected');
    host.connect();
    assert.equal(queue.calls.length, 4);
    await queue.answer({ waiting: 3 });
    mock.timers.tick(500);
    assert.equal(queue.calls.length, 6);
    await queue.answer({ waiting: 3 });
    view.setQueue(undefined);
    mock.timers.tick(5000);
    assert.equal(queue.calls.length, 6, 'nothing read without a queue');
  });

  test('a failed read is shown in words and keeps what was read before; the next good read clears it', async (t) => {
    const queue = new HeldQueue();
    const { view } = controllerFor(t, queue);
    await queue.answer({ waiting: 1, jobs: [job('kept')] });
    void view.refresh();
    await queue.answer({ error: new Error('connection lost') });
    assert.equal(view.error, 'Could not read the queue: connection lost');
    assert.deepEqual(ids(view.jobs), ['kept']);
    assert.equal(view.counts?.waiting, 1);
    void view.refresh();
    await queue.answer({ waiting: 0, jobs: [] });
    assert.equal(view.error, undefined);
    assert.deepEqual(view.jobs, []);
  });

  test("the late answer of a previous queue changes nothing, and the new queue's read waits for it", async (t) => {
    const first = new HeldQueue();
    const second = new HeldQueue();
    const { view } = controllerFor(t, first);
    view.setQueue(second);
    assert.equal(second.calls.length, 0, 'no second read beside the first');
    await first.answer({ waiting: 99, jobs: [job('old')] });
    assert.equal(view.counts, undefined);
    assert.deepEqual(view.jobs, []);
    assert.equal(second.calls.length, 2);
    await second.answer({ waiting: 1, jobs: [job('new')] });
    assert.deepEqual(ids(view.jobs), ['new']);
  });
});
