/**
 * RedisTaskQueue.retry against a real redis-server (test/redis-helpers.ts): a failed or
 * cancelled job goes back to waiting as if new, and any other state is refused.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { InvalidOptionError, Task } from '../ts/index.js';
import { JobCancelledError, JobFailedError, JobStateError, QueueStoppedError, UnknownJobError, type IJob } from '../ts/coordinator/redis.js';
import { queueFor, recordEvents, uniqueQueueName, workerFor } from './jobqueue-helpers.js';
import { rejectionOf, waitFor, within } from './manager-helpers.js';
import { useRedisServer } from './redis-helpers.js';
import { deferred, sleep } from './rule-helpers.js';

const redis = useRedisServer('jobqueue.retry.test.ts');

const STEPS = [{ name: 'fetch', description: 'Fetch', percentage: 40 }, { name: 'store', description: 'Store', percentage: 60 }] as const;

/**
 * A task with two steps that fails (after its first step) while `fails` is true, and
 * else returns its input doubled; `gate`, when set, holds each run at its start.
 */
function switchable(): { task: Task<undefined, typeof STEPS>; control: { fails: boolean; gate?: Promise<void>; runs: number } } {
  const control: { fails: boolean; gate?: Promise<void>; runs: number } = { fails: true, runs: 0 };
  const task: Task<undefined, typeof STEPS> = new Task({
    name: 'switchable',
    steps: STEPS,
    taskFunction: async (x: number) => {
      control.runs++;
      await control.gate;
      task.notifyStep('fetch');
      task.notifyStep('store');
      if (control.fails) throw Object.assign(new Error(`run ${control.runs} failed`), { code: 'E_SWITCH' });
      return x * 2;
    },
  });
  return { task, control };
}

/** The fields a retry keeps, as a record shows them. */
function kept(job: IJob | null): unknown {
  return job && { id: job.id, taskName: job.taskName, input: job.input, labels: job.labels, priority: job.priority, retry: job.retry, timeoutMs: job.timeoutMs, createdAt: job.createdAt };
}

function adminFor(t: TestContext): Redis {
  const admin = new Redis(redis.url);
  t.after(() => admin.disconnect());
  return admin;
}

describe('retry', () => {
  test('a failed job retried runs again from attempt 1 with its record reset, and waitForResult gives the new result', async (t) => {
    const name = uniqueQueueName();
    const { task, control } = switchable();
    const { queue } = await workerFor(t, redis.url, name, [task], { instanceId: 'worker-a' });
    const events = await recordEvents(queue);
    const { id } = await queue.add('switchable', 21, { jobId: 'report-7', labels: { tenant: 'acme' }, priority: 5, timeoutMs: 10_000, retry: { attempts: 2 } });
    const before = rejectionOf(queue.waitForResult(id));
    assert.ok((await within(before, 'the failure')) instanceof JobFailedError);
    const failed = await queue.getJob(id);
    assert.equal(failed?.state, 'failed');
    assert.equal(failed?.attempt, 2);
    assert.equal(failed?.progress, 40, 'the failed run got past its first step');
    assert.ok(failed!.steps.length > 0);
    assert.equal(failed?.error?.code, 'E_SWITCH');

    // Paused, the retried job stays waiting and its record can be read before it runs again.
    await queue.pause();
    assert.equal(await queue.retry(id), 'waiting');
    const waiting = await queue.getJob(id);
    assert.deepEqual(kept(waiting), kept(failed));
    assert.equal(waiting?.state, 'waiting');
    assert.equal(waiting?.attempt, 1);
    assert.equal(waiting?.stalls, 0);
    assert.equal(waiting?.progress, 0);
    assert.deepEqual(waiting?.steps, []);
    for (const field of ['error', 'result', 'instanceId', 'startedAt', 'finishedAt'] as const) assert.equal(waiting?.[field], undefined, field);
    assert.equal((await queue.getCounts()).failed, 0);

    control.fails = false;
    const result = queue.waitForResult(id);
    await queue.resume();
    assert.equal(await within(result, 'the new result'), 42);
    assert.ok((await before) instanceof JobFailedError, 'the wait that settled before the retry stays rejected');
    const done = await queue.getJob(id);
    assert.equal(done?.state, 'completed');
    assert.equal(done?.attempt, 1);
    assert.equal(done?.error, undefined);
    assert.deepEqual(events.filter((event) => event.type === 'started').map((event) => event.type === 'started' && event.attempt), [1, 2, 1]);
    assert.equal(control.runs, 3);
  });

  test('a job cancelled while it waited, retried, runs when a worker has its task', async (t) => {
    const name = uniqueQueueName();
    const producer = queueFor(t, redis.url, name, { keepFailedMs: 60_000 });
    const { id } = await producer.add('switchable', 4, { delayMs: 60_000 });
    assert.equal(await producer.cancel(id, 'not now'), 'cancelled');
    assert.ok((await rejectionOf(producer.waitForResult(id))) instanceof JobCancelledError);
    assert.equal(await producer.retry(id), 'waiting');
    const counts = await producer.getCounts();
    assert.deepEqual([counts.waiting, counts.delayed, counts.cancelled], [1, 0, 0]);
    const { task, control } = switchable();
    control.fails = false;
    await workerFor(t, redis.url, name, [task]);
    assert.equal(await within(producer.waitForResult(id), 'the run after the retry'), 8);
  });

  test('a job cancelled while it ran, retried, runs to the end instead of being cancelled again', async (t) => {
    const name = uniqueQueueName();
    const { task, control } = switchable();
    control.fails = false;
    const gate = deferred<void>();
    control.gate = gate.promise;
    // leaseMs 300: the worker renews its leases (and learns of cancellations) every 100 ms.
    const { queue } = await workerFor(t, redis.url, name, [task], { leaseMs: 300 });
    const { id } = await queue.add('switchable', 5);
    await waitFor(() => control.runs === 1, 'the first run');
    assert.equal(await queue.cancel(id, 'stop that'), 'active');
    assert.ok((await rejectionOf(within(queue.waitForResult(id), 'the cancelled end'))) instanceof JobCancelledError);
    const second = deferred<void>();
    control.gate = second.promise;
    gate.resolve();
    assert.equal(await queue.retry(id), 'waiting');
    await waitFor(() => control.runs === 2, 'the second run');
    // Several renewals go by while the second run goes on: the old cancellation must not reach it.
    await sleep(400);
    second.resolve();
    assert.equal(await within(queue.waitForResult(id), 'the run after the retry'), 10);
    assert.equal(control.runs, 2);
  });

  test('retry of a waiting, delayed, active or completed job rejects with JobStateError naming the id and the state, and changes nothing', async (t) => {
    const name = uniqueQueueName();
    const { task, control } = switchable();
    control.fails = false;
    const gate = deferred<void>();
    control.gate = gate.promise;
    const { queue } = await workerFor(t, redis.url, name, [task], { concurrency: 2 });
    const producer = queueFor(t, redis.url, name);
    await producer.add('other', 1, { jobId: 'is-waiting' });
    await producer.add('switchable', 1, { jobId: 'is-delayed', delayMs: 60_000 });
    await producer.add('switchable', 1, { jobId: 'is-active' });
    await waitFor(() => control.runs === 1, 'the active run');
    control.gate = undefined;
    await producer.add('switchable', 1, { jobId: 'is-completed' });
    await within(producer.waitForResult('is-completed'), 'the completed run');
    for (const state of ['waiting', 'delayed', 'active', 'completed'] as const) {
      const id = `is-${state}`;
      const error = await rejectionOf(producer.retry(id));
      assert.ok(error instanceof JobStateError, String(error));
      assert.equal(error.code, 'JOB_NOT_RETRYABLE');
      assert.equal(error.jobId, id);
      assert.equal(error.state, state);
      assert.match(error.message, new RegExp(`job "${id}" is ${state}; only a failed or cancelled job can be retried`));
      assert.equal((await producer.getJob(id))?.state, state, `${id} is left as it was`);
    }
    gate.resolve();
    await within(queue.waitForResult('is-active'), 'the active run ends');
  });

  test('retry of an unknown id rejects with UnknownJobError', async (t) => {
    const queue = queueFor(t, redis.url, uniqueQueueName());
    const error = await rejectionOf(queue.retry('nope'));
    assert.ok(error instanceof UnknownJobError, String(error));
    assert.equal(error.code, 'UNKNOWN_JOB');
    assert.match(error.message, /^retry: there is no job "nope"/);
  });

  test('retry refuses an id that is not a non-empty string, and a stopped queue', async (t) => {
    const queue = queueFor(t, redis.url, uniqueQueueName());
    await assert.rejects(queue.retry(''), InvalidOptionError);
    await assert.rejects(queue.retry(7 as never), InvalidOptionError);
    await queue.stop();
    await assert.rejects(queue.retry('any'), QueueStoppedError);
  });

  test('two retries of one job at once: one puts it back, the other is refused', async (t) => {
    const name = uniqueQueueName();
    const producers = [queueFor(t, redis.url, name), queueFor(t, redis.url, name)];
    const { id } = await producers[0]!.add('switchable', 1);
    await producers[0]!.cancel(id);
    const answers = await Promise.allSettled(producers.map((producer) => producer.retry(id)));
    assert.deepEqual(answers.map((answer) => answer.status).sort(), ['fulfilled', 'rejected']);
    const refused = answers.find((answer) => answer.status === 'rejected') as PromiseRejectedResult;
    assert.ok(refused.reason instanceof JobStateError);
    assert.equal(refused.reason.state, 'waiting');
    assert.equal((await producers[0]!.getCounts()).waiting, 1);
  });

  test('a retried job waiting again is neither trimmed nor expired after keepFailedMs', async (t) => {
    const name = uniqueQueueName();
    const { task, control } = switchable();
    const gate = deferred<void>();
    control.gate = gate.promise;
    // leaseMs 300: the worker sweeps (and trims expired failed jobs) every 100 ms.
    const { queue } = await workerFor(t, redis.url, name, [task], { keepFailedMs: 300, leaseMs: 300, concurrency: 2 });
    const admin = adminFor(t);
    const retried = await queue.add('switchable', 1, { jobId: 'retried' });
    const left = await queue.add('switchable', 2, { jobId: 'left-failed' });
    await waitFor(() => control.runs === 2, 'both runs');
    await queue.pause();
    const failures = [rejectionOf(queue.waitForResult(retried.id)), rejectionOf(queue.waitForResult(left.id))];
    gate.resolve();
    await within(Promise.all(failures), 'both failures');
    assert.equal(await queue.retry(retried.id), 'waiting');
    assert.equal(await admin.pttl(`taskbuffer:queue:${name}:job:${retried.id}`), -1, 'the record has no expiry');
    await sleep(700);
    assert.equal(await queue.getJob(left.id), null, 'the job left failed is gone after keepFailedMs');
    assert.equal((await queue.getJob(retried.id))?.state, 'waiting');
    const counts = await queue.getCounts();
    assert.deepEqual([counts.waiting, counts.failed], [1, 0]);
    control.fails = false;
    await queue.resume();
    assert.equal(await within(queue.waitForResult(retried.id), 'the run after the retry'), 2);
  });

  test('a retried job taken again by the worker whose stalled run still goes on is not ended by that old run', async (t) => {
    const name = uniqueQueueName();
    const first = deferred<void>();
    const second = deferred<void>();
    let runs = 0;
    const task = new Task({
      name: 'slow',
      taskFunction: async () => {
        // The first run ignores its signal: it goes on after its lease is lost.
        await (++runs === 1 ? first.promise : second.promise);
        return runs;
      },
    });
    const { queue } = await workerFor(t, redis.url, name, [task], { leaseMs: 300, maxStalls: 0, concurrency: 2 });
    // No renewals: the first run's lease runs out and the sweep fails the job (maxStalls 0).
    clearInterval((queue as unknown as { worker: { renewTimer: NodeJS.Timeout } }).worker.renewTimer);
    const { id } = await queue.add('slow');
    const failure = await rejectionOf(within(queue.waitForResult(id), 'the stall failure'));
    assert.equal((failure as JobFailedError).jobError.code, 'JOB_STALLED');
    assert.equal(await queue.retry(id), 'waiting');
    await waitFor(() => runs === 2, 'the run after the retry');
    // The old run, aborted when this worker took the job again, has sent its outcome by now.
    await sleep(50);
    assert.equal((await queue.getJob(id))?.state, 'active', 'the old run did not end the new one');
    second.resolve();
    first.resolve();
    assert.equal(await within(queue.waitForResult(id), 'the new result'), 2);
  });

  test('the retried event reaches the eventSubject of another queue instance', async (t) => {
    const name = uniqueQueueName();
    const { task, control } = switchable();
    const { queue } = await workerFor(t, redis.url, name, [task], { instanceId: 'worker-a' });
    const observer = queueFor(t, redis.url, name, { instanceId: 'observer' });
    const dashboard = queueFor(t, redis.url, name, { instanceId: 'dashboard' });
    const events = await recordEvents(observer);
    const { id } = await queue.add('switchable', 3);
    await rejectionOf(within(queue.waitForResult(id), 'the failure'));
    control.fails = false;
    assert.equal(await dashboard.retry(id), 'waiting');
    await within(queue.waitForResult(id), 'the run after the retry');
    await waitFor(() => events.filter((event) => event.type === 'completed').length === 1, 'the completed event');
    const retried = events.find((event) => event.type === 'retried');
    assert.deepEqual(retried && [retried.jobId, retried.taskName, retried.instanceId], [id, 'switchable', 'dashboard']);
    assert.equal(typeof retried?.timestamp, 'number');
    assert.deepEqual(events.filter((event) => event.type !== 'step' && event.type !== 'progress').map((event) => event.type),
      ['added', 'started', 'failed', 'retried', 'started', 'completed']);
  });
});
