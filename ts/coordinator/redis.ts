import { hostname } from 'node:os';
import { Redis } from './ioredis.js';
import type { Subject, Subscription } from 'rxjs';
import { AbortError, CoordinatorError, InvalidOptionError, messageOf, TaskbufferError } from '../errors.js';
import type { ITaskEvent } from '../events.js';
import { IsolatedSubject } from '../internal/isolatedsubject.js';
import { ClusterUnreachableError, CoordinatorStoppedError, describeWaitedSlot, type IWaitedSlot } from './errors.js';
import { assertNonEmptyString, assertPositiveInteger, describeValue } from '../internal/validate.js';
import {
  AbstractDistributedCoordinator,
  type IClusterSlot,
  type IClusterSlots,
  type ICoordinatedManager,
  type IDistributedTaskRequest,
  type IDistributedTaskRequestResult,
} from './abstract.js';
import { LUA_SCRIPTS } from './redis.lua.js';

export { ClusterUnreachableError, CoordinatorStoppedError, MissingDependencyError } from './errors.js';

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

/** A task event of some instance of the cluster. */
export type IClusterTaskEvent = ITaskEvent & { instanceId: string };

/** A live instance of the cluster, as `getInstances()` lists it. */
export interface IClusterInstance {
  instanceId: string;
  host: string;
  pid: number;
  startedAt: number;
  /** When it last renewed its presence (Redis's clock, epoch ms). */
  lastHeartbeat: number;
  /** Names of its tasks that were running at that heartbeat. */
  runningTasks: string[];
}

interface ISlotWaiter {
  slot: IClusterSlot;
  slotKey: string;
  holder: string;
  resolve: () => void;
  reject: (error: unknown) => void;
  inFlight: boolean;
  /** A release was announced while an attempt was in flight: try again as soon as it answers. */
  wakeRequested: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  deadline: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface IHeldTick {
  leaseKey: string;
  doneKey: string;
}

type TScriptName = keyof typeof LUA_SCRIPTS;

const DEFAULT_LEASE_MS = 10_000;
const MIN_LEASE_MS = 150;
/** A finished tick is remembered this long at least, so that instances whose clocks run behind skip it. */
const MIN_DONE_TTL_MS = 60_000;

/**
 * Runs N TaskManager instances as one on a shared Redis: each cron tick runs on one
 * instance (taken over when its owner dies), constraint groups with `scope: 'cluster'`
 * hold across instances, and every instance's task events reach `clusterEventSubject`.
 * Pass it as `new TaskManager({ distributedCoordinator })`; `manager.start()` connects it.
 */
export class RedisCoordinator extends AbstractDistributedCoordinator implements IClusterSlots {
  readonly leaseMs: number;
  readonly keyPrefix: string;
  /**
   * Task events of every instance (this one included), each with its `instanceId`. A
   * subscriber that throws is reported to `onError`, once, and never reaches the others.
   */
  readonly clusterEventSubject: Subject<IClusterTaskEvent> = new IsolatedSubject<IClusterTaskEvent>(
    'RedisCoordinator.clusterEventSubject',
    (error) => this.reportError(error),
  );

  private readonly ownId: string;
  private readonly publishEvents: boolean;
  private readonly reportError: (error: TaskbufferError) => void;
  private readonly givenClient: Redis | undefined;
  private readonly url: string | undefined;
  private client: Redis | undefined;
  private subscriber: Redis | undefined;
  private manager: ICoordinatedManager | undefined;
  private eventSubscription: Subscription | undefined;
  private running = false;
  private startedAt = 0;
  private renewTimer: ReturnType<typeof setInterval> | undefined;
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private outageReported = false;
  /** Stopped, but runs that still go on hold slots or ticks: renewing them until they end. */
  private lingering = false;
  private readonly heldTicks = new Map<string, IHeldTick>();
  /** Slots held by runs of this instance: slot key → holders. */
  private readonly heldSlots = new Map<string, Set<string>>();
  /** Runs waiting for a slot, per slot key, in arrival order. */
  private readonly slotWaiters = new Map<string, Set<ISlotWaiter>>();
  private readonly sleepers = new Set<() => void>();

  constructor(options: IRedisCoordinatorOptions) {
    super();
    if (options === null || typeof options !== 'object') {
      throw new InvalidOptionError('options', options, `new RedisCoordinator(options): expected an options object, got ${describeValue(options)}`);
    }
    const owner = 'RedisCoordinator';
    if (typeof options.redis === 'string') {
      if (!/^rediss?:\/\//.test(options.redis)) {
        throw new InvalidOptionError('redis', options.redis,
          `${owner}: expected \`redis\` to be a redis:// or rediss:// URL or an ioredis client, got ${describeValue(options.redis)}`);
      }
      this.url = options.redis;
    } else if (options.redis instanceof Redis) {
      this.givenClient = options.redis;
    } else {
      throw new InvalidOptionError('redis', options.redis,
        `${owner}: expected \`redis\` to be a redis:// URL or an ioredis client, got ${describeValue(options.redis)}`);
    }
    if (options.instanceId !== undefined) assertNonEmptyString(owner, 'instanceId', options.instanceId);
    if (options.leaseMs !== undefined) {
      assertPositiveInteger(owner, 'leaseMs', options.leaseMs);
      if (options.leaseMs < MIN_LEASE_MS) {
        throw new InvalidOptionError('leaseMs', options.leaseMs,
          `${owner}: expected \`leaseMs\` to be at least ${MIN_LEASE_MS} (leases are renewed every third of it), got ${options.leaseMs}`);
      }
    }
    if (options.keyPrefix !== undefined) assertNonEmptyString(owner, 'keyPrefix', options.keyPrefix);
    this.ownId = options.instanceId ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.keyPrefix = options.keyPrefix ?? 'taskbuffer';
    this.publishEvents = options.publishEvents ?? true;
    this.reportError = options.onError ?? ((error) => console.error(`taskbuffer RedisCoordinator: ${error.message}`));
  }

  override get instanceId(): string {
    return this.ownId;
  }

  override get clusterSlots(): IClusterSlots {
    return this;
  }

  override bindManager(manager: ICoordinatedManager): void {
    this.manager = manager;
  }

  // ---- lifecycle ----------------------------------------------------------------------

  override async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.startedAt = Date.now();
    this.client = this.givenClient ?? this.connect(this.url!);
    this.subscriber = this.connect(this.url ?? undefined, this.givenClient);
    this.watchConnection(this.client);
    this.watchConnection(this.subscriber);
    for (const [name, script] of Object.entries(LUA_SCRIPTS)) {
      this.client.defineCommand(this.commandName(name as TScriptName), { numberOfKeys: script.keys, lua: script.lua });
    }
    this.subscriber.on('message', this.onMessage);
    await this.subscriber.subscribe(this.channel('events'), this.channel('slots'));
    await this.heartbeat();
    if (this.publishEvents && this.manager !== undefined) {
      this.eventSubscription = this.manager.taskSubject.subscribe((event) => this.publishEvent(event));
    }
    this.renewTimer = setInterval(() => void this.renew(), Math.floor(this.leaseMs / 3));
    // Pub/sub wakes waiting runs at once; this slow poll only covers a lost message.
    this.pollTimer = setInterval(() => this.pollWaiters(), Math.max(250, Math.min(1000, Math.floor(this.leaseMs / 2))));
  }

  /**
   * Leaves the cluster: stops watching ticks, heartbeats and waiting, and rejects runs
   * still waiting for a cluster slot. Slots and ticks of runs that still go on (a
   * `stop()` without drain lets them) stay held and renewed until those runs end, so no
   * other instance is let in early; then the connections close.
   */
  override async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.pollTimer);
    this.eventSubscription?.unsubscribe();
    for (const wake of [...this.sleepers]) wake();
    for (const waiters of [...this.slotWaiters.values()]) {
      const first = waiters.values().next().value;
      if (first === undefined) continue;
      // Counted once, before any of them is let go: each error names how many waited.
      const slot = this.waitedSlot(first);
      const message = `RedisCoordinator stopped before cluster slot ${describeWaitedSlot(slot)} was free`;
      for (const waiter of [...waiters]) this.failWaiter(waiter, new CoordinatorStoppedError(message, slot));
    }
    const client = this.client!;
    if (client.status === 'ready') {
      try {
        await withTimeout(this.call('releaseAll', [this.instancesKey(), this.instanceKey(this.ownId)], [this.ownId, this.channel('slots')]),
          this.closeGraceMs(), 'releasing the slots and ticks of this instance on stop()');
      } catch (error) {
        this.report(error, 'could not release the slots and ticks of this instance on stop() (their leases expire by themselves)');
      }
    }
    if (this.heldSlots.size > 0 || this.heldTicks.size > 0) {
      // Renewal goes on for the runs still holding something, until they end, without
      // keeping the process alive (timer and sockets unref'd): a process that exits ends
      // the renewal, and other instances take over after one lease, as after a crash.
      this.lingering = true;
      unrefHandle(this.renewTimer);
      this.unrefSockets();
      return;
    }
    await this.close();
  }

  private unrefSockets(): void {
    for (const client of [this.client, this.subscriber]) unrefHandle((client as unknown as { stream?: unknown } | undefined)?.stream);
  }

  /** Closes what `start()` opened, once nothing is held any more. */
  private async close(): Promise<void> {
    const client = this.client;
    const subscriber = this.subscriber;
    if (client === undefined || subscriber === undefined) return;
    this.client = undefined;
    this.subscriber = undefined;
    this.lingering = false;
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    subscriber.off('message', this.onMessage);
    subscriber.disconnect();
    if (this.givenClient === undefined) {
      if (client.status === 'ready') await quietly(withTimeout(client.quit(), this.closeGraceMs(), 'closing the connection'));
      client.disconnect();
    }
  }

  /** After stop(): the last held slot or tick was let go, so the connections can close. */
  private closeIfDone(): void {
    if (!this.running && this.heldSlots.size === 0 && this.heldTicks.size === 0) void this.close();
  }

  // With Redis unreachable there is nothing to release (leases expire by themselves), and
  // waiting for it would make stop() hang: it gets a bounded moment.
  private closeGraceMs(): number {
    return Math.min(2_000, this.leaseMs);
  }

  // ---- cron ticks -----------------------------------------------------------------------

  /**
   * Elects one instance per tick. The first to claim it runs it; the others keep the
   * request open and watch the owner's lease: when the tick is done they answer no, when
   * the owner died they claim it themselves and answer yes.
   */
  override async fireDistributedTaskRequest(request: IDistributedTaskRequest): Promise<IDistributedTaskRequestResult> {
    const tick: IHeldTick = { leaseKey: this.key('tick', request.taskName, String(request.scheduledAt), 'lease'), doneKey: this.key('tick', request.taskName, String(request.scheduledAt), 'done') };
    let watched = false;
    while (this.running) {
      let state: string;
      try {
        state = String(await this.call('claimTick', [tick.leaseKey, tick.doneKey], [this.ownId, this.leaseMs]));
      } catch (error) {
        this.report(error, `could not claim the tick of task ${JSON.stringify(request.taskName)} at ${new Date(request.scheduledAt).toISOString()} (retrying)`);
        await this.sleep(Math.min(1000, this.leaseMs));
        continue;
      }
      if (state === 'claimed') {
        this.heldTicks.set(tick.leaseKey, tick);
        return { ...request, shouldTrigger: true, considered: true, rank: 1, reason: watched ? 'took over from an instance that stopped renewing' : 'elected' };
      }
      if (state === 'done') return { ...request, shouldTrigger: false, considered: true, rank: 2, reason: 'another instance ran this tick' };
      watched = true;
      await this.sleep(Math.max(50, Math.floor(this.leaseMs / 2)));
    }
    return { ...request, shouldTrigger: false, considered: false, rank: 0, reason: 'the coordinator was stopped' };
  }

  /** Records the tick's outcome (once: only its owner's report counts) and lets its lease go. */
  override async updateDistributedTaskRequest(request: IDistributedTaskRequest): Promise<void> {
    if (request.status === 'requesting') return;
    const leaseKey = this.key('tick', request.taskName, String(request.scheduledAt), 'lease');
    const tick = this.heldTicks.get(leaseKey);
    if (tick === undefined) return;
    this.heldTicks.delete(leaseKey);
    const outcome = JSON.stringify({ status: request.status, instanceId: this.ownId, finishedAt: request.finishedAt ?? Date.now(), error: request.error });
    try {
      await this.call('finishTick', [tick.leaseKey, tick.doneKey], [this.ownId, outcome, Math.max(MIN_DONE_TTL_MS, 10 * this.leaseMs)]);
    } finally {
      this.closeIfDone();
    }
  }

  // ---- cluster slots ----------------------------------------------------------------------

  acquire(slot: IClusterSlot, holder: string, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const slotKey = this.slotKey(slot);
      if (!this.running) {
        return reject(new CoordinatorStoppedError(
          `RedisCoordinator is not started, so cluster slot ${JSON.stringify(slot.key)} of group ${JSON.stringify(slot.groupName)} ` +
            'cannot be taken: call manager.start() before triggering cluster-scoped work',
          { groupName: slot.groupName, key: slot.key, waiting: 1 },
        ));
      }
      const waiter: ISlotWaiter = { slot, slotKey, holder, resolve, reject, inFlight: false, wakeRequested: false, timer: undefined, deadline: undefined, signal, onAbort: undefined };
      if (signal !== undefined) {
        waiter.onAbort = () => this.failWaiter(waiter, new AbortError(
          `waiting for cluster slot ${describeWaitedSlot(this.waitedSlot(waiter))} was aborted: ${messageOf(signal.reason)}`, signal.reason));
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      if (timeoutMs !== undefined) this.armDeadline(waiter, timeoutMs);
      let waiters = this.slotWaiters.get(slotKey);
      if (waiters === undefined) this.slotWaiters.set(slotKey, (waiters = new Set()));
      waiters.add(waiter);
      // Up to `maxConcurrent` waiters of a key ask at once, so a cap of 10 can fill from one instance.
      if (waiters.size <= slot.maxConcurrent) this.tryAcquire(waiter);
    });
  }

  release(slot: IClusterSlot, holder: string, ran: boolean): void {
    const slotKey = this.slotKey(slot);
    const holders = this.heldSlots.get(slotKey);
    holders?.delete(holder);
    if (holders?.size === 0) this.heldSlots.delete(slotKey);
    if (this.client === undefined) return;
    this.call('releaseSlot', [slotKey, this.cooldownKey(slot)], [holder, slot.cooldownMs, ran ? 1 : 0, this.channel('slots'), slotKey])
      .catch((error: unknown) => this.report(error, `could not release cluster slot ${JSON.stringify(slot.key)} of group ${JSON.stringify(slot.groupName)} (its lease expires by itself)`))
      .finally(() => this.closeIfDone());
  }

  /** Tries the first waiter of a slot key; on success the next one gets its turn. */
  private tryAcquire(waiter: ISlotWaiter): void {
    if (!this.running) return;
    if (waiter.inFlight) {
      waiter.wakeRequested = true;
      return;
    }
    waiter.inFlight = true;
    waiter.wakeRequested = false;
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.timer = undefined;
    const { slot, slotKey, holder } = waiter;
    const max = slot.maxConcurrent === Number.POSITIVE_INFINITY ? -1 : slot.maxConcurrent;
    this.call('acquireSlot', [slotKey, this.cooldownKey(slot)], [holder, max, this.leaseMs]).then(
      (reply) => {
        waiter.inFlight = false;
        const [granted, cooldownLeft] = reply as [number, number];
        const waiters = this.slotWaiters.get(slotKey);
        if (waiters === undefined || !waiters.has(waiter)) {
          // Given up (aborted, timed out) while Redis answered: hand the slot straight back.
          if (granted === 1) this.release(slot, holder, false);
          return;
        }
        if (granted !== 1) {
          if (waiter.wakeRequested) this.tryAcquire(waiter);
          else if (cooldownLeft > 0) waiter.timer = setTimeout(() => this.tryAcquire(waiter), cooldownLeft);
          return;
        }
        this.removeWaiter(waiter);
        let holders = this.heldSlots.get(slotKey);
        if (holders === undefined) this.heldSlots.set(slotKey, (holders = new Set()));
        holders.add(holder);
        waiter.resolve();
        this.tryNextWaiter(slotKey);
      },
      (error: unknown) => {
        waiter.inFlight = false;
        this.report(error, `could not ask for cluster slot ${describeWaitedSlot(this.waitedSlot(waiter))} (retrying)`);
      },
    );
  }

  /**
   * A trigger's `timeoutMs` does not limit waiting for a busy slot (as with local
   * groups); it limits waiting for a Redis that does not answer.
   */
  private armDeadline(waiter: ISlotWaiter, timeoutMs: number): void {
    waiter.deadline = setTimeout(() => {
      if (this.client?.status === 'ready') return this.armDeadline(waiter, timeoutMs);
      const slot = this.waitedSlot(waiter);
      this.failWaiter(waiter, new ClusterUnreachableError(
        `no cluster slot ${describeWaitedSlot(slot)} within ${timeoutMs} ms: Redis is unreachable (connection: ${this.client?.status ?? 'closed'})`,
        timeoutMs,
        slot,
      ));
    }, timeoutMs);
  }

  /** Lets the first waiter of a key that is not asking already ask (or the first one again). */
  private tryNextWaiter(slotKey: string): void {
    const waiters = this.slotWaiters.get(slotKey);
    if (waiters === undefined) return;
    let first: ISlotWaiter | undefined;
    for (const waiter of waiters) {
      first ??= waiter;
      if (!waiter.inFlight) return this.tryAcquire(waiter);
    }
    if (first !== undefined) this.tryAcquire(first);
  }

  private failWaiter(waiter: ISlotWaiter, error: Error): void {
    if (!this.removeWaiter(waiter)) return;
    waiter.reject(error);
    this.tryNextWaiter(waiter.slotKey);
  }

  /** The waiter's slot with how many runs of this instance wait for it, for errors. */
  private waitedSlot(waiter: ISlotWaiter): IWaitedSlot {
    return { groupName: waiter.slot.groupName, key: waiter.slot.key, waiting: this.slotWaiters.get(waiter.slotKey)?.size ?? 1 };
  }

  private removeWaiter(waiter: ISlotWaiter): boolean {
    const waiters = this.slotWaiters.get(waiter.slotKey);
    if (waiters === undefined || !waiters.delete(waiter)) return false;
    if (waiters.size === 0) this.slotWaiters.delete(waiter.slotKey);
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    if (waiter.deadline !== undefined) clearTimeout(waiter.deadline);
    if (waiter.onAbort !== undefined) waiter.signal!.removeEventListener('abort', waiter.onAbort);
    return true;
  }

  private pollWaiters(): void {
    for (const waiters of this.slotWaiters.values()) {
      const first = waiters.values().next().value;
      if (first !== undefined && first.timer === undefined) this.tryAcquire(first);
    }
  }

  // ---- cluster view ---------------------------------------------------------------------

  /** Live instances (heartbeat within 3 × leaseMs), with their running tasks. */
  async getInstances(): Promise<IClusterInstance[]> {
    if (this.client === undefined) throw new CoordinatorStoppedError('getInstances: RedisCoordinator is not started (or was stopped)');
    const infos = (await this.call('listInstances', [this.instancesKey()], [3 * this.leaseMs, this.key('instance', '')])) as Array<string | null>;
    const instances: IClusterInstance[] = [];
    for (const info of infos) {
      if (info === null || info === false as unknown) continue;
      try {
        instances.push(JSON.parse(info) as IClusterInstance);
      } catch {
        // A record from an incompatible version: not ours to list.
      }
    }
    return instances.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
  }

  private publishEvent(event: ITaskEvent): void {
    if (this.client === undefined) return;
    this.client.publish(this.channel('events'), JSON.stringify({ instanceId: this.ownId, event }))
      .catch((error: unknown) => this.report(error, `could not publish a ${JSON.stringify(event.type)} event of task ${JSON.stringify(event.task.name)}`));
  }

  private readonly onMessage = (channel: string, message: string): void => {
    if (channel === this.channel('slots')) {
      this.tryNextWaiter(message);
      return;
    }
    if (channel !== this.channel('events') || !this.clusterEventSubject.observed) return;
    let event: IClusterTaskEvent;
    try {
      const received = JSON.parse(message) as { instanceId: string; event: ITaskEvent };
      event = { ...received.event, instanceId: received.instanceId };
    } catch (error) {
      return this.report(error, 'ignored a malformed cluster event');
    }
    // Outside the try: the subject isolates its subscribers and reports what they throw itself.
    this.clusterEventSubject.next(event);
  };

  // ---- leases ---------------------------------------------------------------------------

  private async heartbeat(): Promise<void> {
    const info = {
      instanceId: this.ownId,
      host: hostname(),
      pid: process.pid,
      startedAt: this.startedAt,
      runningTasks: this.manager?.runningTaskNames() ?? [],
    };
    await this.call('heartbeat', [this.instancesKey(), this.instanceKey(this.ownId)], [this.ownId, JSON.stringify(info), 3 * this.leaseMs]);
  }

  /** Renews every tick and slot this instance holds, and its presence; re-asserts them after a Redis restart. */
  private async renew(): Promise<void> {
    try {
      if (this.running) await this.heartbeat();
      if (this.heldTicks.size > 0) await this.call('renewTicks', [], [this.ownId, this.leaseMs, ...this.heldTickArgs()]);
      if (this.heldSlots.size > 0) await this.call('renewSlots', [], [this.leaseMs, ...this.heldSlotArgs()]);
      if (this.outageReported) this.outageReported = false;
    } catch (error) {
      this.report(error, 'could not renew the leases of this instance (retrying)');
    }
  }

  private heldTickArgs(): string[] {
    const args: string[] = [];
    for (const tick of this.heldTicks.values()) args.push(tick.leaseKey, tick.doneKey);
    return args;
  }

  private heldSlotArgs(): string[] {
    const args: string[] = [];
    for (const [slotKey, holders] of this.heldSlots) for (const holder of holders) args.push(slotKey, holder);
    return args;
  }

  // ---- plumbing -------------------------------------------------------------------------

  private connect(url: string | undefined, template?: Redis): Redis {
    const options = { maxRetriesPerRequest: null, enableOfflineQueue: true, lazyConnect: false } as const;
    return template !== undefined ? template.duplicate(options) : new Redis(url!, options);
  }

  private watchConnection(client: Redis): void {
    client.on('error', (error: Error) => this.report(error, 'Redis connection failed (reconnecting)'));
    client.on('ready', () => {
      this.outageReported = false;
      if (this.lingering) this.unrefSockets();
      // After a reconnect (perhaps to a restarted, empty Redis) waiting runs try again at once.
      if (client === this.client) this.pollWaiters();
    });
  }

  private call(name: TScriptName, keys: string[], args: Array<string | number>): Promise<unknown> {
    const client = this.client;
    if (client === undefined) return Promise.reject(new CoordinatorStoppedError(`RedisCoordinator is not started (or was stopped): cannot run ${name}`));
    const command = (client as unknown as Record<string, (...params: Array<string | number>) => Promise<unknown>>)[this.commandName(name)]!;
    return command.call(client, ...keys, ...args);
  }

  private commandName(name: TScriptName): string {
    return `taskbuffer_${name}`;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  /** Reports a failure as a TaskbufferError: ours as they are, Redis's wrapped with what failed. */
  private report(error: unknown, what: string): void {
    // One message per outage is enough; the connection retries by itself.
    if (this.outageReported) return;
    this.outageReported = true;
    this.reportError(error instanceof TaskbufferError ? error : new CoordinatorError(what, error));
  }

  private key(...parts: string[]): string {
    return [this.keyPrefix, ...parts].join(':');
  }

  private channel(name: string): string {
    return this.key('channel', name);
  }

  private instancesKey(): string {
    return this.key('instances');
  }

  private instanceKey(id: string): string {
    return this.key('instance', id);
  }

  private slotKey(slot: IClusterSlot): string {
    return this.key('slot', slot.groupName, slot.key);
  }

  private cooldownKey(slot: IClusterSlot): string {
    return this.key('cooldown', slot.groupName, slot.key);
  }
}

/** Rejects when `promise` has not settled within `ms`; `what` names the call in the error. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new ClusterUnreachableError(`${what}: Redis did not answer within ${ms} ms`, ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Node timers and sockets can stop keeping the process alive; elsewhere this does nothing. */
function unrefHandle(handle: unknown): void {
  (handle as { unref?: () => void } | undefined)?.unref?.();
}

async function quietly(promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch {
    // Closing a connection that is already gone is not worth an error.
  }
}
