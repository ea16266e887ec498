/**
 * Throughput benchmark of Task.trigger() against p-queue and a bare async call.
 *
 * Run with `npm run bench` (needs `--expose-gc`, which the script passes). Not a test
 * file on purpose: timings on a shared 2-core machine are too noisy to gate CI, so the
 * targets are printed as PASS/MISS rather than asserted.
 *
 * Method, and why:
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
import PQueue from 'p-queue';
import { Task } from '../../ts/index.js';

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
  /** The ratio must be at most this to PASS; without it the row is informational. */
  max?: number;
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
async function nsPerOp(ops: number, batch: (ops: number) => Promise<number>): Promise<number> {
  collectGarbage();
  const start = process.hrtime.bigint();
  const checksum = await batch(ops);
  const elapsed = process.hrtime.bigint() - start;
  if (checksum !== ops) throw new Error(`batch returned checksum ${checksum}, expected ${ops}`);
  return Number(elapsed) / ops;
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
        `${ratio.value.toPrecision(3)}x`,
        ratio.max === undefined ? '' : `<= ${ratio.max}x`,
        ratio.max === undefined ? 'info' : ratio.value <= ratio.max ? 'PASS' : 'MISS',
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

// Later cases (constraint groups beside p-queue / p-limit at concurrency 10, per-key
// mutex, heap bytes per queued trigger via collectGarbage() and heapUsed) slot in here:
// each is a function returning a CaseResult built from `measure(...)` + `runRounds`.
const cases: Array<() => Promise<CaseResult>> = [sequentialCase, burstCase, eventsCase];

async function main(): Promise<void> {
  if (globalThis.gc === undefined) {
    console.warn('warning: run with --expose-gc (npm run bench) so each sample starts from a collected heap\n');
  }
  const started = performance.now();
  const results: CaseResult[] = [];
  for (const runCase of cases) results.push(await runCase());

  console.log(`taskbuffer bench: node ${process.version}, ${process.platform}/${process.arch}; ` +
    'median of interleaved rounds after warm-up, heap collected before each sample\n');
  printResults(results);
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

await main();
