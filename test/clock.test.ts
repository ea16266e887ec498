/**
 * The core's one clock: every reading and timer of tasks and managers goes through it, a
 * test can swap it, and node's mock timers reach it. A run that ends inside a TaskManager
 * hands its end reading on to the run it lets in, and nothing else sees that reading.
 */
import assert from 'node:assert/strict';
import { describe, mock, test, type TestContext } from 'node:test';
import { timeNow, useClock, type IClock, type TTimer } from '../ts/internal/clock.js';
import { Task, TaskConstraintGroup, TaskManager } from '../ts/index.js';
import { useFakeClock } from './fake-clock.js';

/** Runs the core on a fake clock that moves 1,000 ms on every read, so every read shows; returns the last reading. */
function jumpingClock(t: TestContext): () => number {
  let fakeNow = 1_000_000;
  useFakeClock(t, { reading: () => (fakeNow += 1000) });
  return () => fakeNow;
}

describe('clock', () => {
  test('a clock given to useClock answers every reading and timer of a task, and undefined restores the system clock', async (t) => {
    const armed: Array<{ callback: () => void; ms: number }> = [];
    const clock: IClock = {
      now: () => 5_000,
      setTimeout: (callback, ms) => {
        armed.push({ callback, ms });
        return armed.length as unknown as TTimer;
      },
      clearTimeout: () => {},
    };
    useClock(clock);
    t.after(() => useClock(undefined));
    const task = new Task({ name: 'slow', timeoutMs: 250, taskFunction: () => new Promise<never>(() => {}) });
    const outcome = task.trigger().catch((error: unknown) => error);
    assert.equal(task.getMetadata().lastRun, 5_000);
    assert.deepEqual(armed.map((timer) => timer.ms), [250], 'the timeout is armed on the given clock');
    armed[0]!.callback();
    assert.equal(((await outcome) as Error).name, 'TimeoutError');
    useClock(undefined);
    assert.ok(Math.abs(timeNow() - Date.now()) < 1000, 'the system clock is back');
  });

  test('node mock timers reach the default clock', (t) => {
    mock.timers.enable({ apis: ['Date'], now: 42_000 });
    t.after(() => mock.timers.reset());
    assert.equal(timeNow(), 42_000);
    mock.timers.tick(500);
    assert.equal(timeNow(), 42_500);
  });

  test('the run a finishing run lets in starts at the instant the first one ended', async (t) => {
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
    const later = new Task({ name: 'later', taskFunction: async () => {} });
    await later.trigger();
    assert.ok(later.getMetadata().lastRun! > second!.lastRun, 'a later run reads the clock, not a reading left over');
  });

  test('a run whose end went out as an event lets the next run read the clock again (subscribers may take time)', async (t) => {
    jumpingClock(t);
    const manager = new TaskManager();
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'mutex', maxConcurrent: 1, constraintKeyForExecution: () => 'k' }));
    const task = new Task({ name: 'watched', taskFunction: async () => {} });
    const ends: number[] = [];
    const subscription = task.eventSubject.subscribe((event) => {
      if (event.type === 'completed') ends.push(event.timestamp);
    });
    t.after(() => subscription.unsubscribe());
    const starts: number[] = [];
    task.eventSubject.subscribe((event) => {
      if (event.type === 'started') starts.push(event.timestamp);
    });
    await Promise.all([manager.triggerTask(task), manager.triggerTask(task)]);
    assert.equal(starts.length, 2);
    assert.ok(starts[1]! > ends[0]!, 'the second start is a reading of its own, after the first end');
  });
});
