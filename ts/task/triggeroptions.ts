import { AbortError, describeTask, InvalidOptionError, messageOf } from '../errors.js';
import { assertFinite, assertNonNegativeFinite, describeValue } from '../internal/validate.js';
import type { ITriggerOptions } from '../types.js';
import type { IRunControl } from './taskrun.js';
import { enterRetry, isEnteredRetry } from './triggerretry.js';

/**
 * Where a TaskManager's control rides along a trigger's options, so that it reaches the run
 * through a subclass that overrides `trigger` and calls `super.trigger(input, options)`.
 * Only the manager sets it.
 */
export const RUN_CONTROL: unique symbol = Symbol('taskbuffer.runControl');

/** Trigger options as a TaskManager passes them through a task's own `trigger`. */
export type TControlledOptions = ITriggerOptions & { [RUN_CONTROL]?: IRunControl };

/** Checks a trigger's options where they enter; `owner` names the caller in messages. */
export function checkTriggerOptions(owner: string, options: ITriggerOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', options, `${owner}: expected trigger options to be an object, got ${describeValue(options)}`);
  }
  if (options.signal !== undefined && !isAbortSignal(options.signal)) {
    throw new InvalidOptionError('signal', options.signal, `${owner}: expected \`signal\` to be an AbortSignal, got ${describeValue(options.signal)}`);
  }
  if (options.timeoutMs !== undefined) assertNonNegativeFinite(owner, 'timeoutMs', options.timeoutMs);
  if (options.priority !== undefined) assertFinite(owner, 'priority', options.priority);
  if (options.runId !== undefined && !isRunId(options.runId)) {
    throw new InvalidOptionError('runId', options.runId,
      `${owner}: expected \`runId\` to be a non-empty string of at most ${MAX_RUN_ID_LENGTH} characters, got ${describeValue(options.runId)}`);
  }
  // Checked by building its policy, which is dropped: where the trigger goes on, its own is built (triggerretry.ts).
  if (options.retry !== undefined) enterRetry(owner, options.retry);
}

/** The same checks as `checkTriggerOptions` without building any message: the hot path's test. */
function areValidTriggerOptions(options: ITriggerOptions): boolean {
  if (options === null || typeof options !== 'object') return false;
  const { signal, timeoutMs, priority, retry, runId } = options;
  return (
    (signal === undefined || isAbortSignal(signal)) &&
    (runId === undefined || isRunId(runId)) &&
    (timeoutMs === undefined || (typeof timeoutMs === 'number' && timeoutMs >= 0 && Number.isFinite(timeoutMs))) &&
    (priority === undefined || (typeof priority === 'number' && Number.isFinite(priority))) &&
    // A retry object is checked by building its policy, which the slow path does.
    isEnteredRetry(retry)
  );
}

/** Longer ids would only bloat every event of the run. */
export const MAX_RUN_ID_LENGTH = 1024;

function isRunId(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_RUN_ID_LENGTH;
}

function isAbortSignal(value: unknown): value is AbortSignal {
  return typeof value === 'object' && value !== null && typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function';
}

/**
 * A rejected promise when a trigger cannot even start: bad options (a clear error, as a
 * rejection like every other trigger failure) or a signal that is aborted already.
 */
export function refuseTrigger(taskName: string | undefined, options: ITriggerOptions | undefined): Promise<never> | undefined {
  if (options === undefined) return undefined;
  if (!areValidTriggerOptions(options)) {
    try {
      checkTriggerOptions(describeTask(taskName), options);
    } catch (error) {
      return Promise.reject(error);
    }
  }
  if (options.signal?.aborted) return Promise.reject(abortedBeforeStart(taskName, options.signal));
  return undefined;
}

/** The error of a trigger whose signal was aborted before anything ran. */
export function abortedBeforeStart(taskName: string | undefined, signal: AbortSignal): AbortError {
  return new AbortError(`${describeTask(taskName)} was aborted before it started: ${messageOf(signal.reason)}`, signal.reason);
}
