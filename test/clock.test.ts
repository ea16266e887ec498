/**
 * The bookkeeping clock: a run that ends inside a TaskManager hands its clock reading on
 * to the run it lets in, which takes it once; nothing else ever sees a handed-on reading.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { handOnTime, takeTime, withdrawTime } from '../ts/internal/clock.js';
import { Task, TaskConstraintGroup, TaskManager } from '../ts/index.js';
import { useFakeClock } from './fake-clock.js';

/** Runs the core on a fake clock that moves 1,000 ms on every read, so every read shows; returns the last reading. */
function jumpingClock(t: TestContext): () => number {
  let fakeNow = 1_000_000;
  useFakeClock(t, { reading: () => (fakeNow += 1000) });
  return () => fakeNow;
}

describe('clock', () => {
  test('takeTime reads the clock when nothing was handed on', (t) => {
    const lastRead = jumpingClock(t);
    const time = takeTime();
    assert.equal(time, lastRead());
  });

  test('a handed-on reading is taken once; the next takeTime reads the clock again', (t) => {
    const lastRead = jumpingClock(t);
    handOnTime(42);
    try {
      assert.equal(takeTime(), 42);
      assert.equal(takeTime(), lastRead());
    } finally {
      withdrawTime();
    }
  });

  test('withdrawTime drops a reading that nobody took', (t) => {
    const lastRead = jumpingClock(t);
    handOnTime(42);
    withdrawTime();
    assert.equal(takeTime(), lastRead());
  });

  test('the run a finishing run lets in starts at the instant the first one ended, and no reading is left over', async (t) => {
    jumpingClock(t);
    const manager = new TaskManager();
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'mutex', maxConcurrent: 1, constraintKeyForExecution: () => 'k' }));
    const seen: Array<{ lastRun: number; lastDuration: number | undefined }> = [];
    const task = new Task({
      name: 'job',
      taskFunction: async () => {
        const { lastRun, lastDuration } = task.getMetadata();
        seen.push({ lastRun: lastRun!, lastDuration });
      },
    });
    await Promise.all([manager.triggerTask(task), manager.triggerTask(task)]);
    const [first, second] = seen;
    // Inside the second run, lastDuration is still the first run's: its end is start + duration.
    assert.equal(second!.lastRun, first!.lastRun + second!.lastDuration!, 'the second run started at the first one\'s end reading');
    const afterwards = takeTime();
    assert.ok(afterwards > second!.lastRun, 'a later takeTime reads the clock, not a reading left over');
  });
});
