import { ReplaySubject, type Observable } from 'rxjs';
import { createDeferred, type Deferred } from '../internal/deferred.js';
import type { TWireEvent } from '../remote/protocol.js';

/** Events a late subscriber of `run.events` still gets; older ones are dropped (a long download sends many updates). */
const REPLAYED_EVENTS = 256;

/**
 * A run a client triggered on the gateway: its outcome, its live events, and a way to
 * abort it over there.
 */
export class RemoteRun<TResult = unknown> {
  /**
   * The run's events (`started`, `step`, `update`, `retrying`, `completed`/`failed`); a
   * subscriber that comes late gets the last 256 first. Completes once the run ended.
   */
  readonly events: Observable<TWireEvent>;
  /** The run's id at the gateway: its events carry it, and others can `watchRun` it. */
  readonly runId: string;
  /** Resolves with the task's result; rejects with its error (`name` and `message` kept), or a refusal. */
  readonly result: Promise<TResult>;
  /** @internal */
  readonly eventSubject = new ReplaySubject<TWireEvent>(REPLAYED_EVENTS);
  private readonly outcome: Deferred<TResult> = createDeferred<TResult>();

  constructor(runId: string, private readonly abortRemote: (runId: string, reason: string | undefined) => Promise<void>) {
    this.runId = runId;
    this.events = this.eventSubject.asObservable();
    this.result = this.outcome.promise;
  }

  /** Aborts the run on the gateway (its task function's `signal` fires there); `result` then rejects with an AbortError. */
  async abort(reason?: string): Promise<void> {
    await this.abortRemote(this.runId, reason);
  }

  /** @internal */
  settle(ok: boolean, value: unknown): void {
    if (ok) this.outcome.resolve(value as TResult);
    else this.outcome.reject(value);
    this.eventSubject.complete();
  }
}
