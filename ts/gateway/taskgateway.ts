import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Observable } from 'rxjs';
import type { WebSocket, WebSocketServer as WsServer } from 'ws';
import type { ITaskEvent } from '../events.js';
import { CLOSE_CODES } from '../remote/protocol.js';
import { CredentialStore, type ICredential, type ICredentialsOptions } from './credentials.js';
import { EventRouter } from './eventrouter.js';
import { GatewayConnection } from './gatewayconnection.js';
import { GatewayStateError } from './gatewayerrors.js';
import { resolveGatewayOptions, type IGatewaySettings, type ITaskGatewayOptions } from './gatewayoptions.js';
import { GatewayRuns } from './gatewayruns.js';
import type { IClientConnection, IGatewayServices } from './gatewayservices.js';
import { LoginThrottle } from './loginthrottle.js';
import { pathOf } from './requestpath.js';
import { DashboardPage } from './dashboardpage.js';
import { WebSocketServer } from './wsmodule.js';
import { RemoteWorkers, type IRemoteTaskOptions } from './remoteworkers.js';

/** Connections still authenticating at once; more are refused with 503 until some are done. */
const MAX_UNAUTHENTICATED = 1024;

/** Where a started gateway can be reached. */
export interface IGatewayAddress {
  port: number;
  /** The address it listens on, e.g. `127.0.0.1` or `::`. */
  address: string;
  /** A websocket URL for a client on this machine, e.g. `ws://127.0.0.1:4711/taskbuffer`. */
  url: string;
}

/**
 * A websocket gateway to a TaskManager: clients with credentials list, watch, trigger,
 * abort and pause its tasks, follow one run's live events, and serve tasks whose runs
 * then execute on their side. In a cluster it shows the events of every instance.
 *
 * ```ts
 * const gateway = new TaskGateway({ manager, port: 4711 });
 * gateway.addCredentials('ops', { key: process.env.OPS_KEY!, scopes: ['read', 'trigger:*'] });
 * await gateway.start();
 * ```
 */
export class TaskGateway {
  private readonly settings: IGatewaySettings;
  private readonly services: IGatewayServices;
  private readonly connections = new Set<GatewayConnection>();
  private readonly workers: RemoteWorkers;
  private readonly router: EventRouter;
  private readonly credentials = new CredentialStore();
  private websockets: WsServer | undefined;
  private readonly page: DashboardPage | undefined;
  private ownServer: HttpServer | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private state: 'new' | 'starting' | 'started' | 'stopped' = 'new';

  constructor(options: ITaskGatewayOptions) {
    this.settings = resolveGatewayOptions(options);
    const { manager, startTimeoutMs, endTimeoutMs } = this.settings;
    const cluster = (manager.distributedCoordinator as { clusterEventSubject?: Observable<ITaskEvent & { instanceId: string }> } | undefined);
    this.router = new EventRouter(manager, cluster?.clusterEventSubject);
    this.workers = new RemoteWorkers(manager, startTimeoutMs, endTimeoutMs);
    const connections = this.connections;
    this.services = {
      settings: this.settings,
      credentials: this.credentials,
      throttle: new LoginThrottle(),
      router: this.router,
      workers: this.workers,
      runs: new GatewayRuns(),
      connectionCount: (credential: ICredential) => countWhere(connections, (connection) => connection.isOpen && connection.credential?.name === credential.name),
      connectionClosed: (connection: IClientConnection) => {
        connections.delete(connection as GatewayConnection);
        this.workers.dropConnection(connection);
      },
    };
    for (const [name, credential] of Object.entries(options.credentials ?? {})) this.addCredentials(name, credential);
    const { dashboard, path } = this.settings;
    if (dashboard !== undefined) this.page = new DashboardPage(path, dashboard.title);
  }

  /** Lets the client `name` connect with `key`, allowed what `scopes` say. Replacing a client's credentials closes its connections. */
  addCredentials(name: string, options: ICredentialsOptions): void {
    this.credentials.add(name, options);
    this.closeConnectionsOf(name, 'the credentials were replaced');
  }

  /** Forgets the client `name` and closes its connections (4004). False when there was no such client. */
  removeCredentials(name: string): boolean {
    const removed = this.credentials.remove(name);
    this.closeConnectionsOf(name, 'the credentials were removed');
    return removed;
  }

  /**
   * Adds the task `name` to the manager with its runs executed by clients that `serve` it
   * (with the retries, time limit and labels given here). A name that clients serve
   * without this is defined on its first `serve`, with no options.
   */
  defineRemoteTask(name: string, options?: IRemoteTaskOptions): void {
    this.workers.define(name, options);
  }

  /** Opens the websocket (listening on `port`, or answering upgrades of `server`). */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new GatewayStateError(`TaskGateway.start(): the gateway is ${this.state} already; make a new one to start again`);
    this.state = 'starting';
    try {
      await this.page?.load();
    } catch (error) {
      this.state = 'stopped';
      throw error;
    }
    this.websockets = new WebSocketServer({ noServer: true, maxPayload: this.settings.maxPayloadBytes });
    const server = this.settings.server ?? (this.ownServer = createServer((request, response) => {
      if (this.handleRequest(request, response)) return;
      response.writeHead(426, { 'content-type': 'text/plain' }).end(`taskbuffer gateway: connect with a websocket to ${this.settings.path}\n`);
    }));
    server.on('upgrade', this.onUpgrade);
    if (this.ownServer !== undefined) await listen(this.ownServer, this.settings.port, this.settings.host);
    this.heartbeat = setInterval(() => this.pingAll(), this.settings.heartbeatMs);
    this.state = 'started';
  }

  /**
   * With `dashboard` and a `server` of yours: call this from your server's request
   * handler; it answers the dashboard page and its script (at `path` and `path/app.js`)
   * and returns `true`, or returns `false` for any other request, which stays yours.
   * (The gateway's own server calls it by itself.)
   */
  handleRequest(request: IncomingMessage, response: ServerResponse): boolean {
    return this.state === 'started' && this.page !== undefined && this.page.handle(request, response);
  }

  /** Where the gateway listens (its own server's address, or the given server's). */
  address(): IGatewayAddress {
    const server = this.ownServer ?? this.settings.server;
    const info = server?.address() as AddressInfo | null | undefined;
    if (info === null || info === undefined || typeof info !== 'object') {
      throw new GatewayStateError('TaskGateway.address(): the gateway is not listening (call start(), and listen on the server you gave)');
    }
    const host = info.address === '::' || info.address === '0.0.0.0' ? '127.0.0.1' : info.family === 'IPv6' ? `[${info.address}]` : info.address;
    return { port: info.port, address: info.address, url: `ws://${host}:${info.port}${this.settings.path}` };
  }

  /** Closes every connection (1001), fails the served runs still going, and closes what `start()` opened: no timer or socket is left. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    (this.settings.server ?? this.ownServer)?.off('upgrade', this.onUpgrade);
    const open = [...this.connections];
    for (const connection of open) connection.close(CLOSE_CODES.GOING_AWAY, 'the gateway is stopping');
    this.workers.close();
    this.router.close();
    await Promise.all(open.map((connection) => closedSocket(connection.socket)));
    this.websockets?.close();
    if (this.ownServer !== undefined) await closeServer(this.ownServer);
  }

  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = pathOf(request.url);
    const server = this.settings.server ?? this.ownServer!;
    if (pathname !== this.settings.path) {
      // Another listener of the user's server may want it; with none, nobody would answer.
      if (server.listenerCount('upgrade') === 1) {
        if (pathname === undefined) refuseUpgrade(socket, 400, 'Bad Request');
        else refuseUpgrade(socket, 404, 'Not Found');
      }
      return;
    }
    const origin = request.headers.origin;
    const allowed = this.settings.allowedOrigins;
    if (allowed !== undefined && origin !== undefined && !allowed.has(origin)) return refuseUpgrade(socket, 403, 'Forbidden');
    if (this.state !== 'started') return refuseUpgrade(socket, 503, 'Service Unavailable');
    // Each lasts authTimeoutMs at most, but a flood of them at once must not grow memory either.
    if (countWhere(this.connections, (connection) => !connection.isOpen) >= MAX_UNAUTHENTICATED) return refuseUpgrade(socket, 503, 'Service Unavailable');
    this.websockets!.handleUpgrade(request, socket, head, (websocket) => this.accept(websocket, request));
  };

  private accept(websocket: WebSocket, request: IncomingMessage): void {
    if (this.state !== 'started') return websocket.terminate();
    const connection = new GatewayConnection(websocket, request.socket.remoteAddress ?? 'unknown', this.services);
    this.connections.add(connection);
  }

  private pingAll(): void {
    for (const connection of this.connections) {
      if (!connection.alive) {
        connection.socket.terminate();
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
  }

  private closeConnectionsOf(name: string, why: string): void {
    for (const connection of this.connections) {
      if (connection.credential?.name === name) connection.close(CLOSE_CODES.CREDENTIALS_REMOVED, why);
    }
  }
}

function countWhere<T>(items: Iterable<T>, predicate: (item: T) => boolean): number {
  let count = 0;
  for (const item of items) if (predicate(item)) count++;
  return count;
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function listen(server: HttpServer, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Resolves once `socket` closed; a peer that does not answer the close handshake is cut off after a second. */
function closedSocket(socket: WebSocket): Promise<void> {
  if (socket.readyState === socket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const cutOff = setTimeout(() => socket.terminate(), 1_000);
    socket.once('close', () => {
      clearTimeout(cutOff);
      resolve();
    });
  });
}
