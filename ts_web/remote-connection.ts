import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { TaskGatewayClient, type TClientState } from 'taskbuffer/client';
import type { TDashboardAction } from './dashboard-actions.js';
import { RemoteDashboardActions } from './remote-actions.js';
import { RemoteManagerMirror } from './remote-mirror.js';

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

  /** The gateway's durable queue, once the gateway said it has one. */
  get queue(): TaskGatewayClient['queue'] | undefined {
    return this.client?.hasQueue === true ? this.client.queue : undefined;
  }

  /** The gateway's cluster (its own instance without a coordinator), once the client got in. */
  get cluster(): TaskGatewayClient | undefined {
    return this.client !== undefined && this.client.scopes.length > 0 ? this.client : undefined;
  }

  /** The connection light: state, URL, and what went wrong. */
  get view(): IConnectionView | undefined {
    const client = this.client;
    if (client === undefined) return this.connectProblem === undefined ? undefined : { state: 'closed', url: this.target.url, problem: this.connectProblem };
    const refusal = this.mirror?.lastError;
    const problem = this.connectProblem ?? (refusal === undefined ? undefined : messageOf(refusal));
    return { state: client.state, url: this.ownsClient ? this.target.url : undefined, problem };
  }

  private setUp(): void {
    if (!this.active || this.mirror !== undefined) return;
    this.connectProblem = undefined;
    const client = this.target.client ?? this.clientFromToken();
    if (client === undefined) return this.host.requestUpdate();
    this.client = client;
    this.mirror = new RemoteManagerMirror(client, () => this.host.requestUpdate());
    this.actions = new RemoteDashboardActions(client, this.target.narrowTo);
    this.mirror.start();
    if (client.state === 'idle') {
      client.connect().catch((error: unknown) => {
        if (this.client !== client) return;
        this.connectProblem = messageOf(error);
        this.host.requestUpdate();
      });
    }
    this.host.requestUpdate();
  }

  private tearDown(): void {
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

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sameSet<T>(a: ReadonlySet<T> | undefined, b: ReadonlySet<T> | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.size !== b.size) return false;
  for (const item of a) if (!b.has(item)) return false;
  return true;
}
