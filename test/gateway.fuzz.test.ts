/**
 * Bad input never hurts the gateway: fast-check sends random and mutated frames (binary,
 * huge, truncated, deeply nested, before auth, with wrong keys, work reports with bogus
 * ids) over real websockets to a live gateway while a well-behaved client keeps
 * triggering, and a client that stops reading is cut off before it costs memory.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import { TaskGatewayClient } from '../ts/client/index.js';
import { CLOSE_CODES, TaskGateway } from '../ts/gateway/index.js';
import { Task, TaskManager } from '../ts/index.js';
import { fuzzSession, type IFuzzContext, type IFuzzSession, type TSessionKind, type TWorkAnswer } from './gateway-fuzz-frames.js';
import { ADMIN, rawSocket, sendRaw } from './gateway-helpers.js';
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

const FUZZER = { name: 'fuzzer', key: 'fuzz-key-SECRET-MARKER' };
const MARKERS = ['SECRET-MARKER', ADMIN.key];
const MAX_PAYLOAD = 128 * 1024;
const MAX_BAD_FRAMES = 20;

/** Where each kind of session connects from: failed logins slow down only their own address. */
const FROM: Record<TSessionKind, string> = { authenticated: '127.0.0.1', 'before-auth': '127.0.0.3', 'wrong-key': '127.0.0.2', huge: '127.0.0.4' };
/** The close codes each kind may see (1000: we closed it ourselves). */
const CLOSES: Record<TSessionKind, number[]> = {
  authenticated: [1000, CLOSE_CODES.TOO_MANY_BAD_FRAMES],
  'before-auth': [CLOSE_CODES.AUTH_FAILED, CLOSE_CODES.AUTH_TIMEOUT, CLOSE_CODES.TOO_MANY_BAD_FRAMES],
  'wrong-key': [CLOSE_CODES.AUTH_FAILED, CLOSE_CODES.AUTH_TIMEOUT, CLOSE_CODES.TOO_MANY_BAD_FRAMES],
  huge: [CLOSE_CODES.TOO_BIG],
};
const SERVER_FRAME_TYPES = new Set(['reply', 'error', 'event', 'run', 'outcome', 'work', 'workAbort']);

/** Ids seen in any fuzzing connection's frames: later frames may name them (and try to abort others' runs). */
const seenRunIds: string[] = [];

/** Runs one fuzzing connection to its end; resolves with what was wrong with the gateway's behaviour (nothing, if all went well). */
async function runSession(url: string, session: IFuzzSession): Promise<string[]> {
  const problems: string[] = [];
  const socket = new WebSocket(url, { localAddress: FROM[session.kind] });
  const frames: any[] = [];
  let lastId = 0;
  const context: IFuzzContext = { nextId: () => ++lastId, runIds: seenRunIds, workIds: [] };
  const replies = new Map<number, any>();
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  let isClosed = false;
  void closed.then(() => (isClosed = true));
  socket.on('error', () => {});
  socket.on('message', (data, isBinary) => {
    const text = String(data);
    for (const marker of MARKERS) if (text.includes(marker)) problems.push(`a frame repeated a key: ${text.slice(0, 200)}`);
    let frame: any;
    try {
      frame = JSON.parse(text);
    } catch {
      return problems.push(`not JSON: ${text.slice(0, 100)}`);
    }
    if (isBinary || !SERVER_FRAME_TYPES.has(frame?.type)) problems.push(`not a server frame: ${text.slice(0, 200)}`);
    if ((frame.type === 'error' || (frame.type === 'reply' && !frame.ok)) && (typeof frame.error?.message !== 'string' || typeof frame.error?.code !== 'string')) {
      problems.push(`a refusal without a code and message: ${text.slice(0, 200)}`);
    }
    if (frame.type === 'reply') replies.set(frame.id, frame);
    const runId = frame.runId ?? frame.event?.runId;
    if (typeof runId === 'string' && !seenRunIds.includes(runId) && seenRunIds.length < 200) seenRunIds.push(runId);
    if (frame.type === 'work') {
      context.workIds.push(frame.workId);
      answerWork(frame.workId, session.answers[context.workIds.length % session.answers.length]!);
    }
    frames.push(frame);
  });
  const opened = await new Promise<boolean>((resolve) => {
    socket.once('open', () => resolve(true));
    socket.once('close', () => resolve(false));
  });
  if (!opened) return [`${session.kind}: the gateway refused the websocket`];
  const send = (made: { text: string } | { binary: Uint8Array }) => {
    if (socket.readyState === socket.OPEN) socket.send('text' in made ? made.text : made.binary, { binary: !('text' in made) });
  };
  const authenticate = async (key: string) => {
    sendRaw(socket, { type: 'auth', id: 0, name: FUZZER.name, key });
    await waitFor(() => replies.has(0) || isClosed, 'the auth reply');
  };
  const answerWork = (workId: number, answer: TWorkAnswer) => {
    if (answer === 'ignore' || socket.readyState !== socket.OPEN) return;
    if (answer === 'update-then-done') sendRaw(socket, { type: 'workUpdate', workId, payload: { step: 1 } });
    if (answer === 'fail') sendRaw(socket, { type: 'workDone', workId, ok: false, error: { name: 'FuzzError', message: 'no' } });
    else sendRaw(socket, { type: 'workDone', workId, ok: true, value: { workId } });
    if (answer === 'done-twice') sendRaw(socket, { type: 'workDone', workId, ok: true });
  };
  let silent = 0;
  const sendFrames = () => {
    for (const make of session.frames) {
      const made = make(context);
      if (made.silent === true) silent++;
      send(made);
    }
  };

  if (session.kind === 'authenticated') {
    await authenticate(FUZZER.key);
    if (replies.get(0)?.ok !== true) return [`the fuzzer could not authenticate: ${JSON.stringify(replies.get(0))}`];
    if (session.serves) {
      for (const n of [0, 1, 2]) sendRaw(socket, { type: 'serve', id: context.nextId(), taskName: `fuzz:${n}`, concurrency: 2 });
      for (const n of [0, 1, 2]) sendRaw(socket, { type: 'trigger', id: context.nextId(), taskName: `fuzz:${n}`, input: { n }, timeoutMs: 300 });
    }
    sendFrames();
    const sentinel = 1e9;
    sendRaw(socket, { type: 'list', id: sentinel });
    await waitFor(() => replies.has(sentinel) || isClosed, 'the last reply or the close', 10_000);
    if (!isClosed) {
      // Every frame sent was answered (a reply or an error), in order, before the last one's reply.
      const answers = frames.filter((frame) => (frame.type === 'reply' && frame.id !== 0 && frame.id !== sentinel) || frame.type === 'error').length;
      const expected = session.frames.length - silent + (session.serves ? 6 : 0);
      if (answers < expected) problems.push(`${expected} frames wanted an answer, ${answers} got one`);
      socket.close(1000);
    } else {
      const bad = frames.filter((frame) => frame.error?.code === 'BAD_FRAME').length;
      if (bad < MAX_BAD_FRAMES) problems.push(`closed after ${bad} malformed frames, not ${MAX_BAD_FRAMES}`);
    }
  } else if (session.kind === 'before-auth') {
    sendFrames();
    if (frames.some((frame) => frame.ok === true || (frame.type !== 'reply' && frame.type !== 'error'))) problems.push('before auth, something was accepted');
  } else if (session.kind === 'wrong-key') {
    sendRaw(socket, { type: 'auth', id: 0, name: FUZZER.name, key: `SECRET-MARKER${session.keyTail}` });
    sendFrames();
  } else {
    await authenticate(FUZZER.key);
    const size = MAX_PAYLOAD + session.extraBytes;
    if (session.hugeBinary) socket.send(Buffer.alloc(size, 7));
    else socket.send(`{"type":"list","id":1,"x":"${'x'.repeat(size)}"}`);
  }
  const code = await within(closed, `the close of a ${session.kind} session`, 15_000);
  if (!CLOSES[session.kind].includes(code)) problems.push(`${session.kind}: closed with ${code}, expected one of ${CLOSES[session.kind].join(', ')}`);
  if (session.kind !== 'authenticated' && frames.some((frame) => frame.ok === true && frame.id !== 0)) problems.push(`${session.kind}: a request was answered`);
  return problems;
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
          void run.runId.then((runId) => goodRuns.push(runId));
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
          const problems = (await Promise.all(sessions.map((session) => runSession(url, session)))).flat();
          assert.deepEqual(problems, []);
          assert.equal(good.state, 'open');
        }),
        { numRuns: 40 },
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

describe('values nested too deep for JSON', () => {
  it("a serving client's update nested thousands of levels deep is dropped, and the run's watchers still get its other events", async (t) => {
    const managerErrors: Error[] = [];
    const manager = new TaskManager({ onError: (error) => managerErrors.push(error) });
    const gateway = new TaskGateway({ manager, host: '127.0.0.1', credentials: { [ADMIN.name]: { key: ADMIN.key, scopes: ['admin'] } } });
    await manager.start();
    await gateway.start();
    t.after(async () => {
      await gateway.stop();
      await manager.stop({ drain: false });
    });
    const { url } = gateway.address();
    const watcher = new TaskGatewayClient({ url, ...ADMIN, reconnect: false });
    t.after(() => watcher.close());
    await watcher.connect();
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
