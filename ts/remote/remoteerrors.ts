import { TaskbufferError, type TTaskbufferErrorCode } from '../errors.js';
import type { IWireError } from './protocol.js';

/**
 * A remote task failed: the error its function threw on the other side, with its `name`,
 * `message` and `code` kept (`error.name === 'ValidationError'` works as it would
 * locally). A TaskbufferError there (a TimeoutError, say) keeps its name and code here.
 */
export class RemoteTaskError extends Error {
  override name: string;
  /** The remote error's `code`, when it had a string one. */
  readonly code: string | undefined;
  /** The run that failed, when the error is a run's outcome. */
  readonly runId: string | undefined;

  constructor(wire: IWireError, runId?: string) {
    super(wire.message);
    this.name = wire.name;
    this.code = wire.code;
    this.runId = runId;
  }
}

/**
 * The gateway refused a request: `FORBIDDEN` (with the missing `scope`), `BAD_FRAME`,
 * `UNKNOWN_TASK`, `UNKNOWN_RUN`, `INVALID_OPTION`, ... The connection stays usable.
 */
export class GatewayRequestError extends TaskbufferError {
  override name = 'GatewayRequestError';
  /** For `FORBIDDEN`: the scope that would have allowed the request. */
  readonly scope: string | undefined;

  constructor(wire: IWireError) {
    super((wire.code ?? 'INTERNAL') as TTaskbufferErrorCode, wire.message);
    this.scope = wire.scope;
  }
}

/** `connect()` was refused: the name or the key is wrong (the message never repeats the key). */
export class AuthFailedError extends TaskbufferError {
  override name = 'AuthFailedError';

  constructor(message: string) {
    super('AUTH_FAILED', message);
  }
}

/**
 * The connection to the gateway closed before a request was answered. A run triggered
 * before may still be going on over there; `runId` names it when it was known.
 */
export class ConnectionLostError extends TaskbufferError {
  override name = 'ConnectionLostError';
  readonly runId: string | undefined;

  constructor(message: string, runId?: string) {
    super('CONNECTION_LOST', message);
    this.runId = runId;
  }
}

/** What crosses the wire for an error thrown here: its name, message and string code. */
export function toWireError(error: unknown): IWireError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const wire: IWireError = { name: error.name || 'Error', message: error.message };
    if (typeof code === 'string') wire.code = code;
    return wire;
  }
  return { name: 'Error', message: typeof error === 'string' ? error : safeString(error) };
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
