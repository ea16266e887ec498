import { createDeferred, settleAllWith, type Deferred } from './deferred.js';
import { describeTask } from './errors.js';
import { Task, type ITaskOptions } from './task.js';
import type { ITaskStepDefinition } from './types.js';
import { assertNonNegativeFinite } from './validate.js';

/** Options of `new TaskDebounced(...)`. */
export interface ITaskDebouncedOptions<
  T = undefined,
  TSteps extends ReadonlyArray<ITaskStepDefinition> = [],
  TData extends object = Record<string, unknown>,
  TInput = any,
  TResult = any,
> extends Omit<ITaskOptions<T, TSteps, TData, TInput, TResult>, 'buffered' | 'bufferMax'> {
  /** Quiet time after the last trigger before the run starts, in ms. */
  debounceTimeInMillis: number;
}

/**
 * A trailing debounce: triggers that come in quick succession collapse into one run with
 * the last input, started once `debounceTimeInMillis` pass without a new trigger. Every
 * collapsed caller's promise settles with that run's outcome.
 */
export class TaskDebounced<
  T = undefined,
  TSteps extends ReadonlyArray<ITaskStepDefinition> = [],
  TData extends object = Record<string, unknown>,
  TInput = any,
  TResult = any,
> extends Task<T, TSteps, TData, TInput, TResult> {
  readonly debounceTimeInMillis: number;
  private pendingInput: TInput | undefined;
  private waiters: Array<Deferred<TResult>> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ITaskDebouncedOptions<T, TSteps, TData, TInput, TResult>) {
    super(options);
    assertNonNegativeFinite(describeTask(options.name), 'debounceTimeInMillis', options.debounceTimeInMillis);
    this.debounceTimeInMillis = options.debounceTimeInMillis;
  }

  /** Triggers waiting for the quiet period to end. */
  get pendingTriggers(): number {
    return this.waiters.length;
  }

  override trigger(input?: TInput): Promise<TResult> {
    const waiter = createDeferred<TResult>();
    this.waiters.push(waiter);
    this.pendingInput = input;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(this.flush, this.debounceTimeInMillis);
    return waiter.promise;
  }

  private readonly flush = (): void => {
    const waiters = this.waiters;
    const input = this.pendingInput;
    this.waiters = [];
    this.pendingInput = undefined;
    this.timer = undefined;
    settleAllWith(super.trigger(input), waiters);
  };
}
