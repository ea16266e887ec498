/**
 * RedisCoordinator in one process: several TaskManagers share one real redis-server
 * (started by test/redis-helpers.ts on a free port, never a mock). Tick election and
 * takeover, cluster-wide mutex / cap / cooldown, pub/sub wake-up, keyPrefix isolation,
 * cluster events and instances, lifecycle (no handles left, nothing opened left open),
 * no Redis traffic for local groups, option checks, Redis going away and coming back,
 * and a fast-check model test of the slot scripts. The multi-process proofs are in
 * test/cluster.process.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import {
  CoordinatorError,
  InvalidOptionError,
  SubscriberError,
  Task,
  TaskbufferError,
  TaskConstraintGroup,
  TaskManager,
  type IDistributedTaskRequest,
  type IDistributedTaskRequestResult,
} from '../ts/index.js';
import type { IClusterSlot } from '../ts/coordinator/abstract.js';
import { ClusterUnreachableError, CoordinatorStoppedError, RedisCoordinator } from '../ts/coordinator/redis.js';
import { RunRecorder, within } from './manager-helpers.js';
import { failIfProcessLingers, freePort, startRedis, type IRedisServer } from './redis-helpers.js';
import { deferred, sleep } from './rule-helpers.js';
import { catchStrayErrors } from './stray-error-helpers.js';

let redis: IRedisServer;
let admin: Redis;

before(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url, { lazyConnect: true });
  await admin.connect();
});

after(async () => {
  admin?.disconnect();
  await redis?.stop();
  failIfProcessLingers('coordinator.redis.test.ts');
});

let prefixCount = 0;
/** A keyPrefix no other test uses, so tests never see each other's keys. */
function uniquePrefix(): string {
  return `tbtest${process.pid}x${++prefixCount}`;
}

/** Remembers the ticks it was elected for, in the order their runs start; can ask late. */
class RecordingCoordinator extends RedisCoordinator {
  readonly electedTicks: number[] = [];
  fireDelayMs = 0;

  override async fireDistributedTaskRequest(request: IDistributedTaskRequest): Promise<IDistributedTaskRequestResult> {
    if (this.fireDelayMs > 0) await sleep(this.fireDelayMs);
    const answer = await super.fireDistributedTaskRequest(request);
    if (answer.shouldTrigger) this.electedTicks.push(request.scheduledAt);
    return answer;
  }
}

interface INode {
  instanceId: string;
  manager: TaskManager;
  coordinator: RecordingCoordinator;
  /** What the coordinator and the manager reported through onError. */
  errors: TaskbufferError[];
}

/** A manager with a RedisCoordinator (not started), stopped when the test ends. */
function clusterNode(
  t: TestContext,
  prefix: string,
  options: { instanceId?: string; leaseMs?: number; redis?: string | Redis } = {},
): INode {
  const instanceId = options.instanceId ?? `n-${randomUUID().slice(0, 8)}`;
  const errors: TaskbufferError[] = [];
  const coordinator = new RecordingCoordinator({
    redis: options.redis ?? redis.url,
    instanceId,
    keyPrefix: prefix,
    ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
    onError: (error) => errors.push(error),
  });
  const manager = new TaskManager({ distributedCoordinator: coordinator, instanceId, onError: (error) => errors.push(error) });
  t.after(() => within(manager.stop(), `stop of ${instanceId}`, 10_000));
  return { instanceId, manager, coordinator, errors };
}

async function startAll(nodes: INode[]): Promise<void> {
  await within(Promise.all(nodes.map((node) => node.manager.start())), 'starting the managers', 10_000);
}

function tickRequest(instanceId: string, taskName: string, scheduledAt: number): IDistributedTaskRequest {
  return { requestId: randomUUID(), instanceId, taskName, scheduledAt, submittedAt: Date.now(), status: 'requesting' };
}

/** Polls an async probe until `ok` holds; fails with `what` and the last value after `ms`. */
async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, what: string, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (ok(last)) return last;
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for: ${what}; last value: ${JSON.stringify(last)}`);
    await sleep(20);
  }
}

/** Whether `promise` settles within `ms` (its outcome is not looked at). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` for up to `ms`; resolves whether it came to hold (never fails). */
async function holdsWithin(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

/** Waits (polling) for a synchronous condition; fails with `what` after `ms`. */
async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for: ${what}`);
    await sleep(2);
  }
}

/** A cluster group over every task whose name starts with `prefix` (all under key `key`). */
function clusterGroup(name: string, options: { maxConcurrent?: number; cooldownMs?: number; key?: string; tasks?: string } = {}) {
  return new TaskConstraintGroup({
    name,
    scope: 'cluster',
    maxConcurrent: options.maxConcurrent ?? 1,
    cooldownMs: options.cooldownMs ?? 0,
    constraintKeyForExecution: (task) => (options.tasks === undefined || task.name!.startsWith(options.tasks) ? options.key ?? 'k' : null),
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

// ---- cron ticks -------------------------------------------------------------------------------

describe('cron ticks', () => {
  test('three coordinators asking for the same ticks at once: each tick is granted to exactly one', async (t) => {
    const prefix = uniquePrefix();
    // leaseMs 1000: losers look again every half lease, so they learn soon that a tick is done.
    const nodes = [clusterNode(t, prefix, { leaseMs: 1000 }), clusterNode(t, prefix, { leaseMs: 1000 }), clusterNode(t, prefix, { leaseMs: 1000 })];
    await startAll(nodes);
    const base = Math.floor(Date.now() / 1000) * 1000;
    const ticks = Array.from({ length: 20 }, (_, i) => base + i * 1000);
    const answers = ticks.map((scheduledAt) => nodes.map((node) => {
      const answer = { value: undefined as IDistributedTaskRequestResult | undefined };
      const promise = node.coordinator.fireDistributedTaskRequest(tickRequest(node.instanceId, 'elect', scheduledAt))
        .then((value) => (answer.value = value));
      return { node, answer, promise };
    }));
    // Losers keep asking until the tick is done, so first wait for one winner per tick and report its outcome.
    for (const [i, perTick] of answers.entries()) {
      await until(() => perTick.some((a) => a.answer.value?.shouldTrigger === true), `a winner for tick ${i}`);
      for (const a of perTick.filter((x) => x.answer.value?.shouldTrigger === true)) {
        await a.node.coordinator.updateDistributedTaskRequest({ ...tickRequest(a.node.instanceId, 'elect', ticks[i]!), status: 'succeeded', finishedAt: Date.now() });
      }
    }
    await within(Promise.all(answers.flat().map((a) => a.promise)), 'every request answered after the outcomes were reported', 15_000);
    for (const [i, perTick] of answers.entries()) {
      const winners = perTick.filter((a) => a.answer.value!.shouldTrigger);
      assert.equal(winners.length, 1, `tick ${i}: exactly one instance runs it; answers: ${JSON.stringify(perTick.map((a) => a.answer.value))}`);
      for (const a of perTick) assert.equal(a.answer.value!.considered, true);
    }
    // A late instance (a clock running behind) asking after the outcome was recorded is refused at once.
    const late = await within(nodes[0]!.coordinator.fireDistributedTaskRequest(tickRequest(nodes[0]!.instanceId, 'elect', ticks[0]!)), 'a late request', 2000);
    assert.equal(late.shouldTrigger, false, 'a tick whose outcome is recorded is not run again');
  });

  test('three managers scheduling the same task every second: each tick runs on exactly one of them', async (t) => {
    const prefix = uniquePrefix();
    const nodes = [clusterNode(t, prefix), clusterNode(t, prefix), clusterNode(t, prefix)];
    const runs: Array<{ instanceId: string; scheduledAt: number | undefined }> = [];
    for (const node of nodes) {
      node.manager.addAndScheduleTask(new Task({
        name: 'every-second',
        taskFunction: async () => {
          runs.push({ instanceId: node.instanceId, scheduledAt: node.coordinator.electedTicks.shift() });
          await sleep(20);
        },
      }), '* * * * * *');
    }
    await startAll(nodes);
    await until(() => new Set(runs.map((r) => r.scheduledAt)).size >= 3, 'three ticks ran', 8000);
    await Promise.all(nodes.map((node) => node.manager.stop({ drain: true, timeoutMs: 5000 })));
    const perTick = new Map<number | undefined, string[]>();
    for (const run of runs) perTick.set(run.scheduledAt, [...(perTick.get(run.scheduledAt) ?? []), run.instanceId]);
    assert.ok(!perTick.has(undefined), 'every run maps to an elected tick');
    for (const [scheduledAt, instanceIds] of perTick) {
      assert.equal(instanceIds.length, 1, `tick ${new Date(scheduledAt!).toISOString()} ran on ${instanceIds.join(', ')}`);
    }
  });

  test('a tick whose owner stops renewing its lease is taken over by a waiting instance', async (t) => {
    const prefix = uniquePrefix();
    const leaseMs = 400;
    // The owner talks to Redis through a client the test can cut: no renewal after that.
    const ownerClient = new Redis(redis.url, { lazyConnect: true });
    await ownerClient.connect();
    t.after(() => ownerClient.disconnect());
    const owner = clusterNode(t, prefix, { leaseMs, redis: ownerClient });
    const other = clusterNode(t, prefix, { leaseMs });
    other.coordinator.fireDelayMs = 150; // asks after the owner, so the owner is elected first
    const ownerRuns: number[] = [];
    const otherRuns: Array<{ scheduledAt: number | undefined; at: number }> = [];
    const hang = deferred();
    t.after(() => hang.resolve());
    let cutAt = 0;
    owner.manager.addAndScheduleTask(new Task({
      name: 'takeover',
      taskFunction: async () => {
        const scheduledAt = owner.coordinator.electedTicks.shift()!;
        ownerRuns.push(scheduledAt);
        if (ownerRuns.length === 1) {
          // The owner "dies" mid-run: its connection is gone, the run never ends.
          ownerClient.disconnect();
          cutAt = Date.now();
          await hang.promise;
        }
      },
    }), '* * * * * *');
    other.manager.addAndScheduleTask(new Task({
      name: 'takeover',
      taskFunction: async () => {
        otherRuns.push({ scheduledAt: other.coordinator.electedTicks.shift(), at: Date.now() });
      },
    }), '* * * * * *');
    await startAll([owner, other]);
    await until(() => ownerRuns.length > 0, 'the owner was elected for a tick', 8000);
    const lostTick = ownerRuns[0]!;
    await until(() => otherRuns.some((r) => r.scheduledAt === lostTick), `the other instance ran the owner's tick ${lostTick}`, 8000);
    const takeover = otherRuns.find((r) => r.scheduledAt === lostTick)!;
    t.diagnostic(`taken over ${takeover.at - cutAt} ms after the owner's connection was cut (leaseMs ${leaseMs})`);
    assert.ok(takeover.at - cutAt <= 4 * leaseMs + 1000, `taken over within a few leases, took ${takeover.at - cutAt} ms`);
    hang.resolve();
    await within(owner.manager.stop(), 'stop() of an instance whose connection is gone', 5000);
  });
});

// ---- cluster constraint groups ------------------------------------------------------------------

describe('cluster constraint groups', () => {
  async function hammer(t: TestContext, maxConcurrent: number) {
    const prefix = uniquePrefix();
    const nodes = [clusterNode(t, prefix), clusterNode(t, prefix), clusterNode(t, prefix)];
    const recorder = new RunRecorder();
    for (const node of nodes) {
      node.manager.addConstraintGroup(clusterGroup('shared', { maxConcurrent }));
      node.manager.addTask(new Task({
        name: 'work',
        taskFunction: async (ms: number) => {
          const end = recorder.begin(node.instanceId);
          await sleep(ms);
          end();
        },
      }));
    }
    await startAll(nodes);
    const triggers = nodes.flatMap((node) => Array.from({ length: 6 }, (_, i) => node.manager.triggerTaskByName('work', 5 + ((i * 7) % 20))));
    await within(Promise.all(triggers), 'all 18 runs', 20_000);
    return recorder;
  }

  test('a cluster-wide mutex: runs of one key never overlap across three managers', async (t) => {
    const recorder = await hammer(t, 1);
    assert.equal(recorder.runs.length, 18);
    assert.equal(recorder.maxConcurrent(), 1);
  });

  test('a cluster-wide cap of 2: at most two runs at once across three managers, and two do overlap', async (t) => {
    const recorder = await hammer(t, 2);
    assert.equal(recorder.runs.length, 18);
    assert.equal(recorder.maxConcurrent(), 2);
  });

  test('a cluster cooldown holds from the end of one run to the start of the next, on whichever instance', async (t) => {
    const prefix = uniquePrefix();
    const cooldownMs = 300;
    const nodes = [clusterNode(t, prefix), clusterNode(t, prefix), clusterNode(t, prefix)];
    const runs: Array<{ instanceId: string; start: number; end: number }> = [];
    for (const node of nodes) {
      node.manager.addConstraintGroup(clusterGroup('cool', { cooldownMs }));
      node.manager.addTask(new Task({
        name: 'cooled',
        taskFunction: async () => {
          const start = Date.now();
          await sleep(30);
          runs.push({ instanceId: node.instanceId, start, end: Date.now() });
        },
      }));
    }
    await startAll(nodes);
    await within(Promise.all(nodes.map((node) => node.manager.triggerTaskByName('cooled'))), 'three cooled runs', 10_000);
    runs.sort((a, b) => a.start - b.start);
    assert.equal(new Set(runs.map((r) => r.instanceId)).size, 3);
    for (let i = 1; i < runs.length; i++) {
      const gap = runs[i]!.start - runs[i - 1]!.end;
      t.diagnostic(`gap ${i}: ${gap} ms`);
      // 2 ms for Redis's clock (TIME) against Date.now() on the same machine.
      assert.ok(gap >= cooldownMs - 2, `run ${i} started ${gap} ms after the previous ended; cooldown is ${cooldownMs} ms`);
      assert.ok(gap < cooldownMs + 1500, `run ${i} waited ${gap} ms, far more than the ${cooldownMs} ms cooldown`);
    }
  });

  test('shouldExecute of a cluster group runs locally; a run it skips does not start the cluster cooldown', async (t) => {
    const prefix = uniquePrefix();
    const cooldownMs = 1500;
    const asked: string[] = [];
    const [a, b] = [clusterNode(t, prefix), clusterNode(t, prefix)];
    const ran: Array<{ instanceId: string; at: number }> = [];
    for (const node of [a, b]) {
      node.manager.addConstraintGroup(new TaskConstraintGroup({
        name: 'gated-cool',
        scope: 'cluster',
        maxConcurrent: 1,
        cooldownMs,
        constraintKeyForExecution: () => 'k',
        shouldExecute: (_task, input) => {
          asked.push(`${node.instanceId}:${String(input)}`);
          return input !== 'skip';
        },
      }));
      node.manager.addTask(new Task({ name: 'maybe', taskFunction: async () => { ran.push({ instanceId: node.instanceId, at: Date.now() }); return 'ran'; } }));
    }
    await startAll([a, b]);
    assert.equal(await a.manager.triggerTaskByName('maybe', 'skip'), undefined, 'the skipped trigger resolves undefined');
    assert.deepEqual(asked, [`${a.instanceId}:skip`], 'shouldExecute was asked on the instance that triggered');
    const skippedAt = Date.now();
    assert.equal(await within(b.manager.triggerTaskByName('maybe', 'go'), 'a run right after a skipped one', 5000), 'ran');
    const waited = ran[0]!.at - skippedAt;
    t.diagnostic(`the run after the skipped one started ${waited} ms later (cooldown ${cooldownMs} ms)`);
    assert.ok(waited < cooldownMs / 2, `the skipped run started the cooldown: the next run waited ${waited} ms`);
    // A run that did run does start it.
    const ranAt = Date.now();
    assert.equal(await within(a.manager.triggerTaskByName('maybe', 'go'), 'a run after one that ran', 5000), 'ran');
    assert.ok(ran[1]!.at - ranAt >= cooldownMs - 100, `the cooldown after a run that ran holds (${ran[1]!.at - ranAt} ms)`);
  });

  test('a run waiting for a cluster slot is woken by pub/sub when another instance frees it', async (t) => {
    const prefix = uniquePrefix();
    // A long lease: the slow poll (at most once a second) cannot be what wakes the waiter quickly.
    const nodes = [clusterNode(t, prefix, { leaseMs: 10_000 }), clusterNode(t, prefix, { leaseMs: 10_000 })];
    const gates: Array<ReturnType<typeof deferred<void>>> = [];
    const starts: Array<{ instanceId: string; at: number }> = [];
    const ends: Array<{ instanceId: string; at: number }> = [];
    for (const node of nodes) {
      node.manager.addConstraintGroup(clusterGroup('wake'));
      node.manager.addTask(new Task({
        name: 'gated',
        taskFunction: async (gate: Promise<void>) => {
          starts.push({ instanceId: node.instanceId, at: Date.now() });
          await gate;
          ends.push({ instanceId: node.instanceId, at: Date.now() });
        },
      }));
    }
    await startAll(nodes);
    const latencies: number[] = [];
    for (let round = 0; round < 6; round++) {
      const [holder, waiter] = round % 2 === 0 ? [nodes[0]!, nodes[1]!] : [nodes[1]!, nodes[0]!];
      const holdGate = deferred();
      const waitGate = deferred();
      gates.push(holdGate, waitGate);
      const startsBefore = starts.length;
      const held = holder.manager.triggerTaskByName('gated', holdGate.promise);
      await until(() => starts.length === startsBefore + 1, 'the holder started');
      const waiting = waiter.manager.triggerTaskByName('gated', waitGate.promise);
      await sleep(100); // setup: let the waiter find the slot taken and settle into waiting
      assert.equal(starts.length, startsBefore + 1, 'the waiter does not start while the slot is held');
      holdGate.resolve();
      await until(() => starts.length === startsBefore + 2, 'the waiter started after the release', 5000);
      const releasedAt = ends.at(-1)!.at;
      latencies.push(starts.at(-1)!.at - releasedAt);
      waitGate.resolve();
      await within(Promise.all([held, waiting]), 'both runs ended');
    }
    t.diagnostic(`release → start on the other instance: ${latencies.join(', ')} ms (median ${median(latencies)})`);
    assert.ok(Math.max(...latencies) < 500, `every wake well under a second (${latencies.join(', ')} ms)`);
    assert.ok(median(latencies) < 100, `median wake ${median(latencies)} ms`);
  });

  test('a slot freed while the waiter\'s own attempt is in flight still wakes it at once (no lost wake-up)', async (t) => {
    const prefix = uniquePrefix();
    // A long lease: the slow poll comes at most once a second, so a lost wake-up shows as ~1 s.
    const [a, b] = [clusterNode(t, prefix, { leaseMs: 10_000 }), clusterNode(t, prefix, { leaseMs: 10_000 })];
    const times = { aStart: 0, aEnd: 0, bStart: 0 };
    a.manager.addConstraintGroup(clusterGroup('race'));
    b.manager.addConstraintGroup(clusterGroup('race'));
    a.manager.addTask(new Task({ name: 'r', taskFunction: async (gate: Promise<void>) => { times.aStart = Date.now(); await gate; times.aEnd = Date.now(); } }));
    b.manager.addTask(new Task({ name: 'r', taskFunction: async () => { times.bStart = Date.now(); } }));
    await startAll([a, b]);
    const latencies: number[] = [];
    for (let round = 0; round < 30; round++) {
      const gate = deferred();
      times.aStart = 0;
      const held = a.manager.triggerTaskByName('r', gate.promise);
      await until(() => times.aStart > 0, 'a holds the slot');
      const waiting = b.manager.triggerTaskByName('r');
      // Free the slot while b's first attempt is (often) still on its way.
      await new Promise((resolve) => setImmediate(resolve));
      gate.resolve();
      await within(Promise.all([held, waiting]), `round ${round}`, 5000);
      latencies.push(times.bStart - times.aEnd);
    }
    t.diagnostic(`release → start: max ${Math.max(...latencies)} ms, median ${median(latencies)} ms; over 400 ms: ${latencies.filter((l) => l > 400).join(', ') || 'none'}`);
    assert.ok(Math.max(...latencies) < 400, `a wake-up was lost (the waiter started only with the slow poll): ${latencies.join(', ')} ms`);
  });

  test('a busy cluster mutex is shared: a run of another instance does not wait behind a long line of runs of the holder', async (t) => {
    const prefix = uniquePrefix();
    const [a, b] = [clusterNode(t, prefix), clusterNode(t, prefix)];
    const starts: string[] = [];
    for (const node of [a, b]) {
      node.manager.addConstraintGroup(clusterGroup('shared-mutex'));
      node.manager.addTask(new Task({ name: 'm', taskFunction: async () => { starts.push(node.instanceId); await sleep(1); } }));
    }
    await startAll([a, b]);
    const lineOfA = Array.from({ length: 200 }, () => a.manager.triggerTaskByName('m'));
    await until(() => starts.length >= 5, 'a runs');
    const startsBeforeB = starts.length;
    await within(b.manager.triggerTaskByName('m'), 'the run of b', 5000);
    const position = starts.indexOf(b.instanceId);
    t.diagnostic(`b asked after ${startsBeforeB} runs of a had started, and started as run ${position + 1} of ${starts.length} so far`);
    // Runs of a (1 ms each) go on while b's request travels to Redis, longer on a loaded
    // machine: a few is that trip; a share of the 200 in line would be unfair.
    assert.ok(position - startsBeforeB <= 12, `b waited behind ${position - startsBeforeB} runs of a`);
    await within(Promise.all(lineOfA), 'the line of a', 10_000);
  });

  test('a contended cluster cap is shared between instances: each makes progress, and the cap holds', async (t) => {
    const prefix = uniquePrefix();
    const nodes = [clusterNode(t, prefix), clusterNode(t, prefix), clusterNode(t, prefix)];
    const cap = 4;
    const perNode = 150;
    let running = 0;
    let mostRunning = 0;
    const started = new Map<string, number>(nodes.map((node) => [node.instanceId, 0]));
    const progressAtFirstDone: number[] = [];
    for (const node of nodes) {
      node.manager.addConstraintGroup(clusterGroup('shared-cap', { maxConcurrent: cap }));
      node.manager.addTask(new Task({
        name: 'c',
        taskFunction: async () => {
          started.set(node.instanceId, started.get(node.instanceId)! + 1);
          mostRunning = Math.max(mostRunning, ++running);
          await sleep(1);
          running--;
        },
      }));
    }
    await startAll(nodes);
    await within(Promise.all(nodes.map((node) => Promise.all(Array.from({ length: perNode }, () => node.manager.triggerTaskByName('c'))).then(() => {
      if (progressAtFirstDone.length === 0) progressAtFirstDone.push(...started.values());
    }))), 'every run', 20_000);
    t.diagnostic(`runs started per instance when the first instance was done: ${progressAtFirstDone.join(', ')} of ${perNode}; at most ${mostRunning} ran at once`);
    assert.ok(mostRunning <= cap, `${mostRunning} ran at once through a cluster cap of ${cap}`);
    // Every instance made real progress (an even share would be a third each); a sixth allows
    // for one instance's event loop being starved by the others on a loaded 2-core machine.
    for (const count of progressAtFirstDone) assert.ok(count >= perNode / 6, `an instance had started only ${count} of ${perNode} runs when another was done`);
    // Slots handed from run to run inside an instance leave nothing behind in Redis (no holder, no queue entry).
    await eventually(async () => [...await admin.zrange(`${prefix}:slot:shared-cap:k`, 0, -1), ...await admin.zrange(`${prefix}:queue:shared-cap:k`, 0, -1)],
      (left) => left.length === 0, 'Redis holds no slot and queues nobody after the runs', 2000);
  });

  test('a trigger with timeoutMs waiting behind a busy cluster key (Redis reachable) waits like one behind a local key', async (t) => {
    // ITriggerOptions.timeoutMs limits each try from the moment it starts running, and
    // IClusterSlots.acquire documents that timeoutMs rejects only while the cluster is unreachable.
    const prefix = uniquePrefix();
    const [a, b] = [clusterNode(t, prefix), clusterNode(t, prefix)];
    const gate = deferred();
    for (const node of [a, b]) {
      node.manager.addConstraintGroup(clusterGroup('busy'));
      node.manager.addTask(new Task({ name: 'busy-work', taskFunction: async (wait: boolean) => { if (wait) await gate.promise; return 'ok'; } }));
    }
    await startAll([a, b]);
    const holding = a.manager.triggerTaskByName('busy-work', true);
    await until(() => a.manager.getTaskByName('busy-work')!.running, 'the holder runs');
    const waiting = b.manager.triggerTaskByName('busy-work', false, { timeoutMs: 300 });
    const outcome = waiting.then((value) => ({ value }), (error: Error) => ({ error }));
    await sleep(700);
    gate.resolve();
    await holding;
    const settled = await within(outcome, 'the waiting trigger', 5000);
    assert.ok(!('error' in settled), `the waiting trigger was rejected: ${'error' in settled ? settled.error.message : ''}`);
    assert.equal((settled as { value: unknown }).value, 'ok');
  });
});

// ---- isolation, events, instances ----------------------------------------------------------------

describe('one view of the cluster', () => {
  test('keyPrefix isolates two clusters on one Redis: slots, ticks and instances', async (t) => {
    const [p1, p2] = [uniquePrefix(), uniquePrefix()];
    const a = clusterNode(t, p1);
    const aSibling = clusterNode(t, p1);
    const b = clusterNode(t, p2);
    const gate = deferred();
    t.after(() => gate.resolve());
    const started: string[] = [];
    for (const node of [a, aSibling, b]) {
      node.manager.addConstraintGroup(clusterGroup('m'));
      node.manager.addTask(new Task({ name: 'iso', taskFunction: async () => { started.push(node.instanceId); await gate.promise; } }));
    }
    await startAll([a, aSibling, b]);
    const runs = [a.manager.triggerTaskByName('iso')];
    await until(() => started.includes(a.instanceId), 'a holds the mutex of cluster 1');
    runs.push(aSibling.manager.triggerTaskByName('iso'), b.manager.triggerTaskByName('iso'));
    await until(() => started.includes(b.instanceId), 'b (cluster 2) runs while a (cluster 1) holds the same group and key');
    assert.ok(!started.includes(aSibling.instanceId), 'a sibling in cluster 1 still waits');
    gate.resolve();
    await within(Promise.all(runs), 'all runs');

    const scheduledAt = Math.floor(Date.now() / 1000) * 1000 + 60_000;
    const [ra, rb] = await within(Promise.all([
      a.coordinator.fireDistributedTaskRequest(tickRequest(a.instanceId, 'iso-tick', scheduledAt)),
      b.coordinator.fireDistributedTaskRequest(tickRequest(b.instanceId, 'iso-tick', scheduledAt)),
    ]), 'the same tick in two clusters', 5000);
    assert.equal(ra.shouldTrigger, true, 'cluster 1 runs its tick');
    assert.equal(rb.shouldTrigger, true, 'cluster 2 runs its own tick of the same name and time');
    // Report the outcomes, as a manager would: a claimed tick is held until then.
    await a.coordinator.updateDistributedTaskRequest({ ...tickRequest(a.instanceId, 'iso-tick', scheduledAt), status: 'succeeded' });
    await b.coordinator.updateDistributedTaskRequest({ ...tickRequest(b.instanceId, 'iso-tick', scheduledAt), status: 'succeeded' });

    const ids1 = (await a.coordinator.getInstances()).map((i) => i.instanceId).sort();
    const ids2 = (await b.coordinator.getInstances()).map((i) => i.instanceId);
    assert.deepEqual(ids1, [a.instanceId, aSibling.instanceId].sort());
    assert.deepEqual(ids2, [b.instanceId]);
  });

  test('clusterEventSubject delivers the events of every instance, each with its instanceId', async (t) => {
    const prefix = uniquePrefix();
    const [a, b] = [clusterNode(t, prefix), clusterNode(t, prefix)];
    a.manager.addTask(new Task({ name: 'ev-a', taskFunction: async () => 'a' }));
    b.manager.addTask(new Task({ name: 'ev-b', taskFunction: async () => { throw new Error('b failed on purpose'); } }));
    await startAll([a, b]);
    const seenByA: Array<Record<string, any>> = [];
    const seenByB: Array<Record<string, any>> = [];
    const subA = a.coordinator.clusterEventSubject.subscribe((event) => seenByA.push(event));
    const subB = b.coordinator.clusterEventSubject.subscribe((event) => seenByB.push(event));
    t.after(() => { subA.unsubscribe(); subB.unsubscribe(); });
    await a.manager.triggerTaskByName('ev-a');
    await b.manager.triggerTaskByName('ev-b').catch(() => undefined);
    const has = (seen: Array<Record<string, any>>, instanceId: string, taskName: string, type: string) =>
      seen.some((e) => e.instanceId === instanceId && e.task?.name === taskName && e.type === type);
    for (const [who, seen] of [['a', seenByA], ['b', seenByB]] as const) {
      await until(() => has(seen, a.instanceId, 'ev-a', 'started') && has(seen, a.instanceId, 'ev-a', 'completed')
        && has(seen, b.instanceId, 'ev-b', 'started') && has(seen, b.instanceId, 'ev-b', 'failed'), `${who} saw the events of both instances`);
    }
    const failed = seenByA.find((e) => e.type === 'failed')!;
    assert.equal(failed.error, 'b failed on purpose');
    assert.equal(typeof failed.timestamp, 'number');
    assert.equal(typeof failed.duration, 'number');
    assert.deepEqual(JSON.parse(JSON.stringify(failed)), failed, 'events are plain JSON data');
  });

  test('a clusterEventSubject subscriber that throws is reported to onError once, and the other subscribers get every event', async (t) => {
    const strays = catchStrayErrors(t);
    const node = clusterNode(t, uniquePrefix());
    node.manager.addTask(new Task({ name: 'ev', taskFunction: async () => 'ok' }));
    await startAll([node]);
    const seen: string[] = [];
    const broken = node.coordinator.clusterEventSubject.subscribe(() => {
      throw new Error('cluster dashboard bug');
    });
    const working = node.coordinator.clusterEventSubject.subscribe((event) => seen.push(event.type));
    t.after(() => { broken.unsubscribe(); working.unsubscribe(); });
    await node.manager.triggerTaskByName('ev');
    await node.manager.triggerTaskByName('ev');
    await until(() => seen.length === 4, 'the working subscriber saw both runs');
    await strays.assertNone();
    assert.deepEqual(seen, ['started', 'completed', 'started', 'completed']);
    const reports = node.errors.filter((error) => error instanceof SubscriberError);
    assert.equal(reports.length, 1, `one report, got: ${node.errors.map((error) => error.message).join(' | ')}`);
    assert.equal(reports[0]!.code, 'SUBSCRIBER_FAILED');
    assert.equal(reports[0]!.subjectName, 'RedisCoordinator.clusterEventSubject');
    assert.match(reports[0]!.message, /"started" event of task "ev": cluster dashboard bug/);
  });

  test('getInstances lists live instances with heartbeat and running tasks; a stopped one disappears', async (t) => {
    const prefix = uniquePrefix();
    const leaseMs = 600;
    const [a, b] = [clusterNode(t, prefix, { leaseMs }), clusterNode(t, prefix, { leaseMs })];
    const gate = deferred();
    t.after(() => gate.resolve());
    b.manager.addTask(new Task({ name: 'slow', taskFunction: async () => { await gate.promise; } }));
    const startedBefore = Date.now();
    await startAll([a, b]);
    const running = b.manager.triggerTaskByName('slow');
    const listed = await eventually(() => a.coordinator.getInstances(),
      (list) => list.some((i) => i.instanceId === b.instanceId && i.runningTasks.includes('slow')) && list.some((i) => i.instanceId === a.instanceId),
      'a lists both instances and b running "slow"', 3 * leaseMs + 2000);
    const now = Date.now();
    for (const instance of listed) {
      assert.ok(instance.startedAt >= startedBefore - 1000 && instance.startedAt <= now, `startedAt ${instance.startedAt}`);
      assert.ok(instance.lastHeartbeat >= instance.startedAt - 5 && instance.lastHeartbeat <= now + 50, `lastHeartbeat ${instance.lastHeartbeat}`);
      assert.ok(now - instance.lastHeartbeat <= 2 * leaseMs + 500, `a recent heartbeat (${now - instance.lastHeartbeat} ms ago)`);
      if (instance.pid !== undefined) assert.equal(instance.pid, process.pid);
    }
    gate.resolve();
    await running;
    await eventually(() => a.coordinator.getInstances(),
      (list) => list.find((i) => i.instanceId === b.instanceId)?.runningTasks.length === 0, 'b no longer runs anything', 3 * leaseMs + 2000);
    await b.manager.stop();
    await eventually(() => a.coordinator.getInstances(), (list) => !list.some((i) => i.instanceId === b.instanceId), 'b is gone after stop()', 2000);
  });

  test('getInstances lists the tasks of each instance, running or not; a task added later shows at the next heartbeat, a removed one goes', async (t) => {
    const prefix = uniquePrefix();
    const leaseMs = 600;
    const [a, b] = [clusterNode(t, prefix, { leaseMs }), clusterNode(t, prefix, { leaseMs })];
    a.manager.addTask(new Task({ name: 'shared', taskFunction: async () => 'a' }));
    a.manager.addTask(new Task({ name: 'only-a', taskFunction: async () => 'a' }));
    b.manager.addTask(new Task({ name: 'shared', taskFunction: async () => 'b' }));
    b.manager.addAndScheduleTask(new Task({ name: 'only-b', taskFunction: async () => 'b' }), '0 0 1 1 *');
    await startAll([a, b]);
    // Both records are written at start(): listed at once, with every task, none of them running.
    const tasksOf = (list: Array<{ instanceId: string; tasks?: string[] }>) =>
      Object.fromEntries(list.map((instance) => [instance.instanceId, [...(instance.tasks ?? ['(none said)'])].sort()]));
    const listed = await b.coordinator.getInstances();
    assert.deepEqual(tasksOf(listed), { [a.instanceId]: ['only-a', 'shared'], [b.instanceId]: ['only-b', 'shared'] });
    assert.ok(listed.every((instance) => instance.runningTasks.length === 0));

    const late = new Task({ name: 'added-late', taskFunction: async () => 'b' });
    b.manager.addTask(late);
    await eventually(() => a.coordinator.getInstances(), (list) => tasksOf(list)[b.instanceId]!.includes('added-late'),
      'a task added after start() is in the record from the next heartbeat', 3 * leaseMs + 2000);
    b.manager.removeTask(late);
    await eventually(() => a.coordinator.getInstances(), (list) => tasksOf(list)[b.instanceId]!.join() === 'only-b,shared',
      'a removed task leaves the record at the next heartbeat', 3 * leaseMs + 2000);
  });
});

// ---- lifecycle -------------------------------------------------------------------------------------

describe('lifecycle', () => {
  async function connectionCount(): Promise<number> {
    const list = await admin.client('LIST') as string;
    return list.split('\n').filter((line) => line.trim().length > 0).length;
  }

  test('stop() closes every connection the coordinator opened and leaves a client it was given open', async (t) => {
    const prefix = uniquePrefix();
    // Connections of earlier tests may still be closing on the server's side: wait for a steady count.
    let baseline = await connectionCount();
    for (let steady = 0; steady < 3;) {
      await sleep(50);
      const count = await connectionCount();
      steady = count === baseline ? steady + 1 : 0;
      baseline = count;
    }
    const byUrl = clusterNode(t, prefix);
    const given = new Redis(redis.url, { lazyConnect: true });
    await given.connect();
    t.after(() => given.disconnect());
    const byClient = clusterNode(t, prefix, { redis: given });
    await startAll([byUrl, byClient]);
    assert.ok(await connectionCount() > baseline + 1, 'the coordinators are connected');
    await byUrl.manager.stop();
    await byClient.manager.stop();
    await eventually(connectionCount, (count) => count === baseline + 1, 'only the given client is still connected', 3000);
    assert.equal(given.status, 'ready');
    assert.equal(await given.ping(), 'PONG');
  });

  test('stop() without drain does not hand the cluster slot of a run that still goes on to another instance', async (t) => {
    // stop() without drain lets accepted work run on; its slot must stay taken until it ends
    // (or, at worst, until its lease runs out), or the cluster mutex is broken.
    const prefix = uniquePrefix();
    const [a, b] = [clusterNode(t, prefix, { leaseMs: 1000 }), clusterNode(t, prefix, { leaseMs: 1000 })];
    const recorder = new RunRecorder();
    const gate = deferred();
    t.after(() => gate.resolve());
    for (const node of [a, b]) {
      node.manager.addConstraintGroup(clusterGroup('m'));
      node.manager.addTask(new Task({
        name: 'w',
        taskFunction: async (wait: boolean) => {
          const end = recorder.begin(node.instanceId);
          if (wait) await gate.promise;
          end();
        },
      }));
    }
    await startAll([a, b]);
    const aRun = a.manager.triggerTaskByName('w', true);
    await until(() => recorder.active() === 1, 'a runs');
    const bRun = b.manager.triggerTaskByName('w', false);
    await a.manager.stop(); // a's run goes on
    // Time for b to be (wrongly) given the slot: by the release's message or by its slow poll.
    await holdsWithin(() => recorder.started(b.instanceId), 2000);
    const overlapped = recorder.started(b.instanceId) && recorder.active() === 2;
    gate.resolve();
    await within(Promise.all([aRun, bRun]), 'both runs', 10_000);
    assert.ok(!overlapped && recorder.maxConcurrent() === 1,
      `b started while a's run still held the cluster mutex after a.stop(): ${JSON.stringify(recorder.runs)}`);
  });

  for (const variant of ['url', 'client', 'hung run'] as const) {
    test(`a process that starts and stops a manager with a coordinator (${variant}) exits by itself`, async () => {
      const fixture = new URL('./fixtures/cluster-instance.ts', import.meta.url).pathname;
      const root = new URL('..', import.meta.url).pathname;
      const instanceId = `life-${variant.replace(' ', '-')}`;
      const args = ['--import', 'tsx', fixture, '--redis', redis.url, '--instance', instanceId, '--prefix', uniquePrefix(), '--mode', 'lifecycle', '--lease-ms', '1000'];
      if (variant === 'client') args.push('--client');
      // stop() without drain while a cluster-constrained run hangs on a promise that never
      // settles: nothing of the run keeps the process alive, so the coordinator must not either.
      if (variant === 'hung run') args.push('--hung');
      const result = await new Promise<{ code: number | null; stdout: string; stderr: string; exitedAfterStopMs: number }>((resolve, reject) => {
        const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        let stoppedAt: number | undefined;
        child.stdout.on('data', (chunk) => {
          stdout += chunk;
          if (stoppedAt === undefined && stdout.includes('"stopped"')) stoppedAt = Date.now();
        });
        child.stderr.on('data', (chunk) => (stderr += chunk));
        const killer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`the lifecycle fixture did not exit within 30 s; stdout: ${stdout}\nstderr: ${stderr}`));
        }, 30_000);
        child.on('exit', (code) => {
          clearTimeout(killer);
          resolve({ code, stdout, stderr, exitedAfterStopMs: stoppedAt === undefined ? Number.NaN : Date.now() - stoppedAt });
        });
      });
      assert.equal(result.code, 0, `exit code 0 (4 = still alive 5 s after stop); stderr:\n${result.stderr}`);
      const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
      assert.equal(report.stopped, true);
      assert.equal(report.result, 'done');
      assert.ok(report.instances.includes(instanceId), `getInstances() listed itself: ${JSON.stringify(report.instances)}`);
      assert.ok(report.events.includes(`${instanceId}:completed`), `its own events came back through Redis: ${JSON.stringify(report.events)}`);
      if (variant === 'client') assert.equal(report.clientStillUsable, true, 'the client it was given is still usable after stop()');
    });
  }
});

// ---- local groups cost nothing ---------------------------------------------------------------------

describe('traffic', () => {
  /** Wraps a client (and the duplicates made from it) so every command sent is counted by name. */
  function countingClient(url: string) {
    const commands: string[] = [];
    const seen = new WeakSet<object>();
    const wrap = (client: Redis): Redis => {
      const send = client.sendCommand.bind(client);
      client.sendCommand = ((command: any, stream?: any) => {
        if (!seen.has(command)) {
          seen.add(command);
          commands.push(String(command.name).toLowerCase());
        }
        return send(command, stream);
      }) as Redis['sendCommand'];
      const duplicate = client.duplicate.bind(client);
      client.duplicate = ((...args: Parameters<Redis['duplicate']>) => wrap(duplicate(...args))) as Redis['duplicate'];
      return client;
    };
    return { client: wrap(new Redis(url, { lazyConnect: true })), commands };
  }

  test('groups without scope cost no Redis round trip; a cluster group costs at most two per run (acquire, release)', async (t) => {
    const prefix = uniquePrefix();
    const counted = countingClient(redis.url);
    await counted.client.connect();
    t.after(() => counted.client.disconnect());
    // A long lease keeps heartbeats out of the measured windows.
    const node = clusterNode(t, prefix, { redis: counted.client, leaseMs: 60_000 });
    node.manager.addConstraintGroup(new TaskConstraintGroup({
      name: 'local-only-group', maxConcurrent: 1, constraintKeyForExecution: (task) => (task.name === 'local-task' ? 'local-only-key' : null),
    }));
    node.manager.addConstraintGroup(clusterGroup('cluster-group', { tasks: 'cluster-task', maxConcurrent: 1 }));
    const localTask = new Task({ name: 'local-task', taskFunction: async () => 1 });
    const freeTask = new Task({ name: 'free-task', taskFunction: async () => 2 });
    const clusterTask = new Task({ name: 'cluster-task', taskFunction: async () => 3 });
    for (const task of [localTask, freeTask, clusterTask]) node.manager.addTask(task);
    await startAll([node]);
    await sleep(50);

    const nonPublish = () => counted.commands.filter((name) => name !== 'publish');
    const beforeLocal = nonPublish().length;
    for (let i = 0; i < 25; i++) {
      await node.manager.triggerTask(localTask);
      await node.manager.triggerTask(freeTask);
    }
    await sleep(20);
    const localCommands = nonPublish().slice(beforeLocal);
    t.diagnostic(`50 local runs sent (besides PUBLISH of events): ${JSON.stringify(localCommands)}`);
    assert.ok(localCommands.length <= 2, `local and unconstrained runs made Redis calls: ${JSON.stringify(localCommands)}`);

    const runs = 20;
    const beforeCluster = nonPublish().length;
    for (let i = 0; i < runs; i++) await node.manager.triggerTask(clusterTask);
    await sleep(50); // the release is sent after the trigger resolves
    const clusterCommands = nonPublish().slice(beforeCluster);
    t.diagnostic(`${runs} cluster-constrained runs sent ${clusterCommands.length} commands (besides PUBLISH): ${(clusterCommands.length / runs).toFixed(2)} per run`);
    assert.ok(clusterCommands.length >= runs, 'the counter does see the cluster group\'s traffic');
    assert.ok(clusterCommands.length <= 2 * runs + 2, `at most 2 round trips per cluster-constrained run, got ${clusterCommands.length} for ${runs}`);
  });
  test('under load a cluster-constrained run costs a small fraction of a round trip, and Redis ends up holding nothing', async (t) => {
    const prefix = uniquePrefix();
    const counted = countingClient(redis.url);
    await counted.client.connect();
    t.after(() => counted.client.disconnect());
    const node = clusterNode(t, prefix, { redis: counted.client, leaseMs: 60_000 });
    node.manager.addConstraintGroup(clusterGroup('loaded', { maxConcurrent: 3 }));
    let running = 0;
    let mostRunning = 0;
    node.manager.addTask(new Task({ name: 'loaded-task', taskFunction: async () => { mostRunning = Math.max(mostRunning, ++running); await Promise.resolve(); running--; return 1; } }));
    await startAll([node]);
    await sleep(50);
    const before = counted.commands.length;
    const runs = 600;
    const results = await within(Promise.all(Array.from({ length: runs }, () => node.manager.triggerTaskByName('loaded-task'))), 'the runs', 10_000);
    assert.equal(results.reduce((sum: number, r) => sum + (r as number), 0), runs);
    await sleep(50); // the last releases go out at the end of their turn
    const sent = counted.commands.slice(before);
    t.diagnostic(`${runs} runs at once through a cap of 3 sent ${sent.length} commands (${(sent.length / runs).toFixed(3)} per run): ${JSON.stringify(Object.fromEntries(sent.reduce((m, c) => m.set(c, (m.get(c) ?? 0) + 1), new Map<string, number>())))}`);
    assert.ok(mostRunning <= 3, `${mostRunning} ran at once through a cap of 3`);
    assert.ok(sent.length <= runs / 10, `${sent.length} commands for ${runs} runs`);
    assert.deepEqual(await admin.zrange(`${prefix}:slot:loaded:k`, 0, -1), [], 'no slot is left held in Redis');
  });
});

// ---- options ---------------------------------------------------------------------------------------

describe('options', () => {
  const cases: Array<[string, Record<string, unknown>, string, unknown]> = [
    ['leaseMs 0', { redis: 'redis://127.0.0.1:1', leaseMs: 0 }, 'leaseMs', 0],
    ['leaseMs -1', { redis: 'redis://127.0.0.1:1', leaseMs: -1 }, 'leaseMs', -1],
    ['leaseMs NaN', { redis: 'redis://127.0.0.1:1', leaseMs: Number.NaN }, 'leaseMs', Number.NaN],
    ['leaseMs "1000"', { redis: 'redis://127.0.0.1:1', leaseMs: '1000' }, 'leaseMs', '1000'],
    ['empty keyPrefix', { redis: 'redis://127.0.0.1:1', keyPrefix: '' }, 'keyPrefix', ''],
    ['keyPrefix 7', { redis: 'redis://127.0.0.1:1', keyPrefix: 7 }, 'keyPrefix', 7],
    ['empty instanceId', { redis: 'redis://127.0.0.1:1', instanceId: '' }, 'instanceId', ''],
    ['redis "not a url"', { redis: 'not a url' }, 'redis', 'not a url'],
    ['redis ""', { redis: '' }, 'redis', ''],
    ['redis 6379', { redis: 6379 }, 'redis', 6379],
    ['redis {}', { redis: {} }, 'redis', {}],
    ['redis null', { redis: null }, 'redis', null],
    ['redis missing', {}, 'redis', undefined],
  ];
  for (const [label, options, option, value] of cases) {
    test(`${label} is an InvalidOptionError naming the option and the value`, () => {
      assert.throws(() => new RedisCoordinator(options as any), (error: unknown) => {
        assert.ok(error instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(error)}`);
        assert.equal(error.option, option);
        assert.ok(Object.is(error.value, value) || JSON.stringify(error.value) === JSON.stringify(value), `value ${String(error.value)}`);
        assert.ok(error.message.includes(option), `the message names ${option}: ${error.message}`);
        const shown = typeof value === 'string' ? JSON.stringify(value) : value === undefined ? 'undefined' : JSON.stringify(value) ?? String(value);
        assert.ok(error.message.includes(shown === 'null' && Number.isNaN(value as number) ? 'NaN' : shown), `the message shows the value ${shown}: ${error.message}`);
        return true;
      });
    });
  }

  test('before start() a cluster-scoped trigger rejects with a CoordinatorStoppedError naming the group and key, and getInstances throws one', async (t) => {
    const node = clusterNode(t, uniquePrefix());
    node.manager.addConstraintGroup(clusterGroup('tenant-import', { key: 'acme' }));
    node.manager.addTask(new Task({ name: 'import', taskFunction: async () => 'imported' }));
    const error = await node.manager.triggerTaskByName('import').then(() => undefined, (rejection: unknown) => rejection);
    assert.ok(error instanceof CoordinatorStoppedError, `expected a CoordinatorStoppedError, got ${String(error)}`);
    assert.ok(error instanceof TaskbufferError);
    assert.equal(error.name, 'CoordinatorStoppedError');
    assert.equal(error.code, 'COORDINATOR_STOPPED');
    assert.equal(error.groupName, 'tenant-import');
    assert.equal(error.key, 'acme');
    assert.match(error.message, /"acme" of group "tenant-import".*start\(\)/);
    await assert.rejects(node.coordinator.getInstances(), CoordinatorStoppedError);
  });

  for (const value of [0, -5, 1.5, '1000']) {
    test(`connectTimeoutMs ${JSON.stringify(value)} is an InvalidOptionError naming the option and the value`, () => {
      assert.throws(() => new RedisCoordinator({ redis: 'redis://127.0.0.1:1', connectTimeoutMs: value as number }), (error: unknown) => {
        assert.ok(error instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(error)}`);
        assert.equal(error.option, 'connectTimeoutMs');
        assert.equal(error.value, value);
        assert.ok(error.message.includes('connectTimeoutMs') && error.message.includes(String(value)), error.message);
        return true;
      });
    });
  }

  test('options that are not an object are an InvalidOptionError', () => {
    assert.throws(() => new RedisCoordinator(null as any), InvalidOptionError);
    assert.throws(() => new RedisCoordinator('redis://127.0.0.1:1' as any), InvalidOptionError);
  });
});

// ---- Redis going away --------------------------------------------------------------------------------

describe('faults', () => {
  test('Redis down: local work goes on, cluster triggers wait or time out clearly, stop() does not hang; all resumes when Redis is back', async (t) => {
    const own = await startRedis();
    const prefix = uniquePrefix();
    const node = clusterNode(t, prefix, { redis: own.url, leaseMs: 1000 });
    t.after(() => own.stop());
    node.manager.addConstraintGroup(new TaskConstraintGroup({ name: 'loc', maxConcurrent: 1, constraintKeyForExecution: (task) => (task.name === 'local' ? 'x' : null) }));
    node.manager.addConstraintGroup(clusterGroup('cl', { tasks: 'clustered' }));
    node.manager.addTask(new Task({ name: 'local', taskFunction: async () => 'local ok' }));
    node.manager.addTask(new Task({ name: 'clustered', taskFunction: async () => 'cluster ok' }));
    await startAll([node]);
    assert.equal(await node.manager.triggerTaskByName('clustered'), 'cluster ok');

    await own.stop();
    assert.equal(await within(node.manager.triggerTaskByName('local'), 'a local run while Redis is down', 3000), 'local ok');
    const timedOut = await within(node.manager.triggerTaskByName('clustered', undefined, { timeoutMs: 500 }).then(
      () => undefined, (error: Error) => error), 'a cluster trigger with timeoutMs while Redis is down', 5000);
    assert.ok(timedOut instanceof ClusterUnreachableError, `the cluster trigger with timeoutMs failed with a ClusterUnreachableError, got ${String(timedOut)}`);
    assert.equal(timedOut.code, 'CLUSTER_UNREACHABLE');
    assert.equal(timedOut.groupName, 'cl');
    assert.equal(timedOut.key, 'k');
    assert.equal(timedOut.timeoutMs, 500);
    assert.equal(timedOut.waiting, 1);
    assert.match(timedOut.message, /"k" of group "cl" \(1 run of this instance waits for it\) within 500 ms: Redis is unreachable/);
    t.diagnostic(`cluster trigger during the outage: ${timedOut.message}`);
    const waiting = node.manager.triggerTaskByName('clustered');

    await own.restart();
    assert.equal(await within(waiting, 'the waiting cluster trigger after Redis came back', 10_000), 'cluster ok');
    assert.equal(await within(node.manager.triggerTaskByName('clustered'), 'a new cluster trigger', 5000), 'cluster ok');
    const tick = await within(node.coordinator.fireDistributedTaskRequest(tickRequest(node.instanceId, 'after-restart', Date.now())), 'a tick after the restart', 5000);
    assert.equal(tick.shouldTrigger, true);
    await node.coordinator.updateDistributedTaskRequest({ ...tickRequest(node.instanceId, 'after-restart', tick.scheduledAt), status: 'succeeded' });
    assert.ok(node.errors.length >= 1, 'the outage was reported through onError');
    for (const error of node.errors) {
      assert.ok(error instanceof TaskbufferError, `onError got a ${error.name}: ${error.message}`);
      if (error instanceof CoordinatorError) assert.ok(error.cause !== undefined, 'a CoordinatorError carries Redis\'s error as cause');
    }

    // Down again, then stop(): the instance must be able to shut down without Redis.
    await own.stop();
    const stopping = node.manager.stop();
    const stoppedInTime = await settlesWithin(stopping, 5000);
    if (!stoppedInTime) {
      // Bring Redis back so that the hung stop() can finish and this test process can exit.
      await own.restart();
      await within(stopping, 'stop() once Redis was back', 15_000);
    }
    assert.ok(stoppedInTime, 'stop() while Redis is down resolves within 5 s (it hung until Redis came back)');
  });
});

describe('Redis down at boot', () => {
  test('manager.start() rejects within connectTimeoutMs with a ClusterUnreachableError naming the URL, and leaves nothing keeping the process alive', async (t) => {
    const port = await freePort(); // nothing listens there: a closed port
    const dir = mkdtempSync(join(tmpdir(), 'taskbuffer-connect-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const script = join(dir, 'boot.mts');
    // A process of its own, so that "nothing keeps it alive" is what decides whether it exits.
    writeFileSync(script, `
      import { TaskManager } from ${JSON.stringify(new URL('../ts/index.ts', import.meta.url).pathname)};
      import { RedisCoordinator } from ${JSON.stringify(new URL('../ts/coordinator/redis.ts', import.meta.url).pathname)};
      const coordinator = new RedisCoordinator({ redis: 'redis://:secret@127.0.0.1:${port}', connectTimeoutMs: 300, onError: () => {} });
      const manager = new TaskManager({ distributedCoordinator: coordinator });
      const startedAt = Date.now();
      const error = await manager.start().then(() => undefined, (rejection) => rejection);
      console.log(JSON.stringify({ ms: Date.now() - startedAt, name: error?.name, code: error?.code, timeoutMs: error?.timeoutMs,
        isTaskbufferError: error instanceof (await import(${JSON.stringify(new URL('../ts/errors.ts', import.meta.url).pathname)})).TaskbufferError,
        message: error?.message }));
    `);
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: new URL('..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const exitedInTime = await settlesWithin(exited, 15_000);
    if (!exitedInTime) child.kill('SIGKILL');
    assert.ok(exitedInTime, `the process exited by itself after start() rejected (it lingered); stdout ${stdout}, stderr ${stderr}`);
    assert.equal(await exited, 0, `stderr: ${stderr}`);
    const report = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    t.diagnostic(`start() against a closed port: ${JSON.stringify(report)}`);
    assert.equal(report.name, 'ClusterUnreachableError');
    assert.equal(report.code, 'CLUSTER_UNREACHABLE');
    assert.equal(report.isTaskbufferError, true);
    assert.equal(report.timeoutMs, 300);
    assert.ok((report.ms as number) >= 290 && (report.ms as number) < 3000, `settled after ${report.ms} ms`);
    const message = report.message as string;
    assert.ok(message.includes(`127.0.0.1:${port}`), `the message names the URL: ${message}`);
    assert.ok(!message.includes('secret'), `the message hides the password: ${message}`);
    assert.match(message, /300 ms/);
    assert.match(message, /connection: (reconnecting|connecting|close|end)/);
  });
});

describe('errors of Redis', () => {
  test('a script Redis fails reaches the caller as a CoordinatorError with Redis\'s error as cause', async (t) => {
    const prefix = uniquePrefix();
    const node = clusterNode(t, prefix);
    await startAll([node]);
    // The instances key of the wrong type makes the listInstances script fail inside Redis (WRONGTYPE).
    await admin.del(`${prefix}:instances`);
    await admin.set(`${prefix}:instances`, 'not a sorted set');
    const error = await node.coordinator.getInstances().then(() => undefined, (rejection: unknown) => rejection);
    assert.ok(error instanceof CoordinatorError, `expected a CoordinatorError, got ${String(error)}`);
    assert.ok(error instanceof TaskbufferError);
    assert.equal(error.code, 'COORDINATOR_FAILED');
    assert.ok(error.cause instanceof Error && !(error.cause instanceof TaskbufferError), 'cause is the error of ioredis');
    assert.match(error.message, /listInstances.*WRONGTYPE/);
    // The tick's outcome goes through the same path: a failing Redis call is a CoordinatorError there too.
    const request = tickRequest(node.instanceId, 'wrong-type', Date.now());
    assert.equal((await node.coordinator.fireDistributedTaskRequest(request)).shouldTrigger, true);
    await admin.del(`${prefix}:tick:wrong-type:${request.scheduledAt}:lease`);
    await admin.hset(`${prefix}:tick:wrong-type:${request.scheduledAt}:lease`, 'x', '1');
    const finishError = await node.coordinator.updateDistributedTaskRequest({ ...request, status: 'succeeded' }).then(() => undefined, (rejection: unknown) => rejection);
    assert.ok(finishError instanceof CoordinatorError, `expected a CoordinatorError, got ${String(finishError)}`);
    assert.match(finishError.message, /finishTick.*WRONGTYPE/);
    await admin.del(`${prefix}:instances`, `${prefix}:tick:wrong-type:${request.scheduledAt}:lease`);
  });
});

// ---- the slot scripts against a model -----------------------------------------------------------------

describe('slot scripts against a model (fast-check)', () => {
  type TOp =
    | { kind: 'acquire'; instance: number; key: number }
    | { kind: 'release'; pick: number; ran: boolean }
    | { kind: 'abort'; pick: number };

  test('random acquire / release / abort sequences from several instances keep cap, cooldown and progress', async (t) => {
    const prefix = uniquePrefix();
    const nodes = [clusterNode(t, prefix, { leaseMs: 5000 }), clusterNode(t, prefix, { leaseMs: 5000 }), clusterNode(t, prefix, { leaseMs: 5000 })];
    await startAll(nodes);
    let runNumber = 0;
    const stats = { cases: 0, acquires: 0, grants: 0, releases: 0, aborts: 0, cooledGrants: 0, mostHeld: 0 };

    const opArb: fc.Arbitrary<TOp> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant('acquire' as const), instance: fc.integer({ min: 0, max: 2 }), key: fc.integer({ min: 0, max: 1 }) }) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat(), ran: fc.boolean() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }) },
    );

    await fc.assert(fc.asyncProperty(
      fc.constantFrom(1, 2, 3, Number.POSITIVE_INFINITY),
      fc.constantFrom(0, 30),
      fc.array(opArb, { minLength: 8, maxLength: 24 }),
      async (maxConcurrent, cooldownMs, ops) => {
        const groupName = `g${++runNumber}`;
        stats.cases++;
        const slotOf = (key: number): IClusterSlot => ({ groupName, key: `k${key}`, maxConcurrent, cooldownMs });
        // RedisCoordinator's key layout (white box): a sorted set of holders per group and key.
        const slotKeyOf = (key: number) => `${prefix}:slot:${groupName}:k${key}`;
        interface IHolder { id: string; key: number; instance: number; state: 'waiting' | 'held' | 'released' | 'aborted'; issuedAt: number; grantedAt?: number; controller: AbortController }
        const holders: IHolder[] = [];
        // The model: per key, who holds and who waits, and when its cooldown ends (at the earliest).
        // When release(ran) was called, and when Redis was seen to have run it (release() is
        // fire-and-forget; the cooldown starts when its script runs).
        const lastRanRelease = new Map<number, number>();
        const lastRanConfirmed = new Map<number, number>();
        const violations: string[] = [];
        const held = (key: number) => holders.filter((h) => h.key === key && h.state === 'held');
        const waiting = (key: number) => holders.filter((h) => h.key === key && h.state === 'waiting');

        const settle = async () => {
          for (const key of [0, 1]) {
            const cooldownLeft = Math.max(0, (lastRanRelease.get(key) ?? 0) + cooldownMs - Date.now());
            const expected = () => Math.min(maxConcurrent, held(key).length + waiting(key).length);
            await until(() => held(key).length === expected(),
              `key k${key}: ${expected()} held (cap ${maxConcurrent}, ${held(key).length} held, ${waiting(key).length} waiting)`, cooldownLeft + 3000);
          }
        };

        try {
          for (const op of ops) {
            if (op.kind === 'acquire') {
              const holder: IHolder = { id: `${groupName}-h${holders.length}`, key: op.key, instance: op.instance, state: 'waiting', issuedAt: Date.now(), controller: new AbortController() };
              holders.push(holder);
              stats.acquires++;
              nodes[op.instance]!.coordinator.clusterSlots.acquire(slotOf(op.key), holder.id, holder.controller.signal, undefined).then(() => {
                if (holder.state !== 'waiting') {
                  violations.push(`${holder.id} granted while ${holder.state}`);
                  return;
                }
                holder.state = 'held';
                holder.grantedAt = Date.now();
                stats.grants++;
                stats.mostHeld = Math.max(stats.mostHeld, held(holder.key).length);
                if (cooldownMs > 0 && lastRanRelease.has(holder.key)) stats.cooledGrants++;
                if (held(holder.key).length > maxConcurrent) violations.push(`k${holder.key}: ${held(holder.key).length} held, cap ${maxConcurrent}`);
                const ranAt = lastRanRelease.get(holder.key);
                // A waiter that was already waiting may have been granted before the release reached Redis.
                const excused = ranAt !== undefined && holder.issuedAt < ranAt && holder.grantedAt <= (lastRanConfirmed.get(holder.key) ?? Number.POSITIVE_INFINITY);
                if (cooldownMs > 0 && ranAt !== undefined && !excused && holder.grantedAt < ranAt + cooldownMs - 2) {
                  violations.push(`k${holder.key}: ${holder.id} granted ${holder.grantedAt - ranAt} ms after a run ended, cooldown ${cooldownMs}`);
                }
              }, (error: Error) => {
                if (holder.state !== 'aborted') violations.push(`${holder.id} rejected while ${holder.state}: ${error.message}`);
              });
            } else if (op.kind === 'release') {
              const candidates = holders.filter((h) => h.state === 'held');
              if (candidates.length > 0) {
                const holder = candidates[op.pick % candidates.length]!;
                holder.state = 'released';
                stats.releases++;
                if (op.ran) {
                  lastRanRelease.set(holder.key, Date.now());
                  lastRanConfirmed.delete(holder.key);
                }
                nodes[holder.instance]!.coordinator.clusterSlots.release(slotOf(holder.key), holder.id, op.ran);
                for (const deadline = Date.now() + 2000; (await admin.zscore(slotKeyOf(holder.key), holder.id)) !== null;) {
                  assert.ok(Date.now() < deadline, `Redis did not run the release of ${holder.id} within 2 s`);
                  await sleep(1);
                }
                if (op.ran) lastRanConfirmed.set(holder.key, Date.now());
              }
            } else {
              const candidates = holders.filter((h) => h.state === 'waiting');
              if (candidates.length > 0) {
                const holder = candidates[op.pick % candidates.length]!;
                holder.state = 'aborted';
                stats.aborts++;
                holder.controller.abort(new Error('aborted by the model test'));
              }
            }
            await settle();
            assert.deepEqual(violations, []);
          }
          // Redis agrees with the model about who holds each key.
          for (const key of [0, 1]) {
            const members = await eventually(() => admin.zrange(slotKeyOf(key), 0, -1),
              (list) => list.length === held(key).length, `Redis lists the ${held(key).length} holders of k${key}`, 2000);
            assert.deepEqual([...members].sort(), held(key).map((h) => h.id).sort());
          }
        } finally {
          for (const holder of holders) {
            if (holder.state === 'waiting') {
              holder.state = 'aborted';
              holder.controller.abort(new Error('end of the case'));
            }
          }
          for (const holder of holders) {
            if (holder.state === 'held') {
              holder.state = 'released';
              nodes[holder.instance]!.coordinator.clusterSlots.release(slotOf(holder.key), holder.id, false);
            }
          }
        }
        assert.deepEqual(violations, []);
      },
    ), { numRuns: 40, endOnFailure: true });
    t.diagnostic(`model test: ${JSON.stringify(stats)}`);
  });
});
