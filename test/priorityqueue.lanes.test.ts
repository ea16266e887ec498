/**
 * The two lanes of the PriorityQueue (a sorted FIFO lane for items that arrive in order,
 * a heap for the rest): long runs of equal priorities, removals that leave holes, the
 * compaction that keeps holes from piling up, and older items coming back (as a retried
 * run does). Checked against a plain sorted array, at sizes that cross the compaction
 * thresholds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PriorityQueue, type IPrioritized } from '../ts/manager/priorityqueue.js';
import { popAll } from './rule-helpers.js';

interface IItem extends IPrioritized {
  id: number;
}

function compare(a: IItem, b: IItem): number {
  return a.priority !== b.priority ? b.priority - a.priority : a.seq - b.seq;
}

/** Slots the queue holds, items and holes: what it costs in memory beyond its items. */
function slotsHeld(queue: PriorityQueue<IItem>): number {
  const inside = queue as unknown as { heap: unknown[]; lane: unknown[] };
  return inside.heap.length + inside.lane.length;
}

describe('PriorityQueue lanes', () => {
  it('keeps trigger order for 100,000 equal priorities and pops them all from the lane', () => {
    const queue = new PriorityQueue<IItem>();
    const items = Array.from({ length: 100_000 }, (_, i): IItem => ({ id: i, priority: 0, seq: i, heapIndex: -1 }));
    for (const item of items) queue.push(item);
    assert.ok(items.every((item) => item.heapIndex < -1), 'every item went to the sorted lane');
    for (let i = 0; i < items.length; i++) {
      assert.equal(queue.pop(), items[i]);
      assert.equal(items[i]!.heapIndex, -1);
    }
    assert.equal(queue.size, 0);
    assert.equal(slotsHeld(queue), 0, 'an empty queue holds no slots');
  });

  it('lets go of the spent front of a lane that never empties', () => {
    const queue = new PriorityQueue<IItem>();
    let seq = 0;
    for (let i = 0; i < 100; i++) queue.push({ id: seq, priority: 0, seq: seq++, heapIndex: -1 });
    for (let i = 0; i < 50_000; i++) {
      queue.push({ id: seq, priority: 0, seq: seq++, heapIndex: -1 });
      assert.equal(queue.pop()!.seq, i);
    }
    assert.equal(queue.size, 100);
    assert.ok(slotsHeld(queue) < 2_500, `holds ${slotsHeld(queue)} slots for 100 items`);
  });

  it('compacts holes left by removals in a lane whose head does not move', () => {
    const queue = new PriorityQueue<IItem>();
    const head: IItem = { id: -1, priority: 0, seq: -1, heapIndex: -1 };
    queue.push(head);
    let seq = 0;
    const kept: IItem[] = [];
    for (let round = 0; round < 200; round++) {
      const batch = Array.from({ length: 500 }, (): IItem => ({ id: seq, priority: 0, seq: seq++, heapIndex: -1 }));
      for (const item of batch) queue.push(item);
      // Remove all but the last of the batch, from the middle of the lane.
      for (const item of batch.slice(0, -1)) assert.equal(queue.remove(item), true);
      kept.push(batch[batch.length - 1]!);
      assert.ok(slotsHeld(queue) <= 2 * queue.size + 600, `round ${round}: ${slotsHeld(queue)} slots for ${queue.size} items`);
    }
    assert.equal(queue.pop(), head);
    assert.deepEqual(popAll(queue), kept);
  });

  it('puts an older item that comes back before newer ones of its priority', () => {
    const queue = new PriorityQueue<IItem>();
    const items = Array.from({ length: 10 }, (_, i): IItem => ({ id: i, priority: 0, seq: i + 1, heapIndex: -1 }));
    for (const item of items) queue.push(item);
    const older: IItem = { id: 99, priority: 0, seq: 0, heapIndex: -1 };
    queue.push(older);
    assert.equal(queue.peek(), older);
    assert.deepEqual(popAll(queue), [older, ...items]);
  });

  it('behaves like a sorted array over long runs with few distinct priorities, removals and returns', () => {
    type TCommand =
      | { op: 'push'; priority: number; count: number }
      | { op: 'pushOld'; priority: number; pick: number }
      | { op: 'pop'; count: number }
      | { op: 'remove'; pick: number; count: number };
    const commandArb: fc.Arbitrary<TCommand> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ op: fc.constant('push' as const), priority: fc.integer({ min: -1, max: 1 }), count: fc.integer({ min: 1, max: 300 }) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('pushOld' as const), priority: fc.integer({ min: -1, max: 1 }), pick: fc.nat() }) },
      { weight: 3, arbitrary: fc.record({ op: fc.constant('pop' as const), count: fc.integer({ min: 1, max: 200 }) }) },
      { weight: 3, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat(), count: fc.integer({ min: 1, max: 200 }) }) },
    );
    fc.assert(
      fc.property(fc.array(commandArb, { maxLength: 60 }), (commands) => {
        const queue = new PriorityQueue<IItem>();
        let model: IItem[] = [];
        const out: IItem[] = [];
        let seq = 1_000_000;
        let pick = 0;
        const check = (): void => {
          assert.equal(queue.size, model.length);
          assert.equal(queue.peek(), model[0]);
          assert.ok(slotsHeld(queue) <= 2 * model.length + 1100, `${slotsHeld(queue)} slots for ${model.length} items`);
        };
        for (const command of commands) {
          switch (command.op) {
            case 'push':
              for (let i = 0; i < command.count; i++) {
                const item: IItem = { id: seq, priority: command.priority, seq: seq++, heapIndex: -1 };
                queue.push(item);
                model.push(item);
              }
              break;
            case 'pushOld': {
              // An item popped or removed earlier comes back with its old seq, like a retry.
              if (out.length === 0) break;
              const item = out.splice(command.pick % out.length, 1)[0]!;
              item.priority = command.priority;
              queue.push(item);
              model.push(item);
              break;
            }
            case 'pop':
              model.sort(compare);
              for (let i = 0; i < command.count && model.length > 0; i++) {
                const popped = queue.pop()!;
                assert.equal(popped, model.shift());
                assert.equal(popped.heapIndex, -1);
                out.push(popped);
              }
              break;
            case 'remove':
              for (let i = 0; i < command.count && model.length > 0; i++) {
                pick = (pick + command.pick + 7) % model.length;
                const target = model[pick]!;
                assert.equal(queue.remove(target), true);
                assert.equal(queue.remove(target), false);
                assert.equal(target.heapIndex, -1);
                model = model.filter((item) => item !== target);
                out.push(target);
              }
              break;
          }
          model.sort(compare);
          check();
        }
        const seen: IItem[] = [];
        queue.forEach((item) => seen.push(item));
        assert.deepEqual(new Set(seen), new Set(model));
        assert.deepEqual(popAll(queue), model);
        assert.equal(slotsHeld(queue), 0);
      }),
      { numRuns: 150 },
    );
  });

  it('handles 100,000 random priorities with removals in order', () => {
    const queue = new PriorityQueue<IItem>();
    const items: IItem[] = [];
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 100_000; i++) {
      const item: IItem = { id: i, priority: random(), seq: i, heapIndex: -1 };
      items.push(item);
      queue.push(item);
    }
    for (let i = 0; i < 20_000; i++) assert.equal(queue.remove(items[i * 5]!), true);
    const drained = popAll(queue);
    assert.equal(drained.length, 80_000);
    for (let i = 1; i < drained.length; i++) assert.ok(compare(drained[i - 1]!, drained[i]!) < 0, `out of order at ${i}`);
  });
});
