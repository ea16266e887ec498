import type { IClusterSlot } from './abstract.js';
import type { ICoordinatorContext } from './redisconnection.js';

/** Releases of one slot key asked for in the same turn of the event loop: one script gives them all back. */
interface IReleaseBatch {
  slot: IClusterSlot;
  /** Holder, queue entry, ran (1/0), for each. */
  args: Array<string | number>;
  count: number;
  /** For each: whether its run held the slot (a run that gave up while it waited held none, so it has none to hand on). */
  held: boolean[];
  /** From holder, to holder, to's queue entry: slots this instance handed from one of its runs to the next. */
  transfers: string[];
}

/**
 * This instance's next waiting runs for a slot key, up to `count`, for the release script
 * to grant or queue (`entries`), how many slots of the key the instance holds (`held`),
 * and `undo`, which puts them back when the script fails.
 */
export type TNextWaiters = (slotKey: string, count: number) => { entries: string[]; held: number; undo: () => void };

/**
 * At the turn's end, a slot released in it may still go to a run of this instance that
 * came to wait meanwhile (the manager gives back a run's cluster slot before its next run
 * asks): returns that run's holder, or undefined.
 */
export type THandOver = (slot: IClusterSlot, slotKey: string, from: string) => { holder: string; entry: string } | undefined;

/** The script's reply: this instance's share of the slot (-1: no cap), then its holders it granted a slot to. */
export type TGranted = (slotKey: string, reply: unknown[]) => void;

/**
 * Gives cluster slots back in batches. Runs granted together tend to end together, so the
 * releases of one turn of the event loop go out in one releaseSlot call per slot key
 * (redis.lua.ts), which also takes up to as many of this instance's waiting runs as it
 * frees slots (granted at once within the instance's share, else queued): under load a
 * run costs a fraction of a round trip. Waiting for the turn's end (setImmediate) costs
 * microseconds; a round trip saved costs far more.
 */
export class SlotReleases {
  /** Releases not sent yet, per slot key. */
  private readonly pending = new Map<string, IReleaseBatch>();
  private scheduled = false;

  constructor(
    private readonly context: ICoordinatorContext,
    private readonly nextWaiters: TNextWaiters,
    private readonly granted: TGranted,
    private readonly handOver: THandOver,
  ) {}

  /** Whether releases wait to be sent (the connections must stay open for them). */
  get waiting(): boolean {
    return this.pending.size > 0;
  }

  /**
   * Gives `holder`'s slot back at the end of this turn; `queueEntry` takes it out of the
   * queue if it was only waiting (`held` false: it gave up before it had the slot).
   */
  add(slot: IClusterSlot, slotKey: string, holder: string, queueEntry: string, ran: boolean, held: boolean): void {
    const batch = this.batchOf(slot, slotKey);
    batch.args.push(holder, queueEntry, ran ? 1 : 0);
    batch.held.push(held);
    batch.count++;
  }

  /**
   * Tells Redis, at the end of this turn, that `from`'s slot went to `to`, a run of this
   * instance that started with it (and waits in no queue any more: `toEntry` goes too).
   */
  transfer(slot: IClusterSlot, slotKey: string, from: string, to: string, toEntry: string): void {
    this.batchOf(slot, slotKey).transfers.push(from, to, toEntry);
  }

  private batchOf(slot: IClusterSlot, slotKey: string): IReleaseBatch {
    let batch = this.pending.get(slotKey);
    if (batch === undefined) this.pending.set(slotKey, (batch = { slot, args: [], count: 0, held: [], transfers: [] }));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.turnEnded);
    }
    return batch;
  }

  /**
   * Sends the waiting releases now (stop() does, so that the connections do not close
   * before them); resolves once Redis ran them or failed (failures are reported).
   */
  sendAll(): Promise<void> {
    const batches = [...this.pending];
    this.pending.clear();
    return Promise.all(batches.map(([slotKey, batch]) => this.send(slotKey, batch))).then(() => undefined);
  }

  /** Turns the batch's releases whose slots a run waiting here can take into hand-overs. */
  private handOverReleased(slotKey: string, batch: IReleaseBatch): IReleaseBatch {
    if (!this.context.isRunning()) return batch;
    const kept: Array<string | number> = [];
    for (let i = 0; i < batch.args.length; i += 3) {
      const from = batch.args[i] as string;
      const to = batch.held[i / 3] ? this.handOver(batch.slot, slotKey, from) : undefined;
      if (to === undefined) kept.push(from, batch.args[i + 1]!, batch.args[i + 2]!);
      else batch.transfers.push(from, to.holder, to.entry);
    }
    batch.args = kept;
    batch.count = kept.length / 3;
    return batch;
  }

  private readonly turnEnded = (): void => {
    this.scheduled = false;
    void this.sendAll();
  };

  private send(slotKey: string, batch: IReleaseBatch): Promise<void> {
    const { connection, keys, leaseMs } = this.context;
    if (!connection.isOpen) {
      this.context.letGo();
      return Promise.resolve();
    }
    const { slot, transfers } = this.handOverReleased(slotKey, batch);
    const { args, count } = batch;
    const next = this.context.isRunning() ? this.nextWaiters(slotKey, count) : { entries: [], held: 0, undo: () => {} };
    return connection.call('releaseSlot', [slotKey, keys.cooldown(slot), keys.slotQueue(slot), keys.slotContenders(slot)], [
      slot.cooldownMs, slot.maxConcurrent === Number.POSITIVE_INFINITY ? -1 : slot.maxConcurrent, leaseMs,
      keys.slotsChannel, keys.eventsChannel, this.context.takeEvents(), keys.grantsChannel, next.held,
      count, transfers.length / 3, ...args, ...transfers, ...next.entries,
    ]).then((reply) => this.granted(slotKey, reply as unknown[]), (error: unknown) => {
      next.undo();
      connection.report(error, `could not release cluster slot ${JSON.stringify(slot.key)} of group ${JSON.stringify(slot.groupName)} (its lease expires by itself)`);
    }).finally(() => this.context.letGo());
  }
}
