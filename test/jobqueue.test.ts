/**
 * RedisTaskQueue in one process, against a real redis-server (test/redis-helpers.ts):
 * producers and several worker instances (each with its own connections) share a queue.
 * The proofs with real processes killed mid-run are in test/jobqueue.process.test.ts; the
 * scripts against a model in test/jobqueue.model.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { Task, TaskConstraintGroup, TaskManager } from '../ts/index.js';
import {
  InvalidJobDataError,
  JobCancelledError,
  JobFailedError,
  LeaseLostError,
  QueueStoppedError,
  RedisTaskQueue,
  ResultTimeoutError,
  UnknownJobError,
} from '../ts/coordinator/redis.js';
import { queueFor, recordEvents, uniqueQueueName, workerFor } from './jobqueue-helpers.js';
import { rejectionOf, waitFor, within } from './manager-helpers.js';
import { freePort, startRedis, useRedisServer } from './redis-helpers.js';
import { deferred, sleep } from './rule-helpers.js';

const redis = useRedisServer('jobqueue.test.ts');

/** A task whose runs last `ms`; `most()` says how many of them overlapped at most. */
function overlapProbe(name: string, ms: number): { task: Task<any, any, any>; most(): number } {
  let running = 0;
  let most = 0;
  const task = new Task({
    name,
    taskFunction: async () => {
      most = Math.max(most, ++running);
      await sleep(ms);
      running--;
    },
  });
  return { task, most: () => most };
}

function double(): Task<undefined, [], Record<string, unknown>, number, number> {
  return new Task({ name: 'double', taskFunction: async (x: number) => x * 2 });
}

describe('adding and reading jobs', () => {
  test('a job added without a worker waits, and its record says so', async (t) => {
    const queue = queueFor(t, redis.url, uniqueQueueName());
    const { id, created } = await queue.add('double', 21, { labels: { tenant: 'acme' }, priority: 3 });
    assert.equal(created, true);
    const job = await queue.getJob(id);
    assert.equal(job?.state, 'waiting');
    assert.equal(job?.taskName, 'double');
    assert.equal(job?.input, 21);
    assert.equal(job?.attempt, 1);
    assert.equal(job?.progress, 0);
    assert.deepEqual(job?.labels, { tenant: 'acme' });
    assert.equal(job?.priority, 3);
    assert.ok(Math.abs(job!.createdAt - Date.now()) < 5_000);
  });

  test('a worker runs the job through its manager and the result reaches waitForResult and getJob', async (t) => {
    const name = uniqueQueueName();
    const producer = queueFor(t, redis.url, name);
    const { id } = await producer.add('double', 21);
    const { queue } = await workerFor(t, redis.url, name, [double()], { instanceId: 'worker-a' });
    assert.equal(await within(producer.waitForResult(id), 'the result'), 42);
    const job = await queue.getJob(id);
    assert.equal(job?.state, 'completed');
    assert.equal(job?.result, 42);
    assert.equal(job?.progress, 100);
    assert.equal(job?.instanceId, 'worker-a');
    assert.ok(job!.startedAt! >= job!.createdAt && job!.finishedAt! >= job!.startedAt!);
  });

  test('waitForResult resolves for a job that finished before the call', async (t) => {
    const name = uniqueQueueName();
    const { queue } = await workerFor(t, redis.url, name, [double()]);
    const { id } = await queue.add('double', 4);
    await within(queue.waitForResult(id), 'first wait');
    assert.equal(await within(queue.waitForResult(id), 'the second wait, after the end'), 8);
  });

  test('adding an existing jobId adds nothing, also when ten adds race', async (t) => {
    const name = uniqueQueueName();
    const producers = Array.from({ length: 10 }, () => queueFor(t, redis.url, name));
    const answers = await Promise.all(producers.map((producer, i) => producer.add('double', i, { jobId: 'order-17' })));
    assert.equal(answers.filter((answer) => answer.created).length, 1);
    assert.ok(answers.every((answer) => answer.id === 'order-17'));
    const counts = await producers[0]!.getCounts();
    assert.equal(counts.waiting, 1);
  });

  test('addBulk adds many jobs in one call and answers in order', async (t) => {
    const queue = queueFor(t, redis.url, uniqueQueueName());
    await queue.add('double', 0, { jobId: 'b1' });
    const answers = await queue.addBulk([
      { taskName: 'double', input: 1, jobId: 'b1' },
      { taskName: 'double', input: 2, jobId: 'b2' },
      { taskName: 'double', input: 3 },
    ]);
    assert.deepEqual(answers.map((answer) => answer.created), [false, true, true]);
    assert.equal(answers[1]!.id, 'b2');
    assert.match(answers[2]!.id, /^[0-9a-f-]{36}$/);
    assert.equal((await queue.getJob('b1'))?.input, 0, 'the existing job is left as it was');
  });

  test('getJob of an unknown id is null and waitForResult of it rejects with UnknownJobError', async (t) => {
    const queue = queueFor(t, redis.url, uniqueQueueName());
    assert.equal(await queue.getJob('nope'), null);
    const error = await rejectionOf(queue.waitForResult('nope'));
    assert.ok(error instanceof UnknownJobError);
    assert.equal((error as UnknownJobError).code, 'UNKNOWN_JOB');
  });

  test('waitForResult gives up after timeoutMs with a ResultTimeoutError while the job goes on', async (t) => {
    const queue = queueFor(t, redis.url, uniqueQueueName());
    const { id } = await queue.add('double', 1);
    const error = await rejectionOf(queue.waitForResult(id, { timeoutMs: 50 }));
    assert.ok(error instanceof ResultTimeoutError);
    assert.equal((await queue.getJob(id))?.state, 'waiting');
  });

  test('listJobs pages through a state with after', async (t) => {
    const queue = queueFor(t, redis.url, uniqueQueueName());
    await queue.addBulk(Array.from({ length: 5 }, (_, i) => ({ taskName: 'double', input: i, jobId: `j${i}` })));
    const first = await queue.listJobs({ state: 'waiting', limit: 2 });
    const second = await queue.listJobs({ state: 'waiting', limit: 2, after: first.at(-1)!.id });
    const third = await queue.listJobs({ state: 'waiting', limit: 2, after: second.at(-1)!.id });
    assert.deepEqual([...first, ...second, ...third].map((job) => job.id), ['j0', 'j1', 'j2', 'j3', 'j4']);
    assert.deepEqual(await queue.listJobs({ state: 'failed' }), []);
  });
});

describe('bad input is refused where it enters', () => {
  test('an input that is not JSON-safe is refused at add, naming the job and the path', async (t) => {
    const queue = queueFor(t, redis.url, uniqueQueueName());
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const cases: Array<[unknown, RegExp]> = [
      [{ when: new Date() }, /input\.when is a Date instance/],
      [{ items: [1, () => 1] }, /input\.items\[1\] is a function/],
      [{ n: Number.NaN }, /input\.n is NaN/],
      [cyclic, /input\.self is a circular reference/],
      [new Map(), /input is a Map instance/],
      [10n, /input is a bigint/],
    ];
    for (const [input, message] of cases) {
      const error = await rejectionOf(queue.add('double', input, { jobId: 'bad-1' }));
      assert.ok(error instanceof InvalidJobDataError, String(error));
      assert.equal((error as InvalidJobDataError).code, 'INVALID_JOB_DATA');
      assert.match(error.message, /job "bad-1"/);
      assert.match(error.message, message);
    }
    assert.equal(await queue.getJob('bad-1'), null);
  });

  test('an input over maxInputBytes is refused with its size', async (t) => {
    const queue = queueFor(t, redis.url, uniqueQueueName(), { maxInputBytes: 100 });
    const error = await rejectionOf(queue.add('double', 'x'.repeat(200)));
    assert.ok(error instanceof InvalidJobDataError);
    assert.match(error.message, /202 bytes as JSON, over maxInputBytes \(100\)/);
  });

  test('unknown or invalid options are refused with the option named', async (t) => {
    assert.throws(() => new RedisTaskQueue({ redis: redis.url, name: 'x', leaseMS: 5 } as never), /unknown option "leaseMS"/);
    assert.throws(() => new RedisTaskQueue({ redis: 'localhost', name: 'x' }), { code: 'INVALID_OPTION', message: /redis:\/\/ or rediss:\/\/ URL/ });
    assert.throws(() => new RedisTaskQueue({ redis: redis.url, name: '' }), /`name`/);
    assert.throws(() => new RedisTaskQueue({ redis: redis.url, name: 'a:job' }), /without ":"/);
    assert.throws(() => new RedisTaskQueue({ redis: redis.url, name: 'x', leaseMs: 100 }), /at least 300/);
    const queue = queueFor(t, redis.url, uniqueQueueName());
    await assert.rejects(queue.add('double', 1, { delay: 5 } as never), /unknown option "delay"/);
    await assert.rejects(queue.add('double', 1, { priority: 1e9 }), /priority/);
    await assert.rejects(queue.add('double', 1, { retry: { attempts: 0 } }), /retry\.attempts/);
    await assert.rejects(queue.add('double', 1, { retry: { attempts: 2, retryIf: () => true } as never }), /unknown option "retryIf"/);
    await assert.rejects(queue.add('', 1), /taskName/);
    await assert.rejects(queue.listJobs({ state: 'done' as never }), /`state` to be one of/);
  });

  test('a result that is not JSON-safe fails the job with InvalidJobDataError', async (t) => {
    const name = uniqueQueueName();
    const { queue } = await workerFor(t, redis.url, name, [new Task({ name: 'dated', taskFunction: async () => ({ at: new Date() }) })]);
    const { id } = await queue.add('dated');
    const error = await rejectionOf(within(queue.waitForResult(id), 'the failure'));
    assert.ok(error instanceof JobFailedError);
    assert.equal((error as JobFailedError).jobError.code, 'INVALID_JOB_DATA');
    assert.match(error.message, /result\.at is a Date instance/);
  });
});

describe('workers', () => {
  test('a worker takes only jobs of tasks its manager has; the others wait and getCounts shows them', async (t) => {
    const name = uniqueQueueName();
    const { queue } = await workerFor(t, redis.url, name, [double()]);
    const a = await queue.add('double', 1);
    const b = await queue.add('shout', 'hi');
    await within(queue.waitForResult(a.id), 'the double job');
    await sleep(50);
    assert.equal((await queue.getJob(b.id))?.state, 'waiting');
    const counts = await queue.getCounts();
    assert.deepEqual(counts.waitingByTask, { shout: 1 });
    assert.deepEqual(counts.waitingWithoutWorker, { shout: 1 });
    const shout = new Task({ name: 'shout', taskFunction: async (text: string) => text.toUpperCase() });
    await workerFor(t, redis.url, name, [shout]);
    assert.equal(await within(queue.waitForResult(b.id), 'the shout job'), 'HI');
  });

  test('waiting jobs start by priority, then in the order they were added', async (t) => {
    const name = uniqueQueueName();
    const producer = queueFor(t, redis.url, name);
    await producer.pause();
    await producer.add('record', 'low', { priority: -1 });
    await producer.add('record', 'first');
    await producer.add('record', 'high', { priority: 5 });
    await producer.add('record', 'second');
    const order: string[] = [];
    const record = new Task({ name: 'record', taskFunction: async (value: string) => void order.push(value) });
    await workerFor(t, redis.url, name, [record]);
    await producer.resume();
    await waitFor(() => order.length === 4, 'four runs');
    assert.deepEqual(order, ['high', 'first', 'second', 'low']);
  });

  test('concurrency bounds the jobs one worker runs at once, and a constraint group bounds them further', async (t) => {
    const name = uniqueQueueName();
    const slow = overlapProbe('slow', 20);
    const { queue } = await workerFor(t, redis.url, name, [slow.task], { concurrency: 3 });
    const added = await queue.addBulk(Array.from({ length: 12 }, () => ({ taskName: 'slow' })));
    await within(Promise.all(added.map((job) => queue.waitForResult(job.id))), 'all runs');
    assert.equal(slow.most(), 3);

    const name2 = uniqueQueueName();
    const guarded = overlapProbe('guarded', 10);
    const manager = new TaskManager();
    manager.addTask(guarded.task);
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'one-at-a-time', maxConcurrent: 1, constraintKeyForExecution: () => 'all' }));
    await manager.start();
    const worker = queueFor(t, redis.url, name2, { concurrency: 4 });
    t.after(() => manager.stop());
    await worker.work(manager);
    const jobs = await worker.addBulk(Array.from({ length: 8 }, () => ({ taskName: 'guarded' })));
    await within(Promise.all(jobs.map((job) => worker.waitForResult(job.id))), 'all guarded runs');
    assert.equal(guarded.most(), 1);
  });

  test('an idle worker starts a new job within milliseconds (woken, not polling)', async (t) => {
    const name = uniqueQueueName();
    const { queue } = await workerFor(t, redis.url, name, [double()], { leaseMs: 60_000 });
    const events = await recordEvents(queue);
    await sleep(50);
    const { id } = await queue.add('double', 1);
    await within(queue.waitForResult(id), 'the job');
    const added = events.find((event) => event.type === 'added' && event.jobId === id)!;
    const started = events.find((event) => event.type === 'started' && event.jobId === id)!;
    assert.ok(started.timestamp - added.timestamp < 100, `started ${started.timestamp - added.timestamp} ms after it was added`);
  });

  test('a delayed job starts no earlier than its delay', async (t) => {
    const name = uniqueQueueName();
    const { queue } = await workerFor(t, redis.url, name, [double()]);
    const events = await recordEvents(queue);
    const { id } = await queue.add('double', 2, { delayMs: 300 });
    assert.equal((await queue.getJob(id))?.state, 'delayed');
    assert.equal(await within(queue.waitForResult(id), 'the delayed job'), 4);
    const added = events.find((event) => event.type === 'added')!;
    const started = events.find((event) => event.type === 'started')!;
    const waited = started.timestamp - added.timestamp;
    assert.ok(waited >= 300 && waited < 1_000, `started ${waited} ms after it was added`);
  });

  test('a failing job retries with its backoff in Redis and records each attempt', async (t) => {
    const name = uniqueQueueName();
    let calls = 0;
    const flaky = new Task({
      name: 'flaky',
      taskFunction: async () => {
        calls++;
        if (calls < 3) throw Object.assign(new Error(`try ${calls} failed`), { code: 'E_FLAKY' });
        return 'ok';
      },
    });
    const { queue } = await workerFor(t, redis.url, name, [flaky]);
    const events = await recordEvents(queue);
    const { id } = await queue.add('flaky', undefined, { retry: { attempts: 3, delayMs: 100, backoff: 'exponential' } });
    assert.equal(await within(queue.waitForResult(id), 'the third try'), 'ok');
    const retrying = events.filter((event) => event.type === 'retrying');
    assert.deepEqual(retrying.map((event) => [event.attempt, event.delayMs]), [[2, 100], [3, 200]]);
    assert.deepEqual(retrying[0]!.type === 'retrying' && retrying[0]!.error, { name: 'Error', message: 'try 1 failed', code: 'E_FLAKY' });
    const starts = events.filter((event) => event.type === 'started');
    assert.deepEqual(starts.map((event) => event.type === 'started' && event.attempt), [1, 2, 3]);
    assert.ok(starts[2]!.timestamp - starts[1]!.timestamp >= 200);
    assert.equal((await queue.getJob(id))?.attempt, 3);
  });

  test("without a job's retry the task's own retry policy applies, durably", async (t) => {
    const name = uniqueQueueName();
    let calls = 0;
    const flaky = new Task({
      name: 'flaky',
      retry: { attempts: 2, delayMs: 50 },
      taskFunction: async () => {
        if (++calls === 1) throw new Error('first try failed');
        return calls;
      },
    });
    const { queue } = await workerFor(t, redis.url, name, [flaky]);
    const events = await recordEvents(queue);
    const { id } = await queue.add('flaky');
    assert.equal(await within(queue.waitForResult(id), 'the second try'), 2);
    assert.deepEqual(events.filter((event) => event.type === 'retrying').map((event) => event.type === 'retrying' && event.delayMs), [50]);
  });

  test("a job that fails its last attempt rejects waitForResult with the task's error kept", async (t) => {
    const name = uniqueQueueName();
    class QuotaError extends Error {
      override name = 'QuotaError';
      code = 'E_QUOTA';
    }
    const failing = new Task({ name: 'failing', taskFunction: async () => { throw new QuotaError('quota exceeded'); } });
    const { queue } = await workerFor(t, redis.url, name, [failing]);
    const { id } = await queue.add('failing', undefined, { retry: { attempts: 2 } });
    const error = await rejectionOf(within(queue.waitForResult(id), 'the failure'));
    assert.ok(error instanceof JobFailedError);
    assert.deepEqual((error as JobFailedError).jobError, { name: 'QuotaError', message: 'quota exceeded', code: 'E_QUOTA' });
    const job = await queue.getJob(id);
    assert.equal(job?.state, 'failed');
    assert.equal(job?.attempt, 2);
  });

  test('steps of a task show in the job record and as step and progress events', async (t) => {
    const name = uniqueQueueName();
    const gate = deferred<void>();
    const steps = [{ name: 'fetch', description: 'Fetch', percentage: 40 }, { name: 'store', description: 'Store', percentage: 60 }] as const;
    const importer: Task<undefined, typeof steps> = new Task({
      name: 'import',
      steps,
      taskFunction: async () => {
        importer.notifyStep('fetch');
        await gate.promise;
        importer.notifyStep('store');
      },
    });
    const { queue } = await workerFor(t, redis.url, name, [importer]);
    const events = await recordEvents(queue);
    const { id } = await queue.add('import');
    await waitFor(() => events.some((event) => event.type === 'step'), 'the first step event');
    const job = await queue.getJob(id);
    assert.equal(job?.progress, 0);
    assert.equal(job?.steps.find((step) => step.name === 'fetch')?.status, 'active');
    gate.resolve();
    await within(queue.waitForResult(id), 'the end');
    assert.deepEqual(events.filter((event) => event.type === 'step').map((event) => event.type === 'step' && [event.stepName, event.progress]), [['fetch', 0], ['store', 40]]);
    assert.equal((await queue.getJob(id))?.progress, 100);
  });

  test('every event names its job, task, instance and time', async (t) => {
    const name = uniqueQueueName();
    const { queue } = await workerFor(t, redis.url, name, [double()], { instanceId: 'w-1' });
    const producer = queueFor(t, redis.url, name, { instanceId: 'p-1' });
    const events = await recordEvents(producer);
    const { id } = await producer.add('double', 3);
    await within(queue.waitForResult(id), 'the job');
    await waitFor(() => events.length === 3, 'three events');
    assert.deepEqual(events.map((event) => [event.type, event.jobId, event.taskName, event.instanceId]), [
      ['added', id, 'double', 'p-1'],
      ['started', id, 'double', 'w-1'],
      ['completed', id, 'double', 'w-1'],
    ]);
    assert.ok(events.every((event) => typeof event.timestamp === 'number'));
  });
});

describe('cancel, pause, stop and lost leases', () => {
  test('cancelling a waiting job ends it at once; waitForResult rejects with JobCancelledError', async (t) => {
    const queue = queueFor(t, redis.url, uniqueQueueName());
    const { id } = await queue.add('double', 1, { delayMs: 60_000 });
    assert.equal(await queue.cancel(id, 'not needed'), 'cancelled');
    const error = await rejectionOf(queue.waitForResult(id));
    assert.ok(error instanceof JobCancelledError);
    assert.match(error.message, /not needed/);
    assert.equal((await queue.getCounts()).delayed, 0);
    assert.equal(await queue.cancel(id), 'cancelled', 'a second cancel changes nothing');
    await assert.rejects(queue.cancel('nope'), UnknownJobError);
  });

  test("cancelling an active job aborts its run's signal on the worker that runs it", async (t) => {
    const name = uniqueQueueName();
    const started = deferred<void>();
    let abortReason: unknown;
    const waiting = new Task({
      name: 'waits',
      taskFunction: (_input: void, _setup: undefined, { signal }) => new Promise((_resolve, reject) => {
        started.resolve();
        signal.addEventListener('abort', () => {
          abortReason = signal.reason;
          reject(signal.reason);
        });
      }),
    });
    await workerFor(t, redis.url, name, [waiting]);
    const producer = queueFor(t, redis.url, name);
    const { id } = await producer.add('waits');
    await within(started.promise, 'the run');
    assert.equal(await producer.cancel(id, 'user pressed stop'), 'active');
    const error = await rejectionOf(within(producer.waitForResult(id), 'the cancelled end'));
    assert.ok(error instanceof JobCancelledError);
    assert.ok(abortReason instanceof JobCancelledError);
    assert.match((abortReason as Error).message, /user pressed stop/);
    assert.equal((await producer.getJob(id))?.state, 'cancelled');
  });

  test('pause holds every worker; active jobs finish; resume lets them take jobs again', async (t) => {
    const name = uniqueQueueName();
    const gate = deferred<void>();
    let runs = 0;
    const work = new Task({
      name: 'work',
      taskFunction: async (first: boolean) => {
        runs++;
        if (first) await gate.promise;
      },
    });
    const { queue } = await workerFor(t, redis.url, name, [work], { concurrency: 5 });
    await workerFor(t, redis.url, name, [work], { concurrency: 5 });
    const first = await queue.add('work', true);
    await waitFor(() => runs === 1, 'the first run');
    await queue.pause();
    const rest = await queue.addBulk(Array.from({ length: 4 }, () => ({ taskName: 'work', input: false })));
    gate.resolve();
    await within(queue.waitForResult(first.id), 'the active job finishes while paused');
    await sleep(100);
    assert.equal(runs, 1);
    const counts = await queue.getCounts();
    assert.equal(counts.paused, true);
    assert.equal(counts.waiting, 4);
    await queue.resume();
    await within(Promise.all(rest.map((job) => queue.waitForResult(job.id))), 'the rest after resume');
    assert.equal(runs, 5);
  });

  test('stop with a timeout aborts a running job and puts it back without using an attempt', async (t) => {
    const name = uniqueQueueName();
    const started = deferred<void>();
    let sawAbort = false;
    const hangs = new Task({
      name: 'job',
      taskFunction: (_input: void, _setup: undefined, { signal }) => new Promise((_resolve, reject) => {
        started.resolve();
        signal.addEventListener('abort', () => {
          sawAbort = true;
          reject(signal.reason);
        });
      }),
    });
    const { queue } = await workerFor(t, redis.url, name, [hangs]);
    const { id } = await queue.add('job');
    await within(started.promise, 'the run');
    await within(queue.stop({ timeoutMs: 50 }), 'stop');
    assert.equal(sawAbort, true);
    const producer = queueFor(t, redis.url, name);
    const job = await producer.getJob(id);
    assert.equal(job?.state, 'waiting');
    assert.equal(job?.attempt, 1);
    const done = new Task({ name: 'job', taskFunction: async () => 'done elsewhere' });
    await workerFor(t, redis.url, name, [done]);
    assert.equal(await within(producer.waitForResult(id), 'the run elsewhere'), 'done elsewhere');
    await assert.rejects(queue.add('job'), { code: 'QUEUE_STOPPED' });
  });

  test("a worker that stops renewing loses the job to another; its late outcome is discarded and reported", async (t) => {
    const name = uniqueQueueName();
    const release = deferred<void>();
    const firstStarted = deferred<void>();
    const slowFirst = new Task({
      name: 'job',
      taskFunction: async () => {
        firstStarted.resolve();
        // Ignores its signal, as a blocked or careless task would.
        await release.promise;
        return 'late';
      },
    });
    const { queue: stuck } = await workerFor(t, redis.url, name, [slowFirst], { leaseMs: 300, instanceId: 'stuck' });
    const { id } = await stuck.add('job');
    await within(firstStarted.promise, 'the first run');
    // As if its event loop were blocked: no more renewals from this worker.
    clearInterval((stuck as unknown as { worker: { renewTimer: NodeJS.Timeout } }).worker.renewTimer);
    const events = await recordEvents(stuck);
    const fresh = new Task({ name: 'job', taskFunction: async () => 'real' });
    await workerFor(t, redis.url, name, [fresh], { leaseMs: 300, instanceId: 'fresh' });
    assert.equal(await within(stuck.waitForResult(id), 'the takeover'), 'real');
    release.resolve();
    await waitFor(() => stuck.reported.some((error) => error instanceof LeaseLostError), 'the report of the discarded outcome');
    const job = await stuck.getJob(id);
    assert.equal(job?.result, 'real');
    assert.equal(job?.stalls, 1);
    assert.deepEqual(events.filter((event) => event.type === 'stalled').map((event) => event.instanceId), ['stuck']);
  });

  test('a job that stalls more than maxStalls times fails with JobStalledError', async (t) => {
    const name = uniqueQueueName();
    const never = new Task({ name: 'job', taskFunction: () => new Promise(() => {}) });
    const { queue } = await workerFor(t, redis.url, name, [never], { leaseMs: 300, maxStalls: 0 });
    clearInterval((queue as unknown as { worker: { renewTimer: NodeJS.Timeout } }).worker.renewTimer);
    const { id } = await queue.add('job');
    const error = await rejectionOf(within(queue.waitForResult(id), 'the stall failure'));
    assert.ok(error instanceof JobFailedError);
    assert.equal((error as JobFailedError).jobError.code, 'JOB_STALLED');
    assert.match(error.message, /stalled 1 times .* maxStalls is 0/);
  });

  test('completed jobs are removed after keepCompletedMs, and their id can be used again', async (t) => {
    const name = uniqueQueueName();
    const { queue } = await workerFor(t, redis.url, name, [double()], { keepCompletedMs: 100 });
    await within(queue.waitForResult((await queue.add('double', 1, { jobId: 'short-lived' })).id), 'the run');
    await sleep(200);
    assert.equal(await queue.getJob('short-lived'), null);
    assert.equal((await queue.add('double', 2, { jobId: 'short-lived' })).created, true);
  });

  test('a stopped queue refuses calls with QueueStoppedError and rejects pending waits', async (t) => {
    const queue = queueFor(t, redis.url, uniqueQueueName());
    const { id } = await queue.add('double', 1);
    const waiting = rejectionOf(queue.waitForResult(id));
    await queue.listenForEvents();
    await queue.stop();
    assert.equal(((await waiting) as { code?: string }).code, 'QUEUE_STOPPED');
    await assert.rejects(queue.getJob(id), { code: 'QUEUE_STOPPED' });
  });
});

/** The parts of a queue's worker that the race tests below drive by hand. */
interface IWorkerInternals {
  renewTimer: NodeJS.Timeout | undefined;
  sweepTimer: NodeJS.Timeout | undefined;
  claim(): void;
  renew(): Promise<void>;
}

function workerOf(queue: RedisTaskQueue): IWorkerInternals {
  return (queue as unknown as { worker: IWorkerInternals }).worker;
}

/** A plain client on the test's redis-server, to change keys behind the queue's back. */
function adminFor(t: TestContext): Redis {
  const admin = new Redis(redis.url);
  t.after(() => admin.disconnect());
  return admin;
}

/**
 * A job of `taskName` added while the queue is paused; `unpause()` then resumes the queue
 * without waking any worker, so that a test can claim it by hand.
 */
async function addPaused(t: TestContext, name: string, taskName: string): Promise<{ producer: RedisTaskQueue; id: string; unpause(): Promise<unknown> }> {
  const producer = queueFor(t, redis.url, name);
  await producer.pause();
  const { id } = await producer.add(taskName, 21);
  const admin = adminFor(t);
  return { producer, id, unpause: () => admin.del(`taskbuffer:queue:${name}:paused`) };
}

/** A task that runs until its signal fires (it counts its runs). */
function waitsForSignal(name: string, runs: { count: number }): Task<any, any, any> {
  return new Task({
    name,
    taskFunction: (_input: void, _setup: undefined, { signal }) => new Promise((_resolve, reject) => {
      runs.count++;
      signal.addEventListener('abort', () => reject(signal.reason));
    }),
  });
}

describe('races between the scripts and a worker', () => {
  test('a job whose earlier record expired can be added again and is not deleted by a later trim', async (t) => {
    const name = uniqueQueueName();
    const { queue } = await workerFor(t, redis.url, name, [double()], { keepCompletedMs: 100 });
    await within(queue.waitForResult((await queue.add('double', 1, { jobId: 'reused' })).id), 'the first run');
    await sleep(200);
    // No worker runs "shout": the new job of the old id waits.
    assert.equal((await queue.add('shout', 'hi', { jobId: 'reused' })).created, true);
    // Its own record may expire (100 ms) before a waitForResult could read it on a busy machine: wait for its event.
    const events = await recordEvents(queue);
    const trimming = await queue.add('double', 2);
    await waitFor(() => events.some((event) => event.jobId === trimming.id && event.type === 'completed'), 'a run that trims old completed jobs');
    assert.equal((await queue.getJob('reused'))?.state, 'waiting');
    const counts = await queue.getCounts();
    assert.equal(counts.waiting, 1);
    assert.equal(counts.completed, 1, 'the expired record is not counted');
  });

  test('waitForResult settles when the job record is removed as soon as the job ends (keep times of 0)', async (t) => {
    const name = uniqueQueueName();
    const gate = deferred<void>();
    const gated = new Task({ name: 'gated', taskFunction: async (fail: boolean) => {
      await gate.promise;
      if (fail) throw Object.assign(new Error('it broke'), { code: 'E_BROKE' });
      return 'done';
    } });
    const { queue } = await workerFor(t, redis.url, name, [gated], { keepCompletedMs: 0, keepFailedMs: 0, concurrency: 2 });
    const events = await recordEvents(queue);
    const ok = await queue.add('gated', false);
    const bad = await queue.add('gated', true);
    await waitFor(() => events.filter((event) => event.type === 'started').length === 2, 'both runs');
    const results = [rejectionOf(queue.waitForResult(ok.id)), rejectionOf(queue.waitForResult(bad.id))];
    await sleep(20);
    gate.resolve();
    const [lostResult, failure] = await within(Promise.all(results), 'both waits settle');
    assert.ok(lostResult instanceof UnknownJobError, String(lostResult));
    assert.ok(failure instanceof JobFailedError, String(failure));
    assert.deepEqual((failure as JobFailedError).jobError, { name: 'Error', message: 'it broke', code: 'E_BROKE' });
  });

  test('a worker that takes back a job it lost, while the old run still goes on, keeps renewing the new run', async (t) => {
    const name = uniqueQueueName();
    const releases = [deferred<void>(), deferred<void>(), deferred<void>()];
    let runs = 0;
    // Ignores its signal, as a blocked or careless task would.
    const job = new Task({ name: 'job', taskFunction: async () => {
      const run = ++runs;
      await releases[run - 1]!.promise;
      return run;
    } });
    const { queue } = await workerFor(t, redis.url, name, [job], { leaseMs: 300, concurrency: 2 });
    const worker = workerOf(queue);
    clearInterval(worker.renewTimer);
    const events = await recordEvents(queue);
    const { id } = await queue.add('job');
    await waitFor(() => runs === 2, 'a second run on the same worker once the first lease ran out');
    worker.renewTimer = setInterval(() => void worker.renew(), 100);
    releases[0]!.resolve();
    await sleep(700);
    releases[1]!.resolve();
    releases[2]!.resolve();
    assert.equal(await within(queue.waitForResult(id), 'the second run'), 2);
    assert.equal(runs, 2, 'the second run kept its lease');
    assert.equal(events.filter((event) => event.type === 'stalled').length, 1);
    assert.ok(queue.reported.some((error) => error instanceof LeaseLostError), 'the first run was reported as lost');
  });

  test('jobs a claim brings back after stop() began go back to waiting without running', async (t) => {
    const name = uniqueQueueName();
    const runs = { count: 0 };
    const { id, producer, unpause } = await addPaused(t, name, 'job');
    const { queue } = await workerFor(t, redis.url, name, [waitsForSignal('job', runs)]);
    await unpause();
    workerOf(queue).claim();
    await within(queue.stop({ drain: false, timeoutMs: 50 }), 'stop');
    assert.equal(runs.count, 0);
    const job = await producer.getJob(id);
    assert.equal(job?.state, 'waiting');
    assert.equal(job?.attempt, 1);
    assert.equal(job?.stalls, 0);
  });

  test('a job claimed just before its task left the manager goes back to waiting for a worker that has it', async (t) => {
    const name = uniqueQueueName();
    const { id, producer, unpause } = await addPaused(t, name, 'double');
    const task = double();
    const { queue, manager } = await workerFor(t, redis.url, name, [task]);
    await unpause();
    workerOf(queue).claim();
    manager.removeTask(task);
    await sleep(100);
    const job = await producer.getJob(id);
    assert.equal(job?.state, 'waiting');
    assert.equal(job?.attempt, 1);
    await workerFor(t, redis.url, name, [double()]);
    assert.equal(await within(producer.waitForResult(id), 'the run elsewhere'), 42);
  });

  test('stop does not wait out its timeout for a claim that failed', async (t) => {
    const name = uniqueQueueName();
    const { queue } = await workerFor(t, redis.url, name, [double()]);
    // A key of the wrong type makes every claim of "double" fail.
    await adminFor(t).set(`taskbuffer:queue:${name}:wait:double`, 'not a sorted set');
    workerOf(queue).claim();
    const began = Date.now();
    await within(queue.stop({ timeoutMs: 3_000 }), 'stop');
    assert.ok(Date.now() - began < 1_000, `stop took ${Date.now() - began} ms`);
  });

  test('stop() while work() subscribes leaves no timer behind and work() rejects with QueueStoppedError', async (t) => {
    const name = uniqueQueueName();
    const manager = new TaskManager();
    manager.addTask(double());
    await manager.start();
    t.after(() => manager.stop());
    const queue = queueFor(t, redis.url, name, { leaseMs: 300 });
    const working = queue.work(manager).then(() => undefined, (error: unknown) => error);
    await queue.stop();
    const worker = workerOf(queue);
    // Should a timer have been left behind, it must not keep the test process alive.
    t.after(() => {
      clearInterval(worker.renewTimer);
      clearInterval(worker.sweepTimer);
    });
    assert.ok((await working) instanceof QueueStoppedError);
    await sleep(400);
    assert.deepEqual(queue.reported.map((error) => error.message), []);
    assert.equal(await adminFor(t).zscore(`taskbuffer:queue:${name}:workers`, queue.instanceId), null);
  });

  test('waitForResult settles for a job that ended while its subscriber was reconnecting', async (t) => {
    const name = uniqueQueueName();
    const gate = deferred<void>();
    const gated = new Task({ name: 'gated', taskFunction: async () => {
      await gate.promise;
      return 'done';
    } });
    const { queue } = await workerFor(t, redis.url, name, [gated]);
    const events = await recordEvents(queue);
    const producer = queueFor(t, redis.url, name);
    const { id } = await producer.add('gated');
    await waitFor(() => events.some((event) => event.type === 'started'), 'the run');
    const result = producer.waitForResult(id);
    await producer.listenForEvents();
    await sleep(20);
    // Every subscriber connection drops; ioredis reconnects them after a moment.
    await adminFor(t).client('KILL', 'TYPE', 'pubsub');
    gate.resolve();
    assert.equal(await within(result, 'the result, after the subscriber came back', 3_000), 'done');
  });

  test('an idle worker takes a job added while its subscriber was reconnecting', async (t) => {
    const name = uniqueQueueName();
    const { queue } = await workerFor(t, redis.url, name, [double()], { leaseMs: 60_000 });
    const producer = queueFor(t, redis.url, name);
    await adminFor(t).client('KILL', 'TYPE', 'pubsub');
    const { id } = await producer.add('double', 5);
    assert.equal(await within(queue.waitForResult(id), 'the job, long before a sweep', 3_000), 10);
  });

  test('finished jobs whose records expired leave the counts even when no other job finishes', async (t) => {
    const name = uniqueQueueName();
    const failing = new Task({ name: 'failing', taskFunction: async () => { throw new Error('no'); } });
    const { queue } = await workerFor(t, redis.url, name, [double(), failing], { leaseMs: 300, keepCompletedMs: 50, keepFailedMs: 50 });
    await within(queue.waitForResult((await queue.add('double', 1)).id), 'the completed job');
    await rejectionOf(within(queue.waitForResult((await queue.add('failing')).id), 'the failed job'));
    await queue.cancel((await queue.add('double', 2, { delayMs: 60_000 })).id);
    await sleep(400);
    const counts = await queue.getCounts();
    assert.deepEqual([counts.completed, counts.failed, counts.cancelled], [0, 0, 0]);
  });

  test('a delayed job is not held up behind more than a claim promotes of due jobs of other tasks', async (t) => {
    const name = uniqueQueueName();
    const { queue } = await workerFor(t, redis.url, name, [double()], { leaseMs: 60_000 });
    // 150 due jobs of a task no worker has: one claim promotes 100 of them.
    await queue.addBulk(Array.from({ length: 150 }, () => ({ taskName: 'other', delayMs: 200 })));
    const { id } = await queue.add('double', 3, { delayMs: 300 });
    assert.equal(await within(queue.waitForResult(id), 'the delayed job, long before the next sweep', 3_000), 6);
  });

  test('a paused queue with due delayed jobs does not make its workers claim in a loop', async (t) => {
    const name = uniqueQueueName();
    const { queue } = await workerFor(t, redis.url, name, [double()], { leaseMs: 60_000 });
    await queue.pause();
    await queue.add('double', 1, { delayMs: 50 });
    await sleep(150);
    const admin = adminFor(t);
    const calls = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    const before = await calls();
    await sleep(200);
    assert.ok((await calls()) - before < 10, `${(await calls()) - before} script calls in 200 ms while paused`);
  });

  test('a second stop() resolves only when the first one is done', async (t) => {
    const name = uniqueQueueName();
    const gate = deferred<void>();
    const gated = new Task({ name: 'gated', taskFunction: async () => {
      await gate.promise;
      return 'done';
    } });
    const { queue } = await workerFor(t, redis.url, name, [gated]);
    const events = await recordEvents(queue);
    const { id } = await queue.add('gated');
    await waitFor(() => events.some((event) => event.type === 'started'), 'the run');
    const first = queue.stop({ timeoutMs: 2_000 });
    let secondDone = false;
    const second = queue.stop().then(() => (secondDone = true));
    await sleep(50);
    assert.equal(secondDone, false, 'the second stop waits for the running job as the first does');
    gate.resolve();
    await within(Promise.all([first, second]), 'both stops');
    assert.equal((await queueFor(t, redis.url, name).getJob(id))?.state, 'completed');
  });

  test('a script that Redis refuses is reported each time, not once as if it were an outage', async (t) => {
    const name = uniqueQueueName();
    const { queue } = await workerFor(t, redis.url, name, [double()]);
    const worker = workerOf(queue);
    const admin = adminFor(t);
    // A key of the wrong type makes every claim of "double" fail, with Redis's answer.
    await admin.set(`taskbuffer:queue:${name}:wait:double`, 'not a sorted set');
    worker.claim();
    await waitFor(() => queue.reported.length === 1, 'the first failure');
    worker.claim();
    await waitFor(() => queue.reported.length === 2, 'the second failure, no outage in between');
    assert.match(queue.reported[1]!.message, /the claim script failed: WRONGTYPE/);
  });

  test('an error whose message has a lone surrogate is recorded (Lua cjson refuses those)', async (t) => {
    const name = uniqueQueueName();
    const broken = new Task({ name: 'broken', taskFunction: async () => { throw new Error(`cut in half: ${'😀'.slice(0, 1)}`); } });
    const { queue } = await workerFor(t, redis.url, name, [broken], { leaseMs: 300, maxStalls: 0 });
    const { id } = await queue.add('broken');
    const error = await rejectionOf(within(queue.waitForResult(id), 'the failure'));
    assert.ok(error instanceof JobFailedError);
    assert.deepEqual((error as JobFailedError).jobError, { name: 'Error', message: 'cut in half: \ufffd' });
    const waiting = await queue.add('broken', undefined, { delayMs: 60_000 });
    assert.equal(await queue.cancel(waiting.id, `reason ${'😀'.slice(1)}`), 'cancelled');
  });
});

describe('when Redis is away', () => {
  test('stop() ends within seconds although Redis is gone', async (t) => {
    const gone = await startRedis();
    const name = uniqueQueueName();
    const { queue } = await workerFor(t, gone.url, name, [double()]);
    await gone.stop();
    const started = Date.now();
    await within(queue.stop({ timeoutMs: 100 }), 'stop without Redis', 6_000);
    assert.ok(Date.now() - started < 5_000);
  });

  test("waitForResult's timeoutMs counts while Redis cannot be reached", async (t) => {
    const closedPort = await freePort();
    const queue = queueFor(t, redis.url.replace(/:\d+$/, `:${closedPort}`), uniqueQueueName());
    const error = await rejectionOf(within(queue.waitForResult('any', { timeoutMs: 100 }), 'the time limit', 3_000));
    assert.ok(error instanceof ResultTimeoutError, String(error));
  });

  test('a job whose wake-up was lost is still taken within one sweep interval', async (t) => {
    const name = uniqueQueueName();
    const { queue } = await workerFor(t, redis.url, name, [double()], { leaseMs: 300 });
    const admin = new Redis(redis.url);
    t.after(() => admin.disconnect());
    // Paused by hand and resumed by hand: the worker hears of the job once, while paused, and never again.
    await admin.set(`taskbuffer:queue:${name}:paused`, '1');
    const { id } = await queue.add('double', 5);
    await sleep(150);
    assert.equal((await queue.getJob(id))?.state, 'waiting');
    await admin.del(`taskbuffer:queue:${name}:paused`);
    assert.equal(await within(queue.waitForResult(id), 'the sweep to take it', 1_000), 10);
  });
});

describe('shutdown order', () => {
  test('a manager stopped before its queue puts claimed jobs back instead of failing them', async (t) => {
    const name = uniqueQueueName();
    const runs = { count: 0 };
    const { queue, manager } = await workerFor(t, redis.url, name, [waitsForSignal('job', runs)], { concurrency: 2, leaseMs: 300 });
    const running = await queue.add('job');
    await waitFor(() => runs.count === 1, 'the first run');
    await manager.stop({ drain: true, timeoutMs: 50 });
    const later = await queue.add('job');
    await sleep(300);
    for (const id of [running.id, later.id]) {
      const job = await queue.getJob(id);
      assert.equal(job?.state, 'waiting', `job ${id} is ${job?.state}`);
      assert.equal(job?.attempt, 1);
    }
    assert.equal(runs.count, 1, 'nothing started on the stopped manager');
    await manager.start();
    await waitFor(() => runs.count === 3, 'both jobs run once the manager is started again', 3_000);
  });
});
