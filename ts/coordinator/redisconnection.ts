import { CoordinatorError, TaskbufferError } from '../errors.js';
import { ClusterUnreachableError, CoordinatorStoppedError } from './errors.js';
import { Redis } from './ioredis.js';
import type { RedisKeys } from './rediskeys.js';
import { LUA_SCRIPTS } from './redis.lua.js';
import type { IRedisTarget } from './redisoptions.js';

type TScriptName = keyof typeof LUA_SCRIPTS;
type TMessageHandler = (channel: string, message: string) => void;

/** What the coordinator gives each of its parts (ticks, slots, presence, the event relay). */
export interface ICoordinatorContext {
  readonly connection: RedisConnection;
  readonly keys: RedisKeys;
  readonly instanceId: string;
  readonly leaseMs: number;
  /** Between start() and stop(): the instance takes part in the cluster. */
  isRunning(): boolean;
  /** A held tick or slot was let go; after stop(), the last one lets the connections close. */
  letGo(): void;
  /** Task events waiting to go out, as one message for the events channel (`''` for none), for a script to publish. */
  takeEvents(): string;
}

/**
 * A coordinator's two ioredis clients, from start() until nothing is held any more: one
 * for commands and the Lua scripts, one subscribed to the cluster's channels (a
 * subscribed client can send nothing else). Failures are reported here, once per outage.
 */
export class RedisConnection {
  private client: Redis | undefined;
  private subscriber: Redis | undefined;
  private onMessage: TMessageHandler | undefined;
  private outageReported = false;
  /** The last connection error, named when start() gives up. */
  private lastConnectionError: Error | undefined;
  /** Stopped, but runs that still go on hold slots or ticks: the sockets must not keep the process alive. */
  private lingering = false;

  constructor(
    private readonly target: IRedisTarget,
    private readonly keys: RedisKeys,
    private readonly reportError: (error: TaskbufferError) => void,
  ) {}

  /** Opened by start() and not closed yet (stop() keeps it open while something is held). */
  get isOpen(): boolean {
    return this.client !== undefined;
  }

  /** Whether Redis answers commands right now. */
  get isReady(): boolean {
    return this.client?.status === 'ready';
  }

  /** ioredis's status of the command client (`ready`, `reconnecting`, …), for messages. */
  get status(): string {
    return this.client?.status ?? 'closed';
  }

  /**
   * Opens both clients, defines the scripts and subscribes to the cluster's channels.
   * `onReady` runs each time the command client is ready: after a reconnect (perhaps to a
   * restarted, empty Redis) waiting runs try again at once. Rejects with a
   * TaskbufferError (Redis's own error as `cause`).
   */
  async open(onMessage: TMessageHandler, onReady: () => void): Promise<void> {
    const { url, givenClient } = this.target;
    const client = (this.client = givenClient ?? connect(url!));
    const subscriber = (this.subscriber = connect(url, givenClient));
    this.watch(client, onReady);
    this.watch(subscriber, onReady);
    for (const [name, script] of Object.entries(LUA_SCRIPTS)) {
      client.defineCommand(commandName(name as TScriptName), { numberOfKeys: script.keys, lua: script.lua });
    }
    this.onMessage = onMessage;
    subscriber.on('message', onMessage);
    await wrapped(subscriber.subscribe(...this.keys.channels), 'could not subscribe to the cluster\'s channels');
  }

  /**
   * Runs one of the Lua scripts (redis.lua.ts). Rejects with a CoordinatorStoppedError
   * when the connection is closed, and with a CoordinatorError (Redis's error as `cause`)
   * when Redis fails it: nothing raw from ioredis reaches a caller.
   */
  call(name: TScriptName, keys: string[], args: Array<string | number>): Promise<unknown> {
    const client = this.client;
    if (client === undefined) return Promise.reject(new CoordinatorStoppedError(`RedisCoordinator is not started (or was stopped): cannot run ${name}`));
    const command = (client as unknown as Record<string, (...params: Array<string | number>) => Promise<unknown>>)[commandName(name)]!;
    return wrapped(command.call(client, ...keys, ...args), `Redis failed the ${name} script`);
  }

  /** Sends `message` on `channel`; rejects like `call`. */
  publish(channel: string, message: string): Promise<unknown> {
    const client = this.client;
    if (client === undefined) return Promise.reject(new CoordinatorStoppedError(`RedisCoordinator is not started (or was stopped): cannot publish on ${channel}`));
    return wrapped(client.publish(channel, message), `Redis failed to publish on ${channel}`);
  }

  /** Reports a failure as a TaskbufferError: ours as they are, Redis's wrapped with what failed. */
  report(error: unknown, what: string): void {
    // One message per outage is enough; the connection retries by itself.
    if (this.outageReported) return;
    this.outageReported = true;
    // A Redis failure `call` wrapped is re-wrapped with the caller's `what`, which says more.
    const cause = error instanceof RedisFailure ? error.cause : error;
    this.reportError(cause instanceof TaskbufferError ? cause : new CoordinatorError(what, cause));
  }

  /** Where the coordinator connects, for messages: the URL without its password, or the given client's host and port. */
  describeTarget(): string {
    const { url, givenClient } = this.target;
    if (url !== undefined) return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
    const { host, port, path } = (givenClient?.options ?? {}) as { host?: string; port?: number; path?: string };
    return path ?? `${host ?? '?'}:${port ?? '?'} (the given ioredis client)`;
  }

  /** The message of the last connection error, if the connection has failed since it opened. */
  get lastError(): string | undefined {
    return this.lastConnectionError?.message;
  }

  /** Redis answered again: the next failure is a new outage, reported again. */
  recovered(): void {
    this.outageReported = false;
  }

  /** After stop(), while runs still hold something: the sockets stop keeping the process alive. */
  linger(): void {
    this.lingering = true;
    this.unrefSockets();
  }

  /** Closes what open() opened; a given client is only left, not closed. */
  async close(graceMs: number): Promise<void> {
    const client = this.client;
    const subscriber = this.subscriber;
    if (client === undefined || subscriber === undefined) return;
    this.client = undefined;
    this.subscriber = undefined;
    this.lingering = false;
    subscriber.off('message', this.onMessage!);
    subscriber.disconnect();
    if (this.target.givenClient === undefined) {
      if (client.status === 'ready') await quietly(withTimeout(client.quit(), graceMs, 'closing the connection'));
      client.disconnect();
    }
  }

  private watch(client: Redis, onReady: () => void): void {
    client.on('error', (error: Error) => {
      this.lastConnectionError = error;
      this.report(error, 'Redis connection failed (reconnecting)');
    });
    client.on('ready', () => {
      this.outageReported = false;
      this.lastConnectionError = undefined;
      if (this.lingering) this.unrefSockets();
      // Commands go through the command client only: the subscriber being back says nothing about them.
      if (client === this.client) onReady();
    });
  }

  private unrefSockets(): void {
    for (const client of [this.client, this.subscriber]) unrefHandle((client as unknown as { stream?: unknown } | undefined)?.stream);
  }
}

/**
 * A client that waits through outages instead of failing commands (they queue until Redis
 * is back): a copy of `template` when given (its host, auth and TLS), else one for `url`.
 */
export function connect(url: string | undefined, template?: Redis): Redis {
  const options = { maxRetriesPerRequest: null, enableOfflineQueue: true, lazyConnect: false } as const;
  return template !== undefined ? template.duplicate(options) : new Redis(url!, options);
}

/** Redis failures as CoordinatorErrors; ours (already TaskbufferErrors) pass as they are. */
function wrapped<T>(promise: Promise<T>, what: string): Promise<T> {
  return promise.catch((error: unknown) => {
    throw error instanceof TaskbufferError ? error : new RedisFailure(what, error);
  });
}

/** A CoordinatorError around an error of ioredis or Redis, which `report` may re-wrap with more context. */
class RedisFailure extends CoordinatorError {}

function commandName(name: TScriptName): string {
  return `taskbuffer_${name}`;
}

/**
 * Rejects when `promise` has not settled within `ms`, with a ClusterUnreachableError whose
 * message starts with `what`, or with the error `what` makes.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string | (() => Error)): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(typeof what === 'string' ? new ClusterUnreachableError(`${what}: Redis did not answer within ${ms} ms`, ms) : what()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Node timers and sockets can stop keeping the process alive; elsewhere this does nothing. */
export function unrefHandle(handle: unknown): void {
  (handle as { unref?: () => void } | undefined)?.unref?.();
}

async function quietly(promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch {
    // Closing a connection that is already gone is not worth an error.
  }
}
