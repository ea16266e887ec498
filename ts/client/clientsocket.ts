import { TaskbufferError } from '../errors.js';

/** What the client uses of a websocket: the browser's API, which `ws` also has. */
export interface IWebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'close' | 'error' | 'message', listener: (event: { data?: unknown; code?: number; reason?: string }) => void): void;
}

/** A websocket constructor: `globalThis.WebSocket` in browsers (and Node 22+), `ws`'s in Node 20. */
export type TWebSocketClass = new (url: string) => IWebSocketLike;

/** The client needs a websocket: the platform has none and the `ws` package is not installed. */
export class MissingWebSocketError extends TaskbufferError {
  override name = 'MissingWebSocketError';

  constructor(cause: unknown) {
    super('MISSING_DEPENDENCY',
      'taskbuffer/client needs a WebSocket: this runtime has no global WebSocket (Node 20 has none) and the ws package ' +
        'is not installed; install it with\n  npm install ws\nor pass a WebSocket class as the `WebSocket` option', { cause });
  }
}

// Kept out of a literal so that bundlers leave it alone: a browser has a WebSocket of its own.
const WS_PACKAGE = 'ws';

/** The platform's WebSocket, or `ws`'s where there is none. */
export async function webSocketClass(given: TWebSocketClass | undefined): Promise<TWebSocketClass> {
  if (given !== undefined) return given;
  const native = (globalThis as { WebSocket?: TWebSocketClass }).WebSocket;
  if (native !== undefined) return native;
  try {
    const module = (await import(WS_PACKAGE)) as { WebSocket?: TWebSocketClass; default?: TWebSocketClass };
    return module.WebSocket ?? module.default!;
  } catch (error) {
    throw new MissingWebSocketError(error);
  }
}

/** The websocket's `readyState` once it is open. */
export const OPEN = 1;
