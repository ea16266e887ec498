/**
 * Remote workers: clients that serve a task do its runs, whoever triggers it (the
 * manager, cron, other clients); several servers share the load, least busy first; a
 * server that disconnects fails its runs (and a retry goes elsewhere); with no server a
 * run waits startTimeoutMs; endTimeoutMs limits a served run. Real sockets throughout.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { RemoteTaskError, type TWireEvent } from '../ts/client/index.js';
import { NoWorkerError, WorkerLostError } from '../ts/gateway/index.js';
import { Task, TaskConstraintGroup, TimeoutError } from '../ts/index.js';
import { clientFor, gatewayFor } from './gateway-helpers.js';
import { rejectionOf, waitFor, within } from './manager-helpers.js';
import { deferred } from './rule-helpers.js';

describe('serving a task', () => {
  it('runs the served handler for a local trigger, with its input, attempt, run id and updates', async (t) => {
    const { manager, url } = await gatewayFor(t);
    const worker = await clientFor(t, url);
    const seen: unknown[] = [];
    await worker.serve('resize', async (input: { width: number }, context) => {
      seen.push([context.attempt, typeof context.runId]);
      context.update({ done: 0.5 });
      return { width: input.width / 2 };
    });
    const events: string[] = [];
    manager.taskSubject.subscribe((event) => events.push(event.type === 'update' ? `update ${JSON.stringify(event.payload)}` : event.type));
    assert.deepEqual(await manager.triggerTaskByName('resize', { width: 640 }), { width: 320 });
    assert.deepEqual(seen, [[1, 'string']]);
    assert.deepEqual(events, ['started', 'update {"done":0.5}', 'completed']);
  });

  it('lets another client trigger a served task and watch its updates, and keeps the error of a handler that throws', async (t) => {
    const { url } = await gatewayFor(t);
    const worker = await clientFor(t, url);
    await worker.serve('convert', (input: string, context) => {
      context.update('halfway');
      if (input === 'bad') throw Object.assign(new TypeError('cannot convert "bad"'), { code: 'E_CONVERT' });
      return input.toUpperCase();
    });
    const caller = await clientFor(t, url);
    const run = caller.trigger('convert', 'abc');
    const events: TWireEvent[] = [];
    run.events.subscribe((event) => events.push(event));
    assert.equal(await run.result, 'ABC');
    assert.deepEqual(events.map((event) => event.type), ['started', 'update', 'completed']);
    const error = await caller.trigger('convert', 'bad').result.catch((caught: unknown) => caught);
    assert.ok(error instanceof RemoteTaskError);
    assert.equal(error.name, 'TypeError');
    assert.equal(error.code, 'E_CONVERT');
    assert.equal(error.message, 'cannot convert "bad"');
  });

  it('shares runs between two servers, least busy first, never over their concurrency', async (t) => {
    const { manager, url } = await gatewayFor(t);
    const running = new Map<string, number>();
    const peak = new Map<string, number>();
    const done = new Map<string, number>();
    const serveAs = async (name: string, concurrency: number) => {
      const client = await clientFor(t, url);
      await client.serve('work', async () => {
        running.set(name, (running.get(name) ?? 0) + 1);
        peak.set(name, Math.max(peak.get(name) ?? 0, running.get(name)!));
        await new Promise((resolve) => setTimeout(resolve, 5));
        running.set(name, running.get(name)! - 1);
        done.set(name, (done.get(name) ?? 0) + 1);
        return name;
      }, { concurrency });
    };
    await serveAs('a', 2);
    await serveAs('b', 2);
    const results = await within(Promise.all(Array.from({ length: 40 }, () => manager.triggerTaskByName('work'))), 'all runs');
    assert.equal(results.length, 40);
    assert.ok((done.get('a') ?? 0) >= 10 && (done.get('b') ?? 0) >= 10, `both servers work: ${JSON.stringify([...done])}`);
    assert.ok(peak.get('a')! <= 2 && peak.get('b')! <= 2, `concurrency respected: ${JSON.stringify([...peak])}`);
  });

  it('applies constraint groups to a served task like to any other', async (t) => {
    const { manager, url } = await gatewayFor(t);
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'one-at-a-time', maxConcurrent: 1, constraintKeyForExecution: () => 'all' }));
    let running = 0;
    let peak = 0;
    const worker = await clientFor(t, url);
    await worker.serve('exclusive', async () => {
      peak = Math.max(peak, ++running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
    }, { concurrency: 5 });
    await Promise.all(Array.from({ length: 6 }, () => manager.triggerTaskByName('exclusive')));
    assert.equal(peak, 1);
  });

  it('takes a task that only a client defined out of the manager once nobody serves it, and keeps a defined one', async (t) => {
    const { gateway, manager, url } = await gatewayFor(t);
    gateway.defineRemoteTask('kept');
    const worker = await clientFor(t, url);
    const implicit = await worker.serve('passing', () => 1);
    const kept = await worker.serve('kept', () => 2);
    assert.ok(manager.getTaskByName('passing') !== undefined);
    await implicit.stop();
    await kept.stop();
    await waitFor(() => manager.getTaskByName('passing') === undefined, 'the implicit task leaves');
    assert.ok(manager.getTaskByName('kept') !== undefined);
  });

  it("refuses to serve a name the manager has a task of its own for", async (t) => {
    const { manager, url } = await gatewayFor(t);
    manager.addTask(new Task({ name: 'local', taskFunction: () => 1 }));
    const worker = await clientFor(t, url);
    await assert.rejects(worker.serve('local', () => 2), (error: Error & { code?: string }) => error.code === 'DUPLICATE_TASK' && /of its own/.test(error.message));
  });
});

describe('servers that go away and runs nobody takes', () => {
  it('fails the run of a server that disconnects mid-run with a WorkerLostError, and a retry runs it on another server', async (t) => {
    const { gateway, manager, url } = await gatewayFor(t);
    gateway.defineRemoteTask('fragile', { retry: { attempts: 2, delayMs: 1 } });
    const first = await clientFor(t, url, undefined, { reconnect: false });
    const firstStarted = deferred();
    await first.serve('fragile', () => {
      firstStarted.resolve();
      return new Promise(() => {});
    });
    const run = manager.triggerTaskByName('fragile');
    await within(firstStarted.promise, 'the first server starts');
    const second = await clientFor(t, url);
    await second.serve('fragile', () => 'done by the second');
    const retries: string[] = [];
    manager.taskSubject.subscribe((event) => event.type === 'retrying' && retries.push(event.error));
    first.close();
    assert.equal(await within(run, 'the retried run'), 'done by the second');
    assert.match(retries[0]!, /was lost: the client disconnected/);
  });

  it('fails a run without retries with a WorkerLostError naming the client, when its server is killed', async (t) => {
    const { manager, url } = await gatewayFor(t, { credentials: { worker: { key: 'worker-key', scopes: ['serve:*'] } } });
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
      import { TaskGatewayClient } from './ts/client/index.ts';
      const client = new TaskGatewayClient({ url: ${JSON.stringify(url)}, name: 'worker', key: 'worker-key' });
      await client.connect();
      await client.serve('hang', () => { console.log('started'); return new Promise(() => {}); });
      console.log('serving');
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => child.kill('SIGKILL'));
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    await waitFor(() => output.includes('serving'), 'the worker process serves', 20_000);
    const run = manager.triggerTaskByName('hang');
    await waitFor(() => output.includes('started'), 'the worker takes the run');
    child.kill('SIGKILL');
    const error = await within(rejectionOf(run), 'the failure');
    assert.ok(error instanceof WorkerLostError);
    assert.equal(error.code, 'WORKER_LOST');
    assert.match(error.message, /client "worker"/);
  });

  it('waits startTimeoutMs for a server to connect, then fails with a NoWorkerError', async (t) => {
    const { gateway, manager } = await gatewayFor(t, { startTimeoutMs: 100 });
    gateway.defineRemoteTask('orphan');
    const started = Date.now();
    const error = await within(rejectionOf(manager.triggerTaskByName('orphan')), 'the start timeout');
    assert.ok(error instanceof NoWorkerError);
    assert.equal(error.code, 'NO_WORKER');
    assert.ok(Date.now() - started >= 95);
  });

  it('hands a run that waits for a server to the first one that connects within startTimeoutMs', async (t) => {
    const { gateway, manager, url } = await gatewayFor(t, { startTimeoutMs: 10_000 });
    gateway.defineRemoteTask('orphan');
    const waiting = manager.triggerTaskByName('orphan');
    const late = await clientFor(t, url);
    await late.serve('orphan', () => 'adopted');
    assert.equal(await within(waiting, 'the waiting run'), 'adopted');
  });

  it('fails a served run that passes endTimeoutMs with a TimeoutError and tells its server to abort', async (t) => {
    const { manager, url } = await gatewayFor(t, { endTimeoutMs: 50 });
    const worker = await clientFor(t, url);
    const aborted = deferred<string>();
    await worker.serve('slow', (_input: undefined, context) => new Promise(() => {
      context.signal.addEventListener('abort', () => aborted.resolve(String((context.signal.reason as Error).message)));
    }));
    const error = await within(rejectionOf(manager.triggerTaskByName('slow')), 'the end timeout');
    assert.ok(error instanceof TimeoutError);
    assert.match(await within(aborted.promise, 'the abort on the client'), /timed out after 50 ms/);
    await worker.serve('slow', () => 'fast now');
    assert.equal(await manager.triggerTaskByName('slow'), 'fast now', 'the slot of the timed-out run is free again');
  });

  it('tells the server to abort when the run is aborted at the gateway, and frees its slot', async (t) => {
    const { manager, url } = await gatewayFor(t);
    const worker = await clientFor(t, url);
    const aborted = deferred();
    let calls = 0;
    await worker.serve('abortable', (_input: undefined, context) => {
      if (++calls > 1) return 'second';
      return new Promise(() => context.signal.addEventListener('abort', () => aborted.resolve()));
    });
    const controller = new AbortController();
    const run = manager.triggerTaskByName('abortable', undefined, { signal: controller.signal });
    await waitFor(() => calls === 1, 'the server starts');
    controller.abort(new Error('stop'));
    await assert.rejects(run, /stop/);
    await within(aborted.promise, 'the abort reaches the server');
    assert.equal(await within(manager.triggerTaskByName('abortable'), 'the next run'), 'second');
  });

  it('fails the served runs still going when the gateway stops, and takes its tasks out of the manager', async (t) => {
    const { gateway, manager, url } = await gatewayFor(t);
    const worker = await clientFor(t, url, undefined, { reconnect: false });
    await worker.serve('pending', () => new Promise(() => {}));
    const run = manager.triggerTaskByName('pending');
    await waitFor(() => manager.getActiveRuns().length === 1, 'the run starts');
    const failure = rejectionOf(run);
    await gateway.stop();
    const error = await within(failure, 'the failure');
    assert.ok(error instanceof WorkerLostError);
    assert.equal(manager.getTaskByName('pending'), undefined);
  });
});
