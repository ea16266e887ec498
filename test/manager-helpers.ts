/**
 * Helpers for the TaskManager / TaskConstraintGroup / scheduler tests (not a test file).
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { timeNow } from '../ts/internal/clock.js';
import { TaskManager, type ITaskManagerOptions } from '../ts/index.js';

/** A manager that is stopped when the test ends, so no timer of it outlives the test. */
export function managerFor(t: TestContext, options?: ITaskManagerOptions): TaskManager {
  const manager = new TaskManager(options);
  t.after(() => manager.stop());
  return manager;
}

/** Rejects when `promise` has not settled after a generous `ms`, so a broken test fails instead of hanging. */
export async function within<T>(promise: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` every few ms until it holds; fails with `what` after `ms`. */
export async function waitFor(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Captures the rejection of `promise` so its fields can be checked one by one. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the promise to reject, but it resolved');
}

/** One run seen from inside a task function. */
export interface IRunRecord {
  label: string;
  start: number;
  end?: number;
}

/**
 * Records when runs start and end (from inside the task functions, on the core's clock, so
 * on a test's fake clock when it has one) and how many runs overlap per key, so tests can
 * check order, concurrency and gaps.
 */
export class RunRecorder {
  readonly runs: IRunRecord[] = [];
  private readonly activeByKey = new Map<string, number>();
  private readonly maxByKey = new Map<string, number>();

  begin(label: string, key = 'all'): () => void {
    const record: IRunRecord = { label, start: timeNow() };
    this.runs.push(record);
    const active = (this.activeByKey.get(key) ?? 0) + 1;
    this.activeByKey.set(key, active);
    this.maxByKey.set(key, Math.max(this.maxByKey.get(key) ?? 0, active));
    return () => {
      record.end = timeNow();
      this.activeByKey.set(key, this.activeByKey.get(key)! - 1);
    };
  }

  /** The labels of the runs in the order they started. */
  get startOrder(): string[] {
    return this.runs.map((run) => run.label);
  }

  started(label: string): boolean {
    return this.runs.some((run) => run.label === label);
  }

  run(label: string): IRunRecord {
    const record = this.runs.find((run) => run.label === label);
    assert.ok(record, `run ${label} never started`);
    return record;
  }

  active(key = 'all'): number {
    return this.activeByKey.get(key) ?? 0;
  }

  maxConcurrent(key = 'all'): number {
    return this.maxByKey.get(key) ?? 0;
  }
}
