import { SharedCall } from './sharedcall.js';
import type { ITriggerOptions } from '../types.js';
import type { IRunControl } from './taskrun.js';

interface IQueuedCall<TInput, TResult> {
  input: TInput;
  /** Options of the newest caller, whose input runs. */
  options: ITriggerOptions | undefined;
  /** The TaskManager's control of the newest caller, when a manager triggered it. */
  control: IRunControl | undefined;
  /** The caller who queued it plus every caller whose call it replaced. */
  callers: SharedCall<TResult>;
}

type TRun<TInput, TResult> = (input: TInput, options: ITriggerOptions | undefined, control: IRunControl | undefined) => Promise<TResult>;

/**
 * The queue behind `buffered: true`: at most `max` runs at once and at most `max` calls
 * waiting. When the waiting line is full, a new call takes the place of the newest
 * waiting one, and the replaced caller gets the replacement's outcome, so no caller is
 * left hanging and the freshest input is the one that runs. A waiting caller that aborts
 * leaves the line; a call whose callers all aborted is dropped.
 */
export class CallBuffer<TInput, TResult> {
  private running = 0;
  // At most `max` entries, so shifting and splicing an array is cheap enough.
  private readonly waiting: Array<IQueuedCall<TInput, TResult>> = [];

  constructor(
    private readonly taskName: string | undefined,
    readonly max: number,
    private readonly run: TRun<TInput, TResult>,
  ) {}

  /** Calls waiting to start. */
  get queued(): number {
    return this.waiting.length;
  }

  push(input: TInput, options: ITriggerOptions | undefined, control: IRunControl | undefined): Promise<TResult> {
    if (this.running < this.max) return this.start(input, options, control);
    if (this.waiting.length < this.max) {
      const call: IQueuedCall<TInput, TResult> = {
        input,
        options,
        control,
        callers: new SharedCall(this.taskName, () => this.drop(call)),
      };
      this.waiting.push(call);
      return call.callers.join(options?.signal, control);
    }
    const newest = this.waiting[this.waiting.length - 1]!;
    newest.input = input;
    newest.options = options;
    newest.control = control;
    return newest.callers.join(options?.signal, control);
  }

  private start(input: TInput, options: ITriggerOptions | undefined, control: IRunControl | undefined): Promise<TResult> {
    this.running++;
    const outcome = this.run(input, options, control);
    outcome.then(this.onRunEnded, this.onRunEnded);
    return outcome;
  }

  private readonly onRunEnded = (): void => {
    this.running--;
    const next = this.waiting.shift();
    if (next === undefined) return;
    const options = { ...next.options, signal: next.callers.signalForWork() };
    next.callers.settleWith(this.start(next.input, options, next.control));
  };

  private drop(call: IQueuedCall<TInput, TResult>): void {
    const index = this.waiting.indexOf(call);
    if (index >= 0) this.waiting.splice(index, 1);
  }
}
