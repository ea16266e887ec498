import type { Subject } from 'rxjs';
import { parseJob } from './jobrecord.js';
import type { QueueConnection } from './queueconnection.js';
import { JobCancelledError, JobFailedError, ResultTimeoutError, UnknownJobError } from './queueerrors.js';
import type { IQueueEvent } from './queueevents.js';

interface IWaiter {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * The queue's view of the `events` channel: every instance's job events reach
 * `eventSubject` (parsed only while someone listens), and the final ones settle the
 * callers of `waitForResult`, wherever the job ran.
 */
export class JobWatch {
  private readonly waiters = new Map<string, Set<IWaiter>>();

  constructor(
    private readonly connection: QueueConnection,
    private readonly subject: Subject<IQueueEvent>,
  ) {
    // A job may have ended while the subscriber was away (its event is lost): look again.
    connection.onResubscribed.add(() => {
      for (const [id, set] of this.waiters) for (const waiter of set) this.check(id, waiter, undefined);
    });
  }

  /** Subscribes to the channel (once); resolves when Redis confirmed it. */
  listen(): Promise<unknown> {
    return this.connection.listen('events', (message) => this.receive(message));
  }

  /** Resolves with the job's result or rejects with its error, also when it finished before the call. */
  waitForResult(id: string, timeoutMs: number | undefined): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter: IWaiter = {
        resolve: (value) => settle(() => resolve(value)),
        reject: (error) => settle(() => reject(error)),
      };
      const settle = (action: () => void): void => {
        if (!this.forget(id, waiter)) return;
        clearTimeout(timer);
        action();
      };
      let set = this.waiters.get(id);
      if (set === undefined) this.waiters.set(id, (set = new Set()));
      set.add(waiter);
      // The time limit counts from the call, also while Redis is unreachable.
      if (timeoutMs !== undefined) timer = setTimeout(() => waiter.reject(new ResultTimeoutError(id, timeoutMs)), timeoutMs);
      // Listen first, then read: a job that finishes in between is caught by one or the other.
      this.listen().then(() => this.check(id, waiter, undefined), (error: unknown) => waiter.reject(error));
    });
  }

  /** Rejects every waiter (on stop). */
  rejectAll(error: Error): void {
    for (const set of [...this.waiters.values()]) for (const waiter of [...set]) waiter.reject(error);
  }

  private forget(id: string, waiter: IWaiter): boolean {
    const set = this.waiters.get(id);
    if (set === undefined || !set.delete(waiter)) return false;
    if (set.size === 0) this.waiters.delete(id);
    return true;
  }

  private receive(message: string): void {
    if (!this.subject.observed && this.waiters.size === 0) return;
    let events: IQueueEvent[];
    try {
      events = JSON.parse(message) as IQueueEvent[];
    } catch (error) {
      return this.connection.report(error, 'ignored a malformed queue event');
    }
    for (const event of events) {
      if (this.subject.observed) this.subject.next(event);
      if (isFinal(event.type) && this.waiters.has(event.jobId)) {
        for (const waiter of [...this.waiters.get(event.jobId)!]) this.check(event.jobId, waiter, event);
      }
    }
  }

  /**
   * Reads the job and settles `waiter` if it is over. `ended` is the final event that made
   * it look again: when the record is gone already (a keep time shorter than the way of
   * the event), the event's error is the outcome, and a result is lost.
   */
  private check(id: string, waiter: IWaiter, ended: IQueueEvent | undefined): void {
    this.connection.readJob(id).then(
      (hash) => {
        if (hash.state === undefined) {
          if (ended?.type === 'failed') waiter.reject(new JobFailedError(id, ended.taskName, ended.error));
          else if (ended?.type === 'cancelled') waiter.reject(new JobCancelledError(id, ended.error.message));
          else waiter.reject(new UnknownJobError(id, 'waitForResult'));
          return;
        }
        const job = parseJob(hash);
        if (job.state === 'completed') waiter.resolve(job.result);
        else if (job.state === 'failed') waiter.reject(new JobFailedError(id, job.taskName, job.error ?? { name: 'Error', message: 'unknown error' }));
        else if (job.state === 'cancelled') waiter.reject(new JobCancelledError(id, job.error?.message ?? 'cancelled'));
      },
      (error: unknown) => waiter.reject(error),
    );
  }
}

function isFinal(type: IQueueEvent['type']): boolean {
  return type === 'completed' || type === 'failed' || type === 'cancelled';
}
