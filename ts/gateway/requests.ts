import { messageOf } from '../errors.js';
import { toWireError } from '../remote/remoteerrors.js';
import type { IEnqueueReply, TClientFrame } from '../remote/protocol.js';
import type { IEventSink } from './eventrouter.js';
import type { IClientConnection as GatewayConnection } from './gatewayservices.js';
import { codeOf } from './gatewayerrors.js';
import { INSIGHT_HANDLERS } from './insightrequests.js';

/** Subscriptions and run watches one connection may hold at once: a client cannot grow the gateway's memory without bound. */
const MAX_SUBSCRIPTIONS = 256;
const MAX_WATCHES = 4096;

type TFrameOf<T extends TClientFrame['type']> = Extract<TClientFrame, { type: T }>;
type THandlers = { [T in TClientFrame['type']]: (connection: GatewayConnection, frame: TFrameOf<T>) => void };

/** Answers one request of an authenticated connection (its frame was checked already). */
export function handleRequest(connection: GatewayConnection, frame: TClientFrame): void {
  (HANDLERS[frame.type] as (connection: GatewayConnection, frame: TClientFrame) => void)(connection, frame);
}

const HANDLERS: THandlers = {
  ...INSIGHT_HANDLERS,

  auth: (connection, frame) => connection.refuse(frame.id, 'BAD_FRAME', 'auth: this connection is authenticated already'),

  list: (connection, frame) => {
    if (connection.may(frame.id, 'read')) connection.reply(frame.id, connection.services.settings.manager.getAllTasksMetadata());
  },

  groups: (connection, frame) => {
    if (connection.may(frame.id, 'read')) connection.reply(frame.id, connection.services.settings.manager.getConstraintGroupStates());
  },

  runs: (connection, frame) => {
    if (connection.may(frame.id, 'read')) connection.reply(frame.id, connection.services.settings.manager.getActiveRuns());
  },

  subscribe: (connection, frame) => {
    if (!connection.may(frame.id, 'read')) return;
    if (connection.subscriptions.has(frame.sub)) return connection.refuse(frame.id, 'BAD_FRAME', `subscribe: subscription ${frame.sub} exists already`);
    if (connection.subscriptions.size >= MAX_SUBSCRIPTIONS) return connection.refuse(frame.id, 'BAD_FRAME', `subscribe: at most ${MAX_SUBSCRIPTIONS} subscriptions per connection`);
    const prefix = `{"type":"event","sub":${frame.sub},"event":`;
    connection.subscriptions.set(frame.sub, connection.services.router.subscribe(frame.filter, sinkOf(connection, prefix)));
    connection.reply(frame.id);
  },

  unsubscribe: (connection, frame) => {
    connection.subscriptions.get(frame.sub)?.();
    connection.subscriptions.delete(frame.sub);
    connection.reply(frame.id);
  },

  trigger: (connection, frame) => {
    const { manager } = connection.services.settings;
    if (!connection.may(frame.id, 'trigger', frame.taskName)) return;
    if (manager.getTaskByName(frame.taskName) === undefined) return unknownTask(connection, frame.id, frame.taskName);
    if (!manager.isStarted) return connection.refuse(frame.id, 'MANAGER_STOPPED', `trigger: the gateway's TaskManager is not started`);
    if (!frame.runId.startsWith(connection.runPrefix)) {
      return connection.refuse(frame.id, 'BAD_FRAME', `trigger: \`runId\` must start with this connection's runPrefix ${JSON.stringify(connection.runPrefix)}, got ${JSON.stringify(frame.runId)}`);
    }
    const run = connection.services.runs.begin(frame.runId, frame.taskName, connection);
    if (run === undefined) return connection.refuse(frame.id, 'BAD_FRAME', `trigger: a run ${JSON.stringify(frame.runId)} is going on already`);
    // Watched before the trigger: its `started` may come at once.
    if (frame.events !== false) watch(connection, run.runId);
    manager.triggerTaskByName(frame.taskName, frame.input, { runId: run.runId, signal: run.controller.signal, timeoutMs: frame.timeoutMs, priority: frame.priority })
      .then(
        (value: unknown) => connection.send(value === undefined ? { type: 'outcome', runId: run.runId, ok: true } : { type: 'outcome', runId: run.runId, ok: true, value }),
        (error: unknown) => connection.send({ type: 'outcome', runId: run.runId, ok: false, error: toWireError(error) }),
      )
      .finally(() => {
        connection.services.runs.end(run);
        connection.watches.get(run.runId)?.();
        connection.watches.delete(run.runId);
      });
  },

  watch: (connection, frame) => {
    if (!connection.may(frame.id, 'read')) return;
    if (!connection.watches.has(frame.runId) && connection.watches.size >= MAX_WATCHES) {
      return connection.refuse(frame.id, 'BAD_FRAME', `watch: at most ${MAX_WATCHES} runs watched per connection`);
    }
    watch(connection, frame.runId);
    connection.reply(frame.id);
  },

  unwatch: (connection, frame) => {
    connection.watches.get(frame.runId)?.();
    connection.watches.delete(frame.runId);
    connection.reply(frame.id);
  },

  abort: (connection, frame) => {
    const { manager } = connection.services.settings;
    const reason = new Error(frame.reason ?? `aborted by client ${JSON.stringify(connection.clientName)}`);
    const own = connection.services.runs.get(frame.runId);
    if (own !== undefined) {
      // A client that may trigger a task may abort the runs it triggered; another client's need control.
      if (!connection.may(frame.id, own.owner === connection ? 'trigger' : 'control', own.taskName)) return;
      own.controller.abort(reason);
      return connection.reply(frame.id);
    }
    const started = manager.getActiveRuns().find((run) => run.runId === frame.runId);
    if (started === undefined) {
      return connection.refuse(frame.id, 'UNKNOWN_RUN', `abort: no run ${JSON.stringify(frame.runId)} is going on in this gateway's TaskManager`);
    }
    if (!connection.may(frame.id, 'control', started.taskName)) return;
    manager.abortRun(frame.runId, reason);
    connection.reply(frame.id);
  },

  pauseTask: (connection, frame) => controlTask(connection, frame.id, frame.taskName, (name) => connection.services.settings.manager.pauseTask(name)),
  resumeTask: (connection, frame) => controlTask(connection, frame.id, frame.taskName, (name) => connection.services.settings.manager.resumeTask(name)),
  pauseGroup: (connection, frame) => controlGroup(connection, frame.id, frame.groupName, (name) => connection.services.settings.manager.pauseConstraintGroup(name)),
  resumeGroup: (connection, frame) => controlGroup(connection, frame.id, frame.groupName, (name) => connection.services.settings.manager.resumeConstraintGroup(name)),

  serve: (connection, frame) => {
    const { workers } = connection.services;
    if (!connection.may(frame.id, 'serve', frame.taskName)) return;
    if (!workers.isServable(frame.taskName)) {
      return connection.refuse(frame.id, 'DUPLICATE_TASK', `serve: the gateway's TaskManager has a task ${JSON.stringify(frame.taskName)} of its own; only tasks that clients serve can be served`);
    }
    workers.serve(connection, frame.taskName, frame.concurrency);
    connection.reply(frame.id);
  },

  unserve: (connection, frame) => {
    connection.services.workers.unserve(connection, frame.taskName);
    connection.reply(frame.id);
  },

  enqueue: (connection, frame) => {
    const { queue } = connection.services.settings;
    if (!connection.may(frame.id, 'trigger', frame.taskName)) return;
    if (queue === undefined) return connection.refuse(frame.id, 'BAD_FRAME', 'enqueue: this gateway has no durable queue (its `queue` option)');
    queue.add(frame.taskName, frame.input, frame.options ?? {}).then(
      (added) => connection.reply(frame.id, { jobId: added.id, created: added.created } satisfies IEnqueueReply),
      (error: unknown) => connection.refuse(frame.id, codeOf(error), messageOf(error)),
    );
  },

  workUpdate: (connection, frame) => {
    try {
      connection.services.workers.update(connection, frame.workId, frame.payload);
    } catch {
      // An update too deep to check is dropped: progress is not worth failing a run over.
    }
  },

  workDone: (connection, frame) => {
    connection.services.workers.done(connection, frame.workId, frame.ok, frame.ok ? frame.value : undefined, frame.ok ? undefined : frame.error);
  },
};

/** Delivers routed events to `connection` as frames that start with `prefix`. */
function sinkOf(connection: GatewayConnection, prefix: string): IEventSink {
  return { deliver: (json: string) => connection.sendText(`${prefix}${json}}`) };
}

function watch(connection: GatewayConnection, runId: string): void {
  if (connection.watches.has(runId)) return;
  const prefix = `{"type":"run","runId":${JSON.stringify(runId)},"event":`;
  connection.watches.set(runId, connection.services.router.watchRun(runId, sinkOf(connection, prefix)));
}

function controlTask(connection: GatewayConnection, id: number, taskName: string, act: (name: string) => void): void {
  if (!connection.may(id, 'control', taskName)) return;
  if (connection.services.settings.manager.getTaskByName(taskName) === undefined) return unknownTask(connection, id, taskName);
  act(taskName);
  connection.reply(id);
}

function controlGroup(connection: GatewayConnection, id: number, groupName: string, act: (name: string) => void): void {
  if (!connection.may(id, 'control')) return;
  try {
    act(groupName);
  } catch (error) {
    return connection.refuse(id, codeOf(error), messageOf(error));
  }
  connection.reply(id);
}

function unknownTask(connection: GatewayConnection, id: number, taskName: string): void {
  connection.refuse(id, 'UNKNOWN_TASK', `no task named ${JSON.stringify(taskName)} is registered in the gateway's TaskManager`);
}

