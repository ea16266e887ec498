import type { WebSocket } from 'ws';
import { clearTimer, setTimer, type TTimer } from '../internal/clock.js';
import { CLOSE_CODES, PROTOCOL_VERSION, type IAuthReply, type IWireError, type TClientFrame, type TServerFrame } from '../remote/protocol.js';
import { allows, scopeFor, type TAction } from '../remote/scopes.js';
import type { ICredential } from './credentials.js';
import type { IClientConnection, IGatewayServices } from './gatewayservices.js';
import { isBadFrame, readClientFrame, type IBadFrame } from './framereader.js';
import { handleRequest } from './requests.js';

const SLOW_READER_GRACE_MS = 1_000;

/**
 * One client's websocket: authentication first (within `authTimeoutMs`, slowed down after
 * failed logins from its address), then requests checked against its scopes. Malformed
 * frames get an error frame and, past `maxBadFrames`, close the connection; a client
 * that does not read what it is sent is disconnected. Nothing a client sends can throw
 * out of here.
 */
export class GatewayConnection implements IClientConnection {
  credential: ICredential | undefined = undefined;
  /** Cleanup of each subscription, by the client's number for it. */
  readonly subscriptions = new Map<number, () => void>();
  /** Cleanup of each run watch (its own triggers' included), by run id. */
  readonly watches = new Map<string, () => void>();
  /** Whether it answered the last ping. */
  alive = true;
  /** What the ids of its triggers start with. */
  readonly runPrefix: string;
  private phase: 'new' | 'authenticating' | 'open' | 'closed' = 'new';
  private badFrames = 0;
  private authTimer: TTimer | undefined;
  /** The wait before a login from an address with failed logins is answered. */
  private loginDelay: TTimer | undefined;

  constructor(
    readonly socket: WebSocket,
    readonly address: string,
    readonly services: IGatewayServices,
  ) {
    this.runPrefix = services.runs.nextRunPrefix();
    this.authTimer = setTimer(() => {
      this.authTimer = undefined;
      if (this.phase !== 'open') this.close(CLOSE_CODES.AUTH_TIMEOUT, 'not authenticated in time');
    }, services.settings.authTimeoutMs);
    socket.on('message', (data, isBinary) => this.receive(data, isBinary));
    socket.on('pong', () => (this.alive = true));
    socket.on('close', () => this.closed());
    socket.on('error', () => {}); // followed by 'close'; a client's broken socket is not the gateway's error
  }

  get clientName(): string {
    return this.credential?.name ?? '(not authenticated)';
  }

  get isOpen(): boolean {
    return this.phase === 'open';
  }

  /** Sends a frame; a client that leaves too much unread is disconnected. */
  send(frame: TServerFrame): void {
    let text: string;
    try {
      text = JSON.stringify(frame);
    } catch (error) {
      // A result JSON cannot carry (a BigInt, a cycle): the client gets an error in its place.
      if ('id' in frame && frame.type === 'reply') return this.refuse(frame.id, 'INTERNAL', `the reply could not be sent as JSON: ${String(error)}`);
      if (frame.type === 'outcome') return this.send({ type: 'outcome', runId: frame.runId, ok: false, error: { name: 'TypeError', message: `the result could not be sent as JSON: ${String(error)}` } });
      return;
    }
    this.sendText(text);
  }

  /** Sends text that is a frame already (events are made JSON once for every connection). */
  sendText(text: string): void {
    if (this.phase === 'closed') return;
    this.socket.send(text);
    if (this.socket.bufferedAmount > this.services.settings.maxBufferedBytes) this.cutOffSlowReader();
  }

  /**
   * Nothing more is sent to a client that does not read (so what waits for it stops
   * growing); its close frame queues behind what it has not read, so a client that still
   * reads nothing within a second is cut off without one.
   */
  private cutOffSlowReader(): void {
    this.phase = 'closed';
    this.socket.close(CLOSE_CODES.SLOW_CONSUMER, 'the client read too slowly');
    const cutOff = setTimer(() => this.socket.terminate(), SLOW_READER_GRACE_MS);
    this.socket.once('close', () => clearTimer(cutOff));
  }

  reply(id: number, value?: unknown): void {
    this.send(value === undefined ? { type: 'reply', id, ok: true } : { type: 'reply', id, ok: true, value });
  }

  refuse(id: number | undefined, code: string, message: string, scope?: string): void {
    const error: IWireError = { name: 'GatewayRequestError', message, code };
    if (scope !== undefined) error.scope = scope;
    this.send(id === undefined ? { type: 'error', error } : { type: 'reply', id, ok: false, error });
  }

  /** Whether the connection's scopes allow `action`; if not, the request `id` is refused naming the missing scope. */
  may(id: number, action: TAction, taskName?: string): boolean {
    if (allows(this.credential!.scopes, action, taskName)) return true;
    const scope = scopeFor(action, taskName);
    this.refuse(id, 'FORBIDDEN', `client ${JSON.stringify(this.clientName)} lacks the scope ${JSON.stringify(scope)} for this request`, scope);
    return false;
  }

  close(code: number, reason: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.socket.close(code, reason);
  }

  private receive(data: unknown, isBinary: boolean): void {
    if (this.phase === 'closed') return;
    const frame = readClientFrame(data, isBinary);
    if (isBadFrame(frame)) return this.badFrame(frame);
    if (this.phase !== 'open') return this.beforeAuth(frame);
    try {
      handleRequest(this, frame);
    } catch (error) {
      // A bug of the gateway's, not the client's: report it and answer, but never let it out.
      this.services.settings.onError(error instanceof Error ? error : new Error(String(error)));
      if ('id' in frame) this.refuse(frame.id, 'INTERNAL', 'the gateway failed to handle the request');
    }
  }

  private badFrame(frame: IBadFrame): void {
    this.refuse(frame.id, 'BAD_FRAME', frame.bad);
    if (++this.badFrames >= this.services.settings.maxBadFrames) {
      this.close(CLOSE_CODES.TOO_MANY_BAD_FRAMES, `too many malformed frames (${this.badFrames})`);
    }
  }

  private beforeAuth(frame: TClientFrame): void {
    if (frame.type !== 'auth' || this.phase === 'authenticating') {
      return this.badFrame({ bad: `${frame.type}: authenticate first with { type: "auth", id, name, key }`, id: 'id' in frame ? frame.id : undefined });
    }
    this.phase = 'authenticating';
    const { throttle } = this.services;
    const delay = throttle.delayFor(this.address, frame.name);
    if (delay === 0) return this.authenticate(frame.id, frame.name, frame.key);
    this.loginDelay = setTimer(() => {
      this.loginDelay = undefined;
      this.authenticate(frame.id, frame.name, frame.key);
    }, delay);
  }

  private authenticate(id: number, name: string, key: string): void {
    if (this.phase !== 'authenticating') return;
    const { credentials, throttle, settings } = this.services;
    const credential = credentials.verify(name, key);
    if (credential === undefined) {
      throttle.failed(this.address, name);
      this.refuse(id, 'AUTH_FAILED', `unknown client name ${JSON.stringify(name)} or wrong key`);
      return this.close(CLOSE_CODES.AUTH_FAILED, 'authentication failed');
    }
    throttle.succeeded(this.address, name);
    if (this.services.connectionCount(credential) >= credential.maxConnections) {
      this.refuse(id, 'AUTH_FAILED', `client ${JSON.stringify(name)} has its ${credential.maxConnections} allowed connection(s) open already (maxConnections)`);
      return this.close(CLOSE_CODES.TOO_MANY_CONNECTIONS, 'maxConnections reached');
    }
    this.credential = credential;
    this.phase = 'open';
    if (this.authTimer !== undefined) clearTimer(this.authTimer);
    this.authTimer = undefined;
    const reply: IAuthReply = {
      protocol: PROTOCOL_VERSION, scopes: [...credential.scopes], instanceId: settings.manager.instanceId, runPrefix: this.runPrefix, queue: settings.queue !== undefined,
    };
    this.reply(id, reply);
  }

  private closed(): void {
    this.phase = 'closed';
    if (this.authTimer !== undefined) clearTimer(this.authTimer);
    if (this.loginDelay !== undefined) clearTimer(this.loginDelay);
    for (const unsubscribe of this.subscriptions.values()) unsubscribe();
    for (const unwatch of this.watches.values()) unwatch();
    this.subscriptions.clear();
    this.watches.clear();
    this.services.connectionClosed(this);
  }
}
