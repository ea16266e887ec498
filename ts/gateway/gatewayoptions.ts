import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { InvalidOptionError, type TaskbufferError } from '../errors.js';
import {
  assertArray, assertFunction, assertNonNegativeFinite, assertOptionsObject, assertPositiveInteger, assertString, describeValue,
} from '../internal/validate.js';
import type { RedisTaskQueue } from '../jobqueue/redistaskqueue.js';
import { TaskManager } from '../manager/taskmanager.js';
import type { ICredentialsOptions } from './credentials.js';

/** Options of `new TaskGateway(...)`. */
export interface ITaskGatewayOptions {
  /** The manager whose tasks clients list, watch, trigger, abort and serve. */
  manager: TaskManager;
  /**
   * The port to listen on (with `host`). Give either `port` or `server`.
   * @default 0 (a free port the system picks; see `address()`)
   */
  port?: number;
  /** The interface to listen on with `port`. @default all interfaces */
  host?: string;
  /**
   * An http(s) server of yours to answer websocket upgrades on `path` (other upgrades are
   * left to its other listeners). The gateway never listens on it or closes it.
   */
  server?: HttpServer | HttpsServer;
  /** The URL path of the websocket. @default '/taskbuffer' */
  path?: string;
  /** Clients by name, as `addCredentials(name, options)` adds them. @default none */
  credentials?: Record<string, ICredentialsOptions>;
  /** A connection that has not authenticated this long after it opened is closed (4002). @default 5000 */
  authTimeoutMs?: number;
  /** How long a run of a served task waits for a serving client to connect before it fails with a NoWorkerError. @default 10000 */
  startTimeoutMs?: number;
  /** A served run that has not ended this long after a client took it fails with a TimeoutError (the client is told to abort). @default no limit */
  endTimeoutMs?: number;
  /** Frames larger than this close the connection (1009). @default 1048576 (1 MiB) */
  maxPayloadBytes?: number;
  /** A client that leaves more than this unread in the gateway's send buffer is disconnected (4008). @default 8388608 (8 MiB) */
  maxBufferedBytes?: number;
  /** After this many malformed frames a connection is closed (4003). @default 20 */
  maxBadFrames?: number;
  /**
   * Browser origins allowed to connect, e.g. `['https://ops.example.com']`; an upgrade
   * whose `Origin` header is not in the list is refused with 403. Clients that send no
   * `Origin` (Node, curl) are not browsers and are let through to authenticate.
   * @default any origin
   */
  allowedOrigins?: string[];
  /** How often the gateway pings each connection; one that has not answered the previous ping is closed. @default 30000 */
  heartbeatMs?: number;
  /** A durable queue (from `taskbuffer/redis`): with it, clients may `enqueue` jobs and read, cancel and retry them. */
  queue?: RedisTaskQueue;
  /**
   * Serves the dashboard at `path` (`http://host:port/taskbuffer`): a page that asks for a
   * client name and key and shows the manager (and the queue and cluster, when there are
   * any) as those credentials' scopes allow. `{ title }` names the page. With a `server`
   * of yours, call `gateway.handleRequest(request, response)` from its request handler.
   * @default false
   */
  dashboard?: boolean | { title?: string };
  /** Receives errors that belong to no request (a failing socket, a client's bad report). @default logs with console.error */
  onError?: (error: Error | TaskbufferError) => void;
}

/** The options, checked and with their defaults. */
export interface IGatewaySettings {
  manager: TaskManager;
  port: number;
  host: string | undefined;
  server: HttpServer | HttpsServer | undefined;
  path: string;
  authTimeoutMs: number;
  startTimeoutMs: number;
  endTimeoutMs: number | undefined;
  maxPayloadBytes: number;
  maxBufferedBytes: number;
  maxBadFrames: number;
  allowedOrigins: ReadonlySet<string> | undefined;
  heartbeatMs: number;
  queue: RedisTaskQueue | undefined;
  /** Undefined when the page is off. */
  dashboard: { title: string } | undefined;
  onError: (error: Error) => void;
}

const OPTION_NAMES: Array<keyof ITaskGatewayOptions> = [
  'manager', 'port', 'host', 'server', 'path', 'credentials', 'authTimeoutMs', 'startTimeoutMs', 'endTimeoutMs',
  'maxPayloadBytes', 'maxBufferedBytes', 'maxBadFrames', 'allowedOrigins', 'heartbeatMs', 'queue', 'dashboard', 'onError',
];

const WHERE = 'new TaskGateway(options)';

/** Checks `options` where they enter and fills in the defaults. */
export function resolveGatewayOptions(options: ITaskGatewayOptions): IGatewaySettings {
  assertOptionsObject(WHERE, options, OPTION_NAMES);
  if (!(options.manager instanceof TaskManager)) {
    throw new InvalidOptionError('manager', options.manager, `${WHERE}: expected \`manager\` to be a TaskManager, got ${describeValue(options.manager)}`);
  }
  if (options.port !== undefined && options.server !== undefined) {
    throw new InvalidOptionError('port', options.port, `${WHERE}: give either \`port\` or \`server\`, not both (port ${options.port})`);
  }
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
    throw new InvalidOptionError('port', options.port, `${WHERE}: expected \`port\` to be an integer from 0 to 65535, got ${describeValue(options.port)}`);
  }
  if (options.host !== undefined) assertString(WHERE, 'host', options.host);
  if (options.server !== undefined && typeof (options.server as { on?: unknown }).on !== 'function') {
    throw new InvalidOptionError('server', options.server, `${WHERE}: expected \`server\` to be an http or https server, got ${describeValue(options.server)}`);
  }
  const path = options.path ?? '/taskbuffer';
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new InvalidOptionError('path', path, `${WHERE}: expected \`path\` to be a URL path starting with "/", got ${describeValue(path)}`);
  }
  for (const name of ['authTimeoutMs', 'startTimeoutMs', 'endTimeoutMs', 'heartbeatMs'] as const) {
    if (options[name] !== undefined) assertNonNegativeFinite(WHERE, name, options[name]);
  }
  for (const name of ['maxPayloadBytes', 'maxBufferedBytes', 'maxBadFrames'] as const) {
    if (options[name] !== undefined) assertPositiveInteger(WHERE, name, options[name]);
  }
  if (options.allowedOrigins !== undefined) {
    assertArray(WHERE, 'allowedOrigins', options.allowedOrigins);
    options.allowedOrigins.forEach((origin, i) => assertString(WHERE, `allowedOrigins[${i}]`, origin));
  }
  if (options.queue !== undefined && typeof (options.queue as { add?: unknown }).add !== 'function') {
    throw new InvalidOptionError('queue', options.queue, `${WHERE}: expected \`queue\` to be a RedisTaskQueue, got ${describeValue(options.queue)}`);
  }
  if (options.onError !== undefined) assertFunction(WHERE, 'onError', options.onError);
  const dashboard = resolveDashboard(options.dashboard);
  return {
    manager: options.manager,
    port: options.port ?? 0,
    host: options.host,
    server: options.server,
    path,
    authTimeoutMs: options.authTimeoutMs ?? 5_000,
    startTimeoutMs: options.startTimeoutMs ?? 10_000,
    endTimeoutMs: options.endTimeoutMs,
    maxPayloadBytes: options.maxPayloadBytes ?? 1024 * 1024,
    maxBufferedBytes: options.maxBufferedBytes ?? 8 * 1024 * 1024,
    maxBadFrames: options.maxBadFrames ?? 20,
    allowedOrigins: options.allowedOrigins === undefined ? undefined : new Set(options.allowedOrigins),
    heartbeatMs: options.heartbeatMs ?? 30_000,
    queue: options.queue,
    dashboard,
    onError: options.onError ?? ((error) => console.error(`taskbuffer TaskGateway: ${error.message}`, error)),
  };
}

function resolveDashboard(dashboard: ITaskGatewayOptions['dashboard']): IGatewaySettings['dashboard'] {
  if (dashboard === undefined || dashboard === false) return undefined;
  if (dashboard === true) return { title: 'taskbuffer' };
  if (dashboard === null || typeof dashboard !== 'object') {
    throw new InvalidOptionError('dashboard', dashboard, `${WHERE}: expected \`dashboard\` to be true, false or { title }, got ${describeValue(dashboard)}`);
  }
  assertOptionsObject(WHERE, dashboard, ['title'], 'dashboard');
  if (dashboard.title !== undefined) assertString(WHERE, 'dashboard.title', dashboard.title);
  return { title: dashboard.title ?? 'taskbuffer' };
}
