import { Task, type ITaskOptions } from './task.js';
import type { ITaskStepDefinition } from './types.js';

/**
 * A task whose function runs at most once. Every trigger, concurrent or later, gets the
 * outcome of that one run (a failure included).
 */
export class TaskOnce<
  T = undefined,
  TSteps extends ReadonlyArray<ITaskStepDefinition> = [],
  TData extends object = Record<string, unknown>,
  TInput = any,
  TResult = any,
> extends Task<T, TSteps, TData, TInput, TResult> {
  private once: Promise<TResult> | undefined;

  constructor(options: Omit<ITaskOptions<T, TSteps, TData, TInput, TResult>, 'buffered' | 'bufferMax'>) {
    super(options);
  }

  /** Whether the task has been triggered (its one run has started). */
  get hasTriggered(): boolean {
    return this.once !== undefined;
  }

  override trigger(input?: TInput): Promise<TResult> {
    this.once ??= super.trigger(input);
    return this.once;
  }
}
