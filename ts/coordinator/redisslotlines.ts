import type { IWaitedSlot } from './errors.js';
import type { IClusterSlot } from './abstract.js';

/**
 * Where a waiting run is: only here (`local`), asking Redis (`asking`), in the slot's
 * queue in Redis until a release grants it the slot (`queued`), waiting for the key's
 * cooldown to end (`cooling`), or no longer waiting (`done`).
 */
export type TWaiterState = 'local' | 'asking' | 'queued' | 'cooling' | 'done';

/** A run of this instance waiting for a cluster slot. */
export interface ISlotWaiter {
  slot: IClusterSlot;
  slotKey: string;
  queueKey: string;
  holder: string;
  /** The holder as its entry in the queue, naming this instance's grants channel. */
  entry: string;
  resolve: () => void;
  reject: (error: unknown) => void;
  state: TWaiterState;
  /** A wake came while it was asking: ask again as soon as Redis answers. */
  wakeRequested: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  deadline: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** The runs of this instance waiting for one slot key, in arrival order. */
export interface IKeyLine {
  waiters: Set<ISlotWaiter>;
  /** Of them, those Redis knows of or that wait for a cooldown (not `local`). */
  inPlay: number;
}

/**
 * The runs of one instance waiting for cluster slots (RedisSlots): per slot key in
 * arrival order, by holder for the grants, and how many of them Redis knows of.
 */
export class SlotLines {
  private readonly lines = new Map<string, IKeyLine>();
  private readonly byHolder = new Map<string, ISlotWaiter>();

  get(slotKey: string): IKeyLine | undefined {
    return this.lines.get(slotKey);
  }

  all(): IterableIterator<IKeyLine> {
    return this.lines.values();
  }

  /** The waiting run of `holder`, if it still waits. */
  waiterOf(holder: string): ISlotWaiter | undefined {
    return this.byHolder.get(holder);
  }

  /** A new waiter, at the end of its key's line; returns the line. */
  add(waiter: ISlotWaiter): IKeyLine {
    let line = this.lines.get(waiter.slotKey);
    if (line === undefined) this.lines.set(waiter.slotKey, (line = { waiters: new Set(), inPlay: 0 }));
    line.waiters.add(waiter);
    this.byHolder.set(waiter.holder, waiter);
    return line;
  }

  moveTo(waiter: ISlotWaiter, line: IKeyLine, state: TWaiterState): void {
    if (waiter.state === 'local' && state !== 'local') line.inPlay++;
    else if (waiter.state !== 'local' && state === 'local') line.inPlay--;
    waiter.state = state;
  }

  /**
   * The first waiter of `line` a slot can be handed to here: one that only waits here, or
   * waits in Redis's queue (where a later grant of it finds it gone and changes nothing,
   * and its release takes the entry out). One asking right now is skipped: the answer
   * could grant it a second slot.
   */
  firstToHandTo(line: IKeyLine): ISlotWaiter | undefined {
    for (const waiter of line.waiters) if (waiter.state === 'local' || waiter.state === 'queued') return waiter;
    return undefined;
  }

  /**
   * Up to `count` waiters of `slotKey` that only wait here, for a release script to grant
   * or queue (SlotReleases); `held` is passed through. `undo` puts them back.
   */
  takeLocal(slotKey: string, count: number, held: number): { entries: string[]; held: number; undo: () => void } {
    const line = this.lines.get(slotKey);
    const next: ISlotWaiter[] = [];
    if (line !== undefined) {
      for (const waiter of line.waiters) {
        if (next.length === count || line.inPlay === line.waiters.size) break;
        if (waiter.state !== 'local') continue;
        this.moveTo(waiter, line, 'queued');
        next.push(waiter);
      }
    }
    return {
      entries: next.map((waiter) => waiter.entry),
      held,
      // Not queued after all: the poll asks for them again.
      undo: () => {
        for (const waiter of next) if (waiter.state === 'queued') this.moveTo(waiter, line!, 'local');
      },
    };
  }

  /** Takes a waiter out (granted or given up), with its timers and abort listener; false when it was out already. */
  remove(waiter: ISlotWaiter): boolean {
    const line = this.lines.get(waiter.slotKey);
    if (line === undefined || !line.waiters.delete(waiter)) return false;
    if (waiter.state !== 'local') line.inPlay--;
    waiter.state = 'done';
    if (line.waiters.size === 0) this.lines.delete(waiter.slotKey);
    this.byHolder.delete(waiter.holder);
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    if (waiter.deadline !== undefined) clearTimeout(waiter.deadline);
    if (waiter.onAbort !== undefined) waiter.signal!.removeEventListener('abort', waiter.onAbort);
    return true;
  }

  /** The waiter's slot with how many runs of this instance wait for it, for errors. */
  waitedSlot(waiter: ISlotWaiter): IWaitedSlot {
    return { groupName: waiter.slot.groupName, key: waiter.slot.key, waiting: this.lines.get(waiter.slotKey)?.waiters.size ?? 1 };
  }
}
