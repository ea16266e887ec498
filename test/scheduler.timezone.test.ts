/**
 * Cron in the user's time zone: the `timezone` schedule option, checked where it enters;
 * the zone in getScheduledTasks, getNextScheduledRuns and metadata; and the two daylight
 * saving changes of a year, on a fake clock and with fixed instants, so that every test
 * gives the same result whatever the machine's own time zone is (nothing global is set).
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { Cron } from 'croner';
import { useClock, type IClock, type TTimer } from '../ts/internal/clock.js';
import { nextTickAfter, Scheduler } from '../ts/manager/scheduler.js';
import {
  distributedCoordination,
  InvalidCronError,
  InvalidOptionError,
  Task,
  TaskbufferError,
  type IScheduleOptions,
} from '../ts/index.js';
import { managerFor } from './manager-helpers.js';

const BERLIN = 'Europe/Berlin';

interface IFakeTimer {
  at: number;
  order: number;
  callback: () => void;
}

/**
 * A clock the test moves by hand. Timers fire in order, each at its own instant, and the
 * promises they start settle before the next one fires. A scheduler that keeps re-arming
 * a timer for the instant it is at would spin forever; the clock throws instead.
 */
class FakeClock implements IClock {
  private readonly timers = new Map<object, IFakeTimer>();
  private order = 0;

  constructor(private current: number) {}

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): TTimer {
    const handle = {};
    this.timers.set(handle, { at: this.current + Math.max(0, ms), order: this.order++, callback });
    return handle as TTimer;
  }

  clearTimeout(timer: TTimer): void {
    this.timers.delete(timer as object);
  }

  /** Moves to `target`, firing every timer due on the way. */
  async advanceTo(target: number): Promise<void> {
    let firedHere = 0;
    for (let due = this.nextDue(target); due !== undefined; due = this.nextDue(target)) {
      const [handle, timer] = due;
      firedHere = timer.at === this.current ? firedHere + 1 : 1;
      if (firedHere > 100) throw new Error(`timers keep firing at ${new Date(this.current).toISOString()}: a schedule spins`);
      this.current = Math.max(this.current, timer.at);
      this.timers.delete(handle);
      timer.callback();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.current = Math.max(this.current, target);
  }

  /** Moves to `target` without firing anything, like a machine that was suspended; `advanceTo` then fires what is late. */
  jumpTo(target: number): void {
    this.current = target;
  }

  private nextDue(target: number): [object, IFakeTimer] | undefined {
    let earliest: [object, IFakeTimer] | undefined;
    for (const entry of this.timers) {
      const timer = entry[1];
      if (timer.at > target) continue;
      if (earliest === undefined || timer.at < earliest[1].at || (timer.at === earliest[1].at && timer.order < earliest[1].order)) earliest = entry;
    }
    return earliest;
  }
}

/** Runs the core on a fake clock at `iso` for the rest of the test. */
function fakeClockAt(t: TestContext, iso: string): FakeClock {
  const clock = new FakeClock(Date.parse(iso));
  useClock(clock);
  t.after(() => useClock(undefined));
  return clock;
}

/** A scheduler on its own, recording the instants its tick handler is given; stopped when the test ends. */
function recordingScheduler(t: TestContext): { scheduler: Scheduler; ticks: number[] } {
  const ticks: number[] = [];
  const scheduler = new Scheduler((_name, scheduledAt) => ticks.push(scheduledAt));
  t.after(() => scheduler.stop());
  return { scheduler, ticks };
}

/** croner's own ticks after `fromIso` up to `toIso`, each asked from the one before. */
function cronerTicks(expression: string, timezone: string, fromIso: string, toIso: string): number[] {
  const cron = new Cron(expression, { paused: true, timezone });
  const ticks: number[] = [];
  for (let next = cron.nextRun(new Date(fromIso)); next !== null && next.getTime() <= Date.parse(toIso); next = cron.nextRun(next)) {
    ticks.push(next.getTime());
  }
  return ticks;
}

/** `2026-10-25 02:30 GMT+2`: an instant as a clock in `timeZone` shows it. */
function wallClock(at: number, timeZone: string): string {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short',
  }).formatToParts(at).map((part) => [part.type, part.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${parts.timeZoneName}`;
}

const iso = (at: number) => new Date(at).toISOString();

function assertInvalidOption(action: () => void, option: string, value: unknown, message: string) {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof InvalidOptionError, `expected InvalidOptionError, got ${String(error)}`);
    assert.ok(error instanceof TaskbufferError);
    assert.equal(error.option, option);
    assert.deepEqual(error.value, value);
    assert.equal(error.message, message);
    return true;
  });
}

describe('the timezone option', () => {
  for (const zone of ['Mars/Base', '', ' Europe/Berlin', 'Europe/Berlinn']) {
    test(`an unknown zone ${JSON.stringify(zone)} throws InvalidOptionError when scheduled, naming the task, the option and the value, and changes nothing`, (t) => {
      const manager = managerFor(t);
      const task = new Task({ name: 'backup', taskFunction: async () => {} });
      const message = `Task "backup": expected \`timezone\` to be an IANA time zone such as "Europe/Berlin", got ${JSON.stringify(zone)} (string)`;
      assertInvalidOption(() => manager.addAndScheduleTask(task, '0 2 * * *', { timezone: zone }), 'timezone', zone, message);
      assert.equal(manager.getTaskByName('backup'), undefined, 'the task was not registered');

      manager.addAndScheduleTask(task, '0 3 * * *', { timezone: 'UTC' });
      assertInvalidOption(() => manager.scheduleTaskByName('backup', '0 2 * * *', { timezone: zone }), 'timezone', zone, message);
      assert.deepEqual(manager.getScheduledTasks().map((s) => [s.schedule, s.timezone]), [['0 3 * * *', 'UTC']], 'the old schedule stays');
    });
  }

  const badOptions: Array<[string, unknown, string, unknown, string]> = [
    ['null', null, 'options', null, 'expected the schedule options to be an object such as { timezone: "Europe/Berlin" }, got null'],
    ['a zone passed where the options go', BERLIN, 'options', BERLIN, 'expected the schedule options to be an object such as { timezone: "Europe/Berlin" }, got "Europe/Berlin" (string)'],
    ['a number', 2, 'options', 2, 'expected the schedule options to be an object such as { timezone: "Europe/Berlin" }, got 2 (number)'],
    ['a timezone that is a number', { timezone: 1 }, 'timezone', 1, 'expected `timezone` to be an IANA time zone such as "Europe/Berlin", got 1 (number)'],
    ['a timezone that is null', { timezone: null }, 'timezone', null, 'expected `timezone` to be an IANA time zone such as "Europe/Berlin", got null'],
  ];
  for (const [what, options, option, value, detail] of badOptions) {
    test(`options that are ${what} throw InvalidOptionError naming the value, from both ways to schedule`, (t) => {
      const manager = managerFor(t);
      const task = new Task({ name: 'job', taskFunction: async () => {} });
      const bad = options as IScheduleOptions;
      assertInvalidOption(() => manager.addAndScheduleTask(task, '0 2 * * *', bad), option, value, `Task "job": ${detail}`);
      assert.equal(manager.getTaskByName('job'), undefined);
      manager.addTask(task);
      assertInvalidOption(() => manager.scheduleTaskByName('job', '0 2 * * *', bad), option, value, `Task "job": ${detail}`);
      assert.deepEqual(manager.getScheduledTasks(), []);
    });
  }

  test('an invalid expression is still an InvalidCronError when a valid zone comes with it', (t) => {
    const manager = managerFor(t);
    const task = new Task({ name: 'job', taskFunction: async () => {} });
    assert.throws(() => manager.addAndScheduleTask(task, '61 * * * *', { timezone: BERLIN }), InvalidCronError);
  });

  test('an expression is read in the given zone, not the machine\'s: 02:00 in Tokyo, New York and UTC are three instants', (t) => {
    fakeClockAt(t, '2026-06-15T12:00:00Z');
    const manager = managerFor(t);
    for (const timezone of ['Asia/Tokyo', 'America/New_York', 'UTC']) {
      manager.addAndScheduleTask(new Task({ name: timezone, taskFunction: async () => {} }), '0 2 * * *', { timezone });
    }
    const next = Object.fromEntries(manager.getScheduledTasks().map((s) => [s.name, iso(s.nextRun.getTime())]));
    assert.deepEqual(next, {
      'Asia/Tokyo': '2026-06-15T17:00:00.000Z',
      'America/New_York': '2026-06-16T06:00:00.000Z',
      'UTC': '2026-06-16T02:00:00.000Z',
    });
  });

  test('getScheduledTasks, getNextScheduledRuns and task metadata show the zone; a schedule without one shows none', (t) => {
    fakeClockAt(t, '2026-06-15T12:00:00Z');
    const manager = managerFor(t);
    manager.addAndScheduleTask(new Task({ name: 'berlin', taskFunction: async () => {} }), '0 2 * * *', { timezone: BERLIN });
    manager.addAndScheduleTask(new Task({ name: 'server', taskFunction: async () => {} }), '0 2 * * *');

    const [berlin, server] = manager.getScheduledTasks();
    assert.deepEqual(berlin, { name: 'berlin', schedule: '0 2 * * *', timezone: BERLIN, nextRun: new Date('2026-06-16T00:00:00Z') });
    assert.equal('timezone' in server!, false);

    const runs = manager.getNextScheduledRuns();
    assert.deepEqual(runs.find((r) => r.taskName === 'berlin'), { taskName: 'berlin', schedule: '0 2 * * *', timezone: BERLIN, nextRun: new Date('2026-06-16T00:00:00Z') });
    assert.equal('timezone' in runs.find((r) => r.taskName === 'server')!, false);

    const metadata = manager.getTaskMetadata('berlin')!;
    assert.deepEqual([metadata.cronSchedule, metadata.cronTimezone, metadata.nextRun], ['0 2 * * *', BERLIN, Date.parse('2026-06-16T00:00:00Z')]);
    assert.deepEqual(manager.getAllTasksMetadata().map((m) => m.cronTimezone), [BERLIN, undefined]);
    assert.equal('cronTimezone' in manager.getTaskMetadata('server')!, false);
  });

  test('scheduling a task again without a zone goes back to the server\'s zone', (t) => {
    const manager = managerFor(t);
    manager.addAndScheduleTask(new Task({ name: 'job', taskFunction: async () => {} }), '0 2 * * *', { timezone: BERLIN });
    manager.scheduleTaskByName('job', '0 2 * * *');
    assert.equal(manager.getScheduledTasks()[0]!.timezone, undefined);
    assert.equal(manager.getTaskMetadata('job')!.cronTimezone, undefined);
  });

  test('the caller\'s options object is left as it was', (t) => {
    const manager = managerFor(t);
    const options = Object.freeze({ timezone: BERLIN });
    manager.addAndScheduleTask(new Task({ name: 'job', taskFunction: async () => {} }), '0 2 * * *', options);
    assert.deepEqual(options, { timezone: BERLIN });
  });
});

describe('daylight saving time changes', () => {
  test('in spring, a daily 30 2 * * * in Europe/Berlin runs as croner decides on the day 02:00–03:00 is skipped, and never twice', async (t) => {
    const clock = fakeClockAt(t, '2026-03-28T12:00:00Z');
    const { scheduler, ticks } = recordingScheduler(t);
    scheduler.add('daily', '30 2 * * *', { timezone: BERLIN });
    scheduler.start();
    await clock.advanceTo(Date.parse('2026-03-30T12:00:00Z'));

    assert.deepEqual(ticks.map(iso), cronerTicks('30 2 * * *', BERLIN, '2026-03-28T12:00:00Z', '2026-03-30T12:00:00Z').map(iso));
    const onTheDay = ticks.filter((at) => wallClock(at, BERLIN).startsWith('2026-03-29'));
    assert.ok(onTheDay.length <= 1, `at most one run on the day: ${onTheDay.map((at) => wallClock(at, BERLIN))}`);
    assert.deepEqual(ticks.slice(-1).map((at) => wallClock(at, BERLIN)), ['2026-03-30 02:30 GMT+2'], 'the day after, 02:30 summer time');
  });

  test('in autumn, a daily 30 2 * * * in Europe/Berlin runs exactly once on the day 02:00–03:00 repeats', async (t) => {
    const clock = fakeClockAt(t, '2026-10-24T12:00:00Z');
    const { scheduler, ticks } = recordingScheduler(t);
    scheduler.add('daily', '30 2 * * *', { timezone: BERLIN });
    scheduler.start();
    await clock.advanceTo(Date.parse('2026-10-26T12:00:00Z'));

    assert.deepEqual(ticks.map((at) => wallClock(at, BERLIN)), ['2026-10-25 02:30 GMT+2', '2026-10-26 02:30 GMT+1']);
    assert.deepEqual(ticks, cronerTicks('30 2 * * *', BERLIN, '2026-10-24T12:00:00Z', '2026-10-26T12:00:00Z'), 'the handler gets croner\'s UTC instants');
  });

  for (const expression of ['*/30 * * * *', '0 * * * *', '15 2 * * *', '10 */10 * * * *']) {
    test(`over both changes, ${expression} in Europe/Berlin fires each of croner's ticks once, at its instant`, async (t) => {
      for (const [from, to] of [['2026-03-28T23:30:00Z', '2026-03-29T02:30:00Z'], ['2026-10-24T23:30:00Z', '2026-10-25T02:30:00Z']] as const) {
        const clock = fakeClockAt(t, from);
        const { scheduler, ticks } = recordingScheduler(t);
        scheduler.add('job', expression, { timezone: BERLIN });
        scheduler.start();
        await clock.advanceTo(Date.parse(to));
        scheduler.stop();
        assert.ok(ticks.length > 0);
        assert.deepEqual(ticks.map(iso), cronerTicks(expression, BERLIN, from, to).map(iso));
      }
    });
  }

  test('started inside the repeated hour, after its first pass ran the tick, a schedule shows and runs the next day\'s tick instead of spinning on a past one', async (t) => {
    // 02:10 winter time, the second pass: 02:30 came at 00:30 UTC, in the first pass.
    const clock = fakeClockAt(t, '2026-10-25T01:10:00Z');
    const { scheduler, ticks } = recordingScheduler(t);
    scheduler.add('daily', '30 2 * * *', { timezone: BERLIN });
    assert.equal(iso(scheduler.nextRunOf('daily')!), '2026-10-26T01:30:00.000Z', 'not the 02:30 that has passed');
    scheduler.start();
    await clock.advanceTo(Date.parse('2026-10-26T12:00:00Z'));
    assert.deepEqual(ticks.map(iso), ['2026-10-26T01:30:00.000Z']);
  });

  test('asked from any instant around the repeated hour, the next tick is the first of croner\'s own ticks after it', () => {
    const cases = [['30 2 * * *', '2026-10-26T03:00:00Z'], ['* * * * *', '2026-10-25T02:30:00Z'], ['*/20 * * * *', '2026-10-25T02:30:00Z'], ['15 * * * * *', '2026-10-25T02:30:00Z']];
    for (const [expression, chainEnd] of cases) {
      const cron = new Cron(expression!, { paused: true, timezone: BERLIN });
      const chain = cronerTicks(expression!, BERLIN, '2026-10-24T23:00:00Z', chainEnd!);
      for (let from = Date.parse('2026-10-24T23:50:00Z'); from < Date.parse('2026-10-25T02:10:00Z'); from += 7 * 60_000 + 13_457) {
        assert.equal(iso(nextTickAfter(cron, from)!), iso(chain.find((at) => at > from)!), `${expression} asked at ${iso(from)}`);
      }
    }
  });

  test('a timer that wakes late inside the repeated hour (a suspended machine) fires its tick once and goes on after the hour', async (t) => {
    const clock = fakeClockAt(t, '2026-10-25T00:20:00Z');
    const { scheduler, ticks } = recordingScheduler(t);
    scheduler.add('half-hourly', '*/30 * * * *', { timezone: BERLIN });
    scheduler.start();
    clock.jumpTo(Date.parse('2026-10-25T01:10:00Z'));
    await clock.advanceTo(Date.parse('2026-10-25T02:45:00Z'));
    assert.deepEqual(ticks.map((at) => wallClock(at, BERLIN)), [
      '2026-10-25 02:30 GMT+2', // due while suspended, fired on waking
      '2026-10-25 03:00 GMT+1', // croner runs the repeated hour once: its second pass has no ticks
      '2026-10-25 03:30 GMT+1',
    ]);
  });
});

describe('a time zone in a cluster', () => {
  /** Elects the first instance to ask about a tick, which is `taskName` + `scheduledAt`. */
  class RecordingCoordinator extends distributedCoordination.AbstractDistributedCoordinator {
    readonly requests: distributedCoordination.IDistributedTaskRequest[] = [];
    private readonly ticks = new Set<string>();

    override async fireDistributedTaskRequest(request: distributedCoordination.IDistributedTaskRequest) {
      this.requests.push(request);
      const tick = `${request.taskName}@${request.scheduledAt}`;
      const shouldTrigger = !this.ticks.has(tick);
      this.ticks.add(tick);
      return { ...request, shouldTrigger, considered: true, rank: shouldTrigger ? 1 : 2, reason: shouldTrigger ? 'elected' : 'taken' };
    }

    override async updateDistributedTaskRequest(): Promise<void> {}
    override async start(): Promise<void> {}
    override async stop(): Promise<void> {}
  }

  test('each instance hands the coordinator croner\'s UTC instant as scheduledAt, so the tick runs once in the cluster', async (t) => {
    const clock = fakeClockAt(t, '2026-10-24T12:00:00Z');
    const coordinator = new RecordingCoordinator();
    let runs = 0;
    for (const instanceId of ['a', 'b']) {
      const manager = managerFor(t, { distributedCoordinator: coordinator, instanceId });
      manager.addAndScheduleTask(new Task({ name: 'report', taskFunction: async () => void runs++ }), '30 2 * * *', { timezone: BERLIN });
      await manager.start();
    }
    await clock.advanceTo(Date.parse('2026-10-25T12:00:00Z'));

    const expected = new Cron('30 2 * * *', { paused: true, timezone: BERLIN }).nextRun(new Date('2026-10-24T12:00:00Z'))!.getTime();
    assert.equal(iso(expected), '2026-10-25T00:30:00.000Z');
    assert.deepEqual(coordinator.requests.map((r) => [r.instanceId, r.taskName, r.scheduledAt]), [['a', 'report', expected], ['b', 'report', expected]]);
    assert.equal(runs, 1, 'one instance ran the tick');
  });
});
