import { CoordinatorError, TaskbufferError } from '../errors.js';
import type { Redis } from '../coordinator/ioredis.js';
import { connect, withTimeout } from '../coordinator/redisconnection.js';
import type { IRedisTarget } from '../coordinator/redisoptions.js';
import { QUEUE_SCRIPTS, type TQueueScript } from './queue.lua.js';
import { QueueStoppedError } from './queueerrors.js';

type TScriptCommand = (...args: Array<string | number>) => Promise<unknown>;

/**
 * A queue's two ioredis clients, each opened when first needed: one for commands and the
 * Lua scripts (a producer needs only this one), one subscribed to the queue's channels
 * (workers, `waitForResult` and `eventSubject` need it). Closed once, by `stop()`.
 */
export class QueueConnection {
  /** Every key and channel of the queue starts with this. */
  readonly prefix: string;
  private client: Redis | undefined;
  private subscriber: Redis | undefined;
  private readonly handlers = new Map<string, (message: string) => void>();
  private subscribed: Promise<unknown> = Promise.resolve();
  private closed = false;
  private outageReported = false;
  /** Runs after either client (re)connects: wake-ups sent meanwhile were lost. */
  onReady: () => void = () => {};
  /** Run once the subscriber is (again) subscribed after it connected: messages in between are lost. */
  readonly onResubscribed = new Set<() => void>();

  constructor(
    private readonly target: IRedisTarget,
    keyPrefix: string,
    queueName: string,
    private readonly reportError: (error: TaskbufferError) => void,
  ) {
    this.prefix = `${keyPrefix}:queue:${queueName}`;
  }

  /** A channel's full name. */
  channel(name: 'events' | 'wake' | 'cancel'): string {
    return `${this.prefix}:${name}`;
  }

  /** Runs a script with the queue's prefix as its first argument; failures become `CoordinatorError`s. */
  run(script: TQueueScript, args: Array<string | number>): Promise<unknown> {
    if (this.closed) return Promise.reject(new QueueStoppedError(`RedisTaskQueue ${JSON.stringify(this.prefix)} was stopped: cannot run ${script}`));
    const command = (this.commands() as unknown as Record<string, TScriptCommand>)[`taskbufferQueue_${script}`]!;
    return command.call(this.client, this.prefix, ...args).catch((error: unknown) => {
      throw error instanceof TaskbufferError ? error : new CoordinatorError(`RedisTaskQueue: the ${script} script failed`, error);
    });
  }

  /** A job's hash, or an empty object when there is none. */
  readJob(id: string): Promise<Record<string, string>> {
    if (this.closed) return Promise.reject(new QueueStoppedError(`RedisTaskQueue ${JSON.stringify(this.prefix)} was stopped: cannot read job ${JSON.stringify(id)}`));
    return this.commands().hgetall(`${this.prefix}:job:${id}`).catch((error: unknown) => {
      throw new CoordinatorError(`RedisTaskQueue: could not read job ${JSON.stringify(id)}`, error);
    });
  }

  /** Subscribes `handler` to a channel; resolves once Redis confirmed it. */
  listen(name: 'events' | 'wake' | 'cancel', handler: (message: string) => void): Promise<unknown> {
    const channel = this.channel(name);
    if (this.handlers.has(channel) || this.closed) return this.subscribed;
    this.handlers.set(channel, handler);
    const subscriber = this.openSubscriber();
    this.subscribed = this.subscribed.then(() => subscriber.subscribe(channel)).catch((error: unknown) => {
      // close() during the subscription ends it: nothing went wrong.
      if (!this.closed) this.report(error, `could not subscribe to ${channel}`);
    });
    return this.subscribed;
  }

  /**
   * Reports a failure. A lost connection makes every call fail until it is back: that is
   * reported once per outage (the connection retries by itself). A call that Redis answered
   * with an error (a script error, WRONGTYPE, OOM) is no outage and is reported each time.
   */
  report(error: unknown, what: string): void {
    const cause = error instanceof CoordinatorError ? error.cause : error;
    if (!(cause instanceof Error && cause.name === 'ReplyError')) {
      if (this.outageReported) return;
      this.outageReported = true;
    }
    this.reportError(error instanceof TaskbufferError ? error : new CoordinatorError(`RedisTaskQueue: ${what}`, error));
  }

  /** Closes both clients (a given client is left open: it is the user's). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const { client, subscriber } = this;
    this.client = this.subscriber = undefined;
    subscriber?.disconnect();
    if (client !== undefined && this.target.givenClient === undefined) {
      if (client.status === 'ready') await withTimeout(client.quit(), 1_000, 'closing the connection').catch(() => undefined);
      client.disconnect();
    }
  }

  private commands(): Redis {
    if (this.client !== undefined) return this.client;
    const given = this.target.givenClient;
    // A given client is shared with its owner: the queue's scripts get names of their own.
    const client = (this.client = given ?? connect(this.target.url));
    for (const [name, lua] of Object.entries(QUEUE_SCRIPTS)) {
      if ((client as unknown as Record<string, unknown>)[`taskbufferQueue_${name}`] === undefined) {
        client.defineCommand(`taskbufferQueue_${name}`, { numberOfKeys: 0, lua });
      }
    }
    this.watch(client);
    return client;
  }

  private openSubscriber(): Redis {
    if (this.subscriber !== undefined) return this.subscriber;
    const subscriber = (this.subscriber = connect(this.target.url, this.target.givenClient));
    subscriber.on('message', (channel: string, message: string) => this.handlers.get(channel)?.(message));
    // ioredis sends its resubscriptions before it tells 'ready': the PING answers after them.
    subscriber.on('ready', () => void subscriber.ping().then(() => this.onResubscribed.forEach((handler) => handler()), () => undefined));
    this.watch(subscriber);
    return subscriber;
  }

  private watch(client: Redis): void {
    // A given client already has its owner's listeners; ours only report and recover.
    client.on('error', (error: Error) => this.report(error, 'Redis connection failed (reconnecting)'));
    client.on('ready', () => {
      this.outageReported = false;
      // Either one back (perhaps to a restarted Redis): wake-ups may have been missed meanwhile.
      this.onReady();
    });
  }
}
