/**
 * The websocket gateway and its client over real connections on localhost: remote
 * triggers with live progress, aborts, metadata, subscriptions, run watches, pause and
 * resume, and the client's reconnect.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayRequestError, RemoteTaskError, TaskGatewayClient, type TWireEvent } from '../ts/client/index.js';
import { TaskGateway } from '../ts/gateway/index.js';
import { Task, TaskConstraintGroup, TaskManager } from '../ts/index.js';
import { ADMIN, clientFor, gatewayFor } from './gateway-helpers.js';
import { waitFor, within } from './manager-helpers.js';
import { deferred } from './rule-helpers.js';

describe('remote triggers', () => {
  it('triggers a task by name and delivers its steps, updates and result live, every event naming the run', async (t) => {
    const { manager, url } = await gatewayFor(t);
    const download = new Task({
      name: 'download',
      steps: [{ name: 'fetch', description: 'fetch', percentage: 80 }, { name: 'store', description: 'store', percentage: 20 }] as const,
      taskFunction: async (input: { file: string }, _setup, context) => {
        download.notifyStep('fetch');
        for (const bytes of [10, 20, 30]) context.update({ bytes });
        download.notifyStep('store');
        return `${input.file}: 30 bytes`;
      },
    });
    manager.addTask(download);
    const client = await clientFor(t, url);
    const run = client.trigger<string>('download', { file: 'a.iso' });
    const events: TWireEvent[] = [];
    run.events.subscribe((event) => events.push(event));
    assert.equal(await within(run.result, 'the result'), 'a.iso: 30 bytes');
    const runId = await run.runId;
    assert.deepEqual(events.map((event) => event.type), ['started', 'step', 'update', 'update', 'update', 'step', 'completed']);
    assert.ok(events.every((event) => event.runId === runId));
    assert.deepEqual(events.filter((event) => event.type === 'update').map((event) => event.type === 'update' && event.payload), [{ bytes: 10 }, { bytes: 20 }, { bytes: 30 }]);
    assert.equal(events.at(-1)?.task.currentProgress, 100);
  });

  it('replays the last 256 events of a run to a subscriber that comes after they arrived', async (t) => {
    const { manager, url } = await gatewayFor(t);
    manager.addTask(new Task({
      name: 'chatty',
      taskFunction: (_input: undefined, _setup, context) => {
        for (let i = 1; i <= 300; i++) context.update(i);
      },
    }));
    const client = await clientFor(t, url);
    const run = client.trigger('chatty');
    await run.result;
    const late: TWireEvent[] = [];
    run.events.subscribe((event) => late.push(event));
    assert.equal(late.length, 256);
    assert.equal(late.at(-1)?.type, 'completed');
    assert.deepEqual(late.slice(0, 2).map((event) => event.type === 'update' && event.payload), [46, 47]);
  });

  it("rejects with the task's own error, its name and message kept", async (t) => {
    const { manager, url } = await gatewayFor(t);
    class ValidationError extends Error {
      override name = 'ValidationError';
    }
    manager.addTask(new Task({ name: 'validate', taskFunction: () => { throw new ValidationError('field "email" is empty'); } }));
    const client = await clientFor(t, url);
    const error = await client.trigger('validate').result.catch((caught: unknown) => caught);
    assert.ok(error instanceof RemoteTaskError);
    assert.equal(error.name, 'ValidationError');
    assert.equal(error.message, 'field "email" is empty');
  });

  it("aborts a run from the client: the task function's signal fires on the server", async (t) => {
    const { manager, url } = await gatewayFor(t);
    const aborted = deferred<unknown>();
    manager.addTask(new Task({
      name: 'long',
      taskFunction: (_input: undefined, _setup, context) => new Promise((_resolve, reject) => {
        context.signal.addEventListener('abort', () => {
          aborted.resolve(context.signal.reason);
          reject(context.signal.reason);
        });
      }),
    }));
    const client = await clientFor(t, url);
    const run = client.trigger('long');
    const started = deferred();
    run.events.subscribe((event) => event.type === 'started' && started.resolve());
    await within(started.promise, 'the start');
    await run.abort('the operator said so');
    const reason = await within(aborted.promise, 'the signal');
    assert.match(String((reason as Error).message), /the operator said so/);
    const error = await run.result.catch((caught: unknown) => caught);
    assert.ok(error instanceof RemoteTaskError);
    assert.equal(error.name, 'AbortError');
  });

  it('passes timeoutMs and priority on to the manager', async (t) => {
    const { manager, url } = await gatewayFor(t);
    manager.addTask(new Task({ name: 'slow', taskFunction: () => new Promise((resolve) => setTimeout(resolve, 2000)) }));
    const client = await clientFor(t, url);
    const error = await client.trigger('slow', undefined, { timeoutMs: 20 }).result.catch((caught: unknown) => caught);
    assert.ok(error instanceof RemoteTaskError);
    assert.equal(error.name, 'TimeoutError');
    assert.equal(error.code, 'TIMEOUT');
  });

  it('refuses an unknown task with UNKNOWN_TASK and keeps the connection usable', async (t) => {
    const { manager, url } = await gatewayFor(t);
    manager.addTask(new Task({ name: 'known', taskFunction: () => 'ok' }));
    const client = await clientFor(t, url);
    const error = await client.trigger('unknown').result.catch((caught: unknown) => caught);
    assert.ok(error instanceof GatewayRequestError);
    assert.equal(error.code, 'UNKNOWN_TASK');
    assert.match(error.message, /"unknown"/);
    assert.equal(await client.trigger('known').result, 'ok');
  });
});

describe('metadata, subscriptions and run watches', () => {
  it("lists the tasks and the constraint groups as the manager's own metadata", async (t) => {
    const { manager, url } = await gatewayFor(t);
    manager.addTask(new Task({ name: 'a', labels: { tenant: 'acme' }, taskFunction: () => 1 }));
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'per-tenant', maxConcurrent: 2, constraintKeyForExecution: () => 'acme' }));
    const client = await clientFor(t, url);
    assert.deepEqual(await client.listTasks(), JSON.parse(JSON.stringify(manager.getAllTasksMetadata())));
    assert.deepEqual(await client.getConstraintGroupStates(), manager.getConstraintGroupStates());
  });

  it('takes subscriptions and watches made before connect() once connected, and says so through ready', async (t) => {
    const { manager, url } = await gatewayFor(t);
    manager.addTask(new Task({ name: 'early', taskFunction: () => 'ok' }));
    const client = new TaskGatewayClient({ url, ...ADMIN });
    t.after(() => client.close());
    const events: string[] = [];
    const subscription = client.subscribe({ taskName: 'early' }, (event) => events.push(event.type));
    const watched: string[] = [];
    const watch = client.watchRun('early-run', (event) => watched.push(event.type));
    await client.connect();
    await within(Promise.all([subscription.ready, watch.ready]), 'both taken');
    await manager.triggerTaskByName('early', undefined, { runId: 'early-run' });
    await waitFor(() => events.length === 2 && watched.length === 2, 'the events');
  });

  it('delivers only the events a subscription asks for, by task name or by labels', async (t) => {
    const { manager, url } = await gatewayFor(t);
    manager.addTask(new Task({ name: 'acme-sync', labels: { tenant: 'acme' }, taskFunction: () => 1 }));
    manager.addTask(new Task({ name: 'globex-sync', labels: { tenant: 'globex' }, taskFunction: () => 2 }));
    const client = await clientFor(t, url);
    const byName: string[] = [];
    const byLabel: string[] = [];
    client.subscribe({ taskName: 'globex-sync' }, (event) => byName.push(`${event.task.name}:${event.type}`));
    client.subscribe({ labels: { tenant: 'acme' } }, (event) => byLabel.push(`${event.task.name}:${event.type}`));
    await client.listTasks(); // the subscriptions are in place once a later request is answered
    await manager.triggerTaskByName('acme-sync');
    await manager.triggerTaskByName('globex-sync');
    await waitFor(() => byName.length === 2 && byLabel.length === 2, 'both subscriptions');
    assert.deepEqual(byName, ['globex-sync:started', 'globex-sync:completed']);
    assert.deepEqual(byLabel, ['acme-sync:started', 'acme-sync:completed']);
  });

  it('watches one run that another part of the program started, down to its updates, and stops on unsubscribe', async (t) => {
    const { manager, url } = await gatewayFor(t);
    const go = deferred();
    manager.addTask(new Task({
      name: 'copy',
      taskFunction: async (_input: undefined, _setup, context) => {
        context.update({ copied: 1 });
        await go.promise;
        context.update({ copied: 2 });
      },
    }));
    const client = await clientFor(t, url);
    const seen: TWireEvent[] = [];
    const watch = client.watchRun('local-run-7', (event) => seen.push(event));
    await client.listTasks();
    const other: TWireEvent[] = [];
    client.watchRun('another-run', (event) => other.push(event));
    const run = manager.triggerTaskByName('copy', undefined, { runId: 'local-run-7' });
    await waitFor(() => seen.length === 2, 'started and the first update');
    go.resolve();
    await run;
    await waitFor(() => seen.length === 4, 'the second update and the end');
    assert.deepEqual(seen.map((event) => event.type), ['started', 'update', 'update', 'completed']);
    watch.unsubscribe();
    await client.listTasks();
    await manager.triggerTaskByName('copy', undefined, { runId: 'local-run-7' });
    await client.listTasks();
    assert.equal(seen.length, 4);
    assert.deepEqual(other, []);
  });

  it('lists the runs going on and pauses and resumes tasks and groups', async (t) => {
    const { manager, url } = await gatewayFor(t);
    const hold = deferred();
    manager.addTask(new Task({ name: 'held', taskFunction: () => hold.promise }));
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'g', maxConcurrent: 1, constraintKeyForExecution: () => 'k' }));
    const client = await clientFor(t, url);
    const run = manager.triggerTaskByName('held', undefined, { runId: 'held-1' });
    await waitFor(() => manager.getActiveRuns().length === 1, 'the run');
    assert.deepEqual((await client.getActiveRuns()).map((info) => [info.runId, info.taskName]), [['held-1', 'held']]);
    hold.resolve();
    await run;
    await client.pauseTask('held');
    assert.equal(manager.getTaskByName('held')!.paused, true);
    await client.resumeTask('held');
    assert.equal(manager.getTaskByName('held')!.paused, false);
    await client.pauseConstraintGroup('g');
    assert.equal(manager.getConstraintGroupStates()[0]!.paused, true);
    await client.resumeConstraintGroup('g');
    assert.equal(manager.getConstraintGroupStates()[0]!.paused, false);
  });
});

describe('reconnecting', () => {
  it('reconnects after the gateway restarts on the same port and restores its subscriptions and watches', async (t) => {
    const manager = new TaskManager();
    manager.addTask(new Task({ name: 'tick', taskFunction: () => 'tock' }));
    await manager.start();
    t.after(() => manager.stop());
    const credentials = { [ADMIN.name]: { key: ADMIN.key, scopes: ['admin'] } };
    const first = new TaskGateway({ manager, host: '127.0.0.1', credentials });
    await first.start();
    const { port, url } = first.address();
    const client = await clientFor(t, url, ADMIN, { reconnect: { initialDelayMs: 20, maxDelayMs: 100 } });
    const states: string[] = [];
    client.stateSubject.subscribe((state) => states.push(state));
    const events: string[] = [];
    client.subscribe({ taskName: 'tick' }, (event) => events.push(event.type));
    const watched: string[] = [];
    client.watchRun('after-restart', (event) => watched.push(event.type));
    await client.listTasks();
    await first.stop();
    await waitFor(() => client.state === 'reconnecting', 'the client notices');
    const second = new TaskGateway({ manager, host: '127.0.0.1', port, credentials });
    await second.start();
    t.after(() => second.stop());
    await waitFor(() => client.state === 'open', 'the reconnect', 10_000);
    await client.listTasks();
    await manager.triggerTaskByName('tick', undefined, { runId: 'after-restart' });
    await waitFor(() => events.length === 2 && watched.length === 2, 'events after the restart');
    assert.deepEqual(events, ['started', 'completed']);
    assert.deepEqual(watched, ['started', 'completed']);
    assert.deepEqual(states.slice(0, 3), ['open', 'reconnecting', 'open']);
  });

  it('does not connect after close() came while it was connecting, and leaves no connection behind', async (t) => {
    const { url } = await gatewayFor(t, { credentials: { once: { key: 'once-key-1234', scopes: ['read'], maxConnections: 1 } } });
    const client = new TaskGatewayClient({ url, name: 'once', key: 'once-key-1234' });
    const connecting = client.connect();
    client.close();
    await assert.rejects(connecting, (error: Error & { code?: string }) => error.code === 'CONNECTION_LOST');
    assert.equal(client.state, 'closed');
    // The one connection these credentials allow is free: nothing of the closed client holds it.
    const next = await clientFor(t, url, { name: 'once', key: 'once-key-1234' });
    assert.equal(next.state, 'open');
  });
});
