/** What the queue orders by: larger `priority` first, then smaller `seq` (trigger order). */
export interface IPrioritized {
  priority: number;
  seq: number;
  /** Where the item sits in its queue (-1 when in none); kept by the queue for O(log n) removal. */
  heapIndex: number;
}

/**
 * A binary heap: push, pop and remove cost O(log n). With equal priorities a push costs
 * O(1), since a newer item never rises above its parent.
 */
export class PriorityQueue<T extends IPrioritized> {
  private readonly heap: T[] = [];

  get size(): number {
    return this.heap.length;
  }

  peek(): T | undefined {
    return this.heap[0];
  }

  push(item: T): void {
    this.heap.push(item);
    this.siftUp(this.heap.length - 1, item);
  }

  pop(): T | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;
    this.removeAt(0);
    return top;
  }

  /** Removes `item` if it is in this queue. */
  remove(item: T): boolean {
    const index = item.heapIndex;
    if (index < 0 || this.heap[index] !== item) return false;
    this.removeAt(index);
    return true;
  }

  /** Visits every item, in no particular order. */
  forEach(visit: (item: T) => void): void {
    for (const item of this.heap) visit(item);
  }

  /** Empties the queue and returns its items, best first. */
  drain(): T[] {
    const items: T[] = [];
    while (this.heap.length > 0) items.push(this.pop()!);
    return items;
  }

  private removeAt(index: number): void {
    const heap = this.heap;
    const removed = heap[index]!;
    removed.heapIndex = -1;
    const last = heap.pop()!;
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
