/**
 * Every error taskbuffer throws on its own account is a `TaskbufferError`, so callers
 * can branch on `instanceof` or on the stable `code` instead of matching message text.
 */
export type TTaskbufferErrorCode =
  | 'INVALID_OPTION'
  | 'UNKNOWN_STEP'
  | 'TASK_CHAIN_FAILED'
  | 'INVALID_CRON'
  | 'UNKNOWN_TASK'
  | 'DUPLICATE_TASK'
  | 'MANAGER_STOPPED'
  | 'ABORTED'
  | 'TIMEOUT'
  | 'SUBSCRIBER_FAILED'
  | 'COORDINATOR_FAILED'
  | 'COORDINATOR_STOPPED'
  | 'CLUSTER_UNREACHABLE'
  | 'MISSING_DEPENDENCY'
  | 'INVALID_JOB_DATA'
  | 'JOB_FAILED'
  | 'JOB_CANCELLED'
  | 'JOB_STALLED'
  | 'LEASE_LOST'
  | 'QUEUE_STOPPED'
  | 'UNKNOWN_JOB'
  | 'JOB_NOT_RETRYABLE'
  | 'AUTH_FAILED'
  | 'FORBIDDEN'
  | 'BAD_FRAME'
  | 'UNKNOWN_RUN'
  | 'CONNECTION_LOST'
  | 'NO_WORKER'
  | 'WORKER_LOST'
  | 'INVALID_STATE'
  | 'INVALID_GRAPH'
  | 'GRAPH_FAILED'
  | 'INTERNAL';

/** Base class of all errors raised by taskbuffer itself. */
export class TaskbufferError extends Error {
  override name = 'TaskbufferError';
  /** A stable identifier of the kind of failure. */
  readonly code: TTaskbufferErrorCode;

  constructor(code: TTaskbufferErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** An option or argument was rejected where it entered; the message names it and the value. */
export class InvalidOptionError extends TaskbufferError {
  override name = 'InvalidOptionError';
  /** The option or argument that was rejected, e.g. `bufferMax`. */
  readonly option: string;
  /** The value that was rejected. */
  readonly value: unknown;

  constructor(option: string, value: unknown, message: string) {
    super('INVALID_OPTION', message);
    this.option = option;
    this.value = value;
  }
}

/** `notifyStep` was called with a name the task did not declare. */
export class UnknownStepError extends TaskbufferError {
  override name = 'UnknownStepError';
  readonly stepName: string;
  readonly taskName: string | undefined;

  constructor(taskName: string | undefined, stepName: string, knownSteps: readonly string[]) {
    const known = knownSteps.length ? knownSteps.map((s) => JSON.stringify(s)).join(', ') : 'none';
    super(
      'UNKNOWN_STEP',
      `${describeTask(taskName)} has no step ${JSON.stringify(stepName)} (declared steps: ${known})`,
    );
    this.stepName = stepName;
    this.taskName = taskName;
  }
}

/** A task inside a Taskchain failed; `cause` is the original error. */
export class TaskChainError extends TaskbufferError {
  override name = 'TaskChainError';
  readonly chainName: string | undefined;
  readonly taskName: string | undefined;
  /** Zero-based position of the failing task in the chain. */
  readonly taskIndex: number;

  constructor(chainName: string | undefined, taskName: string | undefined, taskIndex: number, cause: unknown) {
    super(
      'TASK_CHAIN_FAILED',
      `Taskchain ${quoteName(chainName)} failed at task ${quoteName(taskName)} (index ${taskIndex}): ${messageOf(cause)}`,
      { cause },
    );
    this.chainName = chainName;
    this.taskName = taskName;
    this.taskIndex = taskIndex;
  }
}

/** A cron expression could not be parsed; the message quotes it word for word. */
export class InvalidCronError extends TaskbufferError {
  override name = 'InvalidCronError';
  readonly expression: string;

  constructor(expression: string, detail: string, taskName?: string) {
    const forTask = taskName === undefined ? '' : ` for task ${JSON.stringify(taskName)}`;
    super('INVALID_CRON', `Invalid cron expression ${JSON.stringify(expression)}${forTask}: ${detail}`);
    this.expression = expression;
  }
}

/** A task name that no task in the manager has. */
export class UnknownTaskError extends TaskbufferError {
  override name = 'UnknownTaskError';
  readonly taskName: string;

  constructor(taskName: string, action: string) {
    super('UNKNOWN_TASK', `${action}: no task named ${JSON.stringify(taskName)} is registered`);
    this.taskName = taskName;
  }
}

/** A second task with a name the manager already has. */
export class DuplicateTaskError extends TaskbufferError {
  override name = 'DuplicateTaskError';
  readonly taskName: string;

  constructor(taskName: string) {
    super('DUPLICATE_TASK', `addTask: a task named ${JSON.stringify(taskName)} is already registered; task names are unique within a TaskManager`);
    this.taskName = taskName;
  }
}

/** The manager was stopped: it refuses new triggers until `start()` is called again. */
export class ShutdownError extends TaskbufferError {
  override name = 'ShutdownError';

  constructor(message: string) {
    super('MANAGER_STOPPED', message);
  }
}

/**
 * A trigger was aborted through its `signal` (or by a draining `stop()`); `cause` is the
 * signal's reason. The function, if it was running, was signalled and its late outcome dropped.
 */
export class AbortError extends TaskbufferError {
  override name = 'AbortError';

  constructor(message: string, reason: unknown) {
    super('ABORTED', message, { cause: reason });
  }
}

/** A try of a task ran longer than its `timeoutMs`; its signal was aborted and its late outcome dropped. */
export class TimeoutError extends TaskbufferError {
  override name = 'TimeoutError';
  readonly taskName: string | undefined;
  readonly timeoutMs: number;

  constructor(taskName: string | undefined, timeoutMs: number) {
    super('TIMEOUT', `${describeTask(taskName)} timed out after ${timeoutMs} ms`);
    this.taskName = taskName;
    this.timeoutMs = timeoutMs;
  }
}

/** What a subscriber was handed when it failed: an event, an error notification or the completion. */
export type TSubscriberNotification = 'next' | 'error' | 'complete';

/**
 * A subscriber of one of taskbuffer's event subjects threw, or returned a promise that
 * rejected. It was caught: the run and the other subscribers went on, and the subscriber
 * stays subscribed. Reported once per subscriber; `cause` is what it threw.
 */
export class SubscriberError extends TaskbufferError {
  override name = 'SubscriberError';
  /** The subject, e.g. `TaskManager.taskSubject`. */
  readonly subjectName: string;
  /** `next` for an event; `error` when an operator in its pipe failed and it had no error handler, or that handler threw. */
  readonly notification: TSubscriberNotification;
  /** The `type` of the event it was handling, e.g. `completed`; `undefined` for `error` and `complete`. */
  readonly eventType: string | undefined;

  constructor(subjectName: string, notification: TSubscriberNotification, event: unknown, cause: unknown) {
    super(
      'SUBSCRIBER_FAILED',
      `A subscriber of ${subjectName} ${describeSubscriberFailure(notification, event)}: ${messageOf(cause)} ` +
        '(it stays subscribed; its later errors are not reported)',
      { cause },
    );
    this.subjectName = subjectName;
    this.notification = notification;
    this.eventType = notification === 'next' ? eventField(event, 'type') : undefined;
  }
}

/**
 * The distributed coordinator could not be asked or told about a tick, or its own backend
 * (Redis) failed. Reported through `onError`; `cause` is the original error.
 */
export class CoordinatorError extends TaskbufferError {
  override name = 'CoordinatorError';
  /** The task the failed call was about, if it was about one. */
  readonly taskName: string | undefined;

  constructor(message: string, cause: unknown, taskName?: string) {
    super('COORDINATOR_FAILED', `${message}: ${messageOf(cause)}`, { cause });
    this.taskName = taskName;
  }
}

function describeSubscriberFailure(notification: TSubscriberNotification, event: unknown): string {
  if (notification === 'error') return 'got an error from its pipe and had no error handler, or its error handler threw';
  if (notification === 'complete') return 'threw in its complete handler';
  const type = eventField(event, 'type');
  const taskName = eventField((event as { task?: unknown } | null | undefined)?.task, 'name');
  const groupName = eventField(event, 'groupName');
  const of = groupName !== undefined ? ` of group ${JSON.stringify(groupName)}` : taskName ? ` of task ${JSON.stringify(taskName)}` : '';
  return type === undefined ? `threw on an event${of}` : `threw on a ${JSON.stringify(type)} event${of}`;
}

/** A string field of an event, read defensively: subjects are public, anyone may `next` anything. */
function eventField(value: unknown, field: string): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const found = (value as Record<string, unknown>)[field];
  return typeof found === 'string' ? found : undefined;
}

/** `Task "name"` or `An unnamed task`, for messages. */
export function describeTask(name: string | undefined): string {
  return name === undefined ? 'An unnamed task' : `Task ${JSON.stringify(name)}`;
}

function quoteName(name: string | undefined): string {
  return name === undefined ? '(unnamed)' : JSON.stringify(name);
}

/** The message of anything that was thrown, for events and metadata that must stay JSON-safe. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}

/** Keeps thrown Errors as they are and wraps anything else, so `lastError` is always an Error. */
export function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(messageOf(thrown), { cause: thrown });
}
