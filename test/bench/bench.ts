/**
 * Throughput benchmark of Task.trigger() against p-queue and a bare async call, and of
 * TaskManager constraint groups (a global cap, per-key mutexes, heap held per queued
 * trigger) against p-queue and p-limit; the cost of trigger priorities on a long queue;
 * and of `scope: 'cluster'` groups on a throwaway redis-server (client commands per run,
 * runs per second through a cluster-wide cap, wake latency across instances), and jobs per
 * second against BullMQ on the same server (`bullmqCase`, versus-bullmq.ts); and the durable
 * queue, RedisTaskQueue against BullMQ with worker processes (`queueCase`, queue-rig.ts); all
 * three skipped with a SKIP line when redis-server is not installed.
 *
 * Run with `npm run bench` (needs `--expose-gc`, which the script passes). Not a test
 * file on purpose: timings on a shared 2-core machine are too noisy to gate CI, so the
 * targets are printed as PASS/MISS rather than asserted.
 *
 * Method, and why:
 * - Each case runs in a fresh Node process, so that no case is measured on what the ones
 *   before it taught V8 (see runInOwnProcess).
 * - Every measurement is a `measure(name, sample)`; a sample returns one value per
 *   operation (ns/op for timings; a memory case can return bytes/op the same way).
 * - All measurements of a case are warmed up first, so no competitor is timed while
 *   still in the interpreter when another is already optimised.
 * - Rounds interleave the competitors (and rotate who goes first) so that a burst of
 *   load from elsewhere on the machine lands on all of them, not on one.
 * - The heap is collected before each sample, so one competitor's garbage is not
 *   collected on another's clock.
 * - Ratios are the median of per-round ratios: samples of the same round ran under the
 *   same machine load, so pairing them cancels slow drifts that a ratio of medians keeps.
 * - Each batch returns the sum of its results and the harness checks it, which both
 *   proves every operation ran and keeps V8 from discarding the work.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';
import PQueue from 'p-queue';
import pLimit from 'p-limit';
import { Task, TaskConstraintGroup, TaskManager } from '../../ts/index.js';
import type { Redis } from 'ioredis';
import {
  CommandLog, commandStats, newClient, redisServerMissing, registeredTask, sleep, startInstance, startRedis, statsDelta,
  type IBenchInstance,
} from './cluster-rig.js';
import { bareKeyedMutex, bareLimit } from './floor.js';
import { startGatewayRig } from './gateway-rig.js';
import { deepGraph, GRAPH_NODES, wideGraph, type IGraphCompetitors } from './graph-rig.js';
import { measureQueues, QUEUE_CONCURRENCY, QUEUE_JOBS, QUEUE_WORKERS } from './queue-rig.js';
import { BULLMQ_CONCURRENCY, startBullmq, startTaskbuffer, TOTAL_CONCURRENCY, type ICompetitor } from './versus-bullmq.js';

// ---------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------

/** One competitor of a case. `sample()` runs one timed batch and returns value per op. */
interface Measurement {
  name: string;
  sample: () => Promise<number>;
}

/** A ratio between two measurements of a case, with an optional target from the issue. */
interface RatioRow {
  label: string;
  value: number;
  /** The ratio must be at most this to PASS; without it (and `min`) the row is informational. */
  max?: number;
  /** The ratio must be at least this to PASS. */
  min?: number;
  /** What `value` and `max` are counted in; `x` (a ratio) unless told. */
  unit?: string;
  note?: string;
}

interface CaseResult {
  title: string;
  unit: string;
  rows: Array<{ name: string; samples: number[] }>;
  ratios: RatioRow[];
}

interface RoundOptions {
  warmups: number;
  rounds: number;
}

/** Five rounds give a stable median while keeping the whole run well under a minute. */
const DEFAULT_ROUNDS: RoundOptions = { warmups: 2, rounds: 5 };

function measure(name: string, sample: () => Promise<number>): Measurement {
  return { name, sample };
}

function collectGarbage(): void {
  globalThis.gc?.();
}

/**
 * Times one batch of `ops` operations. The batch returns the sum of its results, which
 * must equal `ops` because every operation resolves with 1.
 */
async function nsPerOp(ops: number, batch: (ops: number) => Promise<number>,
  gcNsPerOp?: (ns: number) => void): Promise<number> {
  collectGarbage();
  const startedAt = performance.now();
  const start = process.hrtime.bigint();
  const checksum = await batch(ops);
  const elapsed = process.hrtime.bigint() - start;
  if (checksum !== ops) throw new Error(`batch returned checksum ${checksum}, expected ${ops}`);
  if (gcNsPerOp !== undefined) gcNsPerOp((await gcPauseMsSince(startedAt)) * 1e6 / ops);
  return Number(elapsed) / ops;
}

/** The collector's pauses, as the runtime reports them in `gc` performance entries. */
const gcPauses: Array<{ startTime: number; duration: number }> = [];
let gcObserver: PerformanceObserver | undefined;

/**
 * Milliseconds the collector paused the process since `since` (a `performance.now()`).
 * The runtime reports pauses to observers a timer turn later, so this waits one.
 */
async function gcPauseMsSince(since: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  let paused = 0;
  for (const pause of gcPauses) if (pause.startTime >= since) paused += pause.duration;
  gcPauses.length = 0;
  return paused;
}

/** Starts recording the collector's pauses (for `nsPerOp`'s `gcNsPerOp`). */
function recordGcPauses(): void {
  if (gcObserver !== undefined) return;
  gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcPauses.push({ startTime: entry.startTime, duration: entry.duration });
  });
  gcObserver.observe({ entryTypes: ['gc'] });
}

/** Warms every measurement up, then runs interleaved rounds; returns samples by name. */
async function runRounds(measurements: Measurement[], options: RoundOptions = DEFAULT_ROUNDS): Promise<Map<string, number[]>> {
  for (let i = 0; i < options.warmups; i++) {
    for (const m of measurements) await m.sample();
  }
  const samples = new Map<string, number[]>(measurements.map((m) => [m.name, []]));
  for (let round = 0; round < options.rounds; round++) {
    for (let k = 0; k < measurements.length; k++) {
      const m = measurements[(round + k) % measurements.length]!;
      samples.get(m.name)!.push(await m.sample());
    }
  }
  return samples;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median of a[i] / b[i]: both samples of a round ran under the same load. */
function pairedRatio(a: number[], b: number[]): number {
  return median(a.map((value, i) => value / b[i]!));
}

/**
 * Median over rounds of (a − floorA) / (b − floorB): how what a queue adds to a floor
 * measured in the same rounds changes between two sizes.
 */
function pairedExcessRatio(a: number[], floorA: number[], b: number[], floorB: number[]): number {
  return median(a.map((value, i) => (value - floorA[i]!) / (b[i]! - floorB[i]!)));
}

/** Builds a case result; `ratio(a, b)` reads samples by measurement name. */
function caseResult(title: string, unit: string, samples: Map<string, number[]>,
  ratios: (ratio: (a: string, b: string) => number) => RatioRow[]): CaseResult {
  const get = (name: string): number[] => {
    const s = samples.get(name);
    if (s === undefined) throw new Error(`no measurement named ${JSON.stringify(name)} in ${title}`);
    return s;
  };
  return {
    title,
    unit,
    rows: [...samples].map(([name, s]) => ({ name, samples: s })),
    ratios: ratios((a, b) => pairedRatio(get(a), get(b))),
  };
}

// ---------------------------------------------------------------------------------------
// Table printer
// ---------------------------------------------------------------------------------------

/**
 * `align` has one letter per column, `l` or `r`: labels read best left-aligned, numbers
 * right-aligned so their digits line up.
 */
function printTable(header: string[], rows: string[][], align: string): void {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((cell, c) => (align[c] === 'r' ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

function formatValue(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function printResults(results: CaseResult[]): void {
  const measurementRows: string[][] = [];
  for (const result of results) {
    result.rows.forEach((row, i) => {
      const mid = median(row.samples);
      const spread = (Math.max(...row.samples) - Math.min(...row.samples)) / mid;
      measurementRows.push([
        i === 0 ? result.title : '',
        row.name,
        `${formatValue(mid)} ${result.unit}`,
        formatValue(Math.min(...row.samples)),
        formatValue(Math.max(...row.samples)),
        `${(spread * 100).toFixed(0)}%`,
      ]);
    });
  }
  printTable(['case', 'measurement', 'median', 'min', 'max', 'spread'], measurementRows, 'llrrrr');

  console.log();
  const ratioRows: string[][] = [];
  for (const result of results) {
    result.ratios.forEach((ratio, i) => {
      ratioRows.push([
        i === 0 ? result.title : '',
        ratio.label,
        // Three significant digits, so a ratio just over a target never prints as equal to it.
        // (From 1000 on, whole numbers: toPrecision would switch to exponent notation.)
        `${ratio.value >= 1000 ? ratio.value.toFixed(0) : ratio.value.toPrecision(3)}${ratio.unit ?? 'x'}`,
        ratio.max !== undefined ? `<= ${ratio.max}${ratio.unit ?? 'x'}` : ratio.min !== undefined ? `>= ${ratio.min}${ratio.unit ?? 'x'}` : '',
        ratio.max !== undefined ? (ratio.value <= ratio.max ? 'PASS' : 'MISS')
          : ratio.min !== undefined ? (ratio.value >= ratio.min ? 'PASS' : 'MISS') : 'info',
        ratio.note ?? '',
      ]);
    });
  }
  printTable(['case', 'ratio (median of per-round ratios)', 'ratio', 'target', 'verdict', 'note'], ratioRows, 'llrrll');
}

// ---------------------------------------------------------------------------------------
// Competitors
// ---------------------------------------------------------------------------------------

/** The trivial work every competitor runs, so that only the scheduling differs. */
const fn = async (): Promise<number> => 1;

/** A fresh task per measurement, so state left by one (e.g. a subscriber) cannot leak. */
function newTask(): Task<undefined, [], Record<string, unknown>, void, number> {
  return new Task({ taskFunction: fn });
}

/** `await` each operation before starting the next: the latency of one call. */
function sequential(run: () => Promise<number>): (ops: number) => Promise<number> {
  return async (ops) => {
    let sum = 0;
    for (let i = 0; i < ops; i++) sum += await run();
    return sum;
  };
}

/** Start every operation, then await them all: the cost of many calls in flight. */
function burst(start: () => Promise<number>): (ops: number) => Promise<number> {
  return async (ops) => {
    const pending = new Array<Promise<number>>(ops);
    for (let i = 0; i < ops; i++) pending[i] = start();
    const results = await Promise.all(pending);
    let sum = 0;
    for (const r of results) sum += r;
    return sum;
  };
}

// ---------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------

/** Enough ops that a Task sample takes tens of ms (well above timer and scheduling noise)
 * while the slowest competitor, p-queue, still finishes a sample in under a second. */
const SEQUENTIAL_OPS = 100_000;
const BURST_OPS = 100_000;

const TARGET_VS_PQUEUE = 0.3;
const TARGET_VS_BARE = 6;

const NAMES = {
  task: 'Task.trigger()',
  pqueue: 'p-queue add (concurrency Infinity)',
  bare: 'bare await fn()',
};

function targetRatios(ratio: (a: string, b: string) => number): RatioRow[] {
  return [
    { label: 'Task / p-queue', value: ratio(NAMES.task, NAMES.pqueue), max: TARGET_VS_PQUEUE },
    { label: 'Task / bare', value: ratio(NAMES.task, NAMES.bare), max: TARGET_VS_BARE },
  ];
}

async function sequentialCase(): Promise<CaseResult> {
  const task = newTask();
  const queue = new PQueue({ concurrency: Infinity });
  const samples = await runRounds([
    measure(NAMES.task, () => nsPerOp(SEQUENTIAL_OPS, sequential(() => task.trigger()))),
    measure(NAMES.pqueue, () => nsPerOp(SEQUENTIAL_OPS, sequential(() => queue.add(fn)))),
    measure(NAMES.bare, () => nsPerOp(SEQUENTIAL_OPS, sequential(fn))),
  ]);
  return caseResult(`sequential x${SEQUENTIAL_OPS / 1000}k`, 'ns/op', samples, targetRatios);
}

async function burstCase(): Promise<CaseResult> {
  const task = newTask();
  const queue = new PQueue({ concurrency: Infinity });
  // One burst is short and GC-heavy, so take more rounds to steady the median.
  const samples = await runRounds([
    measure(NAMES.task, () => nsPerOp(BURST_OPS, burst(() => task.trigger()))),
    measure(NAMES.pqueue, () => nsPerOp(BURST_OPS, burst(() => queue.add(fn)))),
    measure(NAMES.bare, () => nsPerOp(BURST_OPS, burst(fn))),
  ], { warmups: 2, rounds: 7 });
  return caseResult(`burst ${BURST_OPS / 1000}k at once`, 'ns/op', samples, targetRatios);
}

/**
 * Events are only built while someone listens. "subscribed, then unsubscribed" checks
 * that a task goes back to the free path once its last subscriber leaves; the gap
 * between the unobserved rows and the round-to-round spread shows whether the
 * unobserved event checks cost anything measurable. The subscribed row shows what
 * building events costs, i.e. that this benchmark can see event work when there is some.
 */
async function eventsCase(): Promise<CaseResult> {
  const names = {
    none: 'Task, no subscriber',
    released: 'Task, subscribed then unsubscribed',
    observed: 'Task, 1 subscriber',
  };
  const plain = newTask();
  const released = newTask();
  released.eventSubject.subscribe(() => {}).unsubscribe();
  const observed = newTask();
  let eventsSeen = 0;
  observed.eventSubject.subscribe(() => { eventsSeen++; });

  const rounds = DEFAULT_ROUNDS;
  const samples = await runRounds([
    measure(names.none, () => nsPerOp(SEQUENTIAL_OPS, sequential(() => plain.trigger()))),
    measure(names.released, () => nsPerOp(SEQUENTIAL_OPS, sequential(() => released.trigger()))),
    measure(names.observed, () => nsPerOp(SEQUENTIAL_OPS, sequential(() => observed.trigger()))),
  ], rounds);

  // A run emits `started` and `completed`; anything else means the case measured
  // something other than what it claims.
  const expectedEvents = 2 * SEQUENTIAL_OPS * (rounds.warmups + rounds.rounds);
  if (eventsSeen !== expectedEvents) throw new Error(`subscriber saw ${eventsSeen} events, expected ${expectedEvents}`);

  const none = samples.get(names.none)!;
  const noise = (Math.max(...none) - Math.min(...none)) / 2;
  const delta = (name: string): string => `${(median(samples.get(name)!) - median(none)).toFixed(1)} ns/trigger`;
  return caseResult(`events x${SEQUENTIAL_OPS / 1000}k`, 'ns/op', samples, (ratio) => [
    {
      label: 'unsubscribed / no subscriber',
      value: ratio(names.released, names.none),
      note: `delta ${delta(names.released)}, noise +-${noise.toFixed(1)} ns`,
    },
    {
      label: '1 subscriber / no subscriber',
      value: ratio(names.observed, names.none),
      note: `delta ${delta(names.observed)} (2 events built)`,
    },
  ]);
}

// ---- constraint groups ------------------------------------------------------------

/**
 * A manager with one constraint group. Triggers go through `manager.triggerTask`, the
 * public path; the task is not registered (`addTask`), so no manager event sink is
 * attached and only the constraint machinery is measured.
 */
function managerWith(group: ConstructorParameters<typeof TaskConstraintGroup>[0]): TaskManager {
  const manager = new TaskManager();
  manager.addConstraintGroup(new TaskConstraintGroup(group));
  return manager;
}

/** Small and large burst: the large one shows any per-trigger cost that grows with the queue. */
const CAP_SMALL = 10_000;
const CAP_LARGE = 100_000;
/** The 10k sample runs 5 bursts back to back (each awaited before the next), so that it is
 * timed over 50k triggers instead of a noisy ~50 ms, at half the time of a 100k sample. */
const CAP_SMALL_BURSTS = 5;
const CAP_CONCURRENCY = 10;

const TARGET_CAP_VS_PLIMIT = 0.5;
const TARGET_CAP_GROWTH = 1.3;

/** Runs `bursts` bursts of `ops` one after the other; the checksum counts all of them. */
function repeatedBurst(bursts: number, start: () => Promise<number | undefined>): (ops: number) => Promise<number> {
  const one = burst(start as () => Promise<number>);
  return async (ops) => {
    const each = ops / bursts;
    let sum = 0;
    for (let b = 0; b < bursts; b++) sum += await one(each);
    return sum;
  };
}

/**
 * Global cap of 10: every trigger has the same key, so all but 10 of them queue. N
 * triggers are started at once and awaited together.
 */
async function globalCapCase(): Promise<CaseResult> {
  const task = newTask();
  const name = (who: string, n: number): string => `${who} @${n / 1000}k`;
  const measurements: Measurement[] = [];
  // taskbuffer's collector pauses per trigger, per sample, by queue length.
  const gcNs = new Map<number, number[]>([[CAP_SMALL, []], [CAP_LARGE, []]]);
  recordGcPauses();
  for (const n of [CAP_SMALL, CAP_LARGE]) {
    const bursts = n === CAP_SMALL ? CAP_SMALL_BURSTS : 1;
    const manager = managerWith({ name: 'cap', maxConcurrent: CAP_CONCURRENCY, constraintKeyForExecution: () => 'all' });
    const queue = new PQueue({ concurrency: CAP_CONCURRENCY });
    const limit = pLimit(CAP_CONCURRENCY);
    const bare = bareLimit(CAP_CONCURRENCY);
    measurements.push(
      measure(name('taskbuffer', n), () => nsPerOp(n * bursts, repeatedBurst(bursts, () => manager.triggerTask(task)),
        (ns) => gcNs.get(n)!.push(ns))),
      measure(name('p-queue', n), () => nsPerOp(n * bursts, repeatedBurst(bursts, () => queue.add(fn)))),
      measure(name('p-limit', n), () => nsPerOp(n * bursts, repeatedBurst(bursts, () => limit(fn)))),
      measure(name('bare FIFO', n), () => nsPerOp(n * bursts, repeatedBurst(bursts, () => bare(fn)))),
    );
  }
  const samples = await runRounds(measurements);
  // Warm-up samples recorded pauses too; the timed rounds are the last ones.
  const [gcSmall, gcLarge] = [CAP_SMALL, CAP_LARGE].map((n) => gcNs.get(n)!.slice(-samples.get(name('taskbuffer', n))!.length));
  return caseResult(`cap ${CAP_CONCURRENCY}, N at once`, 'ns/op', samples, (ratio) => [
    { label: 'taskbuffer / p-limit @10k', value: ratio(name('taskbuffer', CAP_SMALL), name('p-limit', CAP_SMALL)), max: TARGET_CAP_VS_PLIMIT },
    { label: 'taskbuffer / p-limit @100k', value: ratio(name('taskbuffer', CAP_LARGE), name('p-limit', CAP_LARGE)), max: TARGET_CAP_VS_PLIMIT },
    { label: 'taskbuffer / p-queue @10k', value: ratio(name('taskbuffer', CAP_SMALL), name('p-queue', CAP_SMALL)) },
    { label: 'taskbuffer / p-queue @100k', value: ratio(name('taskbuffer', CAP_LARGE), name('p-queue', CAP_LARGE)) },
    {
      label: 'taskbuffer @100k / @10k',
      value: ratio(name('taskbuffer', CAP_LARGE), name('taskbuffer', CAP_SMALL)),
      max: TARGET_CAP_GROWTH,
      note: 'per-trigger cost vs queue length',
    },
    {
      label: 'p-limit @100k / @10k',
      value: ratio(name('p-limit', CAP_LARGE), name('p-limit', CAP_SMALL)),
      note: 'O(1) queue: growth from GC of more live promises',
    },
    {
      label: 'bare FIFO @100k / @10k',
      value: ratio(name('bare FIFO', CAP_LARGE), name('bare FIFO', CAP_SMALL)),
      note: 'floor: what the runtime charges a longer queue',
    },
    {
      label: '(taskbuffer - bare FIFO) @100k / @10k',
      value: pairedExcessRatio(
        samples.get(name('taskbuffer', CAP_LARGE))!, samples.get(name('bare FIFO', CAP_LARGE))!,
        samples.get(name('taskbuffer', CAP_SMALL))!, samples.get(name('bare FIFO', CAP_SMALL))!,
      ),
      note: 'what taskbuffer adds to the floor, vs queue length',
    },
    {
      label: 'taskbuffer @100k / @10k, GC pauses out',
      value: pairedExcessRatio(samples.get(name('taskbuffer', CAP_LARGE))!, gcLarge!, samples.get(name('taskbuffer', CAP_SMALL))!, gcSmall!),
      note: 'the same growth with the collector\'s pauses taken out',
    },
    { label: 'taskbuffer GC pauses @10k', value: median(gcSmall!), unit: ' ns/op', note: 'collector pauses per trigger (perf_hooks gc entries)' },
    { label: 'taskbuffer GC pauses @100k', value: median(gcLarge!), unit: ' ns/op' },
  ]);
}

const MUTEX_KEYS = 1_000;
const MUTEX_PER_KEY = 50;
const TARGET_MUTEX_VS_PQUEUE = 0.3;

/**
 * Per-key mutex: 1,000 keys x 50 triggers, keys interleaved (k0..k999, k0, ...) so every
 * key has a queue at once. p-queue gets one queue of concurrency 1 per key, created
 * lazily in a fresh Map each sample: taskbuffer forgets idle keys as well, so both build
 * their per-key state inside the timed sample.
 */
async function perKeyMutexCase(): Promise<CaseResult> {
  const names = { taskbuffer: 'taskbuffer, 1 group', pqueue: 'Map<key, p-queue(1)>', bare: 'bare Map<key, FIFO>' };
  const ops = MUTEX_KEYS * MUTEX_PER_KEY;
  const keys = Array.from({ length: MUTEX_KEYS }, (_, i) => `k${i}`);
  const manager = managerWith({
    name: 'mutex',
    maxConcurrent: 1,
    constraintKeyForExecution: (_task, input: string) => input,
  });
  const task = new Task({ taskFunction: async (_key: string) => 1 });
  const taskbuffer = async (n: number): Promise<number> => {
    let i = 0;
    return burst(() => manager.triggerTask(task, keys[i++ % MUTEX_KEYS]!) as Promise<number>)(n);
  };
  const pqueue = async (n: number): Promise<number> => {
    const queues = new Map<string, PQueue>();
    let i = 0;
    return burst(() => {
      const key = keys[i++ % MUTEX_KEYS]!;
      let queue = queues.get(key);
      if (queue === undefined) queues.set(key, (queue = new PQueue({ concurrency: 1 })));
      return queue.add(fn);
    })(n);
  };
  const bare = async (n: number): Promise<number> => {
    const mutex = bareKeyedMutex();
    let i = 0;
    return burst(() => mutex(keys[i++ % MUTEX_KEYS]!, fn))(n);
  };
  const samples = await runRounds([
    measure(names.taskbuffer, () => nsPerOp(ops, taskbuffer)),
    measure(names.pqueue, () => nsPerOp(ops, pqueue)),
    measure(names.bare, () => nsPerOp(ops, bare)),
  ]);
  return caseResult(`mutex ${MUTEX_KEYS} keys x${MUTEX_PER_KEY}`, 'ns/op', samples, (ratio) => [
    { label: 'taskbuffer / p-queue', value: ratio(names.taskbuffer, names.pqueue), max: TARGET_MUTEX_VS_PQUEUE },
    { label: 'bare / p-queue', value: ratio(names.bare, names.pqueue), note: 'floor: a Map of resolver FIFOs, no features' },
  ]);
}

const QUEUED_OPS = 100_000;
const TARGET_BYTES_PER_QUEUED = 300;

/** How one competitor queues: `block` starts a job that holds the key until `gate`
 * resolves, `enqueue` adds one trigger behind it. */
type QueueSetup = (gate: Promise<void>) => {
  block: () => Promise<number | undefined>;
  enqueue: () => Promise<number | undefined>;
};

/**
 * Heap held by queued work: one run holds the key, `ops` more triggers queue behind it,
 * and the heap is collected before and after queueing them. The caller's array of
 * promises is allocated before the first reading, so only what queueing allocates counts:
 * what the library keeps per waiting trigger, plus the promise the caller holds (both
 * competitors hand one out). Then the key is released and everything drains.
 */
async function bytesPerQueued(ops: number, setup: QueueSetup): Promise<number> {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => { release = resolve; });
  const { block, enqueue } = setup(gate);
  const blocking = block();
  const pending = new Array<Promise<number | undefined>>(ops).fill(blocking);
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < ops; i++) pending[i] = enqueue();
  collectGarbage();
  const after = process.memoryUsage().heapUsed;
  release();
  if ((await blocking) !== 1) throw new Error('the blocking job did not run');
  let sum = 0;
  for (const r of await Promise.all(pending)) sum += r ?? 0;
  if (sum !== ops) throw new Error(`queued batch returned checksum ${sum}, expected ${ops}`);
  return (after - before) / ops;
}

async function queuedHeapCase(): Promise<CaseResult> {
  const names = { taskbuffer: 'taskbuffer, busy mutex', pqueue: 'p-queue(1), busy' };
  const manager = managerWith({
    name: 'mutex',
    maxConcurrent: 1,
    constraintKeyForExecution: (_task, input: string) => input,
  });
  const task = new Task({ taskFunction: async (_key: string) => 1 });
  const taskbuffer: QueueSetup = (gate) => {
    const blocker = new Task({ taskFunction: async (_key: string) => { await gate; return 1; } });
    return { block: () => manager.triggerTask(blocker, 'k'), enqueue: () => manager.triggerTask(task, 'k') };
  };
  const pqueue: QueueSetup = (gate) => {
    const queue = new PQueue({ concurrency: 1 });
    return { block: () => queue.add(async () => { await gate; return 1; }), enqueue: () => queue.add(fn) };
  };
  // Bytes per op barely move between rounds, and each sample holds 100k waiting runs and
  // then drains them: fewer rounds keep the case short.
  const samples = await runRounds([
    measure(names.taskbuffer, () => bytesPerQueued(QUEUED_OPS, taskbuffer)),
    measure(names.pqueue, () => bytesPerQueued(QUEUED_OPS, pqueue)),
  ], { warmups: 1, rounds: 3 });
  return caseResult(`heap, ${QUEUED_OPS / 1000}k queued`, 'B/queued', samples, (ratio) => [
    {
      // An absolute target, not a ratio: the median itself is checked.
      label: 'taskbuffer heap per queued trigger',
      value: median(samples.get(names.taskbuffer)!),
      max: TARGET_BYTES_PER_QUEUED,
      unit: ' B',
    },
    { label: 'taskbuffer / p-queue', value: ratio(names.taskbuffer, names.pqueue) },
  ]);
}

// ---- priorities (issue 7) ------------------------------------------------------------

const PRIORITY_LARGE = 100_000;
const PRIORITY_SMALL = 10_000;
/** As with the cap case: the 10k sample is 5 bursts back to back, timed over 50k triggers. */
const PRIORITY_SMALL_BURSTS = 5;
/** Random priorities are integers 0..PRIORITY_LEVELS-1; the equal ones all sit in the middle. */
const PRIORITY_LEVELS = 1_000;
const TARGET_PRIORITY_GROWTH = 1.3;

function randomPriorities(n: number): Int32Array {
  const priorities = new Int32Array(n);
  for (let i = 0; i < n; i++) priorities[i] = Math.floor(Math.random() * PRIORITY_LEVELS);
  return priorities;
}

function equalPriorities(n: number): Int32Array {
  return new Int32Array(n).fill(PRIORITY_LEVELS >> 1);
}

/**
 * Checks the drain of `bursts` equal bursts: within each, triggers started by
 * non-increasing priority, ties in trigger order, and each burst's triggers exactly once
 * (a strictly ordered run of `each` indices from the burst's own range is a permutation
 * of it). Throws with the first position that breaks it.
 */
function checkDrainOrder(order: Int32Array, started: number, priorities: Int32Array, bursts: number): void {
  if (started !== priorities.length) throw new Error(`drain order: ${started} runs started, expected ${priorities.length}`);
  const each = priorities.length / bursts;
  for (let lo = 0; lo < priorities.length; lo += each) {
    const hi = lo + each;
    for (let k = lo; k < hi; k++) {
      const i = order[k]!;
      if (i < lo || i >= hi) throw new Error(`drain order: position ${k} ran trigger #${i}, which is not of the burst #${lo}..#${hi - 1}`);
      if (k === lo) continue;
      const prev = order[k - 1]!;
      if (priorities[prev]! < priorities[i]! || (priorities[prev] === priorities[i] && prev >= i)) {
        throw new Error(`drain order broken at position ${k - lo} of a burst: trigger #${prev} (priority ${priorities[prev]}) ` +
          `ran before #${i} (priority ${priorities[i]}); expected non-increasing priority, then trigger order`);
      }
    }
  }
}

/**
 * Issue 7: one key of a per-key mutex held by a long run, N triggers with the given
 * priorities queued behind it, then the key released and the queue drained. Timed from
 * the first trigger to the last run's end: ns per trigger for queueing plus draining.
 * Each run records its trigger's index, and the order is checked after the timed part.
 */
async function priorityCase(): Promise<CaseResult> {
  const manager = managerWith({ name: 'mutex', maxConcurrent: 1, constraintKeyForExecution: () => 'k' });
  let order = new Int32Array(0);
  let started = 0;
  const task = new Task({ taskFunction: async (index: number) => { order[started++] = index; return 1; } });
  let gate: Promise<void> = Promise.resolve();
  const blocker = new Task({ taskFunction: async () => { await gate; return 1; } });

  /** Triggers `priorities.length / bursts` at a time behind the blocker; input = index. */
  const batch = (priorities: Int32Array, bursts: number) => async (ops: number): Promise<number> => {
    const each = ops / bursts;
    const pending = new Array<Promise<number | undefined>>(each);
    let sum = 0;
    for (let lo = 0; lo < ops; lo += each) {
      let release!: () => void;
      gate = new Promise<void>((resolve) => { release = resolve; });
      const blocking = manager.triggerTask(blocker);
      for (let j = 0; j < each; j++) pending[j] = manager.triggerTask(task, lo + j, { priority: priorities[lo + j]! });
      release();
      if ((await blocking) !== 1) throw new Error('the blocking run did not run');
      for (const r of await Promise.all(pending)) sum += r ?? 0;
    }
    return sum;
  };
  const sample = (n: number, bursts: number, make: (n: number) => Int32Array) => async (): Promise<number> => {
    const priorities = make(n * bursts);
    order = new Int32Array(n * bursts);
    started = 0;
    const ns = await nsPerOp(n * bursts, batch(priorities, bursts));
    checkDrainOrder(order, started, priorities, bursts);
    return ns;
  };
  const names = {
    random: `random 0..${PRIORITY_LEVELS - 1} @${PRIORITY_LARGE / 1000}k`,
    equal: `all equal @${PRIORITY_LARGE / 1000}k`,
    randomSmall: `random 0..${PRIORITY_LEVELS - 1} @${PRIORITY_SMALL / 1000}k`,
    equalSmall: `all equal @${PRIORITY_SMALL / 1000}k`,
  };
  // Each round queues and drains 300k triggers: fewer rounds than the default keep it short.
  const samples = await runRounds([
    measure(names.random, sample(PRIORITY_LARGE, 1, randomPriorities)),
    measure(names.equal, sample(PRIORITY_LARGE, 1, equalPriorities)),
    measure(names.randomSmall, sample(PRIORITY_SMALL, PRIORITY_SMALL_BURSTS, randomPriorities)),
    measure(names.equalSmall, sample(PRIORITY_SMALL, PRIORITY_SMALL_BURSTS, equalPriorities)),
  ], { warmups: 1, rounds: 4 });
  return caseResult('priority, 1 busy key', 'ns/op', samples, (ratio) => [
    { label: 'random / equal @100k', value: ratio(names.random, names.equal), note: 'queue + drain; drain order checked' },
    {
      label: 'random @100k / @10k',
      value: ratio(names.random, names.randomSmall),
      max: TARGET_PRIORITY_GROWTH,
      note: 'per-trigger cost vs queue length (O(log n))',
    },
    {
      label: 'all equal @100k / @10k',
      value: ratio(names.equal, names.equalSmall),
      note: 'control: growth without the heap (GC, memory)',
    },
    {
      // Per round: (random / equal @100k) / (random / equal @10k).
      label: 'random/equal @100k / same @10k',
      value: median(samples.get(names.random)!.map((r, i) => (r / samples.get(names.equal)![i]!) /
        (samples.get(names.randomSmall)![i]! / samples.get(names.equalSmall)![i]!))),
      note: 'growth of what random priorities add, control taken out',
    },
  ]);
}

// ---- cluster (issue 8) ----------------------------------------------------------------

/** Said after the table: cases that could not run here. */
const skipped: string[] = [];

const CLUSTER_CAP = 10;
const CLUSTER_INSTANCES = 3;
const CLUSTER_RUNS = 3_000;
const ROUND_TRIP_RUNS = 200;
const WAKE_REPEATS = 50;
const WAKE_WARMUPS = 5;
/** How long B's trigger is left waiting before A lets go: B's first try has long been refused by then. */
const WAKE_WAIT_MS = 10;

const TARGET_SCRIPTS_PER_RUN = 2;
/** Under load (the contended case), averaged over every command an instance sends. */
const TARGET_CLIENT_COMMANDS_PER_RUN = 2;
const TARGET_WAKE_MEDIAN_MS = 5;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * Issue 8: the cost of `scope: 'cluster'` groups on a real, throwaway redis-server.
 * (a) commands per run of one instance with the cluster to itself; (b) runs per second
 * through one cluster-wide cap from 3 instances; (c) wake latency of a run waiting in
 * another instance for a cluster mutex. The instances live in this process, each with
 * its own TaskManager, RedisCoordinator and connections; the tasks are registered, so
 * their events are published as a cluster's would be.
 */
async function clusterCase(): Promise<CaseResult[]> {
  const missing = redisServerMissing();
  if (missing !== undefined) {
    const line = 'SKIP cluster (issue 8): no redis-server here; install it with `apt-get install redis-server` ' +
      `to run this case (${missing.split(';')[0]})`;
    console.log(line);
    skipped.push(line);
    return [];
  }
  const redis = await startRedis();
  const opened: Array<{ stop(): Promise<void> }> = [];
  const stats = newClient(redis.url);
  try {
    const start = async (prefix: string, id: string, group: { name: string; maxConcurrent: number }) => {
      const instance = await startInstance(redis.url, prefix, id, group);
      opened.push(instance);
      return instance;
    };
    return [
      await clusterRoundTrips(redis.url, start, stats),
      await clusterThroughput(start, stats),
      await clusterWake(start),
    ];
  } finally {
    for (const instance of opened.reverse()) await instance.stop().catch(() => {});
    stats.disconnect();
    await redis.stop();
  }
}

type StartInstance = (prefix: string, id: string, group: { name: string; maxConcurrent: number }) => Promise<IBenchInstance>;

/** (a) One instance alone, runs one after the other: every command Redis executes, per run. */
async function clusterRoundTrips(url: string, start: StartInstance, stats: Redis): Promise<CaseResult> {
  const instance = await start('bench-a', 'a', { name: 'cap', maxConcurrent: CLUSTER_CAP });
  const task = registeredTask(instance.manager, 'cluster-work', async () => 1);
  const runs = async (n: number): Promise<void> => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += (await instance.manager.triggerTask(task)) ?? 0;
    if (sum !== n) throw new Error(`cluster runs returned checksum ${sum}, expected ${n}`);
    await instance.flush(); // the last run's release has been executed
  };
  const log = await CommandLog.attach(url);
  const rows = {
    scripts: 'script calls (EVALSHA/EVAL)',
    acquire: '  of them acquireSlot',
    release: '  of them releaseSlot',
    published: 'PUBLISH sent (task events)',
    inScript: 'PUBLISH inside scripts',
    other: 'other commands sent',
    client: 'client commands (ioredis sendCommand)',
  };
  const samples = new Map<string, number[]>(Object.values(rows).map((name) => [name, []]));
  const statScripts: number[] = [];
  try {
    await runs(20); // warm-up: scripts loaded on the connection, code optimised
    for (let round = 0; round < 3; round++) {
      const before = await commandStats(stats);
      const sentBefore = instance.sent.total();
      const tally = await log.tally(instance.client, () => runs(ROUND_TRIP_RUNS), instance.sent);
      const sentInWindow = instance.sent.total() - sentBefore;
      const delta = statsDelta(before, await commandStats(stats));
      statScripts.push(((delta.get('evalsha') ?? 0) + (delta.get('eval') ?? 0)) / ROUND_TRIP_RUNS);
      let scripts = 0;
      let inScript = 0;
      let other = 0;
      for (const [label, count] of tally) {
        if (label.startsWith('script:')) scripts += count;
        else if (label === 'lua:publish') inScript += count;
        else if (!label.startsWith('lua:') && label !== 'publish') other += count;
      }
      const perRun = (count: number): number => count / ROUND_TRIP_RUNS;
      samples.get(rows.scripts)!.push(perRun(scripts));
      samples.get(rows.acquire)!.push(perRun(tally.get('script:acquireSlot') ?? 0));
      samples.get(rows.release)!.push(perRun(tally.get('script:releaseSlot') ?? 0));
      samples.get(rows.published)!.push(perRun(tally.get('publish') ?? 0));
      samples.get(rows.inScript)!.push(perRun(inScript));
      samples.get(rows.other)!.push(perRun(other));
      samples.get(rows.client)!.push(perRun(sentInWindow));
    }
  } finally {
    log.close();
  }
  const sent = (name: string): number => median(samples.get(name)!);
  return caseResult(`cluster: 1 instance, ${ROUND_TRIP_RUNS} runs in a row`, 'cmds/run', samples, () => [
    {
      label: 'script round trips per run',
      value: sent(rows.scripts),
      max: TARGET_SCRIPTS_PER_RUN,
      unit: '',
      note: `MONITOR; INFO commandstats says ${median(statScripts).toFixed(2)} EVALSHA+EVAL per run`,
    },
    {
      label: 'commands sent per run, all',
      value: sent(rows.scripts) + sent(rows.published) + sent(rows.other),
      unit: '',
      note: 'MONITOR: scripts + PUBLISH + other (heartbeats in the window)',
    },
    {
      label: 'client commands per run',
      value: sent(rows.client),
      unit: '',
      note: 'counted at ioredis sendCommand on both connections; runs one after another, so nothing to hand on',
    },
  ]);
}

/**
 * (b) CLUSTER_INSTANCES instances share one cluster-wide cap of CLUSTER_CAP; each triggers
 * its share of CLUSTER_RUNS at once, and the sample is the runs per second until all end.
 * INFO commandstats counts the script calls this took (commands inside scripts are in
 * its `publish` count too).
 */
async function clusterThroughput(start: StartInstance, stats: Redis): Promise<CaseResult> {
  const group = { name: 'cap', maxConcurrent: CLUSTER_CAP };
  const instances: IBenchInstance[] = [];
  for (let i = 0; i < CLUSTER_INSTANCES; i++) instances.push(await start('bench-b', `b${i}`, group));
  let running = 0;
  let maxRunning = 0;
  const tasks = instances.map((instance) => registeredTask(instance.manager, 'cluster-work', async () => {
    if (++running > maxRunning) maxRunning = running;
    running--;
    return 1;
  }));
  const perInstance = CLUSTER_RUNS / CLUSTER_INSTANCES;
  const scriptsPerRun: number[] = [];
  const publishesPerRun: number[] = [];
  const clientPerRun: number[] = [];
  const sentTotal = (): number => instances.reduce((sum, instance) => sum + instance.sent.total(), 0);
  const sample = async (counted: boolean): Promise<number> => {
    collectGarbage();
    const before = await commandStats(stats);
    const sentBefore = sentTotal();
    const t0 = performance.now();
    const pending: Array<Promise<number | undefined>> = [];
    for (let j = 0; j < perInstance; j++) {
      for (let i = 0; i < instances.length; i++) pending.push(instances[i]!.manager.triggerTask(tasks[i]!));
    }
    let sum = 0;
    for (const r of await Promise.all(pending)) sum += r ?? 0;
    const seconds = (performance.now() - t0) / 1000;
    if (sum !== CLUSTER_RUNS) throw new Error(`cluster runs returned checksum ${sum}, expected ${CLUSTER_RUNS}`);
    for (const instance of instances) await instance.flush();
    const sentInSample = sentTotal() - sentBefore;
    const delta = statsDelta(before, await commandStats(stats));
    if (counted) {
      clientPerRun.push(sentInSample / CLUSTER_RUNS);
      scriptsPerRun.push(((delta.get('evalsha') ?? 0) + (delta.get('eval') ?? 0)) / CLUSTER_RUNS);
      publishesPerRun.push((delta.get('publish') ?? 0) / CLUSTER_RUNS);
    }
    return CLUSTER_RUNS / seconds;
  };
  const name = `${CLUSTER_RUNS} runs from ${CLUSTER_INSTANCES} instances`;
  const samples = new Map<string, number[]>([[name, []]]);
  await sample(false);
  for (let round = 0; round < 3; round++) samples.get(name)!.push(await sample(true));
  if (maxRunning > CLUSTER_CAP) throw new Error(`${maxRunning} runs ran at once through a cluster cap of ${CLUSTER_CAP}`);
  return caseResult(`cluster: cap ${CLUSTER_CAP}, ${CLUSTER_INSTANCES} instances`, 'runs/s', samples, () => [
    {
      label: 'runs per second',
      value: median(samples.get(name)!),
      unit: '/s',
      note: `all triggered at once, trivial task; at most ${maxRunning} ran at once`,
    },
    {
      label: 'client commands per run',
      value: median(clientPerRun),
      max: TARGET_CLIENT_COMMANDS_PER_RUN,
      unit: '',
      note: 'every command the 3 instances\' ioredis clients sent (sendCommand), heartbeats included',
    },
    {
      label: 'script calls per run, contended',
      value: median(scriptsPerRun),
      unit: '',
      note: `INFO commandstats; PUBLISH ${median(publishesPerRun).toFixed(2)}/run (events + grants, nearly all inside scripts)`,
    },
  ]);
}

/**
 * (c) Instance A holds a cluster mutex; B's trigger waits for it. Measured from the moment
 * A's task function returns to the moment B's starts (both `performance.now()` of this
 * process), after B has waited WAKE_WAIT_MS so that it waits for a wake-up, not for an
 * answer to its first try.
 */
async function clusterWake(start: StartInstance): Promise<CaseResult> {
  const group = { name: 'mutex', maxConcurrent: 1 };
  const a = await start('bench-c', 'a', group);
  const b = await start('bench-c', 'b', group);
  let gate: Promise<void> = Promise.resolve();
  let onHolding: () => void = () => {};
  let releasedAt = 0;
  let wokenAt = 0;
  const hold = registeredTask(a.manager, 'hold', async () => {
    onHolding();
    await gate;
    releasedAt = performance.now();
    return 1;
  });
  const wait = registeredTask(b.manager, 'wait', async () => {
    wokenAt = performance.now();
    return 1;
  });
  const latencies: number[] = [];
  for (let rep = 0; rep < WAKE_WARMUPS + WAKE_REPEATS; rep++) {
    let release!: () => void;
    gate = new Promise<void>((resolve) => { release = resolve; });
    const holding = new Promise<void>((resolve) => { onHolding = resolve; });
    releasedAt = 0;
    wokenAt = 0;
    const held = a.manager.triggerTask(hold);
    await holding;
    const waited = b.manager.triggerTask(wait);
    await sleep(WAKE_WAIT_MS);
    if (wokenAt !== 0) throw new Error('B ran while A held the cluster mutex');
    release();
    const [heldResult, waitedResult] = await Promise.all([held, waited]);
    if (heldResult !== 1 || waitedResult !== 1) throw new Error('a wake-latency run did not run');
    if (rep >= WAKE_WARMUPS) latencies.push(wokenAt - releasedAt);
  }
  const name = 'A returns -> B starts';
  const samples = new Map<string, number[]>([[name, latencies]]);
  return caseResult(`cluster: mutex wake, x${WAKE_REPEATS}`, 'ms', samples, () => [
    { label: 'wake latency, median', value: median(latencies), max: TARGET_WAKE_MEDIAN_MS, unit: ' ms' },
    { label: 'wake latency, p90', value: percentile(latencies, 90), unit: ' ms' },
  ]);
}

// ---- taskbuffer against BullMQ -------------------------------------------------------------

const VERSUS_JOBS = 6_000;
const VERSUS_ROUNDS = 3;
const TARGET_VS_BULLMQ = 3;

/**
 * N no-op jobs through a total concurrency of 10 over 3 processes, BullMQ and taskbuffer
 * on the same redis-server, rounds interleaved (who goes first alternates) after a warm-up
 * of each. How each side is set up, and why that is fair: versus-bullmq.ts.
 */
async function bullmqCase(): Promise<CaseResult[]> {
  const missing = redisServerMissing();
  if (missing !== undefined) {
    const line = `SKIP bullmq: no redis-server here (${missing.split(';')[0]})`;
    console.log(line);
    skipped.push(line);
    return [];
  }
  const redis = await startRedis();
  const started: ICompetitor[] = [];
  try {
    const bullmq = await startBullmq(redis.url);
    started.push(bullmq);
    const taskbuffer = await startTaskbuffer(redis.url);
    started.push(taskbuffer);
    const names = {
      bullmq: `BullMQ: addBulk + 3 workers (concurrency ${BULLMQ_CONCURRENCY.join('+')})`,
      taskbuffer: `taskbuffer: 3 instances, cluster cap ${TOTAL_CONCURRENCY}`,
    };
    const samples = new Map<string, number[]>([[names.bullmq, []], [names.taskbuffer, []]]);
    await bullmq.sample(VERSUS_JOBS);
    await taskbuffer.sample(VERSUS_JOBS);
    for (let round = 0; round < VERSUS_ROUNDS; round++) {
      const order: Array<[string, ICompetitor]> = [[names.bullmq, bullmq], [names.taskbuffer, taskbuffer]];
      if (round % 2 === 1) order.reverse();
      for (const [name, competitor] of order) {
        collectGarbage();
        samples.get(name)!.push(await competitor.sample(VERSUS_JOBS));
      }
    }
    return [caseResult(`vs BullMQ: ${VERSUS_JOBS} no-op jobs, concurrency ${TOTAL_CONCURRENCY}, 3 processes`, 'jobs/s', samples, (ratio) => [
      {
        label: 'taskbuffer / BullMQ jobs per second',
        value: ratio(names.taskbuffer, names.bullmq),
        min: TARGET_VS_BULLMQ,
        note: 'same redis-server; BullMQ stores each job in Redis, taskbuffer only the cluster\'s slots',
      },
    ])];
  } finally {
    for (const competitor of started.reverse()) await competitor.stop().catch(() => {});
    await redis.stop();
  }
}

// ---- durable queue (issue 15) ---------------------------------------------------------

const QUEUE_ROUNDS = 4;

/**
 * Issue 15: RedisTaskQueue against BullMQ on one throwaway redis-server, 3 worker
 * processes each (test/bench/queue-rig.ts says how each figure is taken).
 */
async function queueCase(): Promise<CaseResult[]> {
  const missing = redisServerMissing();
  if (missing !== undefined) {
    const line = `SKIP queue (issue 15): no redis-server here; install it with \`apt-get install redis-server\` (${missing.split(';')[0]})`;
    console.log(line);
    skipped.push(line);
    return [];
  }
  const redis = await startRedis();
  try {
    const { taskbuffer, bullmq } = await measureQueues(redis.url, QUEUE_ROUNDS);
    const setup = `${QUEUE_WORKERS} worker processes x concurrency ${QUEUE_CONCURRENCY}, ${QUEUE_JOBS} no-op jobs added in bulk`;
    const throughput = caseResult(`queue: ${setup}`, 'jobs/s', new Map([
      ['taskbuffer RedisTaskQueue', taskbuffer.jobsPerSecond],
      ['BullMQ', bullmq.jobsPerSecond],
    ]), (ratio) => [
      { label: 'BullMQ jobs/s / taskbuffer jobs/s', value: ratio('BullMQ', 'taskbuffer RedisTaskQueue'), max: 0.667, note: 'target: taskbuffer at least 1.5x BullMQ' },
      { label: 'taskbuffer client commands per job', value: median(taskbuffer.commandsPerJob), max: 3, unit: '', note: 'add + run + record, workers and producer' },
      { label: 'BullMQ client commands per job', value: median(bullmq.commandsPerJob), unit: '', note: 'the same count for BullMQ' },
    ]);
    const latency = caseResult('queue: add to start on an idle worker', 'ms', new Map([
      ['taskbuffer RedisTaskQueue', taskbuffer.latencyMs],
      ['BullMQ', bullmq.latencyMs],
    ]), () => [
      { label: 'taskbuffer p50 add-to-start', value: median(taskbuffer.latencyMs), max: 2, unit: ' ms', note: `p95 ${percentile(taskbuffer.latencyMs, 95).toFixed(2)} ms` },
      { label: 'BullMQ p50 add-to-start', value: median(bullmq.latencyMs), unit: ' ms', note: `p95 ${percentile(bullmq.latencyMs, 95).toFixed(2)} ms` },
    ]);
    return [throughput, latency];
  } finally {
    await redis.stop();
  }
}

// ---- Taskgraph ---------------------------------------------------------------------------

/** Graph runs per sample: 20,000 node runs, tens of ms. */
const GRAPH_RUNS = 20;

/** Runs `run` GRAPH_RUNS times in a row; ops are node runs, so the figure is ns per node. */
function graphRuns(run: () => Promise<number>): (ops: number) => Promise<number> {
  return async () => {
    let sum = 0;
    for (let i = 0; i < GRAPH_RUNS; i++) sum += await run();
    return sum;
  };
}

/**
 * The cost per node of a 1,000-node Taskgraph (dependency bookkeeping, a report, one abort
 * controller and run id per node, steps) against the same tasks run by hand with
 * `Promise.all` (wide) or one `await` after another (deep).
 */
async function taskgraphCase(): Promise<CaseResult> {
  const shapes: Array<[string, IGraphCompetitors]> = [['wide', wideGraph()], ['deep', deepGraph()]];
  const ops = GRAPH_NODES * GRAPH_RUNS;
  const measurements = shapes.flatMap(([shape, competitors]) => [
    measure(`${shape}: Taskgraph`, () => nsPerOp(ops, graphRuns(competitors.graph))),
    measure(`${shape}: by hand`, () => nsPerOp(ops, graphRuns(competitors.byHand))),
  ]);
  const samples = await runRounds(measurements);
  const overhead = (shape: string): string =>
    `+${(median(samples.get(`${shape}: Taskgraph`)!) - median(samples.get(`${shape}: by hand`)!)).toFixed(0)} ns per node`;
  return caseResult(`taskgraph, ${GRAPH_NODES} nodes`, 'ns/node', samples, (ratio) => shapes.map(([shape]) => ({
    label: `${shape}: Taskgraph / by hand`,
    value: ratio(`${shape}: Taskgraph`, `${shape}: by hand`),
    note: overhead(shape),
  })));
}

const GATEWAY_OPS = 2_000;

/**
 * Remote triggers through the gateway against a bare `ws` echo on the same machine, in
 * sequence (latency) and 100 at once (throughput). A trigger is two frames (the trigger and
 * its outcome), as an echo is; with its events for `run.events`, two more.
 */
async function gatewayCase(): Promise<CaseResult> {
  const rig = await startGatewayRig();
  try {
    const samples = await runRounds([
      measure('gateway trigger, in sequence', () => nsPerOp(GATEWAY_OPS, (ops) => rig.trigger(ops, 1, false))),
      measure('gateway trigger with its events, in sequence', () => nsPerOp(GATEWAY_OPS, (ops) => rig.trigger(ops, 1, true))),
      measure('bare ws echo, in sequence', () => nsPerOp(GATEWAY_OPS, (ops) => rig.echo(ops, 1))),
      measure('gateway trigger, 100 at once', () => nsPerOp(GATEWAY_OPS, (ops) => rig.trigger(ops, 100, false))),
      measure('gateway trigger with its events, 100 at once', () => nsPerOp(GATEWAY_OPS, (ops) => rig.trigger(ops, 100, true))),
      measure('bare ws echo, 100 at once', () => nsPerOp(GATEWAY_OPS, (ops) => rig.echo(ops, 100))),
    ], { warmups: 2, rounds: 7 });
    return caseResult(`gateway, ${GATEWAY_OPS} round trips on localhost`, 'ns/op', samples, (ratio) => [
      { label: 'trigger / echo, in sequence', value: ratio('gateway trigger, in sequence', 'bare ws echo, in sequence'), max: 3 },
      { label: 'trigger with events / echo, in sequence', value: ratio('gateway trigger with its events, in sequence', 'bare ws echo, in sequence') },
      { label: 'trigger / echo, 100 at once', value: ratio('gateway trigger, 100 at once', 'bare ws echo, 100 at once'), max: 3 },
      { label: 'trigger with events / echo, 100 at once', value: ratio('gateway trigger with its events, 100 at once', 'bare ws echo, 100 at once') },
    ]);
  } finally {
    await rig.close();
  }
}

const cases: Array<() => Promise<CaseResult | CaseResult[]>> = [
  sequentialCase, burstCase, eventsCase, globalCapCase, perKeyMutexCase, queuedHeapCase, priorityCase, clusterCase, bullmqCase, queueCase,
  taskgraphCase, gatewayCase,
];

/**
 * `npm run bench -- cap mutex` runs only the cases whose function name contains one of the
 * words (case-insensitive); no words run them all. A word that matches nothing is an error.
 */
function selectedCases(words: string[]): typeof cases {
  if (words.length === 0) return cases;
  const matches = (runCase: (typeof cases)[number], word: string) => runCase.name.toLowerCase().includes(word.toLowerCase());
  const unknown = words.filter((word) => !cases.some((runCase) => matches(runCase, word)));
  if (unknown.length > 0) {
    throw new Error(`bench: no case matches ${unknown.map((w) => JSON.stringify(w)).join(', ')}; ` +
      `cases are ${cases.map((runCase) => runCase.name).join(', ')}`);
  }
  return cases.filter((runCase) => words.some((word) => matches(runCase, word)));
}

/** What the process of one case sends back: plain data, so it crosses the IPC channel as is. */
interface ICaseReport {
  results: CaseResult[];
  skipped: string[];
  failure: string | undefined;
}

/** Names the case a child process runs (see runInOwnProcess); unset in the parent. */
const CASE_ENV = 'TASKBUFFER_BENCH_CASE';

/**
 * Runs one case here. A case that throws (a checksum, a broken drain order) is reported at
 * once and again after the table, and fails the run, but the other cases still run.
 */
async function runCaseHere(runCase: (typeof cases)[number]): Promise<ICaseReport> {
  try {
    return { results: [await runCase()].flat(), skipped, failure: undefined };
  } catch (error) {
    const failure = `FAIL ${runCase.name}: ${error instanceof Error ? error.message : String(error)}`;
    console.error(failure);
    return { results: [], skipped, failure };
  }
}

/**
 * Runs one case in a fresh Node process with the same flags. In one shared process a case
 * measured what the cases before it left behind: V8 adapts to a workload (which objects
 * it allocates straight in the old generation, which call sites it inlines) and keeps
 * those decisions, so the per-key mutex ratio was 0.19-0.22x alone and 0.30-0.34x right
 * after the cap case, and `npm run bench -- mutex` disagreed with `npm run bench`.
 */
function runInOwnProcess(runCase: (typeof cases)[number]): Promise<ICaseReport> {
  return new Promise((resolve) => {
    // A report that came before the failure still shows its figures; the run fails either way.
    const fail = (why: string, report: ICaseReport = { results: [], skipped: [], failure: undefined }): void => {
      const failure = `FAIL ${runCase.name}: ${why}`;
      console.error(failure);
      resolve({ ...report, failure: report.failure ?? failure });
    };
    const child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: process.execArgv,
      env: { ...process.env, [CASE_ENV]: runCase.name },
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      // JSON would turn a NaN or Infinity result into null; the table prints them as they are.
      serialization: 'advanced',
    });
    let report: ICaseReport | undefined;
    child.on('message', (message) => {
      report = message as ICaseReport;
    });
    child.on('error', (error) => fail(`its process could not run: ${error.message}`));
    child.on('exit', (code, signal) => {
      const ending = signal ?? `exit code ${code}`;
      if (report === undefined) return fail(`its process ended (${ending}) without a report`);
      if (code === 0) return resolve(report);
      fail(`its process ended with ${ending} after its report`, report);
    });
  });
}

/** The child side: run the case named in CASE_ENV, send the report, and end. */
async function runChild(name: string): Promise<void> {
  const runCase = cases.find((candidate) => candidate.name === name);
  if (runCase === undefined) throw new Error(`bench: no case named ${JSON.stringify(name)}`);
  const report = await runCaseHere(runCase);
  // A turn of the event loop first, so that a promise the case left rejected and unhandled
  // crashes this process (and fails the run) instead of going out with the exit below.
  await new Promise((resolve) => setTimeout(resolve, 0));
  // Exit once the report is sent: a case may leave an unref'd handle or a closing socket.
  process.send!(report, () => process.exit(0));
}

async function main(): Promise<void> {
  if (globalThis.gc === undefined) {
    console.warn('warning: run with --expose-gc (npm run bench) so each sample starts from a collected heap\n');
  }
  const started = performance.now();
  const results: CaseResult[] = [];
  const skippedLines: string[] = [];
  const failures: string[] = [];
  for (const runCase of selectedCases(process.argv.slice(2))) {
    const report = await runInOwnProcess(runCase);
    results.push(...report.results);
    skippedLines.push(...report.skipped);
    if (report.failure !== undefined) failures.push(report.failure);
  }

  console.log(`taskbuffer bench: node ${process.version}, ${process.platform}/${process.arch}; ` +
    'each case in a fresh process; median of interleaved rounds after warm-up, heap collected before each sample\n');
  printResults(results);
  for (const line of skippedLines) console.log(`\n${line}`);
  for (const line of failures) console.log(`\n${line}`);
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (failures.length > 0) process.exitCode = 1;
}

const childCase = process.env[CASE_ENV];
if (childCase !== undefined) await runChild(childCase);
else await main();
