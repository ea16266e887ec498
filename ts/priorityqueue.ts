/** What the queue orders by: larger `priority` first, then smaller `seq` (trigger order). */
export interface IPrioritized {
  priority: number;
  seq: number;
}

/**
 * A binary heap: push and pop cost O(log n). With equal priorities a push costs O(1),
 * since a newer entry never rises above its parent.
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
    this.siftUp(this.heap.length - 1);
  }

  pop(): T | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (this.heap.length > 0 && last !== undefined) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /** Removes one item (by identity); O(n) to find it, O(log n) to repair. */
  remove(item: T): boolean {
    const index = this.heap.indexOf(item);
    if (index < 0) return false;
    const last = this.heap.pop()!;
    if (index === this.heap.length) return true;
    this.heap[index] = last;
    this.siftDown(this.siftUp(index));
    return true;
  }

  /** Visits every item, in no particular order. */
  forEach(visit: (item: T) => void): void {
    for (const item of this.heap) visit(item);
  }

  /** Empties the queue and returns what it held, in no particular order. */
  drain(): T[] {
    return this.heap.splice(0, this.heap.length);
  }

  private siftUp(index: number): number {
    const heap = this.heap;
    const item = heap[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      if (!before(item, heap[parentIndex]!)) break;
      heap[index] = heap[parentIndex]!;
      index = parentIndex;
    }
    heap[index] = item;
    return index;
  }

  private siftDown(index: number): void {
    const heap = this.heap;
    const length = heap.length;
    const item = heap[index]!;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && before(heap[right]!, heap[left]!) ? right : left;
      if (!before(heap[child]!, item)) break;
      heap[index] = heap[child]!;
      index = child;
    }
    heap[index] = item;
  }
}

/** Whether `a` goes before `b`: higher priority, or the same priority and triggered earlier. */
export function before(a: IPrioritized, b: IPrioritized): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;
}
