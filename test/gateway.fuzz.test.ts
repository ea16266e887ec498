/**
 * Bad input never hurts the gateway: fast-check sends random and mutated frames (binary,
 * huge, truncated, deeply nested, before auth, with wrong keys, work reports with bogus
 * ids) over real websockets to a live gateway while a well-behaved client keeps
 * triggering, and a client that stops reading is cut off before it costs memory.
 */
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { TaskGatewayClient } from '../ts/client/index.js';
import { CLOSE_CODES, TaskGateway } from '../ts/gateway/index.js';
import { Task, TaskManager } from '../ts/index.js';
import { fuzzSession } from './gateway-fuzz-frames.js';
import { FUZZER, MAX_BAD_FRAMES, MAX_PAYLOAD, runSession } from './gateway-fuzz-session.js';
import { ADMIN, clientFor, gatewayFor, rawSocket, sendRaw } from './gateway-helpers.js';
import { waitFor, within } from './manager-helpers.js';
import { sleep } from './rule-helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap and buffers in use after a full collection, in bytes. */
function memoryInUse(): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** A gateway's internals, for the leak checks. */
function internals(gateway: TaskGateway) {
  const inside = gateway as unknown as {
    connections: Set<unknown>;
    router: { subscriptions: Set<unknown>; watchers: Map<string, unknown>; listening: unknown[] };
    services: { runs: { byId: Map<string, unknown> } };
  };
  return { connections: inside.connections, router: inside.router, runs: inside.services.runs.byId };
}

describe('frames from hostile or broken clients', () => {
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  before(() => {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
  });
  after(() => {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  });

  it('never crash the gateway, never cost a good client a result, leak nothing and keep memory bounded', async (t) => {
    const handlesBefore = process.getActiveResourcesInfo().filter((name) => name.startsWith('TCP')).length;
    const gatewayErrors: Error[] = [];
    const manager = new TaskManager({ onError: (error) => gatewayErrors.push(error) });
    manager.addTask(new Task({ name: 'echo', taskFunction: (input: unknown) => input }));
    manager.addTask(new Task({ name: 'slow', taskFunction: (input: { ms?: unknown } | undefined) => sleep(Math.min(50, Math.abs(Number(input?.ms)) || 5)) }));
    const gateway = new TaskGateway({
      manager,
      host: '127.0.0.1',
      authTimeoutMs: 500,
      startTimeoutMs: 300,
      maxPayloadBytes: MAX_PAYLOAD,
      maxBadFrames: MAX_BAD_FRAMES,
      onError: (error) => gatewayErrors.push(error),
      credentials: {
        [ADMIN.name]: { key: ADMIN.key, scopes: ['admin'] },
        [FUZZER.name]: { key: FUZZER.key, scopes: ['read', 'trigger:*', 'control:fuzz', 'serve:fuzz'], maxConnections: 100 },
      },
    });
    await manager.start();
    await gateway.start();
    t.after(async () => {
      await gateway.stop();
      await manager.stop({ drain: false });
    });
    const { url } = gateway.address();
    const gatewayRuns = internals(gateway).runs;
    const memoryBefore = memoryInUse();

    // The well-behaved client: four runs in flight all the time, each result checked.
    const good = new TaskGatewayClient({ url, ...ADMIN, reconnect: false });
    t.after(() => good.close());
    await good.connect();
    const completedRuns = new Set<string>();
    good.subscribe({ taskName: 'echo' }, (event) => event.type === 'completed' && completedRuns.add(event.runId));
    const goodRuns: string[] = [];
    let fuzzing = true;
    let results = 0;
    const wrong: string[] = [];
    const goodLoops = Array.from({ length: 4 }, async (_, loop) => {
      for (let n = 0; fuzzing && good.state === 'open'; n++) {
        const input = { loop, n, text: 'x'.repeat(n % 100) };
        try {
          const run = good.trigger('echo', input);
          goodRuns.push(run.runId);
          const value = await run.result;
          if (JSON.stringify(value) !== JSON.stringify(input)) wrong.push(`result ${JSON.stringify(value)} for ${JSON.stringify(input)}`);
        } catch (error) {
          wrong.push(`run ${loop}/${n} failed: ${String(error)}`);
        }
        results++;
      }
    });

    const startedAt = Date.now();
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fuzzSession, { minLength: 1, maxLength: 6 }), async (sessions) => {
          const problems = (await Promise.all(sessions.map((session) => runSession(url, session, (runId) => gatewayRuns.has(runId))))).flat();
          assert.deepEqual(problems, []);
          assert.equal(good.state, 'open');
        }),
        // Bounded in time, shrinking included: a property that fails on a loaded machine must fail, not run on.
        { numRuns: 40, interruptAfterTimeLimit: 90_000, markInterruptAsFailure: true },
      );
    } finally {
      fuzzing = false;
    }
    await within(Promise.all(goodLoops), 'the good runs');
    const fuzzMs = Date.now() - startedAt;

    assert.deepEqual(uncaught, [], 'no uncaught exception or unhandled rejection');
    assert.deepEqual(gatewayErrors.map(String), [], 'the gateway and its manager met no error of their own');
    assert.deepEqual(wrong, [], 'the good client got every result right');
    assert.ok(results > 50, `the good client kept triggering (${results} runs in ${fuzzMs} ms)`);
    await waitFor(() => goodRuns.every((runId) => completedRuns.has(runId)), 'the good subscription saw every completion');

    // Nothing of the fuzzing connections is left: their sockets, runs, watches, subscriptions and served tasks.
    for (const name of ['fuzz:0', 'fuzz:1', 'fuzz:2']) if (manager.getTaskByName(name)?.paused === true) manager.resumeTask(name);
    const inside = internals(gateway);
    await waitFor(() => inside.connections.size === 1, 'only the good connection left', 10_000);
    await waitFor(() => inside.runs.size === 0 && manager.getActiveRuns().length === 0, 'no run left', 10_000);
    assert.equal(inside.router.watchers.size, 0, 'no run watch left');
    assert.equal(inside.router.subscriptions.size, 1, "only the good client's subscription left");
    const grown = memoryInUse() - memoryBefore;
    assert.ok(grown < 24 * 1024 * 1024, `memory grew by ${(grown / 1024 / 1024).toFixed(1)} MiB`);

    good.close();
    const stopping = Date.now();
    await within(gateway.stop(), 'gateway.stop()', 3_000);
    assert.ok(Date.now() - stopping < 2_000, `stop() took ${Date.now() - stopping} ms`);
    await manager.stop();
    await sleep(50);
    assert.equal(inside.connections.size, 0);
    assert.equal(process.getActiveResourcesInfo().filter((name) => name.startsWith('TCP')).length, handlesBefore, 'no socket left open');
  });

  it('stopping the gateway in the middle of it all closes every connection at once and leaves no socket open', async () => {
    const handlesBefore = process.getActiveResourcesInfo().filter((name) => name.startsWith('TCP')).length;
    const errors: Error[] = [];
    const manager = new TaskManager({ onError: (error) => errors.push(error) });
    manager.addTask(new Task({ name: 'echo', taskFunction: (input: unknown) => input }));
    manager.addTask(new Task({ name: 'slow', taskFunction: () => sleep(50) }));
    const gateway = new TaskGateway({
      manager, host: '127.0.0.1', authTimeoutMs: 500, startTimeoutMs: 300, maxPayloadBytes: MAX_PAYLOAD, maxBadFrames: MAX_BAD_FRAMES, onError: (error) => errors.push(error),
      credentials: { [FUZZER.name]: { key: FUZZER.key, scopes: ['read', 'trigger:*', 'control:fuzz', 'serve:fuzz'] } },
    });
    await manager.start();
    await gateway.start();
    const { url } = gateway.address();
    // Their own checks do not apply here (the stop closes them with 1001): only that they end.
    const sessions = fc.sample(fuzzSession, { numRuns: 30, seed: 16 }).map((session) => runSession(url, session).catch(() => []));
    await sleep(150);
    const stopping = Date.now();
    await within(gateway.stop(), 'gateway.stop()', 3_000);
    assert.ok(Date.now() - stopping < 2_000, `stop() took ${Date.now() - stopping} ms`);
    await within(Promise.all(sessions), 'every fuzzing connection to end', 5_000);
    await manager.stop({ drain: false });
    await sleep(50);
    assert.equal(internals(gateway).connections.size, 0);
    assert.equal(process.getActiveResourcesInfo().filter((name) => name.startsWith('TCP')).length, handlesBefore, 'no socket left open');
    assert.deepEqual(errors.map(String), []);
  });

  it('a client that may trigger a task cannot abort the runs another client triggered', async (t) => {
    const manager = new TaskManager();
    manager.addTask(new Task({ name: 'held', taskFunction: (_input: undefined, _setup, context) => new Promise((resolve) => context.signal.addEventListener('abort', resolve)) }));
    const gateway = new TaskGateway({ manager, host: '127.0.0.1', credentials: { [ADMIN.name]: { key: ADMIN.key, scopes: ['admin'] }, [FUZZER.name]: { key: FUZZER.key, scopes: ['read', 'trigger:*'] } } });
    await manager.start();
    await gateway.start();
    t.after(async () => {
      await gateway.stop();
      await manager.stop({ drain: false });
    });
    const owner = new TaskGatewayClient({ url: gateway.address().url, ...ADMIN, reconnect: false });
    t.after(() => owner.close());
    await owner.connect();
    const run = owner.trigger('held');
    const runId = await run.runId;
    const { socket, frames } = await rawSocket(t, gateway.address().url);
    sendRaw(socket, { type: 'auth', id: 1, ...FUZZER });
    sendRaw(socket, { type: 'abort', id: 2, runId });
    await waitFor(() => frames.some((frame) => frame.id === 2), 'the answer to the abort');
    const answer = frames.find((frame) => frame.id === 2);
    assert.equal(answer.ok, false);
    assert.equal(answer.error.code, 'FORBIDDEN');
    assert.equal(answer.error.scope, 'control:held');
    await run.abort('its owner may');
    await assert.rejects(run.result, { name: 'AbortError' });
  });
});

/** Sends a websocket upgrade request for `target` over a raw socket; resolves with the status line of the answer ('' when there was none). */
function upgradeRequest(port: number, target: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' }, () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: gateway\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    });
    let answer = '';
    // A gateway that neither answers nor closes is cut off (and the test sees '' for it).
    const timer = setTimeout(() => socket.destroy(), 2_000);
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n')) socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer.split('\r\n')[0]!);
    });
  });
}

describe('upgrade requests with unreadable URLs', () => {
  it('are refused with 400 or 404, never crash the gateway, and leave the right path working', async (t) => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    t.after(() => process.off('uncaughtException', onUncaught));
    const manager = new TaskManager();
    const gateway = new TaskGateway({ manager, host: '127.0.0.1', credentials: { [ADMIN.name]: { key: ADMIN.key, scopes: ['admin'] } } });
    await manager.start();
    await gateway.start();
    t.after(async () => {
      await gateway.stop();
      await manager.stop();
    });
    const { port } = gateway.address();
    const targets = fc.oneof(
      fc.constantFrom('//[', 'http://[', '//x:99999/taskbuffer', '//[::1/taskbuffer', '/taskbuffer?%', '/taskbuffer%zz', '*', '/taskbuffer/../taskbuffer'),
      fc.string({ minLength: 1, maxLength: 30 }).filter((text) => !/[\s]/.test(text)).map((text) => (text.startsWith('/') ? text : `/${text}`)),
      fc.string({ minLength: 1, maxLength: 30 }).filter((text) => !/[\s]/.test(text)).map((text) => `//${text}`),
    );
    await fc.assert(fc.asyncProperty(targets, async (target) => {
      const status = await upgradeRequest(port, target);
      assert.match(status, /^(HTTP\/1\.1 (101|400|404) |$)/, `${JSON.stringify(target)} got ${JSON.stringify(status)}`);
      assert.deepEqual(uncaught, []);
    }), { numRuns: 200 });
    assert.equal(await upgradeRequest(port, '/taskbuffer'), 'HTTP/1.1 101 Switching Protocols');
    const client = new TaskGatewayClient({ url: gateway.address().url, ...ADMIN, reconnect: false });
    t.after(() => client.close());
    await client.connect();
    assert.deepEqual(await client.listTasks(), []);
  });
});

describe('values nested too deep for JSON', () => {
  it("a serving client's update nested thousands of levels deep is dropped, and the run's watchers still get its other events", async (t) => {
    const managerErrors: Error[] = [];
    const manager = new TaskManager({ onError: (error) => managerErrors.push(error) });
    const { url } = await gatewayFor(t, { manager });
    const watcher = await clientFor(t, url, ADMIN, { reconnect: false });
    const seen: string[] = [];
    watcher.watchRun('deep-1', (event) => seen.push(event.type === 'update' ? `update ${JSON.stringify(event.payload)}` : event.type));
    const { socket, frames } = await rawSocket(t, url);
    sendRaw(socket, { type: 'auth', id: 1, ...ADMIN });
    sendRaw(socket, { type: 'serve', id: 2, taskName: 'deep', concurrency: 1 });
    await waitFor(() => frames.some((frame) => frame.id === 2), 'the serve reply');
    await watcher.listTasks();
    const run = manager.triggerTaskByName('deep', undefined, { runId: 'deep-1' });
    await waitFor(() => frames.some((frame) => frame.type === 'work'), 'the work');
    const { workId } = frames.find((frame) => frame.type === 'work');
    const depth = 5_000;
    sendRaw(socket, `{"type":"workUpdate","workId":${workId},"payload":${'['.repeat(depth)}${']'.repeat(depth)}}`);
    sendRaw(socket, { type: 'workUpdate', workId, payload: { fine: true } });
    sendRaw(socket, { type: 'workDone', workId, ok: true, value: 'done' });
    assert.equal(await within(run, 'the run'), 'done');
    await waitFor(() => seen.includes('completed'), 'the end of the run');
    assert.deepEqual(seen, ['started', 'update {"fine":true}', 'completed']);
    assert.deepEqual(managerErrors.map(String), []);
  });
});

describe('a client that stops reading', () => {
  it('is disconnected once its unread frames pass maxBufferedBytes, and the gateway does not buffer the rest', async (t) => {
    const UPDATES = 1_200;
    const payload = 'u'.repeat(64 * 1024);
    let sent = 0;
    const manager = new TaskManager();
    manager.addTask(new Task({
      name: 'flood',
      taskFunction: async (_input: undefined, _setup, context) => {
        for (sent = 0; sent < UPDATES; sent++) {
          context.update({ n: sent, payload });
          if (sent % 8 === 7) await new Promise((resolve) => setImmediate(resolve));
        }
      },
    }));
    manager.addTask(new Task({ name: 'echo', taskFunction: (input: unknown) => input }));
    const gateway = new TaskGateway({ manager, host: '127.0.0.1', maxBufferedBytes: 256 * 1024, credentials: { [ADMIN.name]: { key: ADMIN.key, scopes: ['admin'] } } });
    await manager.start();
    await gateway.start();
    t.after(async () => {
      await gateway.stop();
      await manager.stop();
    });
    const { url } = gateway.address();
    const before = memoryInUse();
    let peak = 0;
    const sampler = setInterval(() => {
      const usage = process.memoryUsage();
      peak = Math.max(peak, usage.heapUsed + usage.arrayBuffers - before);
    }, 5);
    t.after(() => clearInterval(sampler));

    const { socket, frames, closed } = await rawSocket(t, url);
    sendRaw(socket, { type: 'auth', id: 1, ...ADMIN });
    await waitFor(() => frames.some((frame) => frame.id === 1), 'the auth reply');
    const tcp = (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();
    const finished = manager.triggerTaskByName('flood', undefined, { runId: 'flood-1' });
    sendRaw(socket, { type: 'watch', id: 2, runId: 'flood-1' });
    await within(finished, 'the flood', 30_000);
    clearInterval(sampler);
    assert.equal(sent, UPDATES, `${(UPDATES * payload.length / 1024 / 1024).toFixed(0)} MiB of updates were published`);
    const inside = internals(gateway);
    await waitFor(() => inside.connections.size === 0, 'the slow client to be dropped');
    assert.equal(inside.router.watchers.size, 0, 'its watch is gone');
    assert.ok(peak < 40 * 1024 * 1024, `memory peaked ${(peak / 1024 / 1024).toFixed(1)} MiB above the start`);

    tcp.resume();
    const { code } = await within(closed, 'the close, once it reads again', 10_000);
    assert.ok(code === CLOSE_CODES.SLOW_CONSUMER || code === 1006, `closed with ${code}`);
    assert.ok(frames.length < UPDATES / 2, `it got ${frames.length} of ${UPDATES} updates`);
    // The gateway serves others as before.
    const other = new TaskGatewayClient({ url, ...ADMIN, reconnect: false });
    t.after(() => other.close());
    await other.connect();
    assert.equal(await other.trigger('echo', 'still here').result, 'still here');
  });
});
