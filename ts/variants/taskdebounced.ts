import { clearTimer, setTimer, type TTimer } from '../internal/clock.js';
import { describeTask } from '../errors.js';
import { SharedCall } from '../task/sharedcall.js';
import { Task, type ITaskOptions } from '../task/task.js';
import type { IRunControl } from '../task/taskrun.js';
import type { ITaskStepDefinition, ITriggerOptions } from '../types.js';
import { assertNonNegativeFinite } from '../internal/validate.js';

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
  private pendingOptions: ITriggerOptions | undefined;
  /** The TaskManager's control of the newest caller, when a manager triggered it. */
  private pendingControl: IRunControl | undefined;
  private callers: SharedCall<TResult> | undefined;
  private timer: TTimer | undefined;

  constructor(options: ITaskDebouncedOptions<T, TSteps, TData, TInput, TResult>) {
    super(options);
    assertNonNegativeFinite(describeTask(options.name), 'debounceTimeInMillis', options.debounceTimeInMillis);
    this.debounceTimeInMillis = options.debounceTimeInMillis;
  }

  /** Triggers waiting for the quiet period to end. */
  get pendingTriggers(): number {
    return this.callers?.size ?? 0;
  }

  /**
   * Starts (or restarts) the quiet period; the run gets the last input. A caller that
   * aborts leaves at once; when every waiting caller aborted, no run happens.
   * @internal
   */
  protected override admit(input: unknown, options: ITriggerOptions | undefined, control: IRunControl | undefined): Promise<unknown> {
    const callers = (this.callers ??= new SharedCall(this.name, () => this.cancelPending()));
    this.pendingInput = input as TInput;
    this.pendingOptions = options;
    this.pendingControl = control;
    if (this.timer !== undefined) clearTimer(this.timer);
    this.timer = setTimer(this.flush, this.debounceTimeInMillis);
    return callers.join(options?.signal, control);
  }

  private cancelPending(): void {
    if (this.timer !== undefined) clearTimer(this.timer);
    this.timer = undefined;
    this.callers = undefined;
    this.pendingInput = undefined;
    this.pendingOptions = undefined;
    this.pendingControl = undefined;
  }

  private readonly flush = (): void => {
    const callers = this.callers!;
    const input = this.pendingInput;
    const options = { ...this.pendingOptions, signal: callers.signalForWork() };
    const control = this.pendingControl;
    this.cancelPending();
    callers.settleWith(super.admit(input, options, control) as Promise<TResult>);
  };
}
