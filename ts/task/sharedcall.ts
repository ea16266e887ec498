import { createDeferred, type Deferred } from '../internal/deferred.js';
import { AbortError, describeTask, messageOf } from '../errors.js';
import type { IRunControl } from './taskrun.js';

interface IWaiter<T> {
  deferred: Deferred<T>;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * One outcome that several callers wait for: a buffered call that took the place of
 * others, or a burst of debounced triggers. Each caller may abort its own wait (it then
 * rejects at once); the shared work is aborted only when every caller has given up.
 */
export class SharedCall<T> {
  private readonly waiters = new Set<IWaiter<T>>();
  private controller: AbortController | undefined;
  private everyWaiterCanAbort = true;

  constructor(
    private readonly taskName: string | undefined,
    /** Called when the last waiter aborted, so the owner can drop work that has not started. */
    private readonly onAbandoned: () => void,
  ) {}

  get size(): number {
    return this.waiters.size;
  }

  /**
   * Adds a caller; its promise settles with the shared outcome, or rejects when `signal`
   * aborts first (or when the TaskManager behind `control` withdraws it).
   */
  join(signal: AbortSignal | undefined, control?: IRunControl): Promise<T> {
    const waiter: IWaiter<T> = { deferred: createDeferred<T>(), signal, onAbort: undefined };
    if (signal === undefined && control === undefined) {
      this.everyWaiterCanAbort = false;
    }
    if (signal !== undefined) {
      waiter.onAbort = () => this.leave(waiter, signal.reason);
      signal.addEventListener('abort', waiter.onAbort, { once: true });
    }
    control?.attachWaiter((reason) => this.leave(waiter, reason));
    this.waiters.add(waiter);
    return waiter.deferred.promise;
  }

  /** The signal to start the shared work with: it aborts once every caller has aborted. */
  signalForWork(): AbortSignal | undefined {
    if (!this.everyWaiterCanAbort) return undefined;
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  /** Settles every remaining caller with the outcome of `work`. */
  settleWith(work: Promise<T>): void {
    work.then(
      (value) => {
        for (const waiter of this.takeAll()) waiter.deferred.resolve(value);
      },
      (error: unknown) => {
        for (const waiter of this.takeAll()) waiter.deferred.reject(error);
      },
    );
  }

  private takeAll(): Array<IWaiter<T>> {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const waiter of waiters) this.forget(waiter);
    return waiters;
  }

  private leave(waiter: IWaiter<T>, reason: unknown): void {
    if (!this.waiters.delete(waiter)) return;
    this.forget(waiter);
    waiter.deferred.reject(new AbortError(`${describeTask(this.taskName)} was aborted: ${messageOf(reason)}`, reason));
    if (this.waiters.size > 0) return;
    this.controller?.abort(reason);
    this.onAbandoned();
  }

  private forget(waiter: IWaiter<T>): void {
    if (waiter.onAbort !== undefined) waiter.signal!.removeEventListener('abort', waiter.onAbort);
  }
}
