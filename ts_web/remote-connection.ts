import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { allows, TaskGatewayClient, type TClientState } from 'taskbuffer/client';
import type { TDashboardAction } from './dashboard-actions.js';
import { RemoteDashboardActions } from './remote-actions.js';
import { RemoteManagerMirror } from './remote-mirror.js';
import { messageOf } from './error-text.js';

/** Where the dashboard connects: a client the page made, or a URL and a `name:key` token. */
export interface IRemoteTarget {
  client: TaskGatewayClient | undefined;
  url: string;
  token: string;
  /** From the `actions` attribute: narrows what the scopes allow (`undefined`: the scopes alone). */
  narrowTo: ReadonlySet<TDashboardAction> | undefined;
}

/** What the connection light shows. */
export interface IConnectionView {
  state: TClientState;
  /** The gateway's URL (none for a client the page made). */
  url: string | undefined;
  /** Why connecting failed, or a refusal (e.g. a missing `read` scope), in words. */
  problem: string | undefined;
}

/**
 * The dashboard's link to a manager on another machine: the client (made from `url` and
 * `token`, or the page's own `client`), the mirror the dashboard reads, and the actions
 * the client's scopes allow. Only while the host is connected: a client made here is
 * closed when the host is detached or the target changes (a page's own client never is).
 */
export class RemoteConnection implements ReactiveController {
  mirror: RemoteManagerMirror | undefined;
  actions: RemoteDashboardActions | undefined;
  client: TaskGatewayClient | undefined;
  private target: IRemoteTarget = { client: undefined, url: '', token: '', narrowTo: undefined };
  private ownsClient = false;
  private connectProblem: string | undefined;
  private hostIsConnected = false;
  /** A first connection of a client made here failed (not for its key): the next try, with backoff. */
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private failedTries = 0;

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  /** Whether a target is set (a client, or a URL and token). */
  get active(): boolean {
    return this.target.client !== undefined || (this.target.url !== '' && this.target.token !== '');
  }

  /** Points the dashboard at `target` (nothing happens when it is what it was). */
  configure(target: IRemoteTarget): void {
    const { client, url, token, narrowTo } = this.target;
    if (target.client === client && target.url === url && target.token === token && sameSet(target.narrowTo, narrowTo)) return;
    this.tearDown();
    this.failedTries = 0;
    this.target = target;
    if (this.hostIsConnected) this.setUp();
  }

  hostConnected(): void {
    this.hostIsConnected = true;
    this.setUp();
  }

  hostDisconnected(): void {
    this.hostIsConnected = false;
    this.tearDown();
  }

  /** The gateway's durable queue, once the gateway said it has one and the client may read it. */
  get queue(): TaskGatewayClient['queue'] | undefined {
    return this.client?.hasQueue === true && this.mayRead ? this.client.queue : undefined;
  }

  /** The gateway's cluster (its own instance without a coordinator), once the client got in with `read`. */
  get cluster(): TaskGatewayClient | undefined {
    return this.mayRead ? this.client : undefined;
  }

  /** Without `read`, the cluster and the queue would only be refused at every poll. */
  private get mayRead(): boolean {
    return this.client !== undefined && allows(this.client.scopes, 'read');
  }

  /** The connection light: state, URL, and what went wrong. */
  get view(): IConnectionView | undefined {
    const client = this.client;
    if (this.retryTimer !== undefined) return { state: 'reconnecting', url: this.target.url, problem: this.connectProblem };
    if (client === undefined) return this.connectProblem === undefined ? undefined : { state: 'closed', url: this.target.url, problem: this.connectProblem };
    const refusal = this.mirror?.lastError;
    const problem = this.connectProblem ?? (refusal === undefined ? undefined : messageOf(refusal));
    return { state: client.state, url: this.ownsClient ? this.target.url : undefined, problem };
  }

  private setUp(): void {
    if (!this.active || this.mirror !== undefined) return;
    if (this.failedTries === 0) this.connectProblem = undefined; // while retrying, the last problem stays in view
    const client = this.target.client ?? this.clientFromToken();
    if (client === undefined) return this.host.requestUpdate();
    this.client = client;
    this.mirror = new RemoteManagerMirror(client, () => this.host.requestUpdate());
    this.actions = new RemoteDashboardActions(client, this.target.narrowTo);
    this.mirror.start();
    if (client.state === 'idle') {
      client.connect().then(() => {
        this.failedTries = 0;
        this.connectProblem = undefined;
        this.host.requestUpdate();
      }, (error: unknown) => {
        if (this.client !== client) return;
        this.connectProblem = messageOf(error);
        if (this.ownsClient && (error as { code?: unknown }).code !== 'AUTH_FAILED') this.retryLater();
        this.host.requestUpdate();
      });
    }
    this.host.requestUpdate();
  }

  /**
   * A gateway that is down when the dashboard comes: try again with a new client, after
   * 250 ms, doubling to 10 s (as the client reconnects a connection it had). A wrong name
   * or key is not tried again; nor is a page's own client (the page decides about it).
   */
  private retryLater(): void {
    const delay = Math.min(10_000, 250 * 2 ** this.failedTries++);
    this.tearDown();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.hostIsConnected) this.setUp();
    }, delay);
  }

  private tearDown(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.mirror?.stop();
    if (this.ownsClient) this.client?.close();
    this.mirror = undefined;
    this.actions = undefined;
    this.client = undefined;
    this.ownsClient = false;
  }

  /** A client for `url` and a `name:key` token; a token without a colon is refused in words. */
  private clientFromToken(): TaskGatewayClient | undefined {
    const { url, token } = this.target;
    const colon = token.indexOf(':');
    if (colon <= 0 || colon === token.length - 1) {
      this.connectProblem = 'the token must be "<client name>:<key>"';
      return undefined;
    }
    try {
      const client = new TaskGatewayClient({ url, name: token.slice(0, colon), key: token.slice(colon + 1) });
      this.ownsClient = true;
      return client;
    } catch (error) {
      this.connectProblem = messageOf(error);
      return undefined;
    }
  }
}


function sameSet<T>(a: ReadonlySet<T> | undefined, b: ReadonlySet<T> | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.size !== b.size) return false;
  for (const item of a) if (!b.has(item)) return false;
  return true;
}
