import type { ITaskStep } from '../types.js';
import type { IJobError } from './queueerrors.js';
import type { IRetryOptions } from '../task/retry.js';

/** A job's retry policy: the Task's `retry` option without `retryIf` (a function cannot be stored). */
export type IJobRetryOptions = Omit<IRetryOptions, 'retryIf'>;

/** Where a job is in its life. `completed`, `failed` and `cancelled` are final. */
export type TJobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'cancelled';

export const JOB_STATES: readonly TJobState[] = ['waiting', 'delayed', 'active', 'completed', 'failed', 'cancelled'];

/** `getCounts()`: jobs per state, and which waiting jobs no live worker can run. */
export interface IQueueCounts extends Record<TJobState, number> {
  paused: boolean;
  /** Waiting jobs per task name. */
  waitingByTask: Record<string, number>;
  /** Waiting jobs of tasks that no live worker has: they wait for one that has. */
  waitingWithoutWorker: Record<string, number>;
}

/** A job as `getJob` and `listJobs` return it: a JSON-safe snapshot. Times are epoch ms (Redis's clock). */
export interface IJob<TInput = unknown, TResult = unknown> {
  id: string;
  taskName: string;
  input: TInput | undefined;
  state: TJobState;
  /** The number of the try that runs now or ran last (1 for the first); stalls do not count. */
  attempt: number;
  /** How often a worker died (or stopped renewing its lease) while it held this job. */
  stalls: number;
  /** 0–100, from the task's steps, as last reported. */
  progress: number;
  /** The task's steps as last reported (empty for a task without steps). */
  steps: ITaskStep[];
  /** The task's result, once `completed`. */
  result?: TResult;
  /** The last try's error (also while a retry waits), or why it was cancelled. */
  error?: IJobError;
  /** The worker that runs it now, or ran it last. */
  instanceId?: string;
  priority: number;
  labels: Record<string, string>;
  retry?: IJobRetryOptions;
  timeoutMs?: number;
  createdAt: number;
  /** When the current (or last) try started. */
  startedAt?: number;
  finishedAt?: number;
}

/** Reads a job's hash (HGETALL as a flat field/value array or an object) into an IJob. */
export function parseJob(hash: Record<string, string>): IJob {
  const state = hash.state as TJobState;
  const failures = Number(hash.failures ?? 0);
  const job: IJob = {
    id: hash.id!,
    taskName: hash.taskName!,
    input: parseOptional(hash.input),
    state,
    // Failed tries are counted when they fail: the try going on (or next, or successful) is one more.
    attempt: state === 'failed' ? Math.max(failures, 1) : failures + 1,
    stalls: Number(hash.stalls ?? 0),
    progress: Number(hash.progress ?? 0),
    steps: hash.steps === undefined ? [] : (JSON.parse(hash.steps) as ITaskStep[]),
    priority: Number(hash.priority ?? 0),
    labels: hash.labels === undefined ? {} : (JSON.parse(hash.labels) as Record<string, string>),
    createdAt: Number(hash.createdAt),
  };
  // A task that returned undefined leaves the field empty.
  if (hash.result !== undefined && hash.result !== '') job.result = JSON.parse(hash.result);
  if (hash.error !== undefined) job.error = JSON.parse(hash.error) as IJobError;
  if (hash.instanceId !== undefined) job.instanceId = hash.instanceId;
  if (hash.retry !== undefined) job.retry = JSON.parse(hash.retry) as IJobRetryOptions;
  if (hash.timeoutMs !== undefined) job.timeoutMs = Number(hash.timeoutMs);
  if (hash.startedAt !== undefined) job.startedAt = Number(hash.startedAt);
  if (hash.finishedAt !== undefined) job.finishedAt = Number(hash.finishedAt);
  return job;
}

/** A flat `[field, value, field, value, …]` array, as Lua's HGETALL returns it, as an object. */
export function pairsToObject(flat: readonly string[]): Record<string, string> {
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
  return hash;
}

function parseOptional(json: string | undefined): unknown {
  return json === undefined ? undefined : JSON.parse(json);
}
