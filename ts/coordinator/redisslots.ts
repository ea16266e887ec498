import { AbortError, messageOf } from '../errors.js';
import type { IClusterSlot, IClusterSlots } from './abstract.js';
import { ClusterUnreachableError, CoordinatorStoppedError, describeWaitedSlot } from './errors.js';
import type { ICoordinatorContext } from './redisconnection.js';
import { SlotReleases } from './redisreleases.js';
import { SlotLines, type IKeyLine, type ISlotWaiter } from './redisslotlines.js';
import { SlotShares } from './redisshares.js';

/**
 * The cluster slots of one instance (`clusterSlots`): the runs waiting for a slot, the
 * slots its runs hold, and the Redis calls that take and give them back.
 *
 * Redis keeps a queue per slot key. A run asks once (acquireSlot): it gets the slot or is
 * queued. Releases (releaseSlot, batched by SlotReleases) hand the freed slots to this
 * instance's next runs while it holds less than its share of the cap, and grant the rest
 * to the first queued holders of any instance, each named on its instance's own grants
 * channel (this instance's come back in the script's reply): a granted run starts without
 * a round trip of its own, so under load a run costs at most one script call. Per key, an
 * instance has at most `maxConcurrent` runs holding or known to Redis; the rest wait
 * here. A slow poll asks again for the first waiter of each key, covering a lost message.
 */
export class RedisSlots implements IClusterSlots {
  /** Slots held by runs of this instance: slot key → holders. */
  private readonly held = new Map<string, Set<string>>();
  /** Runs waiting for a slot, per slot key. */
  private readonly lines = new SlotLines();
  private readonly shares = new SlotShares();
  private readonly releases: SlotReleases;
  /** Slots handed on here in this turn of the event loop (see HAND_OVERS_PER_TURN). */
  private handOvers = 0;
  private pollTimer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly context: ICoordinatorContext) {
    this.releases = new SlotReleases(context,
      (slotKey, count) => this.lines.takeLocal(slotKey, count, this.held.get(slotKey)?.size ?? 0),
      (slotKey, reply) => this.released(slotKey, reply),
      (slot, slotKey) => this.handOverReleased(slot, slotKey));
  }

  /** Whether runs of this instance hold a slot or are giving one back (after stop(), the connections stay open until none does). */
  get holding(): boolean {
    return this.held.size > 0 || this.releases.waiting;
  }

  acquire(slot: IClusterSlot, holder: string, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const { keys } = this.context;
      if (!this.context.isRunning()) {
        return reject(new CoordinatorStoppedError(
          `RedisCoordinator is not started, so cluster slot ${JSON.stringify(slot.key)} of group ${JSON.stringify(slot.groupName)} ` +
            'cannot be taken: call manager.start() before triggering cluster-scoped work',
          { groupName: slot.groupName, key: slot.key, waiting: 1 },
        ));
      }
      const waiter: ISlotWaiter = {
        slot, slotKey: keys.slot(slot), queueKey: keys.slotQueue(slot), holder, entry: this.queueEntry(holder), resolve, reject,
        state: 'local', wakeRequested: false, timer: undefined, deadline: undefined, signal, onAbort: undefined,
      };
      if (signal !== undefined) this.failOnAbort(waiter, signal);
      if (timeoutMs !== undefined) this.armDeadline(waiter, timeoutMs);
      const line = this.lines.add(waiter);
      if (this.hasRoom(line, waiter)) this.ask(waiter, line);
    });
  }

  /**
   * Gives the slot back, with the other releases of this turn of the event loop
   * (SlotReleases); or, within this instance's share of a slot without cooldown, hands it
   * straight to the next run waiting here, which starts without waiting for Redis.
   */
  release(slot: IClusterSlot, holder: string, ran: boolean): void {
    const { connection, keys } = this.context;
    const slotKey = keys.slot(slot);
    const holders = this.held.get(slotKey);
    // Only a slot held here can be handed on (a run that gave up while queued held none).
    const wasHeld = holders?.delete(holder) === true;
    const next = wasHeld && connection.isOpen ? this.handOverTo(slot, slotKey, holders!.size) : undefined;
    if (next !== undefined) {
      this.releases.transfer(slot, slotKey, holder, next.holder, next.entry);
      return this.grant(next);
    }
    if (holders?.size === 0) {
      this.held.delete(slotKey);
      // Nothing held or wanted here any more: the share is asked again when it matters.
      if (this.lines.get(slotKey) === undefined) this.shares.forget(slotKey);
    }
    if (connection.isOpen) this.releases.add(slot, slotKey, holder, this.queueEntry(holder), ran, wasHeld);
  }

  /** The run a freed slot goes to without asking Redis: the first one waiting here, while the instance holds less than its share. */
  private handOverTo(slot: IClusterSlot, slotKey: string, stillHeld: number): ISlotWaiter | undefined {
    // A cooldown is Redis's to keep; and a slot without cap is never short.
    if (slot.cooldownMs > 0 || slot.maxConcurrent === Number.POSITIVE_INFINITY || !this.context.isRunning()) return undefined;
    if (stillHeld >= this.shares.of(slotKey) || this.handOvers >= HAND_OVERS_PER_TURN) return undefined;
    const line = this.lines.get(slotKey);
    const next = line === undefined ? undefined : this.lines.firstToHandTo(line);
    if (next !== undefined && this.handOvers++ === 0) setImmediate(() => (this.handOvers = 0));
    return next;
  }

  /** A slot released in this turn, not sent to Redis yet, goes to a run that came to wait here meanwhile, if one can take it. */
  private handOverReleased(slot: IClusterSlot, slotKey: string): ISlotWaiter | undefined {
    const next = this.handOverTo(slot, slotKey, this.held.get(slotKey)?.size ?? 0);
    if (next !== undefined) this.grant(next);
    return next;
  }

  /** Redis ran a release batch: the share it reports, and the runs of this instance it granted slots to. */
  private released(slotKey: string, reply: unknown[]): void {
    this.shares.note(slotKey, reply[0]);
    this.grantAll(reply.slice(1) as string[]);
  }

  /** Another instance came to want a slot (the shares channel, `[slot key, share]`): runs here beyond the new share give theirs back. */
  shareChanged(message: string): void {
    try {
      this.shares.noteMessage(message);
    } catch (error) {
      this.context.connection.report(error, 'ignored a malformed message on the shares channel');
    }
  }

  /** Sends the releases of this turn now (on stop()); resolves once Redis ran them or failed. */
  sendReleases(): Promise<void> {
    return this.releases.sendAll();
  }

  /** A release or an ask somewhere in the cluster granted slots to holders of this instance (its grants channel, a JSON array). */
  granted(message: string): void {
    let holders: unknown;
    try {
      holders = JSON.parse(message);
    } catch (error) {
      return this.context.connection.report(error, 'ignored a malformed message on the grants channel');
    }
    if (Array.isArray(holders)) this.grantAll(holders as string[]);
  }

  /** Slots were granted to these holders of this instance: their runs start. */
  private grantAll(holders: string[]): void {
    for (const holder of holders) {
      const waiter = this.lines.waiterOf(holder);
      // Not waiting here (any more): a run that gave up sent a release after it, which frees the slot.
      if (waiter !== undefined) this.grant(waiter);
    }
  }

  /** Waiters of `slotKey` should ask again (the slots channel): the key cools down, or an instance left. */
  wake(slotKey: string): void {
    const line = this.lines.get(slotKey);
    if (line !== undefined) this.askFirst(line);
  }

  /** The first waiter of every key asks again, unless it waits for a cooldown to end. */
  poll(): void {
    for (const line of this.lines.all()) this.askFirst(line);
  }

  startPolling(): void {
    // Grants and wakes come by pub/sub at once; this slow poll only covers a lost message.
    const { leaseMs } = this.context;
    this.pollTimer = setInterval(() => this.poll(), Math.max(250, Math.min(1000, Math.floor(leaseMs / 2))));
  }

  stopPolling(): void {
    clearInterval(this.pollTimer);
  }

  /** On stop(): every run still waiting is rejected with a CoordinatorStoppedError. */
  rejectWaiting(): void {
    for (const line of [...this.lines.all()]) {
      const first = line.waiters.values().next().value;
      if (first === undefined) continue;
      // Counted once, before any of them is let go: each error names how many waited.
      const slot = this.lines.waitedSlot(first);
      const message = `RedisCoordinator stopped before cluster slot ${describeWaitedSlot(slot)} was free`;
      for (const waiter of [...line.waiters]) this.failWaiter(waiter, new CoordinatorStoppedError(message, slot));
    }
  }

  /** Renews the lease of every slot held here and of every wait in a queue (re-adding them after a Redis restart). */
  async renew(): Promise<void> {
    const args: string[] = [];
    for (const [slotKey, holders] of this.held) for (const holder of holders) args.push(slotKey, holder);
    for (const line of this.lines.all()) {
      for (const waiter of line.waiters) if (waiter.state === 'queued') args.push(waiter.queueKey, waiter.entry);
      // Runs wait here: the instance is still one of those the slot's share is counted over.
      const first = line.waiters.values().next().value;
      if (first !== undefined) args.push(this.context.keys.slotContenders(first.slot), this.context.keys.grantsChannel);
    }
    if (args.length === 0) return;
    const { connection, leaseMs } = this.context;
    await connection.call('renewSlots', [], [leaseMs, ...args]);
  }

  /** Whether a run of this key may ask Redis now: its instance has fewer than `maxConcurrent` holding or asking. */
  private hasRoom(line: IKeyLine, waiter: ISlotWaiter): boolean {
    return line.inPlay + (this.held.get(waiter.slotKey)?.size ?? 0) < waiter.slot.maxConcurrent;
  }

  /** Asks Redis for the slot: granted, queued, or told how long the key still cools down. */
  private ask(waiter: ISlotWaiter, line: IKeyLine): void {
    if (!this.context.isRunning()) return;
    if (waiter.state === 'asking') {
      waiter.wakeRequested = true;
      return;
    }
    this.lines.moveTo(waiter, line, 'asking');
    waiter.wakeRequested = false;
    const { connection, keys, leaseMs } = this.context;
    connection.call('acquireSlot', [waiter.slotKey, keys.cooldown(waiter.slot), waiter.queueKey, keys.slotContenders(waiter.slot)],
      [waiter.holder, waiter.entry, capOf(waiter.slot), leaseMs, keys.eventsChannel, this.context.takeEvents(), keys.grantsChannel, keys.sharesChannel]).then(
      (reply) => this.answered(waiter, line, reply),
      (error: unknown) => {
        if (waiter.state === 'asking') this.lines.moveTo(waiter, line, 'local');
        connection.report(error, `could not ask for cluster slot ${describeWaitedSlot(this.lines.waitedSlot(waiter))} (retrying)`);
      },
    );
  }

  /** Redis answered an ask: the run holds the slot now, waits in the queue, or waits for the cooldown's end. */
  private answered(waiter: ISlotWaiter, line: IKeyLine, reply: unknown): void {
    // Granted by a message first, or given up (its release, sent after the ask, frees what the ask took).
    const [granted, cooldownLeft, share] = reply as [number, number, number];
    this.shares.note(waiter.slotKey, share);
    if (waiter.state !== 'asking') return;
    if (granted === 1) return this.grant(waiter);
    if (cooldownLeft > 0) {
      this.lines.moveTo(waiter, line, 'cooling');
      waiter.timer = setTimeout(() => {
        waiter.timer = undefined;
        this.ask(waiter, line);
      }, cooldownLeft);
      return;
    }
    this.lines.moveTo(waiter, line, 'queued');
    if (waiter.wakeRequested) this.ask(waiter, line);
  }

  /** The run holds its slot: it starts. */
  private grant(waiter: ISlotWaiter): void {
    if (!this.lines.remove(waiter)) return;
    let holders = this.held.get(waiter.slotKey);
    if (holders === undefined) this.held.set(waiter.slotKey, (holders = new Set()));
    holders.add(waiter.holder);
    waiter.resolve();
  }

  /** The first waiter of a line that is queued or only here asks (again); one asking already asks once more. */
  private askFirst(line: IKeyLine): void {
    for (const waiter of line.waiters) {
      if (waiter.state === 'cooling') continue;
      if (waiter.state === 'local' && !this.hasRoom(line, waiter)) continue;
      return this.ask(waiter, line);
    }
  }

  /**
   * `holder` as an entry of a slot's queue: it names this instance's grants channel too,
   * with the holder's length in bytes first, so that Lua can split them (redis.lua.ts).
   */
  private queueEntry(holder: string): string {
    return `${Buffer.byteLength(holder)}:${holder}${this.context.keys.grantsChannel}`;
  }

  /** Lets the first waiters that only wait here ask, while the key has room for them. */
  private fill(line: IKeyLine): void {
    if (line.inPlay === line.waiters.size) return;
    for (const waiter of line.waiters) {
      if (waiter.state !== 'local') continue;
      if (!this.hasRoom(line, waiter)) return;
      this.ask(waiter, line);
    }
  }

  private failOnAbort(waiter: ISlotWaiter, signal: AbortSignal): void {
    waiter.onAbort = () => this.failWaiter(waiter, new AbortError(
      `waiting for cluster slot ${describeWaitedSlot(this.lines.waitedSlot(waiter))} was aborted: ${messageOf(signal.reason)}`, signal.reason));
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
      const slot = this.lines.waitedSlot(waiter);
      this.failWaiter(waiter, new ClusterUnreachableError(
        `no cluster slot ${describeWaitedSlot(slot)} within ${timeoutMs} ms: Redis is unreachable (connection: ${connection.status})`,
        timeoutMs,
        slot,
      ));
    }, timeoutMs);
  }

  /**
   * Rejects a waiting run. One Redis may know of (asking, queued) is released, which takes
   * it out of the queue or gives back the slot granted to it meanwhile.
   */
  private failWaiter(waiter: ISlotWaiter, error: Error): void {
    const knownToRedis = waiter.state === 'asking' || waiter.state === 'queued';
    if (!this.lines.remove(waiter)) return;
    waiter.reject(error);
    if (knownToRedis) this.release(waiter.slot, waiter.holder, false);
    else {
      const line = this.lines.get(waiter.slotKey);
      if (line !== undefined && this.context.isRunning()) this.fill(line);
    }
  }

}

/**
 * Runs handed a slot here start in the same turn of the event loop as the run before
 * them ended; after this many in one turn, the next slots go through Redis, so that a
 * long line yields to I/O (renewals, grants, shares) every few milliseconds.
 */
const HAND_OVERS_PER_TURN = 256;

/** The cap as the scripts take it: -1 for none. */
function capOf(slot: IClusterSlot): number {
  return slot.maxConcurrent === Number.POSITIVE_INFINITY ? -1 : slot.maxConcurrent;
}
