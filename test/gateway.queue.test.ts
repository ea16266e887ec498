/**
 * The durable queue through the gateway (`client.queue`), against a real redis-server and a
 * real gateway: the reads (counts, pages, one job), cancel and retry with the scopes each
 * needs, and what a gateway without a queue or a bad frame gets as an answer.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { GatewayRequestError } from '../ts/client/index.js';
import { InvalidOptionError, Task } from '../ts/index.js';
import { clientFor, gatewayFor } from './gateway-helpers.js';
import { queueFor, uniqueQueueName, workerFor } from './jobqueue-helpers.js';
import { rejectionOf } from './manager-helpers.js';
import { useRedisServer } from './redis-helpers.js';

const redis = useRedisServer('gateway.queue.test.ts');

const READER = { name: 'reader', key: 'reader-key-1234' };
const OTHER = { name: 'other', key: 'other-key-1234' };
const OPERATOR = { name: 'operator', key: 'operator-key-1234' };
const BLIND = { name: 'blind', key: 'blind-key-1234' };
const CREDENTIALS = {
  [BLIND.name]: { key: BLIND.key, scopes: ['control:*', 'trigger:*'] },
  [OPERATOR.name]: { key: OPERATOR.key, scopes: ['read', 'control:images'] },
  [READER.name]: { key: READER.key, scopes: ['read'] },
  [OTHER.name]: { key: OTHER.key, scopes: ['read', 'control:other', 'trigger:other'] },
};

/** A queue with no worker (its jobs wait), a gateway over it, and an admin client. */
async function queueGateway(t: TestContext) {
  const queue = queueFor(t, redis.url, uniqueQueueName());
  const { url } = await gatewayFor(t, { queue, credentials: CREDENTIALS });
  const client = await clientFor(t, url);
  return { queue, url, client };
}

/** A job of `boom` that failed for good (one attempt), through a worker on the queue's name; `runs()` counts boom's runs. */
async function failedJob(t: TestContext, name: string): Promise<{ id: string; runs(): number }> {
  let runs = 0;
  const boom = new Task({
    name: 'boom',
    taskFunction: async () => {
      runs++;
      throw Object.assign(new Error('disk full'), { code: 'E_DISK' });
    },
  });
  const { queue: worker } = await workerFor(t, redis.url, name, [boom]);
  const { id } = await worker.add('boom', { file: 'a' }, { retry: { attempts: 1 } });
  await rejectionOf(worker.waitForResult(id, { timeoutMs: 5000 }));
  return { id, runs: () => runs };
}

/** Reads until `done` says yes (every 20 ms, at most 5 s); the last read. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) assert.fail(`timed out after 5000 ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('reading the queue through the gateway', () => {
  test('counts jobs per state as the queue itself does, with the waiting jobs no worker has per task', async (t) => {
    const { queue, client } = await queueGateway(t);
    await queue.addBulk([{ taskName: 'images:resize' }, { taskName: 'images:resize' }, { taskName: 'mail', delayMs: 60_000 }]);
    const counts = await client.queue.getCounts();
    assert.deepEqual(counts, await queue.getCounts());
    assert.equal(counts.waiting, 2);
    assert.equal(counts.delayed, 1);
    assert.equal(counts.paused, false);
    assert.deepEqual(counts.waitingWithoutWorker, { 'images:resize': 2 });
  });

  test('pages through the jobs of one state with after, oldest first, each page as the queue gives it', async (t) => {
    const { queue, client } = await queueGateway(t);
    const ids = ['j1', 'j2', 'j3', 'j4', 'j5'];
    for (const jobId of ids) await queue.add('work', { n: jobId }, { jobId, labels: { tenant: 'acme' } });
    const first = await client.queue.listJobs({ state: 'waiting', limit: 2 });
    assert.deepEqual(first.map((job) => job.id), ['j1', 'j2']);
    assert.deepEqual(first, await queue.listJobs({ state: 'waiting', limit: 2 }));
    const second = await client.queue.listJobs({ state: 'waiting', limit: 2, after: 'j2' });
    assert.deepEqual(second.map((job) => job.id), ['j3', 'j4']);
    const last = await client.queue.listJobs({ state: 'waiting', limit: 2, after: 'j4' });
    assert.deepEqual(last.map((job) => job.id), ['j5']);
    assert.deepEqual(await client.queue.listJobs({ state: 'failed' }), []);
  });

  test('reads one job by its id, and answers null for an id the queue does not have', async (t) => {
    const { queue, client } = await queueGateway(t);
    await queue.add('work', { file: 'a.jpg' }, { jobId: 'job-1', labels: { tenant: 'acme' }, priority: 2 });
    const job = await client.queue.getJob('job-1');
    assert.deepEqual(job, await queue.getJob('job-1'));
    assert.equal(job?.state, 'waiting');
    assert.deepEqual(job?.input, { file: 'a.jpg' });
    assert.deepEqual(job?.labels, { tenant: 'acme' });
    assert.equal(await client.queue.getJob('no-such-job'), null);
  });

  test("gives a failed job's error with its name, code and message", async (t) => {
    const name = uniqueQueueName();
    const queue = queueFor(t, redis.url, name);
    const { url } = await gatewayFor(t, { queue });
    const { id } = await failedJob(t, name);
    const client = await clientFor(t, url);
    const job = await client.queue.getJob(id);
    assert.equal(job?.state, 'failed');
    assert.equal(job?.error?.message, 'disk full');
    assert.equal(job?.error?.code, 'E_DISK');
    assert.equal(job?.error?.name, 'Error');
  });
});

describe('cancel and retry through the gateway', () => {
  test('cancels a waiting job, which ends cancelled with the client named as the reason', async (t) => {
    const { queue, client } = await queueGateway(t);
    await queue.add('work', undefined, { jobId: 'to-cancel' });
    assert.equal(await client.queue.cancel('to-cancel'), 'cancelled');
    const job = await queue.getJob('to-cancel');
    assert.equal(job?.state, 'cancelled');
    assert.match(job?.error?.message ?? '', /client "admin"/);
    assert.equal((await client.queue.getCounts()).cancelled, 1);
  });

  test('retries a failed job: it goes back to waiting and runs again', async (t) => {
    const name = uniqueQueueName();
    const queue = queueFor(t, redis.url, name);
    const { url } = await gatewayFor(t, { queue });
    const { id, runs } = await failedJob(t, name);
    const client = await clientFor(t, url);
    const state = await client.queue.retry(id);
    assert.ok(state === 'waiting' || state === 'active', `state after retry: ${state}`);
    // The worker takes it again as new (attempt 1), and it fails again: the task always throws.
    const job = await eventually(() => queue.getJob(id), (found) => found?.state === 'failed', 'the retried job to fail again');
    assert.equal(job?.attempt, 1);
    assert.equal(runs(), 2);
  });

  test('refuses to retry a waiting job with JOB_NOT_RETRYABLE, and leaves it waiting', async (t) => {
    const { queue, client } = await queueGateway(t);
    await queue.add('work', undefined, { jobId: 'still-waiting' });
    const error = await rejectionOf(client.queue.retry('still-waiting'));
    assert.ok(error instanceof GatewayRequestError);
    assert.equal(error.code, 'JOB_NOT_RETRYABLE');
    assert.equal((await queue.getJob('still-waiting'))?.state, 'waiting');
  });

  test('refuses cancel and retry of an unknown job with UNKNOWN_JOB', async (t) => {
    const { client } = await queueGateway(t);
    for (const act of [() => client.queue.cancel('ghost'), () => client.queue.retry('ghost')]) {
      const error = await rejectionOf(act());
      assert.ok(error instanceof GatewayRequestError);
      assert.equal(error.code, 'UNKNOWN_JOB');
      assert.match(error.message, /"ghost"/);
    }
  });
});

describe('scopes and bad requests', () => {
  test("refuses cancel to a client with only read, naming control of the job's task, and the job keeps waiting", async (t) => {
    const { queue, url } = await queueGateway(t);
    await queue.add('images:resize', undefined, { jobId: 'guarded' });
    const reader = await clientFor(t, url, READER);
    const error = await rejectionOf(reader.queue.cancel('guarded'));
    assert.ok(error instanceof GatewayRequestError);
    assert.equal(error.code, 'FORBIDDEN');
    assert.equal(error.scope, 'control:images:resize');
    assert.equal((await queue.getJob('guarded'))?.state, 'waiting');
    // The connection stays usable, and reads are allowed.
    assert.equal((await reader.queue.getJob('guarded'))?.id, 'guarded');
  });

  test('refuses cancel and retry to a client whose scopes cover another task only', async (t) => {
    const { queue, url } = await queueGateway(t);
    await queue.add('images:resize', undefined, { jobId: 'not-yours' });
    const other = await clientFor(t, url, OTHER);
    const cancel = await rejectionOf(other.queue.cancel('not-yours'));
    assert.ok(cancel instanceof GatewayRequestError);
    assert.equal(cancel.code, 'FORBIDDEN');
    assert.equal(cancel.scope, 'control:images:resize');
    const retry = await rejectionOf(other.queue.retry('not-yours'));
    assert.ok(retry instanceof GatewayRequestError);
    assert.equal(retry.code, 'FORBIDDEN');
    assert.equal(retry.scope, 'trigger:images:resize');
    assert.equal((await queue.getJob('not-yours'))?.state, 'waiting');
  });

  test('without read, a client can neither read the queue nor learn through cancel or retry whether a job exists or whose it is', async (t) => {
    const { queue, url } = await queueGateway(t);
    await queue.add('images:resize', undefined, { jobId: 'exists' });
    const blind = await clientFor(t, url, BLIND);
    const requests = [
      () => blind.queue.getCounts(),
      () => blind.queue.listJobs({ state: 'waiting' }),
      () => blind.queue.getJob('exists'),
      () => blind.queue.cancel('exists'),
      () => blind.queue.retry('exists'),
      () => blind.queue.cancel('ghost'),
    ];
    for (const request of requests) {
      const error = await rejectionOf(request());
      assert.ok(error instanceof GatewayRequestError);
      assert.equal(error.code, 'FORBIDDEN');
      assert.equal(error.scope, 'read');
      assert.doesNotMatch(error.message, /images/);
    }
    assert.equal((await queue.getJob('exists'))?.state, 'waiting');
  });

  test('refuses a job id longer than a frame may carry where it is given, naming its length, and the connection stays', async (t) => {
    const { url } = await queueGateway(t);
    const client = await clientFor(t, url, READER);
    const long = 'j'.repeat(1025);
    for (const act of [() => client.queue.getJob(long), () => client.queue.cancel(long), () => client.queue.retry(long)]) {
      assert.throws(act, (error: Error) => error instanceof InvalidOptionError && /at most 1024 characters, got 1025/.test(error.message));
    }
    assert.equal(await client.queue.getJob('j'.repeat(1024)), null);
  });

  test("allows cancel to a client whose control pattern covers the job's task", async (t) => {
    const { queue, url } = await queueGateway(t);
    await queue.add('images:resize', undefined, { jobId: 'theirs' });
    const operator = await clientFor(t, url, OPERATOR);
    assert.equal(await operator.queue.cancel('theirs', 'not needed'), 'cancelled');
    assert.equal((await queue.getJob('theirs'))?.error?.message, 'not needed');
  });

  test('a gateway without a queue refuses every queue request with BAD_FRAME, saying it has no durable queue', async (t) => {
    const { url } = await gatewayFor(t);
    const client = await clientFor(t, url);
    const requests = [
      () => client.queue.getCounts(),
      () => client.queue.listJobs({ state: 'waiting' }),
      () => client.queue.getJob('x'),
      () => client.queue.cancel('x'),
      () => client.queue.retry('x'),
    ];
    for (const request of requests) {
      const error = await rejectionOf(request());
      assert.ok(error instanceof GatewayRequestError);
      assert.equal(error.code, 'BAD_FRAME');
      assert.match(error.message, /no durable queue/);
    }
  });

  test('a page of an unknown state is refused by the frame reader, which names the states there are', async (t) => {
    const { client } = await queueGateway(t);
    const error = await rejectionOf(client.queue.listJobs({ state: 'running' as never }));
    assert.ok(error instanceof GatewayRequestError);
    assert.equal(error.code, 'BAD_FRAME');
    assert.match(error.message, /waiting, delayed, active, completed, failed, cancelled/);
    // The connection stays usable.
    assert.equal((await client.queue.getCounts()).waiting, 0);
  });
});
