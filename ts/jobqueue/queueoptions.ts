import { InvalidOptionError, type TaskbufferError } from '../errors.js';
import { RetryPolicy } from '../task/retry.js';
import {
  assertBoolean,
  assertOptionsObject,
  assertNonEmptyString,
  assertNonNegativeFinite,
  assertPositiveInteger,
  describeValue,
} from '../internal/validate.js';
import type { Redis } from '../coordinator/ioredis.js';
import { defaultInstanceId, redisTargetOf, type IRedisTarget } from '../coordinator/redisoptions.js';
import { JOB_STATES, type IJobRetryOptions, type TJobState } from './jobrecord.js';

/** Options of `new RedisTaskQueue(...)`. Give every instance of one queue the same ones. */
export interface IRedisTaskQueueOptions {
  /** A connection URL (`redis://host:6379/0`) or an ioredis client (which stays yours to close). */
  redis: string | Redis;
  /** Names the queue: several queues can share one Redis (and one `keyPrefix`). */
  name: string;
  /**
   * Prefix of every key and channel, so that several clusters can share one Redis.
   * @default 'taskbuffer'
   */
  keyPrefix?: string;
  /**
   * How long a worker holds a job without renewing its lease (renewed every third of it;
   * at least 300). When a worker dies, its jobs run again elsewhere after at most this
   * long. Longer than the longest pause of a worker's event loop (GC, CPU-bound code).
   * @default 30_000
   */
  leaseMs?: number;
  /**
   * How many jobs this instance runs at once (its task's constraint groups may hold
   * them further).
   * @default 1
   */
  concurrency?: number;
  /**
   * How long a completed job stays readable (`getJob`, `waitForResult`, idempotent
   * `add` of its id); `Infinity` keeps it until removed by hand.
   * @default 86_400_000 (one day)
   */
  keepCompletedMs?: number;
  /**
   * How long a failed or cancelled job stays readable; `Infinity` keeps it.
   * @default 604_800_000 (seven days)
   */
  keepFailedMs?: number;
  /**
   * How often a job may stall (its worker died or stopped renewing its lease) before it
   * fails with a `JobStalledError` instead of running again.
   * @default 3
   */
  maxStalls?: number;
  /**
   * The largest input `add` accepts, in bytes of JSON (results are held to it as well).
   * @default 1_048_576 (1 MiB)
   */
  maxInputBytes?: number;
  /**
   * Identifies this instance in events and job records.
   * @default `${hostname}:${pid}:${random}`
   */
  instanceId?: string;
  /**
   * Receives what the queue cannot throw to a caller: connection problems (once per
   * outage), a late outcome discarded because its lease was lost (`LeaseLostError`), a
   * subscriber of `eventSubject` that throws.
   * @default logs with console.error
   */
  onError?: (error: TaskbufferError) => void;
}

/** Options of `queue.add(taskName, input, options)`. */
export interface IAddJobOptions {
  /** Your id for the job: adding an id that exists adds nothing (`created: false`). @default a random UUID */
  jobId?: string;
  /** Wait this long before the job may start (kept in Redis: survives restarts). @default 0 */
  delayMs?: number;
  /** Larger starts first among waiting jobs, and is the run's priority in the manager (-1e6 … 1e6). @default 0 */
  priority?: number;
  /** Retries with backoff, kept in Redis. @default the task's own `retry` option */
  retry?: IJobRetryOptions;
  /** Limits each try, in ms (the run's `timeoutMs`). @default the task's own */
  timeoutMs?: number;
  /** Plain string labels, shown in the job record (for searching and dashboards). */
  labels?: Record<string, string>;
}

/** One job of `queue.addBulk([...])`. */
export interface IBulkJob extends IAddJobOptions {
  taskName: string;
  input?: unknown;
}

/** Options of `queue.stop(...)`. */
export interface IQueueStopOptions {
  /** Let running jobs finish (up to `timeoutMs`); `false` puts them back at once. @default true */
  drain?: boolean;
  /** The longest wait for running jobs; those still running then are aborted and put back to waiting. @default 30_000 */
  timeoutMs?: number;
}

/** Options of `queue.listJobs(...)`. */
export interface IListJobsOptions {
  state: TJobState;
  /** @default 50 */
  limit?: number;
  /** The id of the last job of the previous page. */
  after?: string;
}

/** The options checked, with every default filled in. */
export interface IQueueSettings extends IRedisTarget {
  name: string;
  keyPrefix: string;
  leaseMs: number;
  concurrency: number;
  keepCompletedMs: number;
  keepFailedMs: number;
  maxStalls: number;
  maxInputBytes: number;
  instanceId: string;
  onError: (error: TaskbufferError) => void;
}

const OWNER = 'RedisTaskQueue';
const QUEUE_OPTIONS = ['redis', 'name', 'keyPrefix', 'leaseMs', 'concurrency', 'keepCompletedMs', 'keepFailedMs', 'maxStalls', 'maxInputBytes', 'instanceId', 'onError'];
const ADD_OPTIONS = ['jobId', 'delayMs', 'priority', 'retry', 'timeoutMs', 'labels'];
const RETRY_OPTIONS = ['attempts', 'backoff', 'delayMs', 'maxDelayMs', 'jitter'];
const MAX_PRIORITY = 1_000_000;

/** Checks the options of `new RedisTaskQueue(options)` where they enter. */
export function resolveQueueOptions(options: IRedisTaskQueueOptions): IQueueSettings {
  assertOptionsObject('new RedisTaskQueue(options)', options, QUEUE_OPTIONS);
  assertNonEmptyString(OWNER, 'name', options.name);
  if (options.name.includes(':')) {
    // The queue's keys are `<keyPrefix>:queue:<name>:…`: a colon would let two queues share keys.
    throw new InvalidOptionError('name', options.name, `${OWNER}: expected \`name\` without ":" (it is part of every key of the queue), got ${describeValue(options.name)}`);
  }
  if (options.keyPrefix !== undefined) assertNonEmptyString(OWNER, 'keyPrefix', options.keyPrefix);
  if (options.instanceId !== undefined) assertNonEmptyString(OWNER, 'instanceId', options.instanceId);
  if (options.leaseMs !== undefined) {
    assertPositiveInteger(OWNER, 'leaseMs', options.leaseMs);
    if (options.leaseMs < 300) throw new InvalidOptionError('leaseMs', options.leaseMs, `${OWNER}: expected \`leaseMs\` to be at least 300 (leases are renewed every third of it), got ${options.leaseMs}`);
  }
  if (options.concurrency !== undefined) assertPositiveInteger(OWNER, 'concurrency', options.concurrency);
  if (options.maxStalls !== undefined) assertNonNegativeInteger('maxStalls', options.maxStalls);
  if (options.maxInputBytes !== undefined) assertPositiveInteger(OWNER, 'maxInputBytes', options.maxInputBytes);
  for (const keep of ['keepCompletedMs', 'keepFailedMs'] as const) {
    const value = options[keep];
    if (value !== undefined && value !== Number.POSITIVE_INFINITY) assertNonNegativeFinite(OWNER, keep, value);
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw new InvalidOptionError('onError', options.onError, `${OWNER}: expected \`onError\` to be a function, got ${describeValue(options.onError)}`);
  }
  return {
    ...redisTargetOf(OWNER, options.redis),
    name: options.name,
    keyPrefix: options.keyPrefix ?? 'taskbuffer',
    leaseMs: options.leaseMs ?? 30_000,
    concurrency: options.concurrency ?? 1,
    keepCompletedMs: options.keepCompletedMs ?? 86_400_000,
    keepFailedMs: options.keepFailedMs ?? 604_800_000,
    maxStalls: options.maxStalls ?? 3,
    maxInputBytes: options.maxInputBytes ?? 1_048_576,
    instanceId: options.instanceId ?? defaultInstanceId(),
    onError: options.onError ?? ((error) => console.error(`taskbuffer RedisTaskQueue: ${error.message}`)),
  };
}

/** Checks `add`'s options; `where` names the call (and the job's place in a bulk add). */
export function checkAddOptions(where: string, taskName: unknown, options: IAddJobOptions | undefined): void {
  assertNonEmptyString(where, 'taskName', taskName);
  if (options === undefined) return;
  assertOptionsObject(where, options, ADD_OPTIONS);
  if (options.jobId !== undefined) assertNonEmptyString(where, 'jobId', options.jobId);
  if (options.delayMs !== undefined) assertNonNegativeFinite(where, 'delayMs', options.delayMs);
  if (options.timeoutMs !== undefined) assertNonNegativeFinite(where, 'timeoutMs', options.timeoutMs);
  if (options.priority !== undefined) {
    if (typeof options.priority !== 'number' || !Number.isFinite(options.priority) || Math.abs(options.priority) > MAX_PRIORITY) {
      throw new InvalidOptionError('priority', options.priority, `${where}: expected \`priority\` to be a number from -${MAX_PRIORITY} to ${MAX_PRIORITY}, got ${describeValue(options.priority)}`);
    }
  }
  if (options.retry !== undefined) {
    assertOptionsObject(where, options.retry, RETRY_OPTIONS, 'retry');
    new RetryPolicy(where, options.retry);
  }
  if (options.labels !== undefined) checkLabels(where, options.labels);
}

/** Checks `stop`'s options. */
export function checkStopOptions(options: IQueueStopOptions | undefined): void {
  if (options === undefined) return;
  assertOptionsObject('RedisTaskQueue.stop(options)', options, ['drain', 'timeoutMs']);
  if (options.drain !== undefined) assertBoolean('RedisTaskQueue.stop', 'drain', options.drain);
  if (options.timeoutMs !== undefined) assertNonNegativeFinite('RedisTaskQueue.stop', 'timeoutMs', options.timeoutMs);
}

/** Checks `listJobs`'s options. */
export function checkListOptions(options: IListJobsOptions): void {
  assertOptionsObject('RedisTaskQueue.listJobs(options)', options, ['state', 'limit', 'after']);
  if (!JOB_STATES.includes(options.state)) {
    throw new InvalidOptionError('state', options.state, `RedisTaskQueue.listJobs: expected \`state\` to be one of ${JOB_STATES.join(', ')}, got ${describeValue(options.state)}`);
  }
  if (options.limit !== undefined) assertPositiveInteger('RedisTaskQueue.listJobs', 'limit', options.limit);
  if (options.after !== undefined) assertNonEmptyString('RedisTaskQueue.listJobs', 'after', options.after);
}

/** Refuses anything but an object, and any key it does not know (a typo would otherwise be ignored). */
function checkLabels(where: string, labels: unknown): void {
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) {
    throw new InvalidOptionError('labels', labels, `${where}: expected \`labels\` to be an object of strings, got ${describeValue(labels)}`);
  }
  for (const [key, value] of Object.entries(labels)) {
    if (typeof value !== 'string') {
      throw new InvalidOptionError(`labels.${key}`, value, `${where}: expected label ${JSON.stringify(key)} to be a string, got ${describeValue(value)}`);
    }
  }
}

function assertNonNegativeInteger(option: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidOptionError(option, value, `${OWNER}: expected \`${option}\` to be a non-negative integer, got ${describeValue(value)}`);
  }
}
