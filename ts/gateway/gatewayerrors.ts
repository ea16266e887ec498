import { TaskbufferError } from '../errors.js';

/** A run of a served task found no serving client within the gateway's `startTimeoutMs`. */
export class NoWorkerError extends TaskbufferError {
  override name = 'NoWorkerError';
  readonly taskName: string;

  constructor(taskName: string, startTimeoutMs: number) {
    super('NO_WORKER', `no client serves task ${JSON.stringify(taskName)}: none connected within startTimeoutMs (${startTimeoutMs} ms)`);
    this.taskName = taskName;
  }
}

/** The client serving a run disconnected (or stopped serving) before the run ended. */
export class WorkerLostError extends TaskbufferError {
  override name = 'WorkerLostError';
  readonly taskName: string;
  /** The name of the credentials the serving client connected with. */
  readonly clientName: string;

  constructor(taskName: string, clientName: string, why: string) {
    super('WORKER_LOST', `the run of task ${JSON.stringify(taskName)} on client ${JSON.stringify(clientName)} was lost: ${why}`);
    this.taskName = taskName;
    this.clientName = clientName;
  }
}

/** A gateway was asked for something its state does not allow: a second `start()`, `address()` before it listens. */
export class GatewayStateError extends TaskbufferError {
  override name = 'GatewayStateError';

  constructor(message: string) {
    super('INVALID_STATE', message);
  }
}

/** The code a refusal carries for `error`: a TaskbufferError's own, else `INTERNAL`. */
export function codeOf(error: unknown): string {
  return error instanceof TaskbufferError ? error.code : 'INTERNAL';
}

/**
 * `dashboard: true`, but the page's script is not there: a built package without its
 * `dist_bundle/` (rebuild it), or a gateway run from the sources without esbuild to bundle
 * the page (install esbuild).
 */
export class DashboardUnavailableError extends TaskbufferError {
  override name = 'DashboardUnavailableError';

  constructor(message: string, cause?: unknown) {
    super('MISSING_DEPENDENCY', message, { cause });
  }
}
