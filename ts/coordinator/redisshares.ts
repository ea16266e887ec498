/**
 * This instance's share of each cluster slot key: the cap over the instances contending
 * for the slot, rounded down, as Redis last said (in a script's reply, or on the shares
 * channel when another instance came to want the slot). Within its share an instance
 * hands a freed slot straight to its next run (RedisSlots); unknown counts as 0.
 */
export class SlotShares {
  private readonly shares = new Map<string, number>();

  of(slotKey: string): number {
    return this.shares.get(slotKey) ?? 0;
  }

  /** A share Redis reported (-1: the slot has no cap); anything but a number is ignored. */
  note(slotKey: string, share: unknown): void {
    if (typeof share === 'number') this.shares.set(slotKey, share < 0 ? Number.POSITIVE_INFINITY : share);
  }

  /** A message of the shares channel, `[slot key, share]`; throws when it is malformed. */
  noteMessage(message: string): void {
    const [slotKey, share] = JSON.parse(message) as [unknown, unknown];
    if (typeof slotKey === 'string') this.note(slotKey, share);
  }

  /** Nothing of the key is held or wanted here any more: its share is asked again when it matters. */
  forget(slotKey: string): void {
    this.shares.delete(slotKey);
  }
}
