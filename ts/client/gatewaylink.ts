import { clearTimer, setTimer, type TTimer } from '../internal/clock.js';
import { CLOSE_CODES, type IAuthReply, type TClientFrame, type TClientRequest, type TServerFrame } from '../remote/protocol.js';
import { AuthFailedError, ConnectionLostError, GatewayRequestError } from '../remote/remoteerrors.js';
import { OPEN, type IWebSocketLike, type TWebSocketClass } from './clientsocket.js';

/** A request as the caller gives it: the link adds the `id`. */
export type TRequestWithoutId = TClientRequest extends infer R ? (R extends TClientRequest ? Omit<R, 'id'> : never) : never;

interface IPending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** Undefined for a request that is answered only when refused. */
  timer: TTimer | undefined;
}

/** What a link tells its client. */
export interface ILinkListener {
  /** A frame that is not a reply: events, outcomes, work. */
  frame(frame: TServerFrame): void;
  /** The socket closed after it had authenticated (not by `close()`). */
  lost(code: number, reason: string): void;
}

/**
 * One websocket session with the gateway: it opens, authenticates, and carries requests
 * and their replies (each with a time limit) until it closes. A lost session rejects
 * the requests still waiting with a ConnectionLostError; the client makes a new link to
 * reconnect.
 */
export class GatewayLink {
  private readonly pending = new Map<number, IPending>();
  private lastId = 0;
  private socket: IWebSocketLike | undefined;
  private closedByUs = false;
  private authenticated = false;

  constructor(private readonly listener: ILinkListener, private readonly requestTimeoutMs: number) {}

  /** Opens the socket and authenticates; rejects with an AuthFailedError for a wrong name or key. */
  open(WebSocketClass: TWebSocketClass, url: string, name: string, key: string): Promise<IAuthReply> {
    return new Promise<IAuthReply>((resolve, reject) => {
      let socket: IWebSocketLike;
      try {
        socket = new WebSocketClass(url);
      } catch (error) {
        return reject(error);
      }
      this.socket = socket;
      socket.addEventListener('open', () => {
        this.request({ type: 'auth', name, key }).then((reply) => {
          this.authenticated = true;
          resolve(reply as IAuthReply);
        }, (error: unknown) => {
          reject(error instanceof GatewayRequestError && error.code === 'AUTH_FAILED' ? new AuthFailedError(error.message) : error);
        });
      });
      socket.addEventListener('message', (event) => this.receive(event.data));
      socket.addEventListener('error', () => {}); // a 'close' follows, which says what happened
      socket.addEventListener('close', (event) => {
        const code = event.code ?? 1006;
        const reason = event.reason || describeClose(code);
        this.rejectPending(new ConnectionLostError(`the connection to the gateway at ${url} closed (${code}: ${reason})`));
        if (!this.authenticated) {
          reject(code === CLOSE_CODES.AUTH_FAILED || code === CLOSE_CODES.TOO_MANY_CONNECTIONS
            ? new AuthFailedError(`the gateway refused client ${JSON.stringify(name)}: ${reason}`)
            : new ConnectionLostError(`could not connect to the gateway at ${url} (${code}: ${reason})`));
        } else if (!this.closedByUs) {
          this.listener.lost(code, reason);
        }
      });
    });
  }

  get isOpen(): boolean {
    return this.authenticated && this.socket?.readyState === OPEN;
  }

  /** Sends a request and resolves with the reply's value; rejects with a GatewayRequestError when refused. */
  request(frame: TRequestWithoutId): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = ++this.lastId;
      if (!this.send({ ...frame, id } as TClientFrame)) return reject(new ConnectionLostError('not connected to the gateway'));
      const timer = setTimer(() => {
        this.pending.delete(id);
        reject(new ConnectionLostError(`the gateway did not answer a ${frame.type} request within ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
    });
  }

  /**
   * Sends a request that the gateway answers only when it refuses it (a trigger, whose
   * outcome is its answer): `onRefused` gets the refusal, or a ConnectionLostError. `forget`
   * its id once it is answered otherwise. Undefined when the socket is not open.
   */
  sendUnanswered(frame: TRequestWithoutId, onRefused: (error: unknown) => void): number | undefined {
    const id = ++this.lastId;
    if (!this.send({ ...frame, id } as TClientFrame)) return undefined;
    this.pending.set(id, { resolve: () => {}, reject: onRefused, timer: undefined });
    return id;
  }

  forget(id: number): void {
    this.pending.delete(id);
  }

  /** Sends a frame that gets no reply; false when the socket is not open. */
  send(frame: TClientFrame): boolean {
    const socket = this.socket;
    if (socket === undefined || socket.readyState !== OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  close(): void {
    this.closedByUs = true;
    this.socket?.close(1000, 'closed by the client');
    this.rejectPending(new ConnectionLostError('the client was closed'));
  }

  private receive(data: unknown): void {
    let frame: TServerFrame;
    try {
      frame = JSON.parse(String(data)) as TServerFrame;
    } catch {
      return; // not from a taskbuffer gateway; nothing to answer
    }
    if (frame.type !== 'reply') return this.listener.frame(frame);
    const pending = this.pending.get(frame.id);
    if (pending === undefined) return;
    this.pending.delete(frame.id);
    if (pending.timer !== undefined) clearTimer(pending.timer);
    if (frame.ok) pending.resolve(frame.value);
    else pending.reject(new GatewayRequestError(frame.error));
  }

  private rejectPending(error: Error): void {
    for (const pending of this.pending.values()) {
      if (pending.timer !== undefined) clearTimer(pending.timer);
      pending.reject(error);
    }
    this.pending.clear();
  }
}

function describeClose(code: number): string {
  switch (code) {
    case CLOSE_CODES.AUTH_TIMEOUT: return 'not authenticated in time';
    case CLOSE_CODES.TOO_MANY_BAD_FRAMES: return 'too many malformed frames';
    case CLOSE_CODES.CREDENTIALS_REMOVED: return 'the credentials were removed';
    case CLOSE_CODES.SLOW_CONSUMER: return 'the client read too slowly';
    case CLOSE_CODES.GOING_AWAY: return 'the gateway is stopping';
    case CLOSE_CODES.TOO_BIG: return 'a frame was too large';
    default: return 'closed';
  }
}
