import type { Subject } from 'rxjs';
import { IsolatedSubject } from '../internal/isolatedsubject.js';
import {
  AbstractDistributedCoordinator,
  type IClusterSlot,
  type IClusterSlots,
  type ICoordinatedManager,
  type IDistributedTaskRequest,
  type IDistributedTaskRequestResult,
} from './abstract.js';
import { ClusterUnreachableError } from './errors.js';
import { RedisConnection, unrefHandle, withTimeout, type ICoordinatorContext } from './redisconnection.js';
import { ClusterEventRelay, type IClusterTaskEvent } from './redisevents.js';
import { RedisKeys } from './rediskeys.js';
import { resolveRedisOptions, type IRedisCoordinatorOptions } from './redisoptions.js';
import type { IClusterInstance } from './clusterinstance.js';
import { RedisPresence } from './redispresence.js';
import { RedisSlots } from './redisslots.js';
import { RedisTicks } from './redisticks.js';

/**
 * Runs N TaskManager instances as one on a shared Redis: each cron tick runs on one
 * instance (taken over when its owner dies), constraint groups with `scope: 'cluster'`
 * hold across instances, and every instance's task events reach `clusterEventSubject`.
 * Pass it as `new TaskManager({ distributedCoordinator })`; `manager.start()` connects it.
 */
export class RedisCoordinator extends AbstractDistributedCoordinator implements IClusterSlots {
  readonly leaseMs: number;
  /** How long `start()` waits for Redis before it rejects with a ClusterUnreachableError. */
  readonly connectTimeoutMs: number;
  readonly keyPrefix: string;
  /**
   * Task events of every instance (this one included), each with its `instanceId`. A
   * subscriber that throws is reported to `onError`, once, and never reaches the others.
   */
  readonly clusterEventSubject: Subject<IClusterTaskEvent>;

  private readonly ownId: string;
  private readonly publishEvents: boolean;
  private readonly keys: RedisKeys;
  private readonly connection: RedisConnection;
  private readonly ticks: RedisTicks;
  private readonly slots: RedisSlots;
  private readonly presence: RedisPresence;
  private readonly events: ClusterEventRelay;
  private manager: ICoordinatedManager | undefined;
  private running = false;
  private renewTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: IRedisCoordinatorOptions) {
    super();
    const settings = resolveRedisOptions(options);
    this.ownId = settings.instanceId;
    this.leaseMs = settings.leaseMs;
    this.connectTimeoutMs = settings.connectTimeoutMs;
    this.keyPrefix = settings.keyPrefix;
    this.publishEvents = settings.publishEvents;
    this.keys = new RedisKeys(settings.keyPrefix, settings.instanceId);
    this.connection = new RedisConnection(settings, this.keys, settings.onError);
    this.clusterEventSubject = new IsolatedSubject<IClusterTaskEvent>('RedisCoordinator.clusterEventSubject', (error) => settings.onError(error));
    // The parts share this one view of the coordinator; each keeps its own state.
    const context: ICoordinatorContext = {
      connection: this.connection,
      keys: this.keys,
      instanceId: this.ownId,
      leaseMs: this.leaseMs,
      isRunning: () => this.running,
      letGo: () => this.closeIfDone(),
      takeEvents: () => this.events.takeBatch(),
    };
    this.ticks = new RedisTicks(context);
    this.slots = new RedisSlots(context);
    this.presence = new RedisPresence(context, () => this.manager);
    this.events = new ClusterEventRelay(context, this.clusterEventSubject);
  }

  override get instanceId(): string {
    return this.ownId;
  }

  override get clusterSlots(): IClusterSlots {
    return this.slots;
  }

  override bindManager(manager: ICoordinatedManager): void {
    this.manager = manager;
  }

  // ---- lifecycle ----------------------------------------------------------------------

  /**
   * Connects and joins the cluster. Rejects with a ClusterUnreachableError when Redis does
   * not answer within `connectTimeoutMs` (or with a CoordinatorError when it refuses),
   * having closed what it opened, so that nothing keeps the process alive.
   */
  override async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.presence.joining();
    try {
      await withTimeout(this.join(), this.connectTimeoutMs, () => new ClusterUnreachableError(
        `RedisCoordinator could not reach Redis at ${this.connection.describeTarget()} within connectTimeoutMs ` +
          `(${this.connectTimeoutMs} ms; connection: ${this.connection.status}` +
          `${this.connection.lastError === undefined ? '' : `, last error: ${this.connection.lastError}`})`,
        this.connectTimeoutMs,
      ));
    } catch (error) {
      this.running = false;
      await this.connection.close(0);
      throw error;
    }
    if (this.publishEvents && this.manager !== undefined) this.events.publishFrom(this.manager);
    this.renewTimer = setInterval(() => void this.renew(), Math.floor(this.leaseMs / 3));
    this.slots.startPolling();
  }

  private async join(): Promise<void> {
    await this.connection.open(this.onMessage, () => this.slots.poll());
    await this.presence.heartbeat();
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
    this.slots.stopPolling();
    this.events.stopPublishing();
    this.ticks.wakeClaims();
    this.slots.rejectWaiting();
    // Releases wait for the end of the event loop's turn to go out together; at stop they
    // go now, before the caller may close a client it gave, and Redis gets a bounded moment.
    const released = this.slots.sendReleases();
    if (this.connection.isReady) await withTimeout(released, this.closeGraceMs(), 'releasing cluster slots on stop()').catch(() => {});
    await this.presence.leave(this.closeGraceMs());
    if (this.slots.holding || this.ticks.holding) {
      // Renewal goes on for the runs still holding something, until they end, without
      // keeping the process alive (timer and sockets unref'd): a process that exits ends
      // the renewal, and other instances take over after one lease, as after a crash.
      unrefHandle(this.renewTimer);
      this.connection.linger();
      return;
    }
    await this.close();
  }

  /** Closes what `start()` opened, once nothing is held any more. */
  private async close(): Promise<void> {
    if (!this.connection.isOpen) return;
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    await this.connection.close(this.closeGraceMs());
  }

  /** After stop(): the last held slot or tick was let go, so the connections can close. */
  private closeIfDone(): void {
    if (!this.running && !this.slots.holding && !this.ticks.holding) void this.close();
  }

  // With Redis unreachable there is nothing to release (leases expire by themselves), and
  // waiting for it would make stop() hang: it gets a bounded moment.
  private closeGraceMs(): number {
    return Math.min(2_000, this.leaseMs);
  }

  /** Renews every tick and slot this instance holds, and its presence; re-asserts them after a Redis restart. */
  private async renew(): Promise<void> {
    try {
      if (this.running) await this.presence.heartbeat();
      await this.ticks.renew();
      await this.slots.renew();
      this.connection.recovered();
    } catch (error) {
      this.connection.report(error, 'could not renew the leases of this instance (retrying)');
    }
  }

  /** Every channel arrives on the one subscriber: grants start runs, wakes make waiters ask, events go to the relay. */
  private readonly onMessage = (channel: string, message: string): void => {
    if (channel === this.keys.grantsChannel) this.slots.granted(message);
    else if (channel === this.keys.eventsChannel) this.events.receive(message);
    else if (channel === this.keys.slotsChannel) this.slots.wake(message);
    else if (channel === this.keys.sharesChannel) this.slots.shareChanged(message);
  };

  // ---- cron ticks -----------------------------------------------------------------------

  /**
   * Elects one instance per tick. The first to claim it runs it; the others keep the
   * request open and watch the owner's lease: when the tick is done they answer no, when
   * the owner died they claim it themselves and answer yes.
   */
  override fireDistributedTaskRequest(request: IDistributedTaskRequest): Promise<IDistributedTaskRequestResult> {
    return this.ticks.claim(request);
  }

  /** Records the tick's outcome (once: only its owner's report counts) and lets its lease go. */
  override updateDistributedTaskRequest(request: IDistributedTaskRequest): Promise<void> {
    return this.ticks.finish(request);
  }

  // ---- cluster slots and view -----------------------------------------------------------

  /** The same as `clusterSlots.acquire` (the coordinator was its own `clusterSlots` before). */
  acquire(slot: IClusterSlot, holder: string, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<void> {
    return this.slots.acquire(slot, holder, signal, timeoutMs);
  }

  /** The same as `clusterSlots.release`. */
  release(slot: IClusterSlot, holder: string, ran: boolean): void {
    this.slots.release(slot, holder, ran);
  }

  /** Live instances (heartbeat within 3 × leaseMs), each with its tasks and those running at its last heartbeat. */
  getInstances(): Promise<IClusterInstance[]> {
    return this.presence.list();
  }
}
