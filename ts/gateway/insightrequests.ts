import { hostname } from 'node:os';
import type { IClusterInstance } from '../coordinator/clusterinstance.js';
import { messageOf } from '../errors.js';
import type { IJob } from '../jobqueue/jobrecord.js';
import type { IWireInstance, TClientFrame } from '../remote/protocol.js';
import { codeOf } from './gatewayerrors.js';
import type { IClientConnection as GatewayConnection } from './gatewayservices.js';

type TFrameOf<T extends TClientFrame['type']> = Extract<TClientFrame, { type: T }>;
type TInsightType = 'waiting' | 'instances' | 'queueCounts' | 'queueJobs' | 'queueJob' | 'queueCancel' | 'queueRetry';
type TInsightHandlers = { [T in TInsightType]: (connection: GatewayConnection, frame: TFrameOf<T>) => void };

/** What a coordinator that knows the cluster offers (RedisCoordinator does). */
interface IInstanceLister {
  getInstances(): Promise<IClusterInstance[]>;
}

/** The gateway process's start, for its own instance record when there is no cluster. */
const PROCESS_STARTED_AT = Date.now() - Math.round(process.uptime() * 1000);

/**
 * Requests that look into the gateway's manager, its cluster and its durable queue beyond
 * the tasks themselves: what the dashboard's waits, cluster and queue views read. Reads
 * need `read`; cancelling a job needs `control:<its task>`, retrying one `trigger:<its task>`.
 */
export const INSIGHT_HANDLERS: TInsightHandlers = {
  waiting: (connection, frame) => {
    if (connection.may(frame.id, 'read')) connection.reply(frame.id, connection.services.settings.manager.getWaitingRuns(frame.limit));
  },

  instances: (connection, frame) => {
    if (!connection.may(frame.id, 'read')) return;
    const { manager } = connection.services.settings;
    const lister = manager.distributedCoordinator as unknown as Partial<IInstanceLister> | undefined;
    if (typeof lister?.getInstances !== 'function') return connection.reply(frame.id, [ownInstance(connection)]);
    lister.getInstances().then(
      (instances) => connection.reply(frame.id, instances.map((instance) => ({ ...instance, self: instance.instanceId === manager.instanceId }))),
      (error: unknown) => connection.refuse(frame.id, codeOf(error), messageOf(error)),
    );
  },

  queueCounts: (connection, frame) => {
    const queue = queueOf(connection, frame.id, 'queueCounts');
    if (queue !== undefined && connection.may(frame.id, 'read')) answer(connection, frame.id, queue.getCounts());
  },

  queueJobs: (connection, frame) => {
    const queue = queueOf(connection, frame.id, 'queueJobs');
    if (queue !== undefined && connection.may(frame.id, 'read')) {
      answer(connection, frame.id, queue.listJobs({ state: frame.state, limit: frame.limit, after: frame.after }));
    }
  },

  queueJob: (connection, frame) => {
    const queue = queueOf(connection, frame.id, 'queueJob');
    if (queue !== undefined && connection.may(frame.id, 'read')) answer(connection, frame.id, queue.getJob(frame.jobId));
  },

  queueCancel: (connection, frame) => {
    const queue = queueOf(connection, frame.id, 'queueCancel');
    if (queue === undefined) return;
    actOnJob(connection, frame.id, frame.jobId, 'control', () => queue.cancel(frame.jobId, frame.reason ?? `cancelled by client ${JSON.stringify(connection.clientName)}`));
  },

  queueRetry: (connection, frame) => {
    const queue = queueOf(connection, frame.id, 'queueRetry');
    if (queue === undefined) return;
    actOnJob(connection, frame.id, frame.jobId, 'trigger', () => queue.retry(frame.jobId));
  },
};

function ownInstance(connection: GatewayConnection): IWireInstance {
  const { manager } = connection.services.settings;
  return {
    instanceId: manager.instanceId,
    host: hostname(),
    pid: process.pid,
    startedAt: PROCESS_STARTED_AT,
    lastHeartbeat: Date.now(),
    runningTasks: manager.getActiveRuns().map((run) => run.taskName).filter((name, index, all) => all.indexOf(name) === index),
    tasks: manager.getAllTasksMetadata().map((task) => task.name),
    self: true,
  };
}

function queueOf(connection: GatewayConnection, id: number, type: string) {
  const { queue } = connection.services.settings;
  if (queue === undefined) connection.refuse(id, 'BAD_FRAME', `${type}: this gateway has no durable queue (its \`queue\` option)`);
  return queue;
}

/**
 * The job's task decides the scope, so the job is read first; only for a client that may
 * read the queue anyway (`read`): without it, whether a job exists and whose it is stay unsaid.
 */
function actOnJob(connection: GatewayConnection, id: number, jobId: string, action: 'control' | 'trigger', act: () => Promise<unknown>): void {
  const queue = connection.services.settings.queue!;
  if (!connection.may(id, 'read')) return;
  queue.getJob(jobId).then((job: IJob | null) => {
    if (job === null) return connection.refuse(id, 'UNKNOWN_JOB', `no job ${JSON.stringify(jobId)} in the gateway's durable queue`);
    if (connection.may(id, action, job.taskName)) answer(connection, id, act());
  }, (error: unknown) => connection.refuse(id, codeOf(error), messageOf(error)));
}

function answer(connection: GatewayConnection, id: number, pending: Promise<unknown>): void {
  pending.then((value) => connection.reply(id, value), (error: unknown) => connection.refuse(id, codeOf(error), messageOf(error)));
}
