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
  /** The run's id at the gateway, once the gateway accepted it. */
  readonly runId: Promise<string>;
  /** Resolves with the task's result; rejects with its error (`name` and `message` kept), or a refusal. */
  readonly result: Promise<TResult>;
  /** @internal */
  readonly eventSubject = new ReplaySubject<TWireEvent>(REPLAYED_EVENTS);
  private readonly outcome: Deferred<TResult> = createDeferred<TResult>();
  private readonly accepted: Deferred<string> = createDeferred<string>();

  constructor(private readonly abortRemote: (runId: string, reason: string | undefined) => Promise<void>) {
    this.events = this.eventSubject.asObservable();
    this.result = this.outcome.promise;
    this.runId = this.accepted.promise;
    // A caller may only want the result, or only the events: neither promise may be unhandled.
    this.runId.catch(() => {});
  }

  /** Aborts the run on the gateway (its task function's `signal` fires there); `result` then rejects with an AbortError. */
  async abort(reason?: string): Promise<void> {
    await this.abortRemote(await this.runId, reason);
  }

  /** @internal */
  acceptedAs(runId: string): void {
    this.accepted.resolve(runId);
  }

  /** @internal */
  settle(ok: boolean, value: unknown): void {
    this.accepted.reject(value);
    if (ok) this.outcome.resolve(value as TResult);
    else this.outcome.reject(value);
    this.eventSubject.complete();
  }
}
