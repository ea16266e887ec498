import { TaskbufferError } from '../errors.js';

/** An error as a job records it: JSON-safe, the original's `name`, `message` and `code`. */
export interface IJobError {
  name: string;
  message: string;
  code?: string;
}

/**
 * A job's input or result cannot be stored: it is not JSON-safe (a function, a class
 * instance, a cycle, `NaN`, …) or too large. Thrown by `add`; a result that cannot be
 * stored fails its job with this error.
 */
export class InvalidJobDataError extends TaskbufferError {
  override name = 'InvalidJobDataError';
  /** The job's id, when it had one. */
  readonly jobId: string | undefined;
  /** Where in the value the problem is, e.g. `input.items[2].when`. */
  readonly path: string;
  /** The offending value. */
  readonly value: unknown;

  constructor(message: string, jobId: string | undefined, path: string, value: unknown) {
    super('INVALID_JOB_DATA', message);
    this.jobId = jobId;
    this.path = path;
    this.value = value;
  }
}

/** `waitForResult` of a job that failed: `jobError` is the error the job recorded. */
export class JobFailedError extends TaskbufferError {
  override name = 'JobFailedError';
  readonly jobId: string;
  readonly taskName: string;
  /** The task's error as recorded: its `name`, `message` and `code` are kept. */
  readonly jobError: IJobError;

  constructor(jobId: string, taskName: string, jobError: IJobError) {
    super('JOB_FAILED', `job ${JSON.stringify(jobId)} of task ${JSON.stringify(taskName)} failed: ${jobError.name}: ${jobError.message}`);
    this.jobId = jobId;
    this.taskName = taskName;
    this.jobError = jobError;
  }
}

/**
 * A job was cancelled: the reason its task function's `signal` carries while it runs,
 * and what `waitForResult` rejects with afterwards.
 */
export class JobCancelledError extends TaskbufferError {
  override name = 'JobCancelledError';
  readonly jobId: string;
  readonly reason: string;

  constructor(jobId: string, reason: string) {
    super('JOB_CANCELLED', `job ${JSON.stringify(jobId)} was cancelled: ${reason}`);
    this.jobId = jobId;
    this.reason = reason;
  }
}

/**
 * A worker lost a job's lease (it did not renew it within `leaseMs`, e.g. its event loop
 * was blocked) and another instance took the job over. The run is aborted with this
 * error and its late outcome is discarded; reported to `onError`.
 */
export class LeaseLostError extends TaskbufferError {
  override name = 'LeaseLostError';
  readonly jobId: string;
  readonly taskName: string;

  constructor(jobId: string, taskName: string, detail: string) {
    super('LEASE_LOST', `job ${JSON.stringify(jobId)} of task ${JSON.stringify(taskName)}: ${detail}`);
    this.jobId = jobId;
    this.taskName = taskName;
  }
}

/** The queue was used after `stop()`, or a job's run was put back because the worker stopped. */
export class QueueStoppedError extends TaskbufferError {
  override name = 'QueueStoppedError';

  constructor(message: string) {
    super('QUEUE_STOPPED', message);
  }
}

/** `waitForResult` gave up after `timeoutMs`; the job itself goes on. */
export class ResultTimeoutError extends TaskbufferError {
  override name = 'ResultTimeoutError';
  readonly jobId: string;
  readonly timeoutMs: number;

  constructor(jobId: string, timeoutMs: number) {
    super('TIMEOUT', `waitForResult: job ${JSON.stringify(jobId)} did not finish within ${timeoutMs} ms (it goes on; wait again or cancel it)`);
    this.jobId = jobId;
    this.timeoutMs = timeoutMs;
  }
}

/** No job with this id (never added, or removed after `keepCompletedMs` / `keepFailedMs`). */
export class UnknownJobError extends TaskbufferError {
  override name = 'UnknownJobError';
  readonly jobId: string;

  constructor(jobId: string, action: string) {
    super('UNKNOWN_JOB', `${action}: there is no job ${JSON.stringify(jobId)} (never added, or removed after its keepCompletedMs/keepFailedMs)`);
    this.jobId = jobId;
  }
}

/** The error record of anything thrown: `name`, `message` and a string `code` if it had one. */
export function toJobError(error: unknown): IJobError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const name = wellFormed(String(error.name));
    const message = wellFormed(String(error.message));
    return typeof code === 'string' ? { name, message, code: wellFormed(code) } : { name, message };
  }
  return { name: 'Error', message: wellFormed(typeof error === 'string' ? error : safeString(error)) };
}

/**
 * `text` with each lone surrogate replaced by U+FFFD. JSON.stringify writes one as `\udXXX`,
 * which Lua's cjson refuses to decode: a script that reads an error (`finish`, `cancel`)
 * would fail, and with it every outcome recorded in the same call.
 */
export function wellFormed(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
