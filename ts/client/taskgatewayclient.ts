import { BehaviorSubject } from 'rxjs';
import { InvalidOptionError } from '../errors.js';
import type { IActiveRunInfo, IConstraintGroupState } from '../manager/manageroptions.js';
import { assertNonEmptyString, assertOptionsObject } from '../internal/validate.js';
import type { IWaitingRunInfo } from '../manager/waitreasons.js';
import type { IAuthReply, IEnqueueReply, IEventFilter, IWireInstance, IWireJobOptions, TServerFrame, TWireEvent } from '../remote/protocol.js';
import { ConnectionLostError } from '../remote/remoteerrors.js';
import type { ITaskMetadata } from '../types.js';
import { resolveClientOptions, type IClientSettings, type ITaskGatewayClientOptions } from './clientoptions.js';
import { webSocketClass } from './clientsocket.js';
import { GatewayLink, type TRequestWithoutId } from './gatewaylink.js';
import { Reconnector } from './reconnector.js';
import { RemoteQueue } from './remotequeue.js';
import { PendingRuns } from './pendingruns.js';
import { RemoteRun } from './remoterun.js';
import { ServedHandlers, type IServeOptions, type TServeHandler } from './servedhandlers.js';

/** `connecting` until the first connection; `reconnecting` while a lost one is made again; `closed` for good. */
export type TClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** A subscription or run watch: `ready` settles once the gateway took it (or refused it, e.g. without the `read` scope). */
export interface IGatewaySubscription {
  unsubscribe(): void;
  /** Resolves once the gateway delivers its events; rejects with the refusal, which also ends it. Kept across reconnects once taken. */
  readonly ready: Promise<void>;
}

type TEventListener = (event: TWireEvent) => void;

/** Options of `client.trigger`. */
export interface ITriggerCallOptions {
  /** Limits each try at the gateway, in ms. */
  timeoutMs?: number;
  /** Among triggers waiting for the same constraint slot, larger starts first. @default the task's */
  priority?: number;
  /** Whether the run's events come back for `run.events`. @default true */
  events?: boolean;
}

/**
 * A client of a TaskGateway, in Node or a browser: lists and watches the remote manager's
 * tasks, triggers and aborts runs, follows one run's live events, and serves tasks whose
 * runs the gateway hands to it. Reconnects on its own, restoring its subscriptions,
 * watches and served tasks.
 */
export class TaskGatewayClient {
  /** The connection's state, for a status light; the current value is `state`. */
  readonly stateSubject = new BehaviorSubject<TClientState>('idle');
  /** The gateway's durable queue: counts, pages of jobs, one job, cancel and retry (see `hasQueue`). */
  readonly queue = new RemoteQueue((frame) => this.request(frame));
  private readonly settings: IClientSettings;
  private link: GatewayLink | undefined;
  private auth: IAuthReply | undefined;
  private readonly subscriptions = new Map<number, { filter: IEventFilter; listener: TEventListener }>();
  private readonly watches = new Map<string, Set<TEventListener>>();
  private readonly watchReady = new Map<string, Promise<void>>();
  /** `ready` of subscriptions and watches made while not connected, by `sub:<n>` or `run:<id>`. */
  private readonly notAsked = new Map<string, { resolve: () => void; reject: (error: unknown) => void }>();
  private readonly runs = new PendingRuns();
  private readonly served = new ServedHandlers((frame) => this.link?.send(frame) ?? false);
  private lastSub = 0;
  private lastRun = 0;
  private readonly reconnector: Reconnector | undefined;

  constructor(options: ITaskGatewayClientOptions) {
    this.settings = resolveClientOptions(options);
    this.reconnector = this.settings.reconnect === undefined ? undefined : new Reconnector(this.settings.reconnect);
  }

  get state(): TClientState {
    return this.stateSubject.value;
  }

  /** What the gateway allows this client (its credentials' scopes), once connected. */
  get scopes(): readonly string[] {
    return this.auth?.scopes ?? [];
  }

  /** Whether the gateway has a durable queue (`enqueue` and `queue` work), once connected. */
  get hasQueue(): boolean {
    return this.auth?.queue === true;
  }

  /** Connects and authenticates; rejects with an AuthFailedError for a wrong name or key (and does not retry then). */
  async connect(): Promise<void> {
    if (this.state !== 'idle') throw new InvalidOptionError('state', this.state, `TaskGatewayClient.connect(): the client is ${this.state} already`);
    this.stateSubject.next('connecting');
    try {
      await this.openLink();
    } catch (error) {
      this.stateSubject.next('closed');
      throw error;
    }
  }

  /** Closes the connection for good: waiting requests reject, served runs are aborted, no timer is left. */
  close(): void {
    this.reconnector?.cancel();
    this.stateSubject.next('closed');
    this.link?.close();
    this.link = undefined;
    this.served.abortAll('the client was closed');
    this.runs.failAll('the client was closed');
  }

  listTasks(): Promise<ITaskMetadata[]> {
    return this.request({ type: 'list' }) as Promise<ITaskMetadata[]>;
  }

  getConstraintGroupStates(): Promise<IConstraintGroupState[]> {
    return this.request({ type: 'groups' }) as Promise<IConstraintGroupState[]>;
  }

  /** The runs going on at the gateway's manager. */
  getActiveRuns(): Promise<IActiveRunInfo[]> {
    return this.request({ type: 'runs' }) as Promise<IActiveRunInfo[]>;
  }

  /** The runs waiting to begin at the gateway's manager, and why (at most `limit`, 1–1000). */
  getWaitingRuns(limit?: number): Promise<IWaitingRunInfo[]> {
    return this.request({ type: 'waiting', limit }) as Promise<IWaitingRunInfo[]>;
  }

  /** The live instances of the gateway's cluster (its own only, without a RedisCoordinator), with their heartbeats. */
  getInstances(): Promise<IWireInstance[]> {
    return this.request({ type: 'instances' }) as Promise<IWireInstance[]>;
  }

  /** Calls `onEvent` with every task event of the gateway's manager (or cluster) that `filter` lets through; kept across reconnects. */
  subscribe(filter: IEventFilter, onEvent: TEventListener): IGatewaySubscription {
    checkFilter(filter);
    const sub = ++this.lastSub;
    this.subscriptions.set(sub, { filter, listener: onEvent });
    const ready = this.whenTaken(`sub:${sub}`, () => this.request({ type: 'subscribe', sub, filter }), () => this.subscriptions.delete(sub));
    return {
      ready,
      unsubscribe: () => {
        if (this.subscriptions.delete(sub) && this.link?.isOpen) this.request({ type: 'unsubscribe', sub }).catch(() => {});
      },
    };
  }

  /**
   * Triggers the task `taskName` at the gateway; the run's events and outcome come back
   * live. `events: false` spares the run's events (`run.events` then only completes): one
   * trigger is then two frames, as few as a bare echo.
   */
  trigger<TResult = unknown>(taskName: string, input?: unknown, options: ITriggerCallOptions = {}): RemoteRun<TResult> {
    assertNonEmptyString('TaskGatewayClient.trigger', 'taskName', taskName);
    assertOptionsObject('TaskGatewayClient.trigger', options, ['timeoutMs', 'priority', 'events']);
    const runId = `${this.auth?.runPrefix ?? 'unconnected-'}${++this.lastRun}`;
    const run = new RemoteRun<TResult>(runId, (id, reason) => this.request({ type: 'abort', runId: id, reason }).then(() => {}));
    const link = this.link;
    const refused = (error: unknown) => {
      this.runs.delete(runId);
      run.settle(false, error);
    };
    const id = link?.isOpen ? link.sendUnanswered({ type: 'trigger', runId, taskName, input, ...options }, refused) : undefined;
    if (id === undefined) {
      run.settle(false, new ConnectionLostError(`not connected to the gateway (the client is ${this.state})`));
    } else {
      this.runs.add(run as RemoteRun, id);
    }
    return run;
  }

  /**
   * Aborts a run going on at the gateway's manager (any client's, with `control:<task>`;
   * one this client triggered, with `trigger:<task>`). Resolves `false` when no such run
   * is going on there.
   */
  abortRun(runId: string, reason?: string): Promise<boolean> {
    assertNonEmptyString('TaskGatewayClient.abortRun', 'runId', runId);
    return this.request({ type: 'abort', runId, reason }).then(() => true, (error: { code?: unknown }) => {
      if (error?.code === 'UNKNOWN_RUN') return false;
      throw error;
    });
  }

  /** Follows one run's events, also a run others started (or a queue job, by its id); kept across reconnects. */
  watchRun(runId: string, onEvent: TEventListener): IGatewaySubscription {
    assertNonEmptyString('TaskGatewayClient.watchRun', 'runId', runId);
    let listeners = this.watches.get(runId);
    let ready: Promise<void>;
    if (listeners === undefined) {
      const created = (listeners = new Set());
      this.watches.set(runId, created);
      ready = this.whenTaken(`run:${runId}`, () => this.request({ type: 'watch', runId }), () => {
        if (this.watches.get(runId) === created) this.watches.delete(runId);
      });
    } else {
      ready = this.watchReady.get(runId) ?? Promise.resolve();
    }
    this.watchReady.set(runId, ready);
    listeners.add(onEvent);
    return {
      ready,
      unsubscribe: () => {
        listeners.delete(onEvent);
        if (listeners.size > 0 || this.watches.get(runId) !== listeners) return;
        this.watches.delete(runId);
        this.watchReady.delete(runId);
        if (this.link?.isOpen) this.request({ type: 'unwatch', runId }).catch(() => {});
      },
    };
  }

  /**
   * Asks the gateway for a subscription or watch now if connected, else once connected
   * (`restore`). A refusal ends it and rejects `ready`; a lost connection does not (it is
   * asked again after the reconnect).
   */
  private whenTaken(key: string, ask: () => Promise<unknown>, forget: () => void): Promise<void> {
    const taken = this.link?.isOpen ? this.asked(ask, forget) : new Promise<void>((resolve, reject) => this.notAsked.set(key, { resolve, reject }));
    taken.catch(() => {}); // whoever does not look at `ready` must not get an unhandled rejection
    return taken;
  }

  private asked(ask: () => Promise<unknown>, forget: () => void): Promise<void> {
    return ask().then(() => {}, (error: unknown) => {
      if (error instanceof ConnectionLostError) return;
      forget();
      throw error;
    });
  }

  pauseTask(taskName: string): Promise<void> {
    return this.request({ type: 'pauseTask', taskName }).then(() => {});
  }

  resumeTask(taskName: string): Promise<void> {
    return this.request({ type: 'resumeTask', taskName }).then(() => {});
  }

  pauseConstraintGroup(groupName: string): Promise<void> {
    return this.request({ type: 'pauseGroup', groupName }).then(() => {});
  }

  resumeConstraintGroup(groupName: string): Promise<void> {
    return this.request({ type: 'resumeGroup', groupName }).then(() => {});
  }

  /** Adds a job to the gateway's durable queue; follow it with `watchRun(jobId, ...)`. */
  enqueue(taskName: string, input?: unknown, options: IWireJobOptions = {}): Promise<IEnqueueReply> {
    return this.request({ type: 'enqueue', taskName, input, options }) as Promise<IEnqueueReply>;
  }

  /**
   * Serves the task `taskName`: the gateway's manager gets a task of that name whose runs
   * `handler` does here (several clients share them, least busy first). Resolves once the
   * gateway accepted; the returned `stop()` stops serving.
   */
  serve<TInput = any, TResult = unknown>(taskName: string, handler: TServeHandler<TInput, TResult>, options: IServeOptions = {}): Promise<{ stop(): Promise<void> }> {
    return this.served.register(taskName, handler as TServeHandler, options, (frame) => this.request(frame), () => this.link?.isOpen === true);
  }

  private request(frame: TRequestWithoutId): Promise<unknown> {
    const link = this.link;
    if (link === undefined || !link.isOpen) {
      return Promise.reject(new ConnectionLostError(`not connected to the gateway (the client is ${this.state})`));
    }
    return link.request(frame);
  }

  private async openLink(): Promise<void> {
    const WebSocketClass = await webSocketClass(this.settings.WebSocket);
    // close() may come during either wait: a closed client must not connect after all.
    if (this.isClosed()) throw new ConnectionLostError('the client was closed while it connected');
    const link = new GatewayLink({ frame: (frame) => this.receive(frame), lost: () => this.lost(link) }, this.settings.requestTimeoutMs);
    this.link = link;
    this.auth = await link.open(WebSocketClass, this.settings.url, this.settings.name, this.settings.key);
    if (this.link !== link || this.isClosed()) {
      link.close();
      throw new ConnectionLostError('the client was closed while it connected');
    }
    this.reconnector?.succeeded();
    this.stateSubject.next('open');
    this.restore(link);
  }

  /** A method, not `state === 'closed'`: TypeScript would keep a narrowing of `state` across the awaits where close() may come. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  /** After a reconnect: subscriptions, watches and served tasks as they were. */
  private restore(link: GatewayLink): void {
    for (const [sub, { filter }] of this.subscriptions) {
      this.settleReady(`sub:${sub}`, this.asked(() => link.request({ type: 'subscribe', sub, filter }), () => this.subscriptions.delete(sub)));
    }
    for (const runId of this.watches.keys()) {
      this.settleReady(`run:${runId}`, this.asked(() => link.request({ type: 'watch', runId }), () => this.watches.delete(runId)));
    }
    for (const [taskName, concurrency] of this.served.entries()) link.request({ type: 'serve', taskName, concurrency }).catch(() => {});
  }

  private settleReady(key: string, taken: Promise<void>): void {
    const waiting = this.notAsked.get(key);
    this.notAsked.delete(key);
    taken.then(waiting?.resolve, (error: unknown) => waiting?.reject(error));
  }

  private lost(link: GatewayLink): void {
    if (this.link !== link) return;
    this.link = undefined;
    this.served.abortAll('the connection to the gateway was lost');
    this.runs.failAll('the connection to the gateway was lost');
    if (this.reconnector === undefined || this.state === 'closed') return this.stateSubject.next('closed');
    this.stateSubject.next('reconnecting');
    this.reconnector.schedule(() => this.openLink(), (error) => {
      if (this.state === 'closed') return true;
      if ((error as { code?: unknown }).code !== 'AUTH_FAILED') return false;
      this.close();
      return true;
    });
  }

  private receive(frame: TServerFrame): void {
    switch (frame.type) {
      case 'event':
        return this.subscriptions.get(frame.sub)?.listener(frame.event);
      case 'run': {
        this.runs.event(frame.runId, frame.event);
        for (const listener of this.watches.get(frame.runId) ?? []) listener(frame.event);
        return;
      }
      case 'outcome': {
        const requestId = this.runs.settle(frame);
        if (requestId !== undefined) this.link?.forget(requestId);
        return;
      }
      case 'work':
        return this.served.work(frame);
      case 'workAbort':
        return this.served.abort(frame.workId, frame.reason);
      default:
        return;
    }
  }
}

function checkFilter(filter: IEventFilter): void {
  assertOptionsObject('TaskGatewayClient.subscribe', filter, ['taskName', 'labels'], 'filter');
  if (filter.taskName !== undefined) assertNonEmptyString('TaskGatewayClient.subscribe', 'filter.taskName', filter.taskName);
}
