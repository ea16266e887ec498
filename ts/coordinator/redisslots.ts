import { AbortError, messageOf } from '../errors.js';
import type { IClusterSlot, IClusterSlots } from './abstract.js';
import { ClusterUnreachableError, CoordinatorStoppedError, describeWaitedSlot, type IWaitedSlot } from './errors.js';
import type { ICoordinatorContext } from './redisconnection.js';

/** A run of this instance waiting for a cluster slot. */
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

/**
 * The cluster slots of one instance (`clusterSlots`): the runs waiting for a slot, the
 * slots its runs hold, and the Redis calls that take and give them back. A release
 * anywhere in the cluster is announced on the `slots` channel and wakes the waiters of
 * its key at once; a slow poll covers a lost message.
 */
export class RedisSlots implements IClusterSlots {
  /** Slots held by runs of this instance: slot key → holders. */
  private readonly held = new Map<string, Set<string>>();
  /** Runs waiting for a slot, per slot key, in arrival order. */
  private readonly waiters = new Map<string, Set<ISlotWaiter>>();
  private pollTimer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly context: ICoordinatorContext) {}

  /** Whether runs of this instance hold a slot (after stop(), the connections stay open until none does). */
  get holding(): boolean {
    return this.held.size > 0;
  }

  acquire(slot: IClusterSlot, holder: string, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const slotKey = this.context.keys.slot(slot);
      if (!this.context.isRunning()) {
        return reject(new CoordinatorStoppedError(
          `RedisCoordinator is not started, so cluster slot ${JSON.stringify(slot.key)} of group ${JSON.stringify(slot.groupName)} ` +
            'cannot be taken: call manager.start() before triggering cluster-scoped work',
          { groupName: slot.groupName, key: slot.key, waiting: 1 },
        ));
      }
      const waiter: ISlotWaiter = { slot, slotKey, holder, resolve, reject, inFlight: false, wakeRequested: false, timer: undefined, deadline: undefined, signal, onAbort: undefined };
      if (signal !== undefined) this.failOnAbort(waiter, signal);
      if (timeoutMs !== undefined) this.armDeadline(waiter, timeoutMs);
      this.enqueue(waiter);
    });
  }

  release(slot: IClusterSlot, holder: string, ran: boolean): void {
    const { connection, keys } = this.context;
    const slotKey = keys.slot(slot);
    const holders = this.held.get(slotKey);
    holders?.delete(holder);
    if (holders?.size === 0) this.held.delete(slotKey);
    if (!connection.isOpen) return;
    connection.call('releaseSlot', [slotKey, keys.cooldown(slot)], [holder, slot.cooldownMs, ran ? 1 : 0, keys.slotsChannel, slotKey])
      .catch((error: unknown) => connection.report(error, `could not release cluster slot ${JSON.stringify(slot.key)} of group ${JSON.stringify(slot.groupName)} (its lease expires by itself)`))
      .finally(() => this.context.letGo());
  }

  /** A slot of `slotKey` was freed somewhere in the cluster (the `slots` channel): its next waiter asks. */
  wake(slotKey: string): void {
    this.tryNextWaiter(slotKey);
  }

  /** The first waiter of every key asks again, unless it waits for a cooldown to end. */
  poll(): void {
    for (const waiters of this.waiters.values()) {
      const first = waiters.values().next().value;
      if (first !== undefined && first.timer === undefined) this.tryAcquire(first);
    }
  }

  startPolling(): void {
    // Pub/sub wakes waiting runs at once; this slow poll only covers a lost message.
    const { leaseMs } = this.context;
    this.pollTimer = setInterval(() => this.poll(), Math.max(250, Math.min(1000, Math.floor(leaseMs / 2))));
  }

  stopPolling(): void {
    clearInterval(this.pollTimer);
  }

  /** On stop(): every run still waiting is rejected with a CoordinatorStoppedError. */
  rejectWaiting(): void {
    for (const waiters of [...this.waiters.values()]) {
      const first = waiters.values().next().value;
      if (first === undefined) continue;
      // Counted once, before any of them is let go: each error names how many waited.
      const slot = this.waitedSlot(first);
      const message = `RedisCoordinator stopped before cluster slot ${describeWaitedSlot(slot)} was free`;
      for (const waiter of [...waiters]) this.failWaiter(waiter, new CoordinatorStoppedError(message, slot));
    }
  }

  /** Renews the lease of every slot held here (re-adding it after a Redis restart). */
  async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const { connection, leaseMs } = this.context;
    const args: string[] = [];
    for (const [slotKey, holders] of this.held) for (const holder of holders) args.push(slotKey, holder);
    await connection.call('renewSlots', [], [leaseMs, ...args]);
  }

  private enqueue(waiter: ISlotWaiter): void {
    let waiters = this.waiters.get(waiter.slotKey);
    if (waiters === undefined) this.waiters.set(waiter.slotKey, (waiters = new Set()));
    waiters.add(waiter);
    // Up to `maxConcurrent` waiters of a key ask at once, so a cap of 10 can fill from one instance.
    if (waiters.size <= waiter.slot.maxConcurrent) this.tryAcquire(waiter);
  }

  /** Tries the first waiter of a slot key; on success the next one gets its turn. */
  private tryAcquire(waiter: ISlotWaiter): void {
    if (!this.context.isRunning()) return;
    if (waiter.inFlight) {
      waiter.wakeRequested = true;
      return;
    }
    waiter.inFlight = true;
    waiter.wakeRequested = false;
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.timer = undefined;
    const { connection, keys, leaseMs } = this.context;
    const { slot, slotKey, holder } = waiter;
    const max = slot.maxConcurrent === Number.POSITIVE_INFINITY ? -1 : slot.maxConcurrent;
    connection.call('acquireSlot', [slotKey, keys.cooldown(slot)], [holder, max, leaseMs]).then(
      (reply) => this.answered(waiter, reply),
      (error: unknown) => {
        waiter.inFlight = false;
        connection.report(error, `could not ask for cluster slot ${describeWaitedSlot(this.waitedSlot(waiter))} (retrying)`);
      },
    );
  }

  /** Redis answered a waiter: it holds the slot now, or waits for a wake, the poll or the cooldown's end. */
  private answered(waiter: ISlotWaiter, reply: unknown): void {
    waiter.inFlight = false;
    const [granted, cooldownLeft] = reply as [number, number];
    if (!this.waiters.get(waiter.slotKey)?.has(waiter)) {
      // Given up (aborted, timed out) while Redis answered: hand the slot straight back.
      if (granted === 1) this.release(waiter.slot, waiter.holder, false);
      return;
    }
    if (granted !== 1) {
      if (waiter.wakeRequested) this.tryAcquire(waiter);
      else if (cooldownLeft > 0) waiter.timer = setTimeout(() => this.tryAcquire(waiter), cooldownLeft);
      return;
    }
    this.removeWaiter(waiter);
    let holders = this.held.get(waiter.slotKey);
    if (holders === undefined) this.held.set(waiter.slotKey, (holders = new Set()));
    holders.add(waiter.holder);
    waiter.resolve();
    this.tryNextWaiter(waiter.slotKey);
  }

  private failOnAbort(waiter: ISlotWaiter, signal: AbortSignal): void {
    waiter.onAbort = () => this.failWaiter(waiter, new AbortError(
      `waiting for cluster slot ${describeWaitedSlot(this.waitedSlot(waiter))} was aborted: ${messageOf(signal.reason)}`, signal.reason));
    signal.addEventListener('abort', waiter.onAbort, { once: true });
  }

  /**
   * A trigger's `timeoutMs` does not limit waiting for a busy slot (as with local
   * groups); it limits waiting for a Redis that does not answer.
   */
  private armDeadline(waiter: ISlotWaiter, timeoutMs: number): void {
    const { connection } = this.context;
    waiter.deadline = setTimeout(() => {
      if (connection.isReady) return this.armDeadline(waiter, timeoutMs);
      const slot = this.waitedSlot(waiter);
      this.failWaiter(waiter, new ClusterUnreachableError(
        `no cluster slot ${describeWaitedSlot(slot)} within ${timeoutMs} ms: Redis is unreachable (connection: ${connection.status})`,
        timeoutMs,
        slot,
      ));
    }, timeoutMs);
  }

  /** Lets the first waiter of a key that is not asking already ask (or the first one again). */
  private tryNextWaiter(slotKey: string): void {
    const waiters = this.waiters.get(slotKey);
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
    return { groupName: waiter.slot.groupName, key: waiter.slot.key, waiting: this.waiters.get(waiter.slotKey)?.size ?? 1 };
  }

  private removeWaiter(waiter: ISlotWaiter): boolean {
    const waiters = this.waiters.get(waiter.slotKey);
    if (waiters === undefined || !waiters.delete(waiter)) return false;
    if (waiters.size === 0) this.waiters.delete(waiter.slotKey);
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    if (waiter.deadline !== undefined) clearTimeout(waiter.deadline);
    if (waiter.onAbort !== undefined) waiter.signal!.removeEventListener('abort', waiter.onAbort);
    return true;
  }
}
