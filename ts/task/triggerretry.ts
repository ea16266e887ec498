import { describeTask, InvalidOptionError } from '../errors.js';
import { describeValue } from '../internal/validate.js';
import type { ITriggerOptions } from '../types.js';
import { RetryPolicy, type IRetryOptions } from './retry.js';

/**
 * A trigger's `retry` once it has entered: the policy built from its object, `false`, or
 * undefined for the task's own policy. Built once where the trigger enters, so a trigger
 * that waits (in a buffer, a debounce, a constraint line) retries as the caller asked
 * then, whatever later happens to the object, and a bad value is refused before it waits.
 */
export type TEnteredRetry = RetryPolicy | false | undefined;

/** Whether `retry` needs nothing built: absent, `false`, or a policy already. */
export function isEnteredRetry(retry: IRetryOptions | RetryPolicy | false | undefined): retry is TEnteredRetry {
  return retry === undefined || retry === false || retry instanceof RetryPolicy;
}

/**
 * Checks a trigger's `retry` option and builds its policy (RetryPolicy's constructor does
 * the checking, as for the task option); throws InvalidOptionError naming a bad value. A
 * RetryPolicy passes as it is: a TaskManager hands the one it built on to a task's own trigger.
 */
export function enterRetry(owner: string, retry: IRetryOptions | RetryPolicy | false | undefined): TEnteredRetry {
  if (isEnteredRetry(retry)) return retry;
  if (retry === null || typeof retry !== 'object') {
    throw new InvalidOptionError('retry', retry,
      `${owner}: expected \`retry\` to be false or an object like { attempts: 3 }, got ${describeValue(retry)}`);
  }
  return new RetryPolicy(owner, retry);
}

/**
 * Trigger options with their `retry` entered: the same object when there is nothing to
 * build, else a copy. Only for options checked already.
 */
export function withEnteredRetry(taskName: string | undefined, options: ITriggerOptions): ITriggerOptions {
  const retry = options.retry;
  if (isEnteredRetry(retry)) return options;
  return { ...options, retry: asRetryOption(enterRetry(describeTask(taskName), retry)) };
}

/**
 * An entered `retry` where trigger options are typed: every reader of the option inside
 * taskbuffer takes a RetryPolicy as well, while the public type offers only the plain object.
 */
export function asRetryOption(retry: TEnteredRetry): ITriggerOptions['retry'] {
  return retry as unknown as ITriggerOptions['retry'];
}

/** The retry policy a run follows: its trigger's own, none for `retry: false`, else the task's. */
export function chooseRetryPolicy(retry: TEnteredRetry, taskPolicy: RetryPolicy | undefined): RetryPolicy | undefined {
  return retry === undefined ? taskPolicy : retry === false ? undefined : retry;
}

/**
 * `chooseRetryPolicy` for options that should have entered already; one that did not (a
 * trigger of a subclass that bypassed `Task.trigger`) is built here rather than misread.
 */
export function runRetryPolicy(taskName: string | undefined, retry: IRetryOptions | RetryPolicy | false | undefined,
  taskPolicy: RetryPolicy | undefined): RetryPolicy | undefined {
  return chooseRetryPolicy(isEnteredRetry(retry) ? retry : enterRetry(describeTask(taskName), retry), taskPolicy);
}
