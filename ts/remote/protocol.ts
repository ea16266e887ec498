import type { IClusterInstance } from '../coordinator/clusterinstance.js';
import type { IJob, TJobState } from '../jobqueue/jobrecord.js';
import type { IConstraintGroupState } from '../manager/manageroptions.js';
import type { IWaitingRunInfo } from '../manager/waitreasons.js';
import type { ITaskEvent } from '../events.js';
import type { ITaskMetadata } from '../types.js';

/**
 * The frames a TaskGatewayClient and a TaskGateway exchange: JSON text, one object per
 * websocket message, told apart by `type`. A request carries an `id` that its `reply`
 * repeats; the server's other frames (events, outcomes, work) carry the subscription,
 * run or work they belong to. Version 1; the reply to `auth` names it.
 */
export const PROTOCOL_VERSION = 1;

/** An error as it crosses the wire: a thrown error's `name`, `message` and `code`, or a refusal's. */
export interface IWireError {
  name: string;
  message: string;
  /** A TaskbufferError's code, a refusal's (`FORBIDDEN`, `BAD_FRAME`, ...), or the remote error's own. */
  code?: string;
  /** For `FORBIDDEN`: the scope that would have allowed the action, e.g. `trigger:email:send`. */
  scope?: string;
}

/** Which events a subscription wants: all, one task's, or those of tasks with every given label. */
export interface IEventFilter {
  taskName?: string;
  labels?: Record<string, string>;
}

/** What `enqueue` passes to the durable queue's `add` (see IAddJobOptions). */
export interface IWireJobOptions {
  jobId?: string;
  delayMs?: number;
  priority?: number;
  timeoutMs?: number;
  labels?: Record<string, string>;
}

// ---- client to server ----------------------------------------------------------------

export type TClientRequest =
  | { type: 'auth'; id: number; name: string; key: string }
  | { type: 'list'; id: number }
  | { type: 'groups'; id: number }
  | { type: 'runs'; id: number }
  /** The runs waiting to begin, and why (at most `limit`). */
  | { type: 'waiting'; id: number; limit?: number }
  /** The instances of the cluster (only the gateway's own without a RedisCoordinator). */
  | { type: 'instances'; id: number }
  | { type: 'subscribe'; id: number; sub: number; filter: IEventFilter }
  | { type: 'unsubscribe'; id: number; sub: number }
  /**
   * Answered only when refused: its outcome is the answer. `runId` is the client's choice
   * within the `runPrefix` its auth reply gave; `events: false` spares the run's events.
   */
  | { type: 'trigger'; id: number; runId: string; taskName: string; input?: unknown; timeoutMs?: number; priority?: number; events?: boolean }
  | { type: 'watch'; id: number; runId: string }
  | { type: 'unwatch'; id: number; runId: string }
  | { type: 'abort'; id: number; runId: string; reason?: string }
  | { type: 'pauseTask'; id: number; taskName: string }
  | { type: 'resumeTask'; id: number; taskName: string }
  | { type: 'pauseGroup'; id: number; groupName: string }
  | { type: 'resumeGroup'; id: number; groupName: string }
  | { type: 'serve'; id: number; taskName: string; concurrency: number }
  | { type: 'unserve'; id: number; taskName: string }
  | { type: 'enqueue'; id: number; taskName: string; input?: unknown; options?: IWireJobOptions }
  | { type: 'queueCounts'; id: number }
  | { type: 'queueJobs'; id: number; state: TJobState; limit?: number; after?: string }
  | { type: 'queueJob'; id: number; jobId: string }
  | { type: 'queueCancel'; id: number; jobId: string; reason?: string }
  | { type: 'queueRetry'; id: number; jobId: string };

/** A serving client's report on work it was given: no reply is sent for these. */
export type TClientReport =
  | { type: 'workUpdate'; workId: number; payload: unknown }
  | { type: 'workDone'; workId: number; ok: true; value?: unknown }
  | { type: 'workDone'; workId: number; ok: false; error: IWireError };

export type TClientFrame = TClientRequest | TClientReport;

// ---- server to client ----------------------------------------------------------------

/** A task event as the gateway sends it: in a cluster, with the instance it happened on. */
export type TWireEvent = ITaskEvent & { instanceId?: string };

export type TServerFrame =
  | { type: 'reply'; id: number; ok: true; value?: unknown }
  | { type: 'reply'; id: number; ok: false; error: IWireError }
  /** A frame that could not be answered by id (not JSON, no id) was refused. */
  | { type: 'error'; error: IWireError }
  /** An event for the subscription `sub`. */
  | { type: 'event'; sub: number; event: TWireEvent }
  /** An event of a run this connection triggered or watches. */
  | { type: 'run'; runId: string; event: TWireEvent }
  /** The outcome of a run this connection triggered. */
  | { type: 'outcome'; runId: string; ok: true; value?: unknown }
  | { type: 'outcome'; runId: string; ok: false; error: IWireError }
  /** A run of a served task, for this connection to do. */
  | { type: 'work'; workId: number; taskName: string; runId: string; attempt: number; input?: unknown }
  /** The run of `workId` was aborted (or timed out, or the trigger gave up): stop working on it. */
  | { type: 'workAbort'; workId: number; reason: string };

/** What `auth` replies with when the name and key are right. */
export interface IAuthReply {
  protocol: number;
  /** What this connection may do (see scopes.ts). */
  scopes: string[];
  /** The gateway's manager's instance. */
  instanceId: string;
  /** The ids of this connection's triggers start with this (unique to the connection). */
  runPrefix: string;
  /** Whether the gateway has a durable queue (`enqueue` works). */
  queue: boolean;
}

/** What `list` replies with. */
export type TListReply = ITaskMetadata[];
/** What `groups` replies with. */
export type TGroupsReply = IConstraintGroupState[];
/** What `waiting` replies with. */
export type TWaitingReply = IWaitingRunInfo[];
/** What `queueJobs` replies with (`queueJob`: one of these, or null). */
export type TJobsReply = IJob[];

/** An instance of the cluster, as `instances` replies with it. */
export interface IWireInstance extends IClusterInstance {
  /** Whether this is the gateway's own instance. */
  self: boolean;
}

/** What `enqueue` replies with. */
export interface IEnqueueReply {
  jobId: string;
  created: boolean;
}

/** Close codes the gateway uses (4000–4999 are the application's). */
export const CLOSE_CODES = {
  /** The name or key was wrong. */
  AUTH_FAILED: 4001,
  /** No `auth` frame came within `authTimeoutMs`. */
  AUTH_TIMEOUT: 4002,
  /** Too many frames were refused as malformed. */
  TOO_MANY_BAD_FRAMES: 4003,
  /** The credentials were removed (`removeCredentials`). */
  CREDENTIALS_REMOVED: 4004,
  /** The credentials' `maxConnections` were in use. */
  TOO_MANY_CONNECTIONS: 4005,
  /** The client did not read what was sent to it fast enough. */
  SLOW_CONSUMER: 4008,
  /** The gateway is stopping. */
  GOING_AWAY: 1001,
  /** A frame was larger than `maxPayloadBytes`. */
  TOO_BIG: 1009,
} as const;
