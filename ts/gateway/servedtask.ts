import { clearTimer, setTimer, type TTimer } from '../internal/clock.js';
import { messageOf, TimeoutError } from '../errors.js';
import type { TServerFrame } from '../remote/protocol.js';
import type { ITaskContext } from '../types.js';
import { NoWorkerError, WorkerLostError } from './gatewayerrors.js';

/** A connection that serves tasks, as the served task sees it. */
export interface IServingConnection {
  /** The name of its credentials. */
  readonly clientName: string;
  send(frame: TServerFrame): void;
}

/** One connection serving the task, with how much it may take at once. */
interface IServer {
  readonly connection: IServingConnection;
  concurrency: number;
  active: number;
  /** A sequence number of the last time it was given work: among equally busy servers the one given work longest ago goes first. */
  lastGiven: number;
}

/** A run of the task on its way to a server, or on one. */
interface IWork {
  readonly workId: number;
  readonly input: unknown;
  readonly context: ITaskContext;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  server: IServer | undefined;
  /** The start timeout while it waits with no server connected, the end timeout once a server has it. */
  timer: TTimer | undefined;
  onAbort: (() => void) | undefined;
}

export interface IServedTaskSettings {
  startTimeoutMs: number;
  endTimeoutMs: number | undefined;
  nextWorkId: () => number;
  /** The task has no server, no waiting run and no run on a server any more. */
  onIdle: (served: ServedTask) => void;
}

/**
 * The runs of one task that clients serve: which connections serve it, the runs that wait
 * for one of them, and the runs each has. A run goes to the least busy server (relative
 * to its concurrency); with none free it waits, and with none connected it waits at most
 * `startTimeoutMs`. A server that leaves fails the runs it had with a WorkerLostError.
 */
export class ServedTask {
  private readonly servers: IServer[] = [];
  private readonly waiting: IWork[] = [];
  private readonly works = new Map<number, IWork>();
  private given = 0;

  constructor(
    readonly taskName: string,
    private readonly settings: IServedTaskSettings,
  ) {}

  get serverCount(): number {
    return this.servers.length;
  }

  /** No server, no run waiting for one, no run on one. */
  get isIdle(): boolean {
    return this.servers.length === 0 && this.waiting.length === 0 && this.works.size === 0;
  }

  /** The task function of the task in the manager: hands the run to a server and settles with its outcome. */
  run(input: unknown, context: ITaskContext): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const work: IWork = { workId: this.settings.nextWorkId(), input, context, resolve, reject, server: undefined, timer: undefined, onAbort: undefined };
      // The run rejects on its own when aborted (or timed out); this only lets go of the work.
      work.onAbort = () => this.abandon(work, context.signal.reason);
      context.signal.addEventListener('abort', work.onAbort, { once: true });
      this.place(work);
    });
  }

  addServer(connection: IServingConnection, concurrency: number): void {
    const existing = this.servers.find((server) => server.connection === connection);
    if (existing !== undefined) existing.concurrency = concurrency;
    else this.servers.push({ connection, concurrency, active: 0, lastGiven: 0 });
    for (const work of this.waiting) this.clearWorkTimer(work);
    this.handOut();
  }

  /** The connection stops serving the task (it asked to, or it left): its runs fail. */
  removeServer(connection: IServingConnection, why: string): void {
    const index = this.servers.findIndex((server) => server.connection === connection);
    if (index < 0) return;
    const [server] = this.servers.splice(index, 1);
    for (const work of [...this.works.values()]) {
      if (work.server === server) this.finish(work, false, new WorkerLostError(this.taskName, connection.clientName, why));
    }
    if (this.servers.length === 0) for (const work of this.waiting) this.startWaitTimer(work);
    this.checkIdle();
  }

  /** A server's `workUpdate`: published as the run's `update` event. */
  update(connection: IServingConnection, workId: number, payload: unknown): boolean {
    const work = this.works.get(workId);
    if (work?.server?.connection !== connection) return false;
    work.context.update(payload);
    return true;
  }

  /** A server's `workDone`. False when the work is not that server's (any more): a late report is dropped. */
  done(connection: IServingConnection, workId: number, ok: boolean, outcome: unknown): boolean {
    const work = this.works.get(workId);
    if (work?.server?.connection !== connection) return false;
    this.finish(work, ok, outcome);
    return true;
  }

  /** Whether `workId` is a run this task has on a server. */
  has(workId: number): boolean {
    return this.works.has(workId);
  }

  /** Fails every run, waiting or on a server (the gateway stops). */
  close(why: string): void {
    for (const server of [...this.servers]) this.removeServer(server.connection, why);
    for (const work of this.waiting.splice(0)) this.settle(work, false, new WorkerLostError(this.taskName, '(none)', why));
  }

  private place(work: IWork): void {
    const server = this.leastBusy();
    if (server !== undefined) return this.hand(work, server);
    this.waiting.push(work);
    if (this.servers.length === 0) this.startWaitTimer(work);
  }

  private handOut(): void {
    while (this.waiting.length > 0) {
      const server = this.leastBusy();
      if (server === undefined) return;
      this.hand(this.waiting.shift()!, server);
    }
  }

  private leastBusy(): IServer | undefined {
    let best: IServer | undefined;
    for (const server of this.servers) {
      if (server.active >= server.concurrency) continue;
      if (best === undefined) {
        best = server;
        continue;
      }
      const load = server.active / server.concurrency;
      const bestLoad = best.active / best.concurrency;
      if (load < bestLoad || (load === bestLoad && server.lastGiven < best.lastGiven)) best = server;
    }
    return best;
  }

  private hand(work: IWork, server: IServer): void {
    this.clearWorkTimer(work);
    work.server = server;
    server.active++;
    server.lastGiven = ++this.given;
    this.works.set(work.workId, work);
    const endTimeoutMs = this.settings.endTimeoutMs;
    if (endTimeoutMs !== undefined) {
      work.timer = setTimer(() => this.finish(work, false, new TimeoutError(this.taskName, endTimeoutMs)), endTimeoutMs);
    }
    const frame: TServerFrame = { type: 'work', workId: work.workId, taskName: this.taskName, runId: work.context.runId, attempt: work.context.attempt };
    if (work.input !== undefined) frame.input = work.input;
    server.connection.send(frame);
  }

  private startWaitTimer(work: IWork): void {
    if (work.timer !== undefined) return;
    const { startTimeoutMs } = this.settings;
    work.timer = setTimer(() => {
      work.timer = undefined;
      this.waiting.splice(this.waiting.indexOf(work), 1);
      this.settle(work, false, new NoWorkerError(this.taskName, startTimeoutMs));
      this.checkIdle();
    }, startTimeoutMs);
  }

  private clearWorkTimer(work: IWork): void {
    if (work.timer === undefined) return;
    clearTimer(work.timer);
    work.timer = undefined;
  }

  /** The run was aborted or timed out: it waits no more, or its server is told to stop and its slot is free again. */
  private abandon(work: IWork, reason: unknown): void {
    const index = this.waiting.indexOf(work);
    if (index >= 0) {
      this.waiting.splice(index, 1);
      this.clearWorkTimer(work);
      return this.checkIdle();
    }
    const server = work.server;
    if (server === undefined || !this.works.has(work.workId)) return;
    server.connection.send({ type: 'workAbort', workId: work.workId, reason: messageOf(reason) });
    this.finish(work, false, reason);
  }

  private finish(work: IWork, ok: boolean, outcome: unknown): void {
    if (!this.works.delete(work.workId)) return;
    const server = work.server!;
    server.active--;
    if (!ok && outcome instanceof TimeoutError) server.connection.send({ type: 'workAbort', workId: work.workId, reason: outcome.message });
    this.settle(work, ok, outcome);
    this.handOut();
  }

  private checkIdle(): void {
    if (this.isIdle) this.settings.onIdle(this);
  }

  private settle(work: IWork, ok: boolean, outcome: unknown): void {
    this.clearWorkTimer(work);
    if (work.onAbort !== undefined) work.context.signal.removeEventListener('abort', work.onAbort);
    if (ok) work.resolve(outcome);
    else work.reject(outcome);
  }
}
