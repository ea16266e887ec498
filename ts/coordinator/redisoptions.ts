import { hostname } from 'node:os';
import { InvalidOptionError, type TaskbufferError } from '../errors.js';
import { assertNonEmptyString, assertPositiveInteger, describeValue } from '../internal/validate.js';
import { Redis } from './ioredis.js';

/** Options of `new RedisCoordinator(...)`. */
export interface IRedisCoordinatorOptions {
  /** A connection URL (`redis://host:6379/0`) or an ioredis client (which stays yours to close). */
  redis: string | Redis;
  /**
   * Identifies this instance in the cluster.
   * @default `${hostname}:${pid}:${random}`
   */
  instanceId?: string;
  /**
   * How long a tick, a slot or this instance's presence is held without renewal (renewed
   * every third of it; at least 150). A dead instance's ticks are taken over and its slots freed after
   * at most this long. Longer survives longer pauses (GC, a slow network); shorter
   * recovers faster.
   * @default 10_000
   */
  leaseMs?: number;
  /**
   * How long `manager.start()` waits for Redis to answer (connecting, subscribing, the
   * first heartbeat) before it rejects with a `ClusterUnreachableError` and closes what it
   * opened. Once started, an outage never fails the instance; this only bounds the boot.
   * @default 10_000
   */
  connectTimeoutMs?: number;
  /**
   * Prefix of every key and channel, so that several clusters can share one Redis.
   * @default 'taskbuffer'
   */
  keyPrefix?: string;
  /**
   * Publish this instance's task events for `clusterEventSubject` of every instance.
   * @default true
   */
  publishEvents?: boolean;
  /**
   * Receives connection problems and failed Redis calls as a `CoordinatorError` (`cause`
   * is Redis's error; the coordinator keeps going and retries), once per outage, and the
   * first error of each `clusterEventSubject` subscriber that throws, as a `SubscriberError`.
   * @default logs with console.error
   */
  onError?: (error: TaskbufferError) => void;
}

/** Where the coordinator connects: exactly one of the two is set. */
export interface IRedisTarget {
  /** A URL: the coordinator opens its connections and closes them on stop(). */
  url: string | undefined;
  /** The user's client: commands go through it, and it stays theirs to close. */
  givenClient: Redis | undefined;
}

/** The options checked, with every default filled in. */
export interface IRedisSettings extends IRedisTarget {
  instanceId: string;
  leaseMs: number;
  connectTimeoutMs: number;
  keyPrefix: string;
  publishEvents: boolean;
  onError: (error: TaskbufferError) => void;
}

const OWNER = 'RedisCoordinator';
const DEFAULT_LEASE_MS = 10_000;
const MIN_LEASE_MS = 150;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Checks the options of `new RedisCoordinator(options)` where they enter; `options` itself stays as it is. */
export function resolveRedisOptions(options: IRedisCoordinatorOptions): IRedisSettings {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', options, `new RedisCoordinator(options): expected an options object, got ${describeValue(options)}`);
  }
  const target = redisTargetOf(OWNER, options.redis);
  if (options.instanceId !== undefined) assertNonEmptyString(OWNER, 'instanceId', options.instanceId);
  if (options.leaseMs !== undefined) assertLeaseMs(options.leaseMs);
  if (options.connectTimeoutMs !== undefined) assertPositiveInteger(OWNER, 'connectTimeoutMs', options.connectTimeoutMs);
  if (options.keyPrefix !== undefined) assertNonEmptyString(OWNER, 'keyPrefix', options.keyPrefix);
  return {
    ...target,
    instanceId: options.instanceId ?? defaultInstanceId(),
    leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    keyPrefix: options.keyPrefix ?? 'taskbuffer',
    publishEvents: options.publishEvents ?? true,
    onError: options.onError ?? ((error) => console.error(`taskbuffer RedisCoordinator: ${error.message}`)),
  };
}

/** Checks a `redis` option (a redis:// or rediss:// URL, or an ioredis client); `owner` names the class in messages. */
export function redisTargetOf(owner: string, redis: unknown): IRedisTarget {
  if (typeof redis === 'string' && /^rediss?:\/\//.test(redis)) return { url: redis, givenClient: undefined };
  if (redis instanceof Redis) return { url: undefined, givenClient: redis };
  throw new InvalidOptionError('redis', redis,
    `${owner}: expected \`redis\` to be a redis:// or rediss:// URL or an ioredis client, got ${describeValue(redis)}`);
}

/** The default instance id: the host, the process and a few random characters. */
export function defaultInstanceId(): string {
  return `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
}

function assertLeaseMs(leaseMs: unknown): void {
  assertPositiveInteger(OWNER, 'leaseMs', leaseMs);
  if (leaseMs < MIN_LEASE_MS) {
    throw new InvalidOptionError('leaseMs', leaseMs,
      `${OWNER}: expected \`leaseMs\` to be at least ${MIN_LEASE_MS} (leases are renewed every third of it), got ${leaseMs}`);
  }
}
