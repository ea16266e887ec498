/** What the queue orders by: larger `priority` first, then smaller `seq` (trigger order). */
export interface IPrioritized {
  priority: number;
  seq: number;
  /**
   * Where the item sits in its queue, -1 when in none. Kept by the queue so that removing
   * an item finds it at once; items of the sorted lane get values below -1.
   */
  heapIndex: number;
}

/** The empty array queues share until they hold something; it is never written to. */
const NO_ITEMS: never[] = [];

/**
 * Where a sorted-lane item with logical position `p` keeps it in `heapIndex`: below -1,
 * so it never looks like a heap index nor like "in no queue".
 */
const laneIndexOf = (position: number): number => -2 - position;
const positionOf = (heapIndex: number): number => -2 - heapIndex;

/** Removed slots tolerated in the sorted lane before it is compacted (they cost a slot each). */
const MIN_HOLES_TO_COMPACT = 64;

/**
 * A priority queue in two lanes: a sorted lane (a FIFO) for items that come in order,
 * and a binary heap for the rest. `pop` takes the better of the two heads.
 *
 * The common case is many triggers of one priority, which arrive in trigger order: they
 * all go to the sorted lane, where push, pop and peek cost O(1). An item that would break
 * the lane's order (a higher priority, or an older trigger coming back) goes to the heap
 * at O(log n), so mixed or random priorities cost O(log n) as with a plain heap.
 *
 * Removal is O(log n) in the heap; in the lane it leaves a hole that `pop` skips. Holes
 * are counted and the lane is compacted once they outnumber its items, so they cannot
 * pile up in a lane whose head does not move.
 */
export class PriorityQueue<T extends IPrioritized> {
  // Both start as the shared empty array and get their own at the first push, so that a
  // queue that never needs its heap (the common case) does not hold one.
  private heap: T[] = NO_ITEMS;
  /** The sorted lane: slots from `laneHead` on, holes (removed items) are `undefined`. */
  private lane: Array<T | undefined> = NO_ITEMS;
  private laneHead = 0;
  /** Logical position of `lane[0]`: positions stay put when the lane drops its spent front. */
  private laneBase = 0;
  private laneItems = 0;
  private laneHoles = 0;

  /**
   * A queue that lives as long as the class, so that V8 keeps the hidden class of queues
   * (it holds it only weakly): a manager's lines come and go with its bursts of work, and
   * without one queue alive a full garbage collection would throw away all code optimised
   * for them.
   */
  private static readonly keptForItsClass = new PriorityQueue();

  get size(): number {
    return this.heap.length + this.laneItems;
  }

  peek(): T | undefined {
    const laneTop = this.laneItems > 0 ? (this.lane[this.laneHead] as T) : undefined;
    const heapTop = this.heap[0];
    if (heapTop === undefined) return laneTop;
    return laneTop === undefined || before(heapTop, laneTop) ? heapTop : laneTop;
  }

  push(item: T): void {
    if (this.fitsLane(item)) return this.pushLane(item);
    if (this.heap === NO_ITEMS) this.heap = [];
    this.heap.push(item);
    this.siftUp(this.heap.length - 1, item);
  }

  pop(): T | undefined {
    const top = this.peek();
    if (top === undefined) return undefined;
    if (top.heapIndex >= 0) this.removeAt(0);
    else this.shiftLane();
    return top;
  }

  /** Removes `item` if it is in this queue. */
  remove(item: T): boolean {
    const index = item.heapIndex;
    if (index >= 0) {
      if (this.heap[index] !== item) return false;
      this.removeAt(index);
      return true;
    }
    if (index === -1) return false;
    const slot = positionOf(index) - this.laneBase;
    if (slot < this.laneHead || this.lane[slot] !== item) return false;
    this.removeFromLane(slot);
    return true;
  }

  /** Visits every item, in no particular order. */
  forEach(visit: (item: T) => void): void {
    for (const item of this.heap) visit(item);
    for (let i = this.laneHead; i < this.lane.length; i++) {
      const item = this.lane[i];
      if (item !== undefined) visit(item);
    }
  }

  /** Empties the queue and returns its items, best first. */
  drain(): T[] {
    const items: T[] = [];
    while (this.size > 0) items.push(this.pop()!);
    return items;
  }

  // ---- the sorted lane --------------------------------------------------------------

  /** An item may join the lane when it goes after every item in it (the lane's last item). */
  private fitsLane(item: T): boolean {
    if (this.laneItems === 0) return true;
    return before(this.lane[this.lane.length - 1]!, item);
  }

  private pushLane(item: T): void {
    if (this.lane === NO_ITEMS) this.lane = [];
    item.heapIndex = laneIndexOf(this.laneBase + this.lane.length);
    this.lane.push(item);
    this.laneItems++;
  }

  /** Takes the lane's head (the caller checked it is an item, not a hole). */
  private shiftLane(): void {
    const item = this.lane[this.laneHead]!;
    item.heapIndex = -1;
    this.lane[this.laneHead++] = undefined;
    this.laneItems--;
    this.settleHead();
  }

  private removeFromLane(slot: number): void {
    const lane = this.lane;
    lane[slot]!.heapIndex = -1;
    lane[slot] = undefined;
    this.laneItems--;
    if (slot === this.laneHead) {
      this.laneHead++;
      return this.settleHead();
    }
    if (slot === lane.length - 1) {
      // Keep the last slot an item, so that fitsLane compares with a live item. The head
      // is an item, so this stops before it.
      lane.length--;
      while (lane[lane.length - 1] === undefined) {
        lane.length--;
        this.laneHoles--;
      }
      return;
    }
    this.laneHoles++;
    if (this.laneHoles >= MIN_HOLES_TO_COMPACT && this.laneHoles > this.laneItems) this.compactLane();
  }

  /**
   * Moves the head onto the next item, past holes, and lets go of the spent front once
   * it is half the lane, so a long-lived lane does not keep every slot it ever had.
   */
  private settleHead(): void {
    const lane = this.lane;
    while (this.laneHead < lane.length && lane[this.laneHead] === undefined) {
      this.laneHead++;
      this.laneHoles--;
    }
    if (this.laneItems === 0) return this.resetLane();
    if (this.laneHead >= 1024 && this.laneHead * 2 >= lane.length) {
      // Dropping the front keeps every item's logical position: only the base moves.
      this.lane = lane.slice(this.laneHead);
      this.laneBase += this.laneHead;
      this.laneHead = 0;
    }
  }

  /** An empty lane lets go of its array; positions carry on from where it ended. */
  private resetLane(): void {
    this.laneBase += this.lane.length;
    this.lane = NO_ITEMS;
    this.laneHead = 0;
    this.laneHoles = 0;
  }

  /** Drops every hole; items get new positions. O(n), and only after more than n removals. */
  private compactLane(): void {
    const items: T[] = [];
    for (let i = this.laneHead; i < this.lane.length; i++) {
      const item = this.lane[i];
      if (item !== undefined) items.push(item);
    }
    this.laneBase += this.lane.length;
    this.lane = items;
    this.laneHead = 0;
    this.laneHoles = 0;
    for (let i = 0; i < items.length; i++) items[i]!.heapIndex = laneIndexOf(this.laneBase + i);
  }

  // ---- the heap ---------------------------------------------------------------------

  private removeAt(index: number): void {
    const heap = this.heap;
    const removed = heap[index]!;
    removed.heapIndex = -1;
    const last = heap.pop()!;
    if (heap.length === 0) this.heap = NO_ITEMS; // an empty heap lets go of its array
    if (index === heap.length) return;
    heap[index] = last;
    if (index > 0 && before(last, heap[(index - 1) >> 1]!)) this.siftUp(index, last);
    else this.siftDown(index, last);
  }

  private siftUp(index: number, item: T): void {
    const heap = this.heap;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!before(item, parent)) break;
      heap[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    heap[index] = item;
    item.heapIndex = index;
  }

  private siftDown(index: number, item: T): void {
    const heap = this.heap;
    const length = heap.length;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && before(heap[right]!, heap[left]!) ? right : left;
      const childItem = heap[child]!;
      if (!before(childItem, item)) break;
      heap[index] = childItem;
      childItem.heapIndex = index;
      index = child;
    }
    heap[index] = item;
    item.heapIndex = index;
  }
}

/** Whether `a` goes before `b`: higher priority, or the same priority and triggered earlier. */
export function before(a: IPrioritized, b: IPrioritized): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;
}
