/**
 * Gateways of a Redis cluster, each in its own process (test/fixtures/gateway-instance.ts)
 * on a real redis-server: a client of instance A follows runs of instance B live, and
 * a job enqueued through A's gateway runs on B's queue worker while A's client watches.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { TaskGatewayClient, type TWireEvent } from '../ts/client/index.js';
import { ADMIN, rawSocket, sendRaw } from './gateway-helpers.js';
import { waitFor, within } from './manager-helpers.js';
import { failIfProcessLingers, spawnInstance, startRedis, type IClusterInstance, type IRedisServer } from './redis-helpers.js';

const FIXTURE = new URL('./fixtures/gateway-instance.ts', import.meta.url).pathname;
const PREFIX = `tbgw${process.pid}`;
const QUEUE = `gwq${process.pid}`;

let redis: IRedisServer;
let a: IClusterInstance;
let b: IClusterInstance;
const urls: Record<string, string> = {};
/** Every instance started, ready or not: all are stopped after the tests. */
const spawned: IClusterInstance[] = [];

/** Starts an instance and waits for its `ready`; its gateway's URL goes to `urls`. */
async function startInstance(id: string, extra: string[]): Promise<IClusterInstance> {
  const instance = spawnInstance(id, ['--redis', redis.url, '--prefix', PREFIX, '--queue', QUEUE, ...extra], 60_000, FIXTURE);
  spawned.push(instance);
  await instance.ready;
  const url = /^url (\S+)$/m.exec(instance.stdout())?.[1];
  assert.ok(url !== undefined, `instance ${id} printed no url: ${instance.stdout()}`);
  urls[id] = url;
  return instance;
}

before(async () => {
  redis = await startRedis();
  // A only adds jobs (its gateway has the queue); B works them.
  [a, b] = await Promise.all([startInstance('a', []), startInstance('b', ['--work'])]);
});

after(async () => {
  const stopped = await Promise.all(spawned.map((instance) => instance.stop(10_000)));
  await redis?.stop();
  assert.deepEqual(stopped.map((exit) => exit.code), [0, 0], `the instances stopped cleanly:\n${spawned.map((instance) => instance.stderr()).join('\n')}`);
  failIfProcessLingers('gateway.cluster.process.test.ts');
});

/** A connected client of instance `id`'s gateway, closed after the test. */
async function clientOf(t: { after(fn: () => unknown): void }, id: string): Promise<TaskGatewayClient> {
  const client = new TaskGatewayClient({ url: urls[id]!, ...ADMIN, reconnect: false });
  t.after(() => client.close());
  await client.connect();
  return client;
}

interface ISeen {
  event: TWireEvent;
  at: number;
}

const types = (seen: ISeen[]) => seen.map(({ event }) => event.type);
const payloads = (seen: ISeen[]) => seen.flatMap(({ event }) => (event.type === 'update' ? [event.payload] : []));

describe('gateways of a cluster', () => {
  test('a client of instance A watches a run of instance B live: its start, each update and its end, each naming B', async (t) => {
    const client = await clientOf(t, 'a');
    const seen: ISeen[] = [];
    client.watchRun('b-run-1', (event) => seen.push({ event, at: Date.now() }));
    await client.listTasks(); // the watch is in place once a later request is answered
    b.child.stdin!.write('run b-run-1 3\n');
    await waitFor(() => seen.some(({ event }) => event.type === 'completed'), 'the end of the run on B', 10_000);
    assert.deepEqual(types(seen), ['started', 'update', 'update', 'update', 'completed']);
    assert.deepEqual(payloads(seen), [{ copied: 1 }, { copied: 2 }, { copied: 3 }]);
    assert.ok(seen.every(({ event }) => event.runId === 'b-run-1' && event.instanceId === 'b' && event.task.name === 'copy'));
    // Live: the updates, 50 ms apart over there (100 ms from the first to the last), came one
    // by one, not all at the end; half of that allows for a busy machine delaying some of them.
    const updates = seen.filter(({ event }) => event.type === 'update');
    const spread = updates.at(-1)!.at - updates[0]!.at;
    assert.ok(spread >= 50, `the updates came within ${spread} ms of each other`);
    await waitFor(() => b.stdout().includes('done b-run-1'), 'B to report the run done');
  });

  test("a subscription on instance A sees instance B's events, also of runs a client of B triggered", async (t) => {
    const onA = await clientOf(t, 'a');
    const onB = await clientOf(t, 'b');
    const seen: ISeen[] = [];
    onA.subscribe({ taskName: 'copy' }, (event) => seen.push({ event, at: Date.now() }));
    await onA.listTasks();
    const run = onB.trigger<{ copied: number; by: string }>('copy', { files: 2, gapMs: 20 });
    assert.deepEqual(await within(run.result, 'the result on B'), { copied: 2, by: 'b' });
    const runId = await run.runId;
    await waitFor(() => seen.some(({ event }) => event.runId === runId && event.type === 'completed'), "B's completed on A");
    const ofRun = seen.filter(({ event }) => event.runId === runId);
    assert.deepEqual(types(ofRun), ['started', 'update', 'update', 'completed']);
    assert.ok(ofRun.every(({ event }) => event.instanceId === 'b'));
  });
});

describe('the durable queue through a gateway', () => {
  test("a job enqueued through instance A's gateway runs on B's worker, and A's client follows it by its id to completed", async (t) => {
    const client = await clientOf(t, 'a');
    const jobId = `job-${process.pid}-1`;
    const seen: ISeen[] = [];
    client.watchRun(jobId, (event) => seen.push({ event, at: Date.now() }));
    await client.listTasks();
    assert.deepEqual(await client.enqueue('copy', { files: 2, gapMs: 20 }, { jobId }), { jobId, created: true });
    await waitFor(() => seen.some(({ event }) => event.type === 'completed'), 'the job to complete', 15_000);
    assert.deepEqual(types(seen), ['started', 'update', 'update', 'completed']);
    assert.ok(seen.every(({ event }) => event.runId === jobId && event.instanceId === 'b'));
  });

  test('a delayed job is watched by the id enqueue answers with, from before it starts to its end', async (t) => {
    const client = await clientOf(t, 'a');
    const { jobId, created } = await client.enqueue('copy', { files: 1 }, { delayMs: 500 });
    assert.equal(created, true);
    const seen: ISeen[] = [];
    client.watchRun(jobId, (event) => seen.push({ event, at: Date.now() }));
    await waitFor(() => seen.some(({ event }) => event.type === 'completed'), 'the delayed job to complete', 15_000);
    assert.deepEqual(types(seen), ['started', 'update', 'completed']);
    assert.ok(seen.every(({ event }) => event.instanceId === 'b'));
  });
});

describe('enqueue frames from a hostile client', () => {
  test('random and malformed enqueue requests each get an answer, and the instance stays healthy', async (t) => {
    const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined));
    const options = fc.oneof(
      value,
      fc.record({ jobId: value, delayMs: fc.oneof(value, fc.double()), priority: fc.oneof(value, fc.double()), timeoutMs: value, labels: value }, { requiredKeys: [] }),
    );
    // Only tasks that no instance has: a job that runs fails at once instead of running for as long as its input says.
    const requests = fc.sample(fc.record({ taskName: fc.oneof(fc.constant('no-such-task'), fc.string({ maxLength: 20 }), value), input: value, options }, { requiredKeys: [] }), { numRuns: 150, seed: 16 });
    const frames: any[] = [];
    // Ten to a connection: past maxBadFrames (20) malformed ones, a connection is closed.
    for (let from = 0; from < requests.length; from += 10) {
      const raw = await rawSocket(t, urls.a!);
      sendRaw(raw.socket, { type: 'auth', id: 0, ...ADMIN });
      const batch = requests.slice(from, from + 10);
      batch.forEach((request, i) => sendRaw(raw.socket, { type: 'enqueue', id: from + i + 1, ...request }));
      await waitFor(() => raw.frames.filter((frame) => frame.type === 'reply' || frame.type === 'error').length >= batch.length + 1, 'an answer to every request', 10_000);
      frames.push(...raw.frames);
      raw.socket.close();
    }
    const refusals = frames.filter((frame) => frame.ok === false || frame.type === 'error');
    assert.ok(refusals.every((frame) => typeof frame.error.code === 'string' && typeof frame.error.message === 'string'));
    assert.ok(frames.some((frame) => frame.id > 0 && frame.ok === true), 'some jobs were added');
    assert.ok(!refusals.some((frame) => frame.error.code === 'INTERNAL'), JSON.stringify(refusals.find((frame) => frame.error.code === 'INTERNAL')));
    const client = await clientOf(t, 'a');
    assert.ok((await client.listTasks()).some((task) => task.name === 'copy'), 'A still answers');
    assert.doesNotMatch(a.stderr() + b.stderr(), /gateway error|UNHANDLED/);
  });
});
