import { InvalidOptionError } from '../errors.js';
import { assertFunction, assertNonEmptyString, assertNonNegativeFinite, assertOptionsObject, describeValue } from '../internal/validate.js';
import type { TWebSocketClass } from './clientsocket.js';

/** How the client reconnects after a connection it did not close was lost. */
export interface IReconnectOptions {
  /** The first wait, in ms; each failed attempt doubles it. @default 250 */
  initialDelayMs?: number;
  /** The longest wait between attempts, in ms. @default 10000 */
  maxDelayMs?: number;
}

/** Options of `new TaskGatewayClient(...)`. */
export interface ITaskGatewayClientOptions {
  /** The gateway's websocket URL, e.g. `ws://ops.example.com:4711/taskbuffer`. */
  url: string;
  /** The name of the client's credentials at the gateway. */
  name: string;
  /** The client's key. Sent once per connection, in the first frame. */
  key: string;
  /**
   * Reconnect (with backoff) when the connection is lost; subscriptions, watches and
   * served tasks are restored. `false` leaves the client closed instead.
   * @default true
   */
  reconnect?: boolean | IReconnectOptions;
  /** A WebSocket class to use. @default `globalThis.WebSocket`, else the `ws` package */
  WebSocket?: TWebSocketClass;
  /** How long a request waits for the gateway's answer, in ms. @default 30000 */
  requestTimeoutMs?: number;
}

export interface IClientSettings {
  url: string;
  name: string;
  key: string;
  reconnect: { initialDelayMs: number; maxDelayMs: number } | undefined;
  WebSocket: TWebSocketClass | undefined;
  requestTimeoutMs: number;
}

const WHERE = 'new TaskGatewayClient(options)';

export function resolveClientOptions(options: ITaskGatewayClientOptions): IClientSettings {
  assertOptionsObject(WHERE, options, ['url', 'name', 'key', 'reconnect', 'WebSocket', 'requestTimeoutMs']);
  assertNonEmptyString(WHERE, 'url', options.url);
  if (!/^wss?:\/\//.test(options.url)) {
    throw new InvalidOptionError('url', options.url, `${WHERE}: expected \`url\` to start with ws:// or wss://, got ${JSON.stringify(options.url)}`);
  }
  assertNonEmptyString(WHERE, 'name', options.name);
  if (typeof options.key !== 'string' || options.key.length === 0) {
    throw new InvalidOptionError('key', undefined, `${WHERE}: expected \`key\` to be a non-empty string, got ${typeof options.key}`);
  }
  if (options.WebSocket !== undefined) assertFunction(WHERE, 'WebSocket', options.WebSocket);
  if (options.requestTimeoutMs !== undefined) assertNonNegativeFinite(WHERE, 'requestTimeoutMs', options.requestTimeoutMs);
  return {
    url: options.url,
    name: options.name,
    key: options.key,
    reconnect: resolveReconnect(options.reconnect),
    WebSocket: options.WebSocket,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
  };
}

function resolveReconnect(reconnect: ITaskGatewayClientOptions['reconnect']): IClientSettings['reconnect'] {
  if (reconnect === false) return undefined;
  if (reconnect === undefined || reconnect === true) return { initialDelayMs: 250, maxDelayMs: 10_000 };
  if (reconnect === null || typeof reconnect !== 'object') {
    throw new InvalidOptionError('reconnect', reconnect, `${WHERE}: expected \`reconnect\` to be a boolean or { initialDelayMs, maxDelayMs }, got ${describeValue(reconnect)}`);
  }
  assertOptionsObject(WHERE, reconnect, ['initialDelayMs', 'maxDelayMs'], 'reconnect');
  if (reconnect.initialDelayMs !== undefined) assertNonNegativeFinite(WHERE, 'reconnect.initialDelayMs', reconnect.initialDelayMs);
  if (reconnect.maxDelayMs !== undefined) assertNonNegativeFinite(WHERE, 'reconnect.maxDelayMs', reconnect.maxDelayMs);
  return { initialDelayMs: reconnect.initialDelayMs ?? 250, maxDelayMs: reconnect.maxDelayMs ?? 10_000 };
}
