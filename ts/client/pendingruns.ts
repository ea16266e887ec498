import type { TServerFrame, TWireEvent } from '../remote/protocol.js';
import { ConnectionLostError, RemoteTaskError } from '../remote/remoteerrors.js';
import type { RemoteRun } from './remoterun.js';

type TOutcomeFrame = Extract<TServerFrame, { type: 'outcome' }>;

/** The runs a client triggered whose outcome has not come, with the id of their trigger request. */
export class PendingRuns {
  private readonly runs = new Map<string, { run: RemoteRun; requestId: number }>();

  add(run: RemoteRun, requestId: number): void {
    this.runs.set(run.runId, { run, requestId });
  }

  delete(runId: string): void {
    this.runs.delete(runId);
  }

  /** One of the run's events, for `run.events`. */
  event(runId: string, event: TWireEvent): void {
    this.runs.get(runId)?.run.eventSubject.next(event);
  }

  /** Settles the run with its outcome; returns the id of its trigger request (no reply will come for it), if the run was pending. */
  settle(frame: TOutcomeFrame): number | undefined {
    const pending = this.runs.get(frame.runId);
    if (pending === undefined) return undefined;
    this.runs.delete(frame.runId);
    pending.run.settle(frame.ok, frame.ok ? frame.value : new RemoteTaskError(frame.error, frame.runId));
    return pending.requestId;
  }

  /** The connection went: every pending run rejects with a ConnectionLostError naming it (it may still go on at the gateway). */
  failAll(why: string): void {
    for (const [runId, { run }] of this.runs) {
      run.settle(false, new ConnectionLostError(`${why}: the outcome of run ${JSON.stringify(runId)} is unknown (it may still be going on at the gateway)`, runId));
    }
    this.runs.clear();
  }
}
