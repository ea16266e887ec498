import type { IClusterSlot } from './abstract.js';

/**
 * The names of a cluster's keys and channels in Redis. Every name starts with the
 * coordinator's `keyPrefix`, so that several clusters can share one Redis.
 */
export class RedisKeys {
  /** Carries every instance's task events. */
  readonly eventsChannel: string;
  /**
   * Announces a slot key whose waiters should ask again: a slot freed while its key cools
   * down (they ask when it ends) or by a stopping instance.
   */
  readonly slotsChannel: string;
  /**
   * This instance's own: names its holders (a JSON array) that a script took out of a
   * slot's queue and granted the slot to.
   */
  readonly grantsChannel: string;
  /** Announces a slot's new share (`[slot key, share]`) when another instance comes to want it. */
  readonly sharesChannel: string;
  /** Every channel the coordinator's subscriber listens to. */
  readonly channels: readonly string[];

  constructor(private readonly prefix: string, instanceId: string) {
    this.eventsChannel = this.key('channel', 'events');
    this.slotsChannel = this.key('channel', 'slots');
    this.grantsChannel = this.key('channel', 'grants', instanceId);
    this.sharesChannel = this.key('channel', 'shares');
    this.channels = [this.eventsChannel, this.slotsChannel, this.grantsChannel, this.sharesChannel];
  }

  /** The sorted set of instance ids, scored by their last heartbeat. */
  instances(): string {
    return this.key('instances');
  }

  /** An instance's record (`IClusterInstance` as JSON); `''` gives the prefix of them all. */
  instance(id: string): string {
    return this.key('instance', id);
  }

  /** The sorted set of a slot's holders, scored by their lease's end. */
  slot(slot: IClusterSlot): string {
    return this.key('slot', slot.groupName, slot.key);
  }

  /**
   * The sorted set of holders waiting for a slot, scored by their wait's lease end: a
   * release grants the slot to the first of them (scripts in redis.lua.ts).
   */
  slotQueue(slot: IClusterSlot): string {
    return this.key('queue', slot.groupName, slot.key);
  }

  /**
   * The sorted set of instances (their grants channels) that wait for a slot, scored by
   * their lease's end: a slot's fair share is its cap over their number.
   */
  slotContenders(slot: IClusterSlot): string {
    return this.key('contenders', slot.groupName, slot.key);
  }

  /** Until when a slot's key cools down after a run. */
  cooldown(slot: IClusterSlot): string {
    return this.key('cooldown', slot.groupName, slot.key);
  }

  /** Who runs a tick, while it runs. */
  tickLease(taskName: string, scheduledAt: number): string {
    return this.key('tick', taskName, String(scheduledAt), 'lease');
  }

  /** A tick's outcome, once it ran. */
  tickDone(taskName: string, scheduledAt: number): string {
    return this.key('tick', taskName, String(scheduledAt), 'done');
  }

  private key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }
}
