/**
 * RedisTaskQueue with real worker processes (test/fixtures/queue-worker.ts) on a real
 * redis-server: workers killed with SIGKILL mid-run, every worker restarted between a
 * job's delay and its start, Redis itself restarted with its append-only file, and ten
 * processes adding the same job id at once.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { IQueueEvent } from '../ts/coordinator/redis.js';
import { QUEUE_WORKER, queueFor, recordEvents, uniqueQueueName } from './jobqueue-helpers.js';
import { waitFor, within } from './manager-helpers.js';
import { spawnInstance, startRedis, useRedisServer, type IClusterInstance } from './redis-helpers.js';
import { sleep } from './rule-helpers.js';

const run = promisify(execFile);
const PROJECT_ROOT = new URL('..', import.meta.url).pathname;
const DEMO = new URL('../demo/queue.ts', import.meta.url).pathname;

const redis = useRedisServer('jobqueue.process.test.ts');

/** Starts a worker process and waits until it takes jobs; it is killed after the test. */
async function startWorker(t: { after(fn: () => unknown): void }, url: string, queue: string, id: string, extra: string[] = []): Promise<IClusterInstance> {
  const worker = spawnInstance(id, ['--redis', url, '--queue', queue, ...extra], 30_000, QUEUE_WORKER);
  t.after(() => worker.kill());
  await worker.ready;
  return worker;
}

describe('workers that die', () => {
  test('2,000 jobs over 3 workers, one killed twice mid-run: every job completes exactly once', async (t) => {
    const name = uniqueQueueName();
    const leaseMs = 1_000;
    const options = ['--lease-ms', String(leaseMs), '--concurrency', '10'];
    const producer = queueFor(t, redis.url, name);
    const events = await recordEvents(producer);
    const workers = await Promise.all(['w1', 'w2', 'w3'].map((id) => startWorker(t, redis.url, name, id, options)));
    const half = () => Array.from({ length: 1_000 }, (_, i) => ({ taskName: 'sleep', input: { ms: 20 + (i % 20) } }));
    const jobs = await producer.addBulk(half());
    const kills: number[] = [];
    let victim = workers[2]!;
    for (let round = 0; round < 2; round++) {
      // The second half goes in once the restarted worker is up, so that it has work to die in.
      if (round === 1) jobs.push(...(await producer.addBulk(half())));
      await waitFor(() => events.some((event) => event.type === 'started' && event.instanceId === victim.instanceId), `a job started on ${victim.instanceId}`, 20_000);
      await sleep(200);
      kills.push(Date.now());
      await victim.kill();
      victim = await startWorker(t, redis.url, name, `w3-${round + 2}`, options);
    }
    await waitFor(() => events.filter((event) => event.type === 'completed').length >= 2_000, '2,000 completions', 60_000);
    await sleep(200);
    const completions = new Map<string, number>();
    for (const event of events) if (event.type === 'completed') completions.set(event.jobId, (completions.get(event.jobId) ?? 0) + 1);
    assert.equal(completions.size, 2_000);
    assert.ok([...completions.values()].every((count) => count === 1), 'a job completed twice');
    const counts = await producer.getCounts();
    assert.equal(counts.completed, 2_000);
    assert.equal(counts.failed + counts.waiting + counts.active + counts.delayed, 0);
    const stalled = events.filter((event): event is Extract<IQueueEvent, { type: 'stalled' }> => event.type === 'stalled');
    assert.ok(stalled.length > 0, 'the killed worker held jobs');
    assert.ok(stalled.every((event) => event.instanceId === 'w3' || event.instanceId === 'w3-2'));
    // Taken over within about leaseMs: the dead worker renewed at most leaseMs/3 before it died and sweeps run every leaseMs/3 (slack for a loaded machine).
    const lastStallOfFirstKill = Math.max(...stalled.filter((event) => event.instanceId === 'w3').map((event) => event.timestamp));
    assert.ok(lastStallOfFirstKill - kills[0]! < leaseMs * 2.5, `taken over ${lastStallOfFirstKill - kills[0]!} ms after the kill`);
    const sample = await producer.getJob(jobs[0]!.id);
    assert.equal(sample?.state, 'completed');
  });

  test('delayed jobs and durable retries run at their time after every worker was restarted in between', async (t) => {
    const name = uniqueQueueName();
    const producer = queueFor(t, redis.url, name);
    const events = await recordEvents(producer);
    const first = await startWorker(t, redis.url, name, 'r1', ['--lease-ms', '1000']);
    const addedAt = Date.now();
    const delayed = await producer.add('sleep', { ms: 1 }, { delayMs: 2_500 });
    const flaky = await producer.add('flaky', { failUntil: addedAt + 500 }, { retry: { attempts: 2, delayMs: 2_500 } });
    await waitFor(() => events.some((event) => event.type === 'retrying' && event.jobId === flaky.id), 'the first failure', 10_000);
    await first.kill();
    await sleep(800);
    assert.equal((await producer.getJob(delayed.id))?.state, 'delayed');
    assert.equal((await producer.getJob(flaky.id))?.state, 'delayed');
    await startWorker(t, redis.url, name, 'r2', ['--lease-ms', '1000']);
    await within(producer.waitForResult(delayed.id), 'the delayed job', 10_000);
    await within(producer.waitForResult(flaky.id), 'the retried job', 10_000);
    const startOf = (id: string, attempt: number) => events.find((event) => event.type === 'started' && event.jobId === id && event.attempt === attempt)!;
    const added = events.find((event) => event.type === 'added' && event.jobId === delayed.id)!;
    assert.ok(startOf(delayed.id, 1).timestamp - added.timestamp >= 2_500);
    assert.equal(startOf(delayed.id, 1).instanceId, 'r2');
    const retrying = events.find((event) => event.type === 'retrying' && event.jobId === flaky.id)!;
    assert.ok(startOf(flaky.id, 2).timestamp - retrying.timestamp >= 2_500);
    assert.equal(startOf(flaky.id, 2).instanceId, 'r2');
  });
});

describe('instances that share a queue', () => {
  let name: string;
  let workers: IClusterInstance[];

  const started: Array<() => unknown> = [];
  before(async () => {
    name = uniqueQueueName();
    workers = await Promise.all(['s1', 's2'].map((id) => startWorker({ after: (fn) => started.push(fn) }, redis.url, name, id, ['--concurrency', '5'])));
  });
  after(() => Promise.all(started.map((kill) => kill())));

  test('cancel of a job active on another process aborts its signal there and ends it cancelled', async (t) => {
    const producer = queueFor(t, redis.url, name);
    const events = await recordEvents(producer);
    const { id } = await producer.add('waits', { tag: 'job-to-cancel' });
    await waitFor(() => events.some((event) => event.type === 'started' && event.jobId === id), 'the start', 10_000);
    assert.equal(await producer.cancel(id, 'no longer wanted'), 'active');
    await assert.rejects(within(producer.waitForResult(id), 'the end', 10_000), { code: 'JOB_CANCELLED' });
    const runner = events.find((event) => event.type === 'started' && event.jobId === id)!.instanceId;
    const worker = workers.find((candidate) => candidate.instanceId === runner)!;
    await waitFor(() => worker.stdout().includes('aborted job-to-cancel'), 'the abort in the worker', 5_000);
    assert.match(worker.stdout(), /aborted job-to-cancel job ".*" was cancelled: no longer wanted/);
  });

  test('pause holds every instance until resume', async (t) => {
    const producer = queueFor(t, redis.url, name);
    await producer.pause();
    const jobs = await producer.addBulk(Array.from({ length: 6 }, () => ({ taskName: 'sleep', input: { ms: 1 } })));
    await sleep(300);
    const counts = await producer.getCounts();
    assert.equal(counts.waiting, 6);
    assert.equal(counts.active, 0);
    await producer.resume();
    await within(Promise.all(jobs.map((job) => producer.waitForResult(job.id))), 'the jobs after resume', 10_000);
  });

  test('ten processes adding the same jobId at once make one job', async () => {
    const shared = uniqueQueueName();
    const adders = Array.from({ length: 10 }, (_, i) => spawnInstance(`a${i}`, ['--redis', redis.url, '--queue', shared, '--mode', 'add', '--job-id', 'once'], 30_000, QUEUE_WORKER));
    await Promise.all(adders.map((adder) => adder.exited));
    const created = adders.filter((adder) => adder.stdout().includes('created true')).length;
    assert.equal(created, 1, adders.map((adder) => adder.stdout() + adder.stderr()).join('\n'));
  });
});

describe('Redis restarts', () => {
  test('with appendonly, Redis killed and restarted mid-run loses no job', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'taskbuffer-aof-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const durable = await startRedis({ aofDir: dir });
    t.after(() => durable.stop());
    const name = uniqueQueueName();
    const producer = queueFor(t, durable.url, name);
    await startWorker(t, durable.url, name, 'aof-1', ['--concurrency', '10', '--lease-ms', '2000']);
    await startWorker(t, durable.url, name, 'aof-2', ['--concurrency', '10', '--lease-ms', '2000']);
    await producer.addBulk(Array.from({ length: 500 }, () => ({ taskName: 'sleep', input: { ms: 10 } })));
    await sleep(150);
    const before = await producer.getCounts();
    assert.ok(before.completed < 500, 'the restart happens mid-run');
    await durable.restart({ signal: 'SIGKILL', downMs: 300 });
    let counts = await producer.getCounts();
    for (const deadline = Date.now() + 30_000; counts.completed < 500 && Date.now() < deadline; counts = await producer.getCounts()) await sleep(100);
    assert.equal(counts.completed, 500, JSON.stringify(counts));
    assert.equal(counts.failed + counts.waiting + counts.active + counts.delayed, 0);
  });
});

describe('the demo of the readme', () => {
  test('npm run queue -- worker and npm run queue -- add 2 in two terminals print the two results', async (t) => {
    const env = { ...process.env, REDIS_URL: redis.url };
    const worker = spawn(process.execPath, ['--import', 'tsx', DEMO, 'worker'], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => worker.kill('SIGKILL'));
    let workerOut = '';
    worker.stdout.on('data', (chunk) => (workerOut += chunk));
    await waitFor(() => workerOut.includes('working on queue "images"'), 'the worker to start', 30_000);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', DEMO, 'add', '2'], { cwd: PROJECT_ROOT, env, timeout: 30_000 });
    assert.match(stdout, /^added 2 jobs/m);
    assert.match(stdout, /^done: \{"image":"photo-0\.jpg","width":320,"bytes":38400\}$/m);
    assert.match(stdout, /^done: \{"image":"photo-1\.jpg","width":640,"bytes":76800\}$/m);
    assert.match(workerOut, /resizing photo-1\.jpg to 640px/);
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGINT');
    await within(exited, 'the worker to exit after Ctrl-C', 10_000);
    assert.match(workerOut, /stopping: running jobs get 3 s/);
  });
});
