import { randomId } from '../internal/ids.js';

/** A run that a client started through the gateway, until it ends. */
export interface IGatewayRun {
  readonly runId: string;
  readonly taskName: string;
  readonly controller: AbortController;
  /** The connection that triggered it: only it may abort the run with the `trigger` scope alone. */
  readonly owner: object;
}

/**
 * The runs clients triggered through this gateway, by run id, from the trigger until the
 * run ends: an authorised client can abort one even while it still waits for a slot
 * (the manager's `abortRun` reaches only runs that started).
 */
export class GatewayRuns {
  private readonly byId = new Map<string, IGatewayRun>();
  // Run ids must not collide with those of other gateways or processes.
  private readonly prefix = `gw-${randomId().replace(/-/g, '').slice(0, 8)}-`;
  private lastConnection = 0;

  /** A prefix for the run ids of a new connection: it numbers its triggers itself, so a trigger needs no reply. */
  nextRunPrefix(): string {
    return `${this.prefix}${++this.lastConnection}-`;
  }

  /** Begins the run `runId`; undefined when a run of that id is going on already. */
  begin(runId: string, taskName: string, owner: object): IGatewayRun | undefined {
    if (this.byId.has(runId)) return undefined;
    const run: IGatewayRun = { runId, taskName, controller: new AbortController(), owner };
    this.byId.set(runId, run);
    return run;
  }

  get(runId: string): IGatewayRun | undefined {
    return this.byId.get(runId);
  }

  end(run: IGatewayRun): void {
    this.byId.delete(run.runId);
  }
}
