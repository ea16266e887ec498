/**
 * The binary heap behind the constraint queues: larger priority first, equal priorities in
 * trigger (seq) order, O(log n) removal through each item's heapIndex. Checked by example
 * and by a fast-check model test against a plain sorted array.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { before, PriorityQueue, type IPrioritized } from '../ts/manager/priorityqueue.js';
import { popAll } from './rule-helpers.js';

interface IItem extends IPrioritized {
  id: number;
}

let nextSeq = 0;
function item(priority: number, id = nextSeq): IItem {
  return { id, priority, seq: nextSeq++, heapIndex: -1 };
}

/** The model's order: larger priority first, then smaller seq. */
function compare(a: IItem, b: IItem): number {
  return a.priority !== b.priority ? b.priority - a.priority : a.seq - b.seq;
}

describe('before', () => {
  it('puts a larger priority first and, on equal priority, the earlier trigger first', () => {
    assert.equal(before({ priority: 2, seq: 9, heapIndex: -1 }, { priority: 1, seq: 0, heapIndex: -1 }), true);
    assert.equal(before({ priority: 1, seq: 0, heapIndex: -1 }, { priority: 2, seq: 9, heapIndex: -1 }), false);
    assert.equal(before({ priority: 0, seq: 1, heapIndex: -1 }, { priority: 0, seq: 2, heapIndex: -1 }), true);
    assert.equal(before({ priority: 0, seq: 2, heapIndex: -1 }, { priority: 0, seq: 1, heapIndex: -1 }), false);
    assert.equal(before({ priority: -1, seq: 0, heapIndex: -1 }, { priority: 0, seq: 5, heapIndex: -1 }), false);
  });
});

describe('PriorityQueue', () => {
  it('starts empty', () => {
    const queue = new PriorityQueue<IItem>();
    assert.equal(queue.size, 0);
    assert.equal(queue.peek(), undefined);
    assert.equal(queue.pop(), undefined);
    assert.deepEqual(popAll(queue), []);
  });

  it('pops the largest priority first and keeps trigger order among equal priorities', () => {
    const queue = new PriorityQueue<IItem>();
    const items = [item(0), item(5), item(0), item(5), item(-1), item(10)];
    for (const i of items) queue.push(i);
    assert.equal(queue.size, 6);
    assert.equal(queue.peek(), items[5]);
    const order = popAll(queue).map((i) => items.indexOf(i));
    assert.deepEqual(order, [5, 1, 3, 0, 2, 4]);
    assert.equal(queue.size, 0);
  });

  it('keeps plain trigger order when every priority is equal', () => {
    const queue = new PriorityQueue<IItem>();
    const items = Array.from({ length: 100 }, () => item(0));
    for (const i of items) queue.push(i);
    assert.deepEqual(popAll(queue), items);
  });

  it('removes an item from the middle and keeps the order of the rest', () => {
    const queue = new PriorityQueue<IItem>();
    const items = [3, 1, 4, 1, 5, 9, 2, 6].map((p) => item(p));
    for (const i of items) queue.push(i);
    const removed = items[2]!; // priority 4
    assert.equal(queue.remove(removed), true);
    assert.equal(removed.heapIndex, -1);
    assert.equal(queue.size, 7);
    assert.deepEqual(popAll(queue).map((i) => i.priority), [9, 6, 5, 3, 2, 1, 1]);
  });

  it('refuses to remove an item that is not in it, even one that was popped or belongs to another queue', () => {
    const queue = new PriorityQueue<IItem>();
    const other = new PriorityQueue<IItem>();
    const a = item(1);
    const b = item(2);
    const stranger = item(3);
    queue.push(a);
    queue.push(b);
    other.push(stranger);
    assert.equal(queue.remove(item(0)), false);
    assert.equal(queue.remove(stranger), false, 'an item of another queue is not removed');
    assert.equal(other.size, 1);
    assert.equal(queue.pop(), b);
    assert.equal(b.heapIndex, -1);
    assert.equal(queue.remove(b), false);
    assert.equal(queue.remove(a), true);
    assert.equal(queue.remove(a), false);
    assert.equal(queue.size, 0);
  });

  it('visits every item with forEach', () => {
    const queue = new PriorityQueue<IItem>();
    const items = [item(1), item(2), item(0)];
    for (const i of items) queue.push(i);
    const seen: IItem[] = [];
    queue.forEach((i) => seen.push(i));
    assert.deepEqual(new Set(seen), new Set(items));
  });

  it('behaves like a sorted array under any mix of push, pop, peek and remove', () => {
    type TCommand =
      | { op: 'push'; priority: number }
      | { op: 'pop' }
      | { op: 'peek' }
      | { op: 'remove'; pick: number }
      | { op: 'removeMissing' };
    const commandArb: fc.Arbitrary<TCommand> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ op: fc.constant('push' as const), priority: fc.integer({ min: -3, max: 3 }) }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('pop' as const) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('peek' as const) }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('removeMissing' as const) }) },
    );
    fc.assert(
      fc.property(fc.array(commandArb, { maxLength: 200 }), (commands) => {
        const queue = new PriorityQueue<IItem>();
        let model: IItem[] = [];
        const removedOrPopped: IItem[] = [];
        let seq = 0;
        for (const command of commands) {
          switch (command.op) {
            case 'push': {
              const pushed: IItem = { id: seq, priority: command.priority, seq: seq++, heapIndex: -1 };
              queue.push(pushed);
              model.push(pushed);
              model.sort(compare);
              break;
            }
            case 'pop': {
              const popped = queue.pop();
              assert.equal(popped, model.shift());
              if (popped !== undefined) {
                assert.equal(popped.heapIndex, -1);
                removedOrPopped.push(popped);
              }
              break;
            }
            case 'peek':
              assert.equal(queue.peek(), model[0]);
              break;
            case 'remove': {
              if (model.length === 0) break;
              const target = model[command.pick % model.length]!;
              assert.equal(queue.remove(target), true);
              assert.equal(target.heapIndex, -1);
              model = model.filter((i) => i !== target);
              removedOrPopped.push(target);
              break;
            }
            case 'removeMissing': {
              const gone = removedOrPopped[removedOrPopped.length - 1];
              if (gone !== undefined) assert.equal(queue.remove(gone), false);
              assert.equal(queue.remove({ id: -1, priority: 0, seq: -1, heapIndex: 0 }), false);
              break;
            }
          }
          assert.equal(queue.size, model.length);
          assert.equal(queue.peek(), model[0]);
        }
        assert.deepEqual(popAll(queue), model);
      }),
      { numRuns: 300 },
    );
  });

  it('handles 100,000 items with random priorities and returns them in order', () => {
    const queue = new PriorityQueue<IItem>();
    const items: IItem[] = [];
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 100_000; i++) {
      const pushed: IItem = { id: i, priority: Math.floor(random() * 10), seq: i, heapIndex: -1 };
      items.push(pushed);
      queue.push(pushed);
    }
    for (let i = 0; i < 10_000; i++) assert.equal(queue.remove(items[i * 7]!), true);
    const drained = popAll(queue);
    assert.equal(drained.length, 90_000);
    for (let i = 1; i < drained.length; i++) assert.ok(compare(drained[i - 1]!, drained[i]!) < 0, `out of order at ${i}`);
  });
});
