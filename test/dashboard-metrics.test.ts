/**
 * The dashboard's last-hour metrics (ts_web/minute-metrics.ts, ts_web/run-metrics.ts) with
 * an injected clock: minute buckets, the 60-minute window, percentiles, bounded memory.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { METRIC_MINUTES, MinuteMetrics } from '../ts_web/minute-metrics.js';
import { RunMetrics } from '../ts_web/run-metrics.js';

const MINUTE = 60_000;
/** 2026-01-01T00:00:00Z, a whole minute. */
const T0 = Date.UTC(2026, 0, 1);

function clock(start = T0) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe('MinuteMetrics', () => {
  it('counts completed and failed runs per minute, the current minute last', () => {
    const time = clock(T0 + 30_000);
    const metrics = new MinuteMetrics(time.now);
    metrics.record(time.now(), 'completed', 100);
    metrics.record(time.now() - MINUTE, 'failed', 200);
    metrics.record(time.now(), 'completed', 100);
    const series = metrics.series();
    assert.equal(series.length, METRIC_MINUTES);
    assert.deepEqual(series.at(-1), { start: T0, completed: 2, failed: 0, p50: 96, p95: 124.8 });
    assert.equal(series.at(-2)!.failed, 1);
    assert.equal(series.at(-2)!.start, T0 - MINUTE);
    assert.deepEqual(series.at(-3), { start: T0 - 2 * MINUTE, completed: 0, failed: 0 });
  });

  it('sums the window: runs per minute, failure rate and percentiles', () => {
    const time = clock();
    const metrics = new MinuteMetrics(time.now);
    for (let i = 0; i < 90; i++) metrics.record(time.now(), 'completed', 10);
    for (let i = 0; i < 10; i++) metrics.record(time.now(), 'failed', 5000);
    const summary = metrics.summary();
    assert.equal(summary.completed, 90);
    assert.equal(summary.failed, 10);
    assert.equal(summary.failureRate, 0.1);
    assert.equal(summary.perMinute, 100 / 60);
    // Percentiles are estimates within a duration's power-of-two bin.
    assert.ok(summary.p50! >= 8 && summary.p50! <= 16, `p50 ${summary.p50}`);
    assert.ok(summary.p95! >= 4096 && summary.p95! <= 8192, `p95 ${summary.p95}`);
  });

  it('forgets runs once they are more than 60 minutes old, and drops ends older than that', () => {
    const time = clock();
    const metrics = new MinuteMetrics(time.now);
    metrics.record(time.now(), 'failed', 1);
    time.advance(59 * MINUTE);
    assert.equal(metrics.summary().failed, 1, 'still inside the window');
    time.advance(MINUTE);
    assert.equal(metrics.summary().failed, 0, 'out of the window');
    assert.equal(metrics.isEmpty, true);
    metrics.record(time.now() - 61 * MINUTE, 'completed', 1);
    assert.equal(metrics.isEmpty, true, 'an end from before the window is not counted');
  });

  it('counts an end stamped in the future (another clock) in the current minute', () => {
    const time = clock();
    const metrics = new MinuteMetrics(time.now);
    metrics.record(time.now() + 5 * MINUTE, 'completed', 1);
    assert.equal(metrics.series().at(-1)!.completed, 1);
  });

  it('keeps at most 60 buckets however long it runs, reusing stale ones (bounded memory)', () => {
    const time = clock();
    const metrics = new MinuteMetrics(time.now);
    const slots = (metrics as unknown as { slots: unknown[] }).slots;
    for (let minute = 0; minute < 24 * 60; minute++) {
      metrics.record(time.now(), minute % 2 === 0 ? 'completed' : 'failed', minute);
      time.advance(MINUTE);
    }
    assert.equal(slots.length, METRIC_MINUTES);
    assert.equal(slots.filter((slot) => slot !== undefined).length, METRIC_MINUTES);
    const summary = metrics.summary();
    assert.equal(summary.completed + summary.failed, 59, 'the last 59 whole minutes and the current, empty one');
  });

  it('counts runs without a duration but leaves them out of the percentiles', () => {
    const time = clock();
    const metrics = new MinuteMetrics(time.now);
    metrics.record(time.now(), 'completed');
    assert.deepEqual(metrics.summary(), { completed: 1, failed: 0, failureRate: 0, perMinute: 1 / 60 });
  });
});

describe('RunMetrics', () => {
  it('keeps a total and one series per task that ran, and forgets a removed task', () => {
    const time = clock();
    const metrics = new RunMetrics(time.now);
    metrics.record('a', time.now(), 'completed', 3);
    metrics.record('b', time.now(), 'failed', 3);
    assert.equal(metrics.total.summary().completed + metrics.total.summary().failed, 2);
    assert.equal(metrics.of('a')!.summary().completed, 1);
    assert.equal(metrics.of('idle'), undefined, 'a task that never ended a run costs nothing');
    metrics.forget('a');
    assert.equal(metrics.of('a'), undefined);
    metrics.clear();
    assert.equal(metrics.total.isEmpty, true);
  });
});
