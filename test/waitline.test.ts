/**
 * A WaitLine keeps plain triggers as slots and other runs as run objects. Whatever the
 * mix, runs leave the line by priority, then trigger order, and a plain waiter leaves it
 * as a run that carries its task, input, resolve function, seq and the line's group.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConstrainedRun, plainRun } from '../ts/manager/managedrun.js';
import { TaskConstraintGroup } from '../ts/manager/constraintgroup.js';
import type { AnyTask } from '../ts/task/task.js';
import { WaitLine } from '../ts/manager/waitline.js';

const group = new TaskConstraintGroup({ name: 'mutex', maxConcurrent: 1, constraintKeyForExecution: () => 'k' });

/** WaitLine only reads a task's priority (and a run its name), so a task can be this small. */
function taskWithPriority(priority: number): AnyTask {
  return { name: `p${priority}`, priority } as unknown as AnyTask;
}

/** A run as the queue makes one for a trigger with options: its own priority in extras. */
function fullRun(seq: number, priority: number): ConstrainedRun {
  const extras = { signal: undefined, timeoutMs: undefined, priority, retry: undefined, runId: undefined, onAbort: undefined, clusterGroups: [], clusterKeys: [], clusterHeld: 0 };
  return new ConstrainedRun(taskWithPriority(0), seq, [group], 'k', seq, extras);
}

type Op = { kind: 'plain' | 'full'; priority: number } | { kind: 'take' } | { kind: 'remove'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('plain' as const), priority: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('full' as const), priority: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('take' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
);

interface IExpected {
  seq: number;
  priority: number;
  /** Set for a run added as a run object (only those can be removed). */
  run: ConstrainedRun | undefined;
}

function byPriorityThenSeq(a: IExpected, b: IExpected): number {
  return a.priority !== b.priority ? b.priority - a.priority : a.seq - b.seq;
}

describe('WaitLine', () => {
  it('lets runs and plain waiters out by priority, then trigger order, whatever the mix', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const line = new WaitLine(group, 'k', undefined, plainRun);
        const expected: IExpected[] = [];
        let seq = 0;
        const takeAndCheck = (): void => {
          expected.sort(byPriorityThenSeq);
          const want = expected.shift();
          const run = line.take();
          assert.equal(run?.seq, want?.seq);
          if (run !== undefined) assert.equal(run.priority, want!.priority);
        };
        for (const op of ops) {
          if (op.kind === 'take') {
            takeAndCheck();
          } else if (op.kind === 'remove') {
            const removable = expected.filter((entry) => entry.run !== undefined);
            if (removable.length === 0) continue;
            const victim = removable[op.pick % removable.length]!;
            assert.equal(line.remove(victim.run!), true);
            expected.splice(expected.indexOf(victim), 1);
          } else {
            const task = taskWithPriority(op.priority);
            if (op.kind === 'plain' && line.takesPlain(task)) {
              line.addPlain(task, seq, () => {}, seq);
              expected.push({ seq, priority: op.priority, run: undefined });
            } else {
              const run = fullRun(seq, op.priority);
              line.add(run);
              expected.push({ seq, priority: op.priority, run });
            }
            seq++;
          }
          assert.equal(line.waitingCount, expected.length);
        }
        while (expected.length > 0) takeAndCheck();
        assert.equal(line.take(), undefined);
        assert.equal(line.waitingCount, 0);
      }),
      { numRuns: 300 },
    );
  });

  it('turns a plain waiter into a run with its task, input, resolve function, seq and the line\'s group', () => {
    const line = new WaitLine(group, 'k', undefined, plainRun);
    const task = taskWithPriority(0);
    const resolve = (): void => {};
    line.addPlain(task, { id: 7 }, resolve, 41);
    const run = line.take()!;
    assert.equal(run.task, task);
    assert.deepEqual(run.input, { id: 7 });
    assert.equal(run.resolve, resolve);
    assert.equal(run.seq, 41);
    assert.deepEqual(run.groups, [group]);
    assert.equal(run.keys, 'k');
  });

  it('takes a plain trigger only where it goes last', () => {
    const line = new WaitLine(group, 'k', undefined, plainRun);
    assert.equal(line.takesPlain(taskWithPriority(5)), true, 'an empty line');
    line.addPlain(taskWithPriority(5), undefined, () => {}, 0);
    assert.equal(line.takesPlain(taskWithPriority(5)), true, 'behind an equal priority');
    assert.equal(line.takesPlain(taskWithPriority(6)), false, 'it would overtake');
    line.take();
    line.add(fullRun(1, 0));
    assert.equal(line.takesPlain(taskWithPriority(0)), false, 'behind a run object');
  });

  it('lets go of the spent front of plain waiters in a line that never empties', () => {
    const line = new WaitLine(group, 'k', undefined, plainRun);
    const task = taskWithPriority(0);
    let seq = 0;
    for (let i = 0; i < 100; i++) line.addPlain(task, undefined, () => {}, seq++);
    for (let i = 0; i < 50_000; i++) {
      line.addPlain(task, undefined, () => {}, seq++);
      assert.equal(line.take()!.seq, i);
    }
    assert.equal(line.waitingCount, 100);
    let slots = 0;
    for (let chunk = (line as unknown as { headChunk: unknown[] | undefined }).headChunk; chunk !== undefined; chunk = chunk[chunk.length - 1] as unknown[] | undefined) {
      slots += chunk.length;
    }
    assert.ok(slots < 10_000, `holds ${slots} slots for 100 waiters`);
  });
});
