import { createDeferred, settleAllWith, type Deferred } from './deferred.js';

interface IQueuedCall<TInput, TResult> {
  input: TInput;
  /** The caller who queued it plus every caller whose call it replaced. */
  waiters: Array<Deferred<TResult>>;
}

/**
 * The queue behind `buffered: true`: at most `max` runs at once and at most `max` calls
 * waiting. When the waiting line is full, a new call takes the place of the newest
 * waiting one, and the replaced caller gets the replacement's outcome, so no caller is
 * left hanging and the freshest input is the one that runs.
 */
export class CallBuffer<TInput, TResult> {
  private running = 0;
  private readonly waiting: Array<IQueuedCall<TInput, TResult>> = [];
  private head = 0;

  constructor(
    readonly max: number,
    private readonly run: (input: TInput) => Promise<TResult>,
  ) {}

  /** Calls waiting to start. */
  get queued(): number {
    return this.waiting.length - this.head;
  }

  push(input: TInput): Promise<TResult> {
    if (this.running < this.max) return this.start(input);
    if (this.queued < this.max) {
      const waiter = createDeferred<TResult>();
      this.waiting.push({ input, waiters: [waiter] });
      return waiter.promise;
    }
    const newest = this.waiting[this.waiting.length - 1]!;
    const waiter = createDeferred<TResult>();
    newest.input = input;
    newest.waiters.push(waiter);
    return waiter.promise;
  }

  private start(input: TInput): Promise<TResult> {
    this.running++;
    const outcome = this.run(input);
    outcome.then(this.onRunEnded, this.onRunEnded);
    return outcome;
  }

  private readonly onRunEnded = (): void => {
    this.running--;
    const next = this.takeNext();
    if (next !== undefined) settleAllWith(this.start(next.input), next.waiters);
  };

  private takeNext(): IQueuedCall<TInput, TResult> | undefined {
    if (this.head === this.waiting.length) return undefined;
    const next = this.waiting[this.head]!;
    this.waiting[this.head++] = undefined as never;
    if (this.head === this.waiting.length) {
      this.waiting.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.waiting.length) {
      // A line that never empties would otherwise keep growing at the front.
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
    return next;
  }
}
