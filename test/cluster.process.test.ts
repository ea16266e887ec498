/**
 * A cluster of real processes on a real redis-server: each instance is
 * test/fixtures/cluster-instance.ts in its own `node --import tsx` process, so SIGKILL
 * really kills it. The instances write what they did to Redis (RPUSH) or to a file, one
 * JSON record per event, so the records outlive a killed instance (and, in files, a
 * restarted Redis). Times in records are the machine's clock, shared by all processes.
 *
 * leaseMs is 1000 here so that deaths are noticed within seconds; bounds are generous for
 * a loaded 2-core machine, and nothing is asserted by a fixed sleep where an event can be
 * awaited.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { failIfProcessLingers, spawnInstance, startRedis, type IClusterInstance, type IRedisServer } from './redis-helpers.js';

const LEASE_MS = 1000;
const READY_WITHIN_MS = 60_000;

let redis: IRedisServer;
let reader: Redis;

before(async () => {
  redis = await startRedis();
  reader = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: null });
  await reader.connect();
});

after(async () => {
  reader?.disconnect();
  await redis?.stop();
  failIfProcessLingers('cluster.process.test.ts');
});

interface IRecord {
  kind: 'start' | 'end' | 'outcome' | 'interval';
  instanceId: string;
  pid: number;
  /** When it was recorded (the machine's clock). */
  at: number;
  scheduledAt?: number;
  status?: string;
  group?: 'mutex' | 'cap2';
  start?: number;
  end?: number;
}

let clusterCount = 0;

/** Where one test's instances coordinate (keyPrefix) and record (a Redis list, or files in a folder). */
function newCluster(onCleanup: (cleanup: () => Promise<void>) => void, recordIn: 'redis' | 'files' = 'redis') {
  const prefix = `tbproc${process.pid}x${++clusterCount}`;
  const listKey = `records:${prefix}`;
  const dir = recordIn === 'files' ? mkdtempSync(join(tmpdir(), 'taskbuffer-cluster-')) : undefined;
  const instances: IClusterInstance[] = [];
  onCleanup(async () => {
    await Promise.all(instances.map((instance) => instance.kill()));
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  return {
    prefix,
    instances,
    spawn(instanceId: string, mode: string, extra: string[] = []): IClusterInstance {
      const record = dir !== undefined ? `file:${join(dir, `${instanceId}.jsonl`)}` : `redis:${listKey}`;
      const instance = spawnInstance(instanceId, [
        '--redis', redis.url, '--prefix', prefix, '--lease-ms', String(LEASE_MS), '--mode', mode, '--record', record, ...extra,
      ], READY_WITHIN_MS);
      instances.push(instance);
      return instance;
    },
    async records(): Promise<IRecord[]> {
      if (dir === undefined) return (await reader.lrange(listKey, 0, -1)).map((line) => JSON.parse(line) as IRecord);
      const lines: IRecord[] = [];
      for (const file of readdirSync(dir)) {
        for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as IRecord);
      }
      return lines;
    },
  };
}

type TCluster = ReturnType<typeof newCluster>;

/** Polls the records until `predicate` finds what it looks for; fails with `what` after `ms`. */
async function awaitRecords<T>(cluster: TCluster, find: (records: IRecord[]) => T | undefined, what: string, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = find(await cluster.records());
    if (found !== undefined) return found;
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function allReady(instances: IClusterInstance[]): Promise<number> {
  await Promise.all(instances.map((instance) => instance.ready));
  return Date.now();
}

/** SIGTERM to all; each must stop cleanly (exit code 0, no unhandled rejection). */
async function stopAll(instances: IClusterInstance[]): Promise<void> {
  const results = await Promise.all(instances.map(async (instance) => ({ instance, result: await instance.stop() })));
  for (const { instance, result } of results) {
    assert.equal(result.code, 0, `${instance.instanceId} exited with ${result.code ?? result.signal}; stderr:\n${instance.stderr()}`);
    assert.doesNotMatch(instance.stderr(), /UNHANDLED_REJECTION/, `${instance.instanceId} had an unhandled rejection`);
  }
}

/** Per tick (scheduledAt): its start records and end records. */
function byTick(records: IRecord[]) {
  const ticks = new Map<number, { starts: IRecord[]; ends: IRecord[]; outcomes: IRecord[] }>();
  for (const record of records) {
    if (record.scheduledAt === undefined || !['start', 'end', 'outcome'].includes(record.kind)) continue;
    let tick = ticks.get(record.scheduledAt);
    if (tick === undefined) ticks.set(record.scheduledAt, (tick = { starts: [], ends: [], outcomes: [] }));
    if (record.kind === 'start') tick.starts.push(record);
    else if (record.kind === 'end') tick.ends.push(record);
    else tick.outcomes.push(record);
  }
  return ticks;
}

/** The whole seconds from the first one at or after `from` up to `to` (inclusive). */
function secondsBetween(from: number, to: number): number[] {
  const seconds: number[] = [];
  for (let s = Math.ceil(from / 1000) * 1000; s <= to; s += 1000) seconds.push(s);
  return seconds;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

function describeTicks(ticks: ReturnType<typeof byTick>, seconds: number[]): string {
  return seconds.map((s) => {
    const tick = ticks.get(s);
    return `${iso(s)}: starts [${tick?.starts.map((r) => r.instanceId).join(',') ?? ''}] ends [${tick?.ends.map((r) => r.instanceId).join(',') ?? ''}]`;
  }).join('\n');
}

describe('cron ticks across processes: one cluster of 5 instances', () => {
  // One cluster for both tests: ten seconds of exactly-once, then a kill and a restart.
  const cleanups: Array<() => Promise<void>> = [];
  let cluster: TCluster;
  let instances: IClusterInstance[];
  let readyAt: number;
  const runMs = 900; // long enough that a run seen starting is still going when its owner is killed

  before(async () => {
    cluster = newCluster((cleanup) => cleanups.push(cleanup));
    instances = [1, 2, 3, 4, 5].map((n) => cluster.spawn(`node-${n}`, 'cron', ['--run-ms', String(runMs)]));
    readyAt = await allReady(instances);
  });

  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  test('5 instances scheduling a task every second for ~10 s: every tick in the window ran exactly once', async (t) => {
    const windowStart = readyAt + 500;
    // Ten ticks after every instance is up.
    const lastTick = await awaitRecords(cluster, (records) => records.find((r) => r.kind === 'outcome' && r.scheduledAt! >= windowStart + 9000)?.scheduledAt,
      'ten ticks after all instances were ready', 20_000);
    const records = await cluster.records();
    const ticks = byTick(records);
    const window = secondsBetween(windowStart, lastTick);
    assert.ok(window.length >= 10, `a window of ${window.length} ticks`);
    assert.ok(!records.some((r) => r.kind === 'start' && r.scheduledAt === undefined), 'every run maps to an elected tick');
    const report = describeTicks(ticks, window);
    for (const s of window) {
      const tick = ticks.get(s);
      assert.ok(tick !== undefined, `tick ${iso(s)} never ran\n${report}`);
      assert.equal(tick.starts.length, 1, `tick ${iso(s)} started ${tick.starts.length} times\n${report}`);
      assert.equal(tick.ends.length, 1, `tick ${iso(s)} ended ${tick.ends.length} times\n${report}`);
      assert.equal(tick.outcomes.length, 1, `tick ${iso(s)}: outcome reported ${tick.outcomes.length} times\n${report}`);
      assert.equal(tick.outcomes[0]!.status, 'succeeded');
      assert.ok(tick.starts[0]!.at >= s - 50, `tick ${iso(s)} started before its time (${iso(tick.starts[0]!.at)})`);
    }
    // Before the window too (while instances were still starting), no tick ran twice.
    for (const [s, tick] of ticks) assert.ok(tick.starts.length <= 1, `tick ${iso(s)} started ${tick.starts.length} times`);
    const perInstance = new Map<string, number>();
    for (const s of window) perInstance.set(ticks.get(s)!.starts[0]!.instanceId, (perInstance.get(ticks.get(s)!.starts[0]!.instanceId) ?? 0) + 1);
    t.diagnostic(`${window.length} ticks; ran on: ${JSON.stringify(Object.fromEntries(perInstance))}`);
  });

  test('then one instance is SIGKILLed mid-run and restarted: no tick lost, only the dead owner\'s tick started twice', async (t) => {
    const windowStart = Date.now();
    // A run that started after this test began and has not ended: its owner dies now.
    const victimRun = await awaitRecords(cluster, (records) => records.find((r) => r.kind === 'start' && r.scheduledAt! >= windowStart
      && !records.some((e) => e.kind === 'end' && e.scheduledAt === r.scheduledAt)), 'a run in progress', 15_000);
    const victim = instances.find((instance) => instance.instanceId === victimRun.instanceId)!;
    const killedAt = Date.now();
    await victim.kill();
    const killedTick = victimRun.scheduledAt!;
    // The replacement: a new process (and a new instanceId, as a restarted service gets by default).
    const replacement = cluster.spawn(`${victim.instanceId}-restarted`, 'cron', ['--run-ms', String(runMs)]);
    const takeover = await awaitRecords(cluster, (records) => records.find((r) => r.kind === 'end' && r.scheduledAt === killedTick && r.instanceId !== victim.instanceId),
      `another instance completed the dead owner's tick ${iso(killedTick)}`, 10 * LEASE_MS);
    await replacement.ready;
    const replacementReadyAt = Date.now();
    const lastTick = await awaitRecords(cluster, (records) => records.find((r) => r.kind === 'outcome' && r.scheduledAt! >= replacementReadyAt + 3000)?.scheduledAt,
      'three more ticks after the restarted instance was ready', 15_000);
    await stopAll(instances.filter((instance) => instance !== victim).concat(replacement));

    const records = await cluster.records();
    const ticks = byTick(records);
    const window = secondsBetween(windowStart, lastTick);
    const report = describeTicks(ticks, window);
    // Ticks the victim started but never finished: their owner died.
    const orphaned = new Set([...ticks].filter(([, tick]) => tick.starts.some((r) => r.instanceId === victim.instanceId)
      && !tick.ends.some((r) => r.instanceId === victim.instanceId)).map(([s]) => s));
    assert.ok(orphaned.has(killedTick), `the killed run ${iso(killedTick)} is one of the dead owner's ticks`);
    for (const s of window) {
      const tick = ticks.get(s);
      assert.ok(tick !== undefined && tick.ends.length >= 1, `tick ${iso(s)} was lost\n${report}`);
      if (orphaned.has(s)) {
        assert.ok(tick.starts.length <= 2, `tick ${iso(s)} of the dead owner started ${tick.starts.length} times\n${report}`);
        assert.equal(tick.ends.filter((r) => r.instanceId !== victim.instanceId).length, 1, `tick ${iso(s)} completed once by a live instance\n${report}`);
      } else {
        assert.equal(tick.starts.length, 1, `tick ${iso(s)} started ${tick.starts.length} times although its owner lived\n${report}`);
        assert.equal(tick.ends.length, 1, `tick ${iso(s)} ended ${tick.ends.length} times\n${report}`);
      }
    }
    const takeoverStart = ticks.get(killedTick)!.starts.find((r) => r.instanceId !== victim.instanceId)!;
    t.diagnostic(`killed ${victim.instanceId} in tick ${iso(killedTick)}; ${takeoverStart.instanceId} started it again ${takeoverStart.at - killedAt} ms after the kill and finished at ${iso(takeover.at)}`);
    assert.ok(takeoverStart.at - killedAt <= 2 * LEASE_MS + 1000, `taken over ${takeoverStart.at - killedAt} ms after the kill (leaseMs ${LEASE_MS})`);
  });
});

describe('cron ticks across processes: skewed clocks', () => {
  test('3 instances whose clocks differ by 2 s: every tick still runs exactly once', async (t) => {
    const cluster = newCluster((cleanup) => t.after(cleanup));
    const offsets = [-1000, 0, 1000];
    const instances = offsets.map((offset, i) => cluster.spawn(`skew-${i}`, 'cron', ['--run-ms', '300', `--clock-offset-ms=${offset}`]));
    const readyAt = await allReady(instances);
    const windowStart = readyAt + 1500;
    const lastTick = await awaitRecords(cluster, (records) => records.find((r) => r.kind === 'outcome' && r.scheduledAt! >= windowStart + 4000)?.scheduledAt,
      'five ticks after all instances were ready', 20_000);
    await stopAll(instances);
    const ticks = byTick(await cluster.records());
    const window = secondsBetween(windowStart, lastTick);
    const report = describeTicks(ticks, window);
    for (const s of window) {
      assert.equal(ticks.get(s)?.starts.length, 1, `tick ${iso(s)}\n${report}`);
      assert.equal(ticks.get(s)?.ends.length, 1, `tick ${iso(s)}\n${report}`);
    }
    for (const [s, tick] of ticks) assert.ok(tick.starts.length <= 1, `tick ${iso(s)} started ${tick.starts.length} times`);
    const perInstance = new Map<string, number>();
    for (const s of window) perInstance.set(ticks.get(s)!.starts[0]!.instanceId, (perInstance.get(ticks.get(s)!.starts[0]!.instanceId) ?? 0) + 1);
    t.diagnostic(`${window.length} ticks (offsets ${offsets.join(', ')} ms); ran on: ${JSON.stringify(Object.fromEntries(perInstance))}`);
  });
});

describe('cluster constraint groups across processes', () => {
  test('3 processes hammering a cluster mutex and a cap of 2: recorded intervals never overlap beyond the cap', async (t) => {
    const cluster = newCluster((cleanup) => t.after(cleanup));
    const instances = [1, 2, 3].map((n) => cluster.spawn(`hammer-${n}`, 'mutex', ['--workers', '2', '--max-run-ms', '25']));
    await allReady(instances);
    const enough = (records: IRecord[]) => {
      for (const group of ['mutex', 'cap2']) {
        for (const instance of instances) {
          if (records.filter((r) => r.kind === 'interval' && r.group === group && r.instanceId === instance.instanceId).length < 15) return undefined;
        }
      }
      return true;
    };
    await awaitRecords(cluster, enough, 'every process ran each group at least 15 times', 30_000);
    await stopAll(instances);
    const intervals = (await cluster.records()).filter((r) => r.kind === 'interval');
    for (const [group, cap] of [['mutex', 1], ['cap2', 2]] as const) {
      const mine = intervals.filter((r) => r.group === group);
      // Sweep over starts (+1) and ends (-1); an end at the same ms as a start comes first (the slot was freed).
      const points = mine.flatMap((r) => [{ at: r.start!, delta: 1, r }, { at: r.end!, delta: -1, r }])
        .sort((a, b) => a.at - b.at || a.delta - b.delta);
      let running = 0;
      let most = 0;
      const open: IRecord[] = [];
      for (const point of points) {
        running += point.delta;
        if (point.delta > 0) open.push(point.r);
        else open.splice(open.indexOf(point.r), 1);
        most = Math.max(most, running);
        assert.ok(running <= cap, `${group}: ${running} runs at once at ${iso(point.at)} (cap ${cap}): ${JSON.stringify(open)}`);
      }
      t.diagnostic(`${group}: ${mine.length} runs from ${new Set(mine.map((r) => r.instanceId)).size} processes, at most ${most} at once`);
      assert.equal(most, cap, `${group}: the cap was reached (the test did contend)`);
    }
  });

  test('SIGKILL of the instance holding a cluster slot frees it within 2 × leaseMs', async (t) => {
    const cluster = newCluster((cleanup) => t.after(cleanup));
    // Both want the mutex; whichever gets it first holds it for a minute.
    const both = [cluster.spawn('hold-a', 'hold', ['--run-ms', '60000']), cluster.spawn('hold-b', 'hold', ['--run-ms', '60000'])];
    await allReady(both);
    const first = await awaitRecords(cluster, (records) => records.find((r) => r.kind === 'start'), 'one of them holds the mutex', 10_000);
    const holder = both.find((instance) => instance.instanceId === first.instanceId)!;
    const waiter = both.find((instance) => instance !== holder)!;
    // Setup, not an assertion: give the waiter time to find the slot taken and settle into waiting.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(!(await cluster.records()).some((r) => r.instanceId === waiter.instanceId && r.kind === 'start'), 'the waiter waits while the slot is held');
    const killedAt = Date.now();
    await holder.kill();
    const started = await awaitRecords(cluster, (records) => records.find((r) => r.kind === 'start' && r.instanceId === waiter.instanceId),
      'the waiter got the slot', 10 * LEASE_MS);
    const freedAfter = started.at - killedAt;
    t.diagnostic(`the waiter started ${freedAfter} ms after the holder was killed (leaseMs ${LEASE_MS})`);
    assert.ok(freedAfter >= 0);
    assert.ok(freedAfter <= 2 * LEASE_MS, `the slot was free again ${freedAfter} ms after the kill; expected within ${2 * LEASE_MS}`);
    await stopAll([waiter]);
  });
});

describe('faults across processes', () => {
  test('Redis restarted in the middle of a run: the instances recover by themselves and ticks go on once each', async (t) => {
    // Records go to files: the restarted Redis has no persistence and comes back empty.
    const cluster = newCluster((cleanup) => t.after(cleanup), 'files');
    const runMs = 700;
    const instances = [1, 2, 3].map((n) => cluster.spawn(`restart-${n}`, 'cron', ['--run-ms', String(runMs)]));
    const readyAt = await allReady(instances);
    const inProgress = await awaitRecords(cluster, (records) => records.find((r) => r.kind === 'start' && r.scheduledAt! >= readyAt + 1500
      && !records.some((e) => e.kind === 'end' && e.scheduledAt === r.scheduledAt)), 'a run in progress', 15_000);
    const restartAt = Date.now();
    await redis.restart({ signal: 'SIGKILL' });
    const backAt = Date.now();
    t.diagnostic(`Redis was down for ${backAt - restartAt} ms during the run of tick ${iso(inProgress.scheduledAt!)}`);
    const lastTick = await awaitRecords(cluster, (records) => records.find((r) => r.kind === 'outcome' && r.scheduledAt! >= backAt + 5000)?.scheduledAt,
      'ticks completed again well after Redis came back', 20_000);
    for (const instance of instances) {
      assert.equal(instance.child.exitCode, null, `${instance.instanceId} is still running (no restart of its own); stderr:\n${instance.stderr()}`);
    }
    await stopAll(instances);

    const records = await cluster.records();
    const ticks = byTick(records);
    assert.ok(ticks.get(inProgress.scheduledAt!)!.ends.some((r) => r.instanceId === inProgress.instanceId), 'the run in progress during the restart finished');
    const settled = secondsBetween(backAt + 2000, lastTick);
    const report = describeTicks(ticks, secondsBetween(restartAt - 2000, lastTick));
    for (const s of settled) {
      assert.equal(ticks.get(s)?.starts.length, 1, `tick ${iso(s)} after recovery\n${report}`);
      assert.equal(ticks.get(s)?.ends.length, 1, `tick ${iso(s)} after recovery\n${report}`);
    }
    const doubled = [...ticks].filter(([, tick]) => tick.starts.length > 1).map(([s]) => iso(s));
    t.diagnostic(`ticks started more than once around the restart (Redis lost its state): ${doubled.join(', ') || 'none'}`);
    for (const s of secondsBetween(restartAt - 1000, lastTick)) {
      assert.ok((ticks.get(s)?.ends.length ?? 0) >= 1, `tick ${iso(s)} was lost across the restart\n${report}`);
    }
  });
});
