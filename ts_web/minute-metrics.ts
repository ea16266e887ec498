/**
 * Throughput, failure rate and duration percentiles over the last hour, in fixed minute
 * buckets: 60 of them at most, each a few counters and a small duration histogram, so that
 * memory stays the same however many runs end and however long the page stays open.
 */

/** Minutes kept (the window every figure covers). */
export const METRIC_MINUTES = 60;
const MINUTE_MS = 60_000;
/**
 * Duration histogram: bin `i` holds durations in [2^(i-1), 2^i) ms (bin 0: under 1 ms), the
 * last bin everything from about 35 minutes up. Percentiles interpolate inside a bin, so
 * they are estimates within a factor of two at worst, and usually much closer.
 */
const DURATION_BINS = 23;

/** One minute of one series. */
export interface IMinutePoint {
  /** Epoch ms at which the minute starts. */
  start: number;
  completed: number;
  failed: number;
  /** Estimated median duration of the runs that ended in this minute (undefined: none did). */
  p50?: number;
  /** Estimated 95th percentile duration. */
  p95?: number;
}

/** The whole window at once. */
export interface IMetricsSummary {
  completed: number;
  failed: number;
  /** `failed / (completed + failed)`; 0 without runs. */
  failureRate: number;
  /** Runs ended per minute, averaged over the window. */
  perMinute: number;
  p50?: number;
  p95?: number;
}

interface IBucket {
  /** Minute number (epoch ms / 60,000, floored) the bucket counts; a slot holding an older one is stale. */
  minute: number;
  completed: number;
  failed: number;
  /** Allocated with the bucket; runs without a duration are counted but not binned. */
  durations: Uint32Array;
  timed: number;
}

/** One series: runs that ended, by minute, over the last `METRIC_MINUTES` minutes. */
export class MinuteMetrics {
  private readonly slots: Array<IBucket | undefined> = new Array(METRIC_MINUTES);

  /** `now` is injected so that tests can move time; it is read on every call. */
  constructor(private readonly now: () => number = Date.now) {}

  /** Counts a run that ended at `endedAt` (epoch ms) after `durationMs`. Ends older than the window are dropped. */
  record(endedAt: number, outcome: 'completed' | 'failed', durationMs?: number): void {
    const current = Math.floor(this.now() / MINUTE_MS);
    // A clock ahead of ours (another machine's timestamp) counts in the current minute.
    const minute = Math.min(current, Math.floor(endedAt / MINUTE_MS));
    if (!Number.isFinite(minute) || minute <= current - METRIC_MINUTES) return;
    const bucket = this.bucketFor(minute);
    if (outcome === 'completed') bucket.completed++;
    else bucket.failed++;
    if (typeof durationMs === 'number' && Number.isFinite(durationMs) && durationMs >= 0) {
      bucket.durations[binOf(durationMs)]!++;
      bucket.timed++;
    }
  }

  /** One point per minute of the window, oldest first, the current minute last. */
  series(): IMinutePoint[] {
    const current = Math.floor(this.now() / MINUTE_MS);
    const points: IMinutePoint[] = [];
    for (let minute = current - METRIC_MINUTES + 1; minute <= current; minute++) {
      const bucket = this.live(minute);
      const point: IMinutePoint = { start: minute * MINUTE_MS, completed: bucket?.completed ?? 0, failed: bucket?.failed ?? 0 };
      if (bucket !== undefined && bucket.timed > 0) {
        point.p50 = percentile(bucket.durations, bucket.timed, 0.5);
        point.p95 = percentile(bucket.durations, bucket.timed, 0.95);
      }
      points.push(point);
    }
    return points;
  }

  /** Totals and percentiles over the whole window. */
  summary(): IMetricsSummary {
    const current = Math.floor(this.now() / MINUTE_MS);
    const merged = new Uint32Array(DURATION_BINS);
    let completed = 0;
    let failed = 0;
    let timed = 0;
    for (let minute = current - METRIC_MINUTES + 1; minute <= current; minute++) {
      const bucket = this.live(minute);
      if (bucket === undefined) continue;
      completed += bucket.completed;
      failed += bucket.failed;
      timed += bucket.timed;
      for (let bin = 0; bin < DURATION_BINS; bin++) merged[bin]! += bucket.durations[bin]!;
    }
    const runs = completed + failed;
    const summary: IMetricsSummary = { completed, failed, failureRate: runs === 0 ? 0 : failed / runs, perMinute: runs / METRIC_MINUTES };
    if (timed > 0) {
      summary.p50 = percentile(merged, timed, 0.5);
      summary.p95 = percentile(merged, timed, 0.95);
    }
    return summary;
  }

  /** Forgets every run. */
  reset(): void {
    this.slots.fill(undefined);
  }

  /** Whether any run ended within the window. */
  get isEmpty(): boolean {
    const current = Math.floor(this.now() / MINUTE_MS);
    return this.slots.every((bucket) => bucket === undefined || bucket.minute <= current - METRIC_MINUTES);
  }

  private live(minute: number): IBucket | undefined {
    const bucket = this.slots[slotOf(minute)];
    return bucket !== undefined && bucket.minute === minute ? bucket : undefined;
  }

  private bucketFor(minute: number): IBucket {
    const slot = slotOf(minute);
    const existing = this.slots[slot];
    if (existing !== undefined && existing.minute === minute) return existing;
    if (existing !== undefined) {
      // A stale slot is reused in place: no allocation once the window is full.
      existing.minute = minute;
      existing.completed = 0;
      existing.failed = 0;
      existing.timed = 0;
      existing.durations.fill(0);
      return existing;
    }
    const bucket: IBucket = { minute, completed: 0, failed: 0, durations: new Uint32Array(DURATION_BINS), timed: 0 };
    this.slots[slot] = bucket;
    return bucket;
  }
}

function slotOf(minute: number): number {
  return ((minute % METRIC_MINUTES) + METRIC_MINUTES) % METRIC_MINUTES;
}

function binOf(durationMs: number): number {
  if (durationMs < 1) return 0;
  return Math.min(DURATION_BINS - 1, Math.floor(Math.log2(durationMs)) + 1);
}

/** Lower and upper bound (ms) of bin `bin`; the last bin is taken as twice as wide as the one before. */
function binBounds(bin: number): [number, number] {
  if (bin === 0) return [0, 1];
  return [2 ** (bin - 1), 2 ** bin];
}

/** The `q` quantile of `total` durations binned in `bins`, interpolated linearly inside its bin. */
function percentile(bins: Uint32Array, total: number, q: number): number {
  const rank = q * total;
  let seen = 0;
  for (let bin = 0; bin < bins.length; bin++) {
    const count = bins[bin]!;
    if (count === 0) continue;
    if (seen + count >= rank) {
      const [low, high] = binBounds(bin);
      return low + (high - low) * Math.min(1, Math.max(0, (rank - seen) / count));
    }
    seen += count;
  }
  return binBounds(bins.length - 1)[1];
}
