import type { ITaskMetadata } from 'taskbuffer';

/** How one run of a task ended (or that it is still going). */
export type TRunOutcome = 'running' | 'completed' | 'failed';

/** One run in a task's history, as the dashboard saw it. Times are epoch ms. */
export interface IRunRecord {
  start: number;
  /** Set when the run has ended. */
  duration?: number;
  outcome: TRunOutcome;
  /** The error message of a failed run. */
  error?: string;
  /** The try under way or the last one, once a run has been retried (2 for the first retry). */
  attempt?: number;
}

/** How a run ended, as a `completed` or `failed` event tells it. */
export interface IRunEnding {
  outcome: 'completed' | 'failed';
  /** When the event was emitted (epoch ms). */
  timestamp: number;
  /** How long the run took, when the event says so. */
  duration?: number | undefined;
  error?: string | undefined;
}

/**
 * The history a task starts with when the dashboard first sees it: the last run the
 * manager knows of, when there was one before we looked.
 */
export function seedRuns(metadata: ITaskMetadata): IRunRecord[] {
  if (metadata.lastRun === undefined) return [];
  if (metadata.activeRuns > 0) return [{ start: metadata.lastRun, outcome: 'running' }];
  if (metadata.status !== 'completed' && metadata.status !== 'failed') return [];
  const run: IRunRecord = { start: metadata.lastRun, outcome: metadata.status };
  if (metadata.lastDuration !== undefined) run.duration = metadata.lastDuration;
  if (metadata.status === 'failed' && metadata.lastError !== undefined) run.error = metadata.lastError;
  return [run];
}

/** Appends `run` in place, dropping the oldest runs beyond `limit`. */
export function appendRun(runs: IRunRecord[], run: IRunRecord, limit: number): void {
  runs.push(run);
  if (runs.length > limit) runs.splice(0, runs.length - limit);
}

/** A try of the newest open run failed and another follows: the run goes on. */
export function markRetry(runs: IRunRecord[], attempt: number | undefined, error: string | undefined): void {
  for (let index = runs.length - 1; index >= 0; index--) {
    const run = runs[index]!;
    if (run.outcome !== 'running') continue;
    run.attempt = typeof attempt === 'number' ? attempt : (run.attempt ?? 1) + 1;
    if (error !== undefined) run.error = error;
    return;
  }
}

/**
 * Ends the open run whose start best matches `timestamp - duration` (runs of a task may
 * overlap). An end whose start was never seen is appended as a run of its own.
 */
export function endRun(runs: IRunRecord[], ending: IRunEnding, limit: number): void {
  const { outcome, timestamp, error } = ending;
  const ran = typeof ending.duration === 'number' && Number.isFinite(ending.duration) ? ending.duration : undefined;
  const start = ran === undefined ? timestamp : timestamp - ran;
  const best = closestOpenRun(runs, start);
  const record = best ?? { start, outcome };
  record.outcome = outcome;
  record.duration = ran ?? timestamp - record.start;
  if (outcome === 'failed' && error !== undefined) record.error = error;
  else if (outcome === 'completed') delete record.error; // a retried run that succeeded in the end
  if (best === undefined) appendRun(runs, record, limit);
}

/** Runs that ended while nobody listened: close them with the outcome the task reports. */
export function closeOpenRuns(runs: IRunRecord[], metadata: ITaskMetadata): void {
  for (const run of runs) {
    if (run.outcome !== 'running') continue;
    run.outcome = metadata.status === 'failed' ? 'failed' : 'completed';
  }
}

/** The open run that started nearest to `start` (the first of equals), if any run is open. */
function closestOpenRun(runs: IRunRecord[], start: number): IRunRecord | undefined {
  let best: IRunRecord | undefined;
  for (const run of runs) {
    if (run.outcome !== 'running') continue;
    if (best === undefined || Math.abs(run.start - start) < Math.abs(best.start - start)) best = run;
  }
  return best;
}
