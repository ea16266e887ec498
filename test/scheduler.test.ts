/**
 * Cron scheduling in TaskManager: expression checks at schedule time, the shapes of
 * getScheduledTasks / getNextScheduledRuns, firing only after start(), descheduling,
 * constraint groups for cron runs, and a stop() that leaves nothing keeping the process alive.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { InvalidCronError, Task, TaskConstraintGroup, TaskbufferError } from '../ts/index.js';
import { managerFor, waitFor } from './manager-helpers.js';
import { sleep } from './rule-helpers.js';

/** A task that counts its runs and remembers when each started. */
function countingTask(name: string) {
  const starts: number[] = [];
  const task = new Task({ name, taskFunction: async () => { starts.push(Date.now()); } });
  return { task, starts };
}

function assertInvalidCron(action: () => void, expression: string) {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof InvalidCronError, `expected InvalidCronError, got ${String(error)}`);
    assert.ok(error instanceof TaskbufferError);
    assert.equal(error.expression, expression);
    assert.ok(error.message.includes(expression), `the message quotes ${JSON.stringify(expression)}: ${error.message}`);
    return true;
  });
}

// Generous: a '* * * * * *' schedule fires within a second of start(); allow for a loaded machine.
const FIRE_WITHIN_MS = 3000;

describe('cron expressions', () => {
  for (const expression of ['not a cron', '61 * * * *', '* * * * * * *', '0 0 0 1 1 * 2030', '', '* * * *']) {
    test(`an invalid expression ${JSON.stringify(expression)} throws InvalidCronError at schedule time, before start(), quoting it`, (t) => {
      const manager = managerFor(t);
      const { task } = countingTask('job');
      assertInvalidCron(() => manager.addAndScheduleTask(task, expression), expression);
      manager.addTask(task);
      assertInvalidCron(() => manager.scheduleTaskByName('job', expression), expression);
      assert.deepEqual(manager.getScheduledTasks(), []);
    });
  }

  test('a failed addAndScheduleTask leaves the task unregistered', (t) => {
    const manager = managerFor(t);
    const { task } = countingTask('job');
    assert.throws(() => manager.addAndScheduleTask(task, 'every now and then'), InvalidCronError);
    assert.equal(manager.getTaskByName('job'), undefined);
  });

  test('5-field and 6-field expressions are accepted', (t) => {
    const manager = managerFor(t);
    manager.addAndScheduleTask(countingTask('five').task, '*/5 * * * *');
    manager.addAndScheduleTask(countingTask('six').task, '30 */5 * * * *');
    manager.addAndScheduleTask(countingTask('daily').task, '0 2 * * *');
    assert.deepEqual(manager.getScheduledTasks().map((s) => [s.name, s.schedule]), [
      ['five', '*/5 * * * *'],
      ['six', '30 */5 * * * *'],
      ['daily', '0 2 * * *'],
    ]);
  });

  test('scheduleTaskByName schedules a registered task and refuses an unknown name, naming it', (t) => {
    const manager = managerFor(t);
    manager.addTask(countingTask('known').task);
    manager.scheduleTaskByName('known', '0 3 * * *');
    assert.deepEqual(manager.getScheduledTasks().map((s) => s.name), ['known']);
    assert.throws(() => manager.scheduleTaskByName('ghost', '0 3 * * *'), /"ghost"/);
  });

  test('scheduling a task again replaces its schedule', (t) => {
    const manager = managerFor(t);
    manager.addTask(countingTask('job').task);
    manager.scheduleTaskByName('job', '0 3 * * *');
    manager.scheduleTaskByName('job', '0 4 * * *');
    const scheduled = manager.getScheduledTasks();
    assert.equal(scheduled.length, 1);
    assert.equal(scheduled[0]!.schedule, '0 4 * * *');
    assert.equal(scheduled[0]!.nextRun.getHours(), 4);
  });
});

describe('getScheduledTasks and getNextScheduledRuns', () => {
  test('getScheduledTasks gives name, schedule and nextRun (a Date on the exact second) per task, and no lastRun before a tick', (t) => {
    const manager = managerFor(t);
    const before = Date.now();
    manager.addAndScheduleTask(countingTask('backup').task, '0 2 * * *');
    manager.addAndScheduleTask(countingTask('health').task, '*/5 * * * *');
    manager.addAndScheduleTask(countingTask('fast').task, '*/10 * * * * *');
    const scheduled = manager.getScheduledTasks();
    assert.equal(scheduled.length, 3);
    for (const info of scheduled) {
      assert.equal(typeof info.name, 'string');
      assert.equal(typeof info.schedule, 'string');
      assert.equal(info.lastRun, undefined, 'no lastRun before a tick');
      assert.ok(info.nextRun instanceof Date);
      assert.equal(info.nextRun.getTime() % 1000, 0, `${info.name} nextRun ${info.nextRun.toISOString()} is on an exact second`);
      assert.ok(info.nextRun.getTime() > before);
    }
    const backup = scheduled.find((s) => s.name === 'backup')!;
    assert.equal(backup.schedule, '0 2 * * *');
    assert.deepEqual([backup.nextRun.getHours(), backup.nextRun.getMinutes(), backup.nextRun.getSeconds()], [2, 0, 0]);
    assert.ok(backup.nextRun.getTime() - before <= 24 * 3600_000 + 3600_000);
    const health = scheduled.find((s) => s.name === 'health')!;
    assert.equal(health.nextRun.getMinutes() % 5, 0);
    assert.equal(health.nextRun.getSeconds(), 0);
    assert.ok(health.nextRun.getTime() - before <= 5 * 60_000);
    const fast = scheduled.find((s) => s.name === 'fast')!;
    assert.equal(fast.nextRun.getSeconds() % 10, 0);
    assert.ok(fast.nextRun.getTime() - before <= 10_000);
  });

  test('getNextScheduledRuns gives one entry per task, soonest first, at most limit entries', (t) => {
    const manager = managerFor(t);
    manager.addAndScheduleTask(countingTask('backup').task, '0 2 * * *');
    manager.addAndScheduleTask(countingTask('every-second').task, '* * * * * *');
    manager.addAndScheduleTask(countingTask('health').task, '*/5 * * * *');
    const runs = manager.getNextScheduledRuns();
    assert.equal(runs.length, 3, 'one entry per task, not several future runs of one task');
    assert.deepEqual(new Set(runs.map((r) => r.taskName)), new Set(['backup', 'every-second', 'health']));
    for (const run of runs) {
      assert.equal(typeof run.taskName, 'string');
      assert.equal(typeof run.schedule, 'string');
      assert.ok(run.nextRun instanceof Date);
      assert.equal(run.nextRun.getTime() % 1000, 0);
    }
    for (let i = 1; i < runs.length; i++) {
      assert.ok(runs[i - 1]!.nextRun.getTime() <= runs[i]!.nextRun.getTime(), 'sorted soonest first');
    }
    assert.equal(runs[0]!.taskName, 'every-second');
    assert.equal(runs[0]!.schedule, '* * * * * *');
    const two = manager.getNextScheduledRuns(2);
    assert.deepEqual(two.map((r) => r.taskName), runs.slice(0, 2).map((r) => r.taskName));
    assert.equal(manager.getNextScheduledRuns(1).length, 1);
    assert.deepEqual(manager.getNextScheduledRuns(10).map((r) => r.taskName), runs.map((r) => r.taskName));
  });

  test('with nothing scheduled both lists are empty', (t) => {
    const manager = managerFor(t);
    manager.addTask(countingTask('unscheduled').task);
    assert.deepEqual(manager.getScheduledTasks(), []);
    assert.deepEqual(manager.getNextScheduledRuns(5), []);
  });
});

// The tests below wait for real cron ticks or child processes; they run side by side.
describe('timers', { concurrency: true }, () => {
  describe('cron firing', { concurrency: true }, () => {
    test('nothing fires before start(); after start() a per-second schedule fires on an exact second', async (t) => {
      const manager = managerFor(t);
      const { task, starts } = countingTask('every-second');
      manager.addAndScheduleTask(task, '* * * * * *');
      await sleep(1300);
      assert.equal(starts.length, 0, 'no run before start()');
      assert.equal(task.runCount, 0);

      await manager.start();
      const startedAt = Date.now();
      await waitFor(() => starts.length > 0, 'the first cron run', FIRE_WITHIN_MS);
      assert.ok(starts[0]! >= startedAt);
      const info = manager.getScheduledTasks()[0]!;
      assert.ok(info.lastRun instanceof Date, 'lastRun is set once a tick fired');
      assert.equal(info.lastRun.getTime() % 1000, 0, 'lastRun is the tick’s exact second');
      assert.ok(info.lastRun.getTime() <= starts[0]!);
      assert.ok(info.nextRun.getTime() > info.lastRun.getTime());
    });

    test('descheduleTaskByName stops the schedule and keeps the task registered', async (t) => {
      const manager = managerFor(t);
      const { task, starts } = countingTask('every-second');
      manager.addAndScheduleTask(task, '* * * * * *');
      await manager.start();
      await waitFor(() => starts.length > 0, 'the first cron run', FIRE_WITHIN_MS);
      manager.descheduleTaskByName('every-second');
      const count = starts.length;
      assert.deepEqual(manager.getScheduledTasks(), []);
      assert.deepEqual(manager.getNextScheduledRuns(), []);
      assert.equal(manager.getTaskByName('every-second'), task);
      await sleep(1300);
      assert.equal(starts.length, count, 'no run after descheduling');
    });

    test('stop() stops cron runs', async (t) => {
      const manager = managerFor(t);
      const { task, starts } = countingTask('every-second');
      manager.addAndScheduleTask(task, '* * * * * *');
      await manager.start();
      await waitFor(() => starts.length > 0, 'the first cron run', FIRE_WITHIN_MS);
      await manager.stop();
      const count = starts.length;
      await sleep(1300);
      assert.equal(starts.length, count, 'no run after stop()');
    });

    test('a cron run waits for the constraint groups like any other trigger', async (t) => {
      const manager = managerFor(t);
      const { task, starts } = countingTask('every-second');
      const mutex = new TaskConstraintGroup({ name: 'mutex', maxConcurrent: 1, constraintKeyForExecution: () => 'only' });
      manager.addConstraintGroup(mutex);
      manager.addAndScheduleTask(task, '* * * * * *');
      mutex.acquireSlot('only');
      await manager.start();
      await sleep(1300);
      assert.equal(starts.length, 0, 'the tick waits while the key is held');
      mutex.releaseSlot('only');
      await waitFor(() => starts.length > 0, 'the queued cron run', FIRE_WITHIN_MS);
      assert.ok(mutex.getRunningCount('only') <= 1);
    });

    test('a tick that comes while the previous cron run still goes follows the constraint groups: it overlaps without a group and waits behind a mutex', async (t) => {
      const slowTask = (name: string, runs: Array<{ start: number; end?: number }>) => new Task({
        name,
        taskFunction: async () => {
          const run: { start: number; end?: number } = { start: Date.now() };
          runs.push(run);
          await sleep(1600);
          run.end = Date.now();
        },
      });
      const free: Array<{ start: number; end?: number }> = [];
      const guarded: Array<{ start: number; end?: number }> = [];
      const freeManager = managerFor(t);
      freeManager.addAndScheduleTask(slowTask('free', free), '* * * * * *');
      const guardedManager = managerFor(t);
      guardedManager.addConstraintGroup(new TaskConstraintGroup({ name: 'one-at-a-time', maxConcurrent: 1, constraintKeyForExecution: (task) => task.name! }));
      guardedManager.addAndScheduleTask(slowTask('guarded', guarded), '* * * * * *');
      await Promise.all([freeManager.start(), guardedManager.start()]);

      await waitFor(() => free.length >= 2, 'a second run of the free task', FIRE_WITHIN_MS + 1000);
      assert.equal(free[0]!.end, undefined, 'without a group the next tick runs while the first run still goes');
      await waitFor(() => guarded.length >= 2, 'a second run of the guarded task', FIRE_WITHIN_MS + 2000);
      assert.ok(guarded[0]!.end !== undefined && guarded[1]!.start >= guarded[0]!.end, 'behind a mutex the next tick waits for the run to end');
    });

    test('a cron run that a shouldExecute refuses does not call the function', async (t) => {
      const manager = managerFor(t);
      const { task, starts } = countingTask('every-second');
      const asked: string[] = [];
      manager.addConstraintGroup(new TaskConstraintGroup({
        name: 'never',
        constraintKeyForExecution: () => null,
        shouldExecute: (candidate) => {
          asked.push(candidate.name!);
          return false;
        },
      }));
      manager.addAndScheduleTask(task, '* * * * * *');
      await manager.start();
      await waitFor(() => asked.length > 0, 'the tick to ask shouldExecute', FIRE_WITHIN_MS);
      await sleep(20);
      assert.deepEqual(asked.slice(0, 1), ['every-second']);
      assert.equal(starts.length, 0);
    });
  });

  describe('stop() and the process', { concurrency: true }, () => {
    const fixture = fileURLToPath(new URL('./fixtures/stop-exits.ts', import.meta.url));
    const projectRoot = fileURLToPath(new URL('..', import.meta.url));

    /** Runs the fixture; resolves with its output and how long it lived after printing that it stopped. */
    function runFixture(mode: string): Promise<{ code: number | null; stdout: string; stderr: string; lingeredMs: number }> {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', fixture, mode], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        let stoppedSeenAt: number | undefined;
        child.stdout.on('data', (chunk) => {
          stdout += chunk;
          if (stoppedSeenAt === undefined && stdout.includes('"stoppedAt"')) stoppedSeenAt = Date.now();
        });
        child.stderr.on('data', (chunk) => (stderr += chunk));
        const killer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`the fixture (${mode}) did not exit within 20 s; stdout: ${stdout} stderr: ${stderr}`));
        }, 20_000);
        child.on('error', reject);
        child.on('exit', (code) => {
          clearTimeout(killer);
          resolve({ code, stdout, stderr, lingeredMs: stoppedSeenAt === undefined ? Infinity : Date.now() - stoppedSeenAt });
        });
      });
    }

    test('after stop() a started manager with a cron schedule and a cooldown-queued trigger lets the process exit by itself', async () => {
      const result = await runFixture('started');
      assert.equal(result.code, 0, `exit code; stderr: ${result.stderr}`);
      const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
      assert.equal(report.mode, 'started');
      assert.ok(report.ticks >= 1, 'the cron schedule fired before stop()');
      assert.ok(result.lingeredMs < 3000, `the process lived ${result.lingeredMs} ms after stop()`);
    });

    test('after stop() a manager that was never started, with a cooldown-queued trigger, lets the process exit by itself', async () => {
      const result = await runFixture('never-started');
      assert.equal(result.code, 0, `exit code; stderr: ${result.stderr}`);
      const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
      assert.equal(report.ticks, 0);
      assert.ok(result.lingeredMs < 3000, `the process lived ${result.lingeredMs} ms after stop()`);
    });
  });
});
