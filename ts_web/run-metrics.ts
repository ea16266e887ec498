import { MinuteMetrics } from './minute-metrics.js';

/**
 * The dashboard's metrics: one `MinuteMetrics` for all runs and one per task, fed by the
 * `completed` and `failed` events the controller receives. A task's series is made at its
 * first ended run and dropped with the task, so idle tasks cost nothing.
 */
export class RunMetrics {
  /** Every run of every task. */
  readonly total: MinuteMetrics;
  private readonly perTask = new Map<string, MinuteMetrics>();

  constructor(private readonly now: () => number = Date.now) {
    this.total = new MinuteMetrics(now);
  }

  /** Counts a run of `taskName` that ended at `endedAt` after `durationMs`. */
  record(taskName: string, endedAt: number, outcome: 'completed' | 'failed', durationMs?: number): void {
    this.total.record(endedAt, outcome, durationMs);
    let metrics = this.perTask.get(taskName);
    if (metrics === undefined) this.perTask.set(taskName, (metrics = new MinuteMetrics(this.now)));
    metrics.record(endedAt, outcome, durationMs);
  }

  /** The series of one task, if a run of it ended since the dashboard watched it. */
  of(taskName: string): MinuteMetrics | undefined {
    return this.perTask.get(taskName);
  }

  /** Drops a removed task's series. */
  forget(taskName: string): void {
    this.perTask.delete(taskName);
  }

  /** Drops everything (another manager is shown). */
  clear(): void {
    this.perTask.clear();
    this.total.reset();
  }
}
