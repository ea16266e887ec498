import { DuplicateTaskError } from '../errors.js';
import { clearTimer, setTimer, type TTimer } from '../internal/clock.js';
import type { TaskManager } from '../manager/taskmanager.js';
import { RemoteTaskError } from '../remote/remoteerrors.js';
import type { IWireError } from '../remote/protocol.js';
import type { IRetryOptions } from '../task/retry.js';
import { Task } from '../task/task.js';
import { ServedTask, type IServedTaskSettings, type IServingConnection } from './servedtask.js';

/** Options of a task whose runs clients serve (`gateway.defineRemoteTask`). */
export interface IRemoteTaskOptions {
  /** Retries of a failed run; a retry goes to the least busy server, which may be another one. */
  retry?: IRetryOptions;
  /** Limits each try, in ms (the serving client is told to abort). */
  timeoutMs?: number;
  priority?: number;
  labels?: Record<string, string>;
}

interface IRemoteTask {
  served: ServedTask;
  task: Task<undefined, [], Record<string, unknown>, unknown, unknown>;
  /** Made by a client's `serve`, not by `defineRemoteTask`: it goes again once nobody serves it. */
  implicit: boolean;
}

/**
 * The tasks that clients serve. Each is a task in the manager whose function hands its
 * runs to the serving clients, so local triggers, cron, constraint groups, retries and
 * other clients all reach it. Made by `defineRemoteTask` (kept until the gateway stops) or
 * by the first `serve` of a name (taken out of the manager again once no client serves it
 * and no run of it is left, so that clients cannot pile names up in the manager).
 */
export class RemoteWorkers {
  private readonly byName = new Map<string, IRemoteTask>();
  private lastWorkId = 0;
  private readonly idleChecks = new Map<ServedTask, TTimer>();
  private readonly settings: IServedTaskSettings;

  constructor(private readonly manager: TaskManager, startTimeoutMs: number, endTimeoutMs: number | undefined) {
    this.settings = { startTimeoutMs, endTimeoutMs, nextWorkId: () => ++this.lastWorkId, onIdle: (served) => this.idle(served) };
  }

  /** Adds the task `name` to the manager, served by clients; a task of that name that is not served refuses it. */
  define(name: string, options: IRemoteTaskOptions = {}, implicit = false): void {
    if (this.byName.has(name)) throw new DuplicateTaskError(name);
    const served = new ServedTask(name, this.settings);
    const task = new Task<undefined, [], Record<string, unknown>, unknown, unknown>({
      name,
      retry: options.retry,
      timeoutMs: options.timeoutMs,
      priority: options.priority,
      labels: options.labels,
      taskFunction: (input, _setup, context) => served.run(input, context),
    });
    this.manager.addTask(task);
    this.byName.set(name, { served, task, implicit });
  }

  /** Whether the manager's task `name` is served by clients (so a client may serve it). */
  isServable(name: string): boolean {
    return this.byName.has(name) || this.manager.getTaskByName(name) === undefined;
  }

  serve(connection: IServingConnection, name: string, concurrency: number): void {
    if (!this.byName.has(name)) this.define(name, {}, true);
    this.byName.get(name)!.served.addServer(connection, concurrency);
  }

  unserve(connection: IServingConnection, name: string): void {
    this.byName.get(name)?.served.removeServer(connection, 'the client stopped serving it');
  }

  /** A connection closed: the runs it had fail, and it serves nothing any more. */
  dropConnection(connection: IServingConnection): void {
    for (const { served } of this.byName.values()) served.removeServer(connection, 'the client disconnected');
  }

  /** How many connections serve `name`. */
  serverCount(name: string): number {
    return this.byName.get(name)?.served.serverCount ?? 0;
  }

  update(connection: IServingConnection, workId: number, payload: unknown): boolean {
    for (const { served } of this.byName.values()) if (served.has(workId)) return served.update(connection, workId, payload);
    return false;
  }

  done(connection: IServingConnection, workId: number, ok: boolean, value: unknown, error: IWireError | undefined): boolean {
    for (const { served } of this.byName.values()) {
      if (served.has(workId)) return served.done(connection, workId, ok, ok ? value : new RemoteTaskError(error!));
    }
    return false;
  }

  /**
   * A served task has no server and no run of its own left: one that only a `serve` made
   * leaves the manager, once the manager holds no run of it either (a run that just ended
   * is still counted until its bookkeeping is done, so this looks once that is over).
   */
  private idle(served: ServedTask): void {
    const remote = this.byName.get(served.taskName);
    if (remote === undefined || remote.served !== served || !remote.implicit || this.idleChecks.has(served)) return;
    this.idleChecks.set(served, setTimer(() => {
      this.idleChecks.delete(served);
      if (this.byName.get(served.taskName) !== remote || !served.isIdle || !this.holdsNoRunOf(remote.task)) return;
      this.byName.delete(served.taskName);
      this.manager.removeTask(remote.task);
    }, 0));
  }

  /** Whether the manager runs no run of `task` and none waits (a paused task's runs wait, to be served once it resumes). */
  private holdsNoRunOf(task: IRemoteTask['task']): boolean {
    return task.idle && !this.manager.getWaitingRuns().some((run) => run.taskName === task.name);
  }

  /** Fails every served run and takes the tasks out of the manager (the gateway stops). */
  close(): void {
    for (const timer of this.idleChecks.values()) clearTimer(timer);
    this.idleChecks.clear();
    const remotes = [...this.byName.values()];
    this.byName.clear();
    for (const { served, task } of remotes) {
      served.close('the gateway stopped');
      this.manager.removeTask(task);
    }
  }
}
