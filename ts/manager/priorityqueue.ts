import { keepShapeAlive } from '../internal/hotpath.js';

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

/** The empty arrays queues share until they hold something; they are never written to. */
const NO_ITEMS: never[] = [];
const NO_NUMBERS = new Float64Array(0);

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
 * and a heap (4-ary) for the rest. `pop` takes the better of the two heads.
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
  // The priority and seq of each heap entry, beside it: a sift compares these numbers,
  // stored in a row, instead of reading two objects spread over memory per comparison,
  // which is what sifting through 100,000 queued runs spends its time on otherwise.
  private heapPriority = NO_NUMBERS;
  private heapSeq = NO_NUMBERS;
  /** The sorted lane: slots from `laneHead` on, holes (removed items) are `undefined`. */
  private lane: Array<T | undefined> = NO_ITEMS;
  private laneHead = 0;
  /** Logical position of `lane[0]`: positions stay put when the lane drops its spent front. */
  private laneBase = 0;
  private laneItems = 0;
  private laneHoles = 0;

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
    this.pushHeap(item);
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

  private pushHeap(item: T): void {
    if (this.heap === NO_ITEMS) this.heap = [];
    const index = this.heap.length;
    if (index === this.heapPriority.length) this.growHeapKeys();
    this.heap.push(item);
    this.siftUp(index, item, item.priority, item.seq);
  }

  private growHeapKeys(): void {
    const capacity = Math.max(16, this.heapPriority.length * 2);
    const priority = new Float64Array(capacity);
    const seq = new Float64Array(capacity);
    priority.set(this.heapPriority);
    seq.set(this.heapSeq);
    this.heapPriority = priority;
    this.heapSeq = seq;
  }

  private removeAt(index: number): void {
    const heap = this.heap;
    heap[index]!.heapIndex = -1;
    const last = heap.pop()!;
    const lastIndex = heap.length;
    if (lastIndex === 0) return this.emptyHeap();
    if (index === lastIndex) return;
    const priority = this.heapPriority[lastIndex]!;
    const seq = this.heapSeq[lastIndex]!;
    const parent = parentOf(index);
    if (index > 0 && comesBefore(priority, seq, this.heapPriority[parent]!, this.heapSeq[parent]!)) {
      this.siftUp(index, last, priority, seq);
    } else {
      this.siftDown(index, last, priority, seq);
    }
  }

  /** An empty heap lets go of its arrays. */
  private emptyHeap(): void {
    this.heap = NO_ITEMS;
    this.heapPriority = NO_NUMBERS;
    this.heapSeq = NO_NUMBERS;
  }

  /** Moves the entry at `from` to `to`, the item's heapIndex with it. */
  private moveEntry(from: number, to: number): void {
    const item = this.heap[from]!;
    this.heap[to] = item;
    this.heapPriority[to] = this.heapPriority[from]!;
    this.heapSeq[to] = this.heapSeq[from]!;
    item.heapIndex = to;
  }

  private setEntry(index: number, item: T, priority: number, seq: number): void {
    this.heap[index] = item;
    this.heapPriority[index] = priority;
    this.heapSeq[index] = seq;
    item.heapIndex = index;
  }

  private siftUp(index: number, item: T, priority: number, seq: number): void {
    const priorities = this.heapPriority;
    const seqs = this.heapSeq;
    while (index > 0) {
      const parent = parentOf(index);
      if (!comesBefore(priority, seq, priorities[parent]!, seqs[parent]!)) break;
      this.moveEntry(parent, index);
      index = parent;
    }
    this.setEntry(index, item, priority, seq);
  }

  private siftDown(index: number, item: T, priority: number, seq: number): void {
    const priorities = this.heapPriority;
    const seqs = this.heapSeq;
    const length = this.heap.length;
    for (;;) {
      const first = ARITY * index + 1;
      if (first >= length) break;
      // The best of up to ARITY children, which sit side by side.
      let child = first;
      const last = Math.min(first + ARITY, length);
      for (let other = first + 1; other < last; other++) {
        if (comesBefore(priorities[other]!, seqs[other]!, priorities[child]!, seqs[child]!)) child = other;
      }
      if (!comesBefore(priorities[child]!, seqs[child]!, priority, seq)) break;
      this.moveEntry(child, index);
      index = child;
    }
    this.setEntry(index, item, priority, seq);
  }
}

/**
 * Children per heap node. Four rather than two halve the levels a sift passes (and the
 * entries it moves), while a node's children stay next to each other in memory.
 */
const ARITY = 4;

function parentOf(index: number): number {
  return Math.floor((index - 1) / ARITY);
}

/** `before` on the numbers themselves. */
function comesBefore(priorityA: number, seqA: number, priorityB: number, seqB: number): boolean {
  return priorityA !== priorityB ? priorityA > priorityB : seqA < seqB;
}

/** Whether `a` goes before `b`: higher priority, or the same priority and triggered earlier. */
export function before(a: IPrioritized, b: IPrioritized): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;
}

keepShapeAlive(new PriorityQueue());
