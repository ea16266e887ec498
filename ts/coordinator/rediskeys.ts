import type { IClusterSlot } from './abstract.js';

/**
 * The names of a cluster's keys and channels in Redis. Every name starts with the
 * coordinator's `keyPrefix`, so that several clusters can share one Redis.
 */
export class RedisKeys {
  /** Carries every instance's task events. */
  readonly eventsChannel: string;
  /** Announces a freed slot (its slot key), so that waiting runs ask again at once. */
  readonly slotsChannel: string;

  constructor(private readonly prefix: string) {
    this.eventsChannel = this.key('channel', 'events');
    this.slotsChannel = this.key('channel', 'slots');
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
