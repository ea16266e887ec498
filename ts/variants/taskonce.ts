import { SharedCall } from '../task/sharedcall.js';
import { Task, type ITaskOptions } from '../task/task.js';
import type { IRunControl } from '../task/taskrun.js';
import type { ITaskStepDefinition, ITriggerOptions } from '../types.js';

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

  /**
   * The first trigger starts the one run; every trigger gets its outcome. A caller's
   * signal only ends that caller's wait.
   * @internal
   */
  protected override admit(input: unknown, options: ITriggerOptions | undefined, control: IRunControl | undefined): Promise<unknown> {
    this.once ??= super.admit(input, { timeoutMs: options?.timeoutMs, retry: options?.retry, runId: options?.runId }, undefined) as Promise<TResult>;
    if (options?.signal === undefined && control === undefined) return this.once;
    const caller = new SharedCall<TResult>(this.name, () => {});
    const wait = caller.join(options?.signal, control);
    caller.settleWith(this.once);
    return wait;
  }
}
