import { clearTimer, setTimer, timeNow, type TTimer } from '../internal/clock.js';
import { Cron } from 'croner';
import { describeTask, InvalidCronError, InvalidOptionError } from '../errors.js';
import { describeValue } from '../internal/validate.js';
import type { ITaskMetadata } from '../types.js';

/** Options of `manager.addAndScheduleTask` and `manager.scheduleTaskByName`. */
export interface IScheduleOptions {
  /**
   * The IANA time zone the expression is read in, e.g. `'Europe/Berlin'`, `'America/New_York'`
   * or `'UTC'`: with `'Europe/Berlin'`, `0 2 * * *` runs at 02:00 in Berlin wherever the server is.
   *
   * On the two days a year daylight saving time changes, croner decides what runs, and
   * nothing runs twice: in the hour skipped in spring, a daily time runs an hour later
   * (`30 2 * * *` at 03:30 that day) while an hourly `0 * * * *` has no run; in the hour
   * repeated in autumn, each time runs once, in the hour's first pass.
   * @default the server's time zone
   */
  timezone?: string;
}

/** A scheduled task, as `manager.getScheduledTasks()` lists it. */
export interface IScheduledTaskInfo {
  name: string;
  /** The cron expression. */
  schedule: string;
  /** The time zone the expression is read in, when one was given (else the server's). */
  timezone?: string;
  /** The next tick. */
  nextRun: Date;
  /** The tick that fired last, if any fired since the schedule was added. */
  lastRun?: Date;
}

/** One upcoming tick, as `manager.getNextScheduledRuns()` lists them. */
export interface INextScheduledRun {
  taskName: string;
  schedule: string;
  /** The time zone the expression is read in, when one was given (else the server's). */
  timezone?: string;
  nextRun: Date;
}

/** Called for each tick with its scheduled time (the same instant on every instance). */
export type TTickHandler = (taskName: string, scheduledAt: number) => void;

interface ISchedule {
  taskName: string;
  expression: string;
  timezone: string | undefined;
  cron: Cron;
  /** The tick the timer waits for (epoch ms). */
  nextAt: number | undefined;
  lastAt: number | undefined;
  timer: TTimer | undefined;
}

// Never sleep longer than this at once: a suspended machine or a changed wall clock is
// noticed within this time instead of after one very long timeout.
const MAX_TIMER_MS = 30_000;

/**
 * Cron schedules of the manager's tasks. croner parses expressions and computes the
 * next instant; the timers are our own so that each tick is identified by its exact
 * scheduled time, which a distributed coordinator uses to elect one instance per tick.
 */
export class Scheduler {
  private readonly schedules = new Map<string, ISchedule>();
  private running = false;

  constructor(private readonly onTick: TTickHandler) {}

  /**
   * Checks an expression (5 fields, or 6 with seconds first, or a croner nickname such as
   * `@hourly`) and the schedule options. Throws `InvalidCronError` or `InvalidOptionError`.
   */
  static parse(expression: string, taskName?: string, options?: IScheduleOptions): Cron {
    if (typeof expression !== 'string') {
      throw new InvalidCronError(String(expression), `expected a string, got ${typeof expression}`, taskName);
    }
    const trimmed = expression.trim();
    const fields = trimmed.split(/\s+/).length;
    if (!trimmed.startsWith('@') && fields !== 5 && fields !== 6) {
      throw new InvalidCronError(expression, `expected 5 fields (minute hour day month weekday) or 6 (with seconds first), got ${fields}`, taskName);
    }
    const timezone = timezoneOf(options, taskName);
    try {
      return new Cron(trimmed, timezone === undefined ? { paused: true } : { paused: true, timezone });
    } catch (error) {
      throw new InvalidCronError(expression, error instanceof Error ? error.message : String(error), taskName);
    }
  }

  /** Adds or replaces the schedule of `taskName`. Throws for a bad expression or bad options, changing nothing. */
  add(taskName: string, expression: string, options?: IScheduleOptions): void {
    const cron = Scheduler.parse(expression, taskName, options);
    this.remove(taskName);
    const schedule: ISchedule = {
      taskName,
      expression,
      timezone: options?.timezone,
      cron,
      nextAt: undefined,
      lastAt: undefined,
      timer: undefined,
    };
    this.schedules.set(taskName, schedule);
    if (this.running) this.arm(schedule, timeNow());
  }

  /** `true` when `taskName` had a schedule. */
  remove(taskName: string): boolean {
    const schedule = this.schedules.get(taskName);
    if (schedule === undefined) return false;
    this.disarm(schedule);
    schedule.cron.stop();
    this.schedules.delete(taskName);
    return true;
  }

  has(taskName: string): boolean {
    return this.schedules.has(taskName);
  }

  expressionOf(taskName: string): string | undefined {
    return this.schedules.get(taskName)?.expression;
  }

  /** The time zone `taskName`'s expression is read in, if one was given. */
  timezoneOf(taskName: string): string | undefined {
    return this.schedules.get(taskName)?.timezone;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const now = timeNow();
    for (const schedule of this.schedules.values()) this.arm(schedule, now);
  }

  stop(): void {
    this.running = false;
    for (const schedule of this.schedules.values()) this.disarm(schedule);
  }

  /** Adds the cron schedule of `taskName` (expression, zone, next tick), if it has one, to its metadata. */
  describeInto(metadata: ITaskMetadata, taskName: string): void {
    const expression = this.expressionOf(taskName);
    if (expression === undefined) return;
    metadata.cronSchedule = expression;
    const timezone = this.timezoneOf(taskName);
    if (timezone !== undefined) metadata.cronTimezone = timezone;
    const nextRun = this.nextRunOf(taskName);
    if (nextRun !== undefined) metadata.nextRun = nextRun;
  }

  /** The next tick of `taskName` (epoch ms), if it is scheduled and has one. */
  nextRunOf(taskName: string): number | undefined {
    const schedule = this.schedules.get(taskName);
    return schedule === undefined ? undefined : this.nextTick(schedule, timeNow());
  }

  list(): IScheduledTaskInfo[] {
    const now = timeNow();
    const infos: IScheduledTaskInfo[] = [];
    for (const schedule of this.schedules.values()) {
      const nextAt = this.nextTick(schedule, now);
      if (nextAt === undefined) continue;
      const info: IScheduledTaskInfo = { name: schedule.taskName, schedule: schedule.expression, nextRun: new Date(nextAt) };
      if (schedule.timezone !== undefined) info.timezone = schedule.timezone;
      if (schedule.lastAt !== undefined) info.lastRun = new Date(schedule.lastAt);
      infos.push(info);
    }
    return infos;
  }

  /** One entry per scheduled task, soonest first. */
  upcoming(limit: number): INextScheduledRun[] {
    return this.list()
      .sort((a, b) => a.nextRun.getTime() - b.nextRun.getTime())
      .slice(0, limit)
      .map((info) => {
        const run: INextScheduledRun = { taskName: info.name, schedule: info.schedule, nextRun: info.nextRun };
        if (info.timezone !== undefined) run.timezone = info.timezone;
        return run;
      });
  }

  private nextTick(schedule: ISchedule, now: number): number | undefined {
    if (this.running && schedule.nextAt !== undefined) return schedule.nextAt;
    return nextTickAfter(schedule.cron, now);
  }

  private arm(schedule: ISchedule, now: number): void {
    this.disarm(schedule);
    schedule.nextAt = nextTickAfter(schedule.cron, now);
    this.wait(schedule, now);
  }

  private wait(schedule: ISchedule, now: number): void {
    if (schedule.nextAt === undefined) return;
    const delay = Math.min(Math.max(0, schedule.nextAt - now), MAX_TIMER_MS);
    schedule.timer = setTimer(() => this.onTimer(schedule), delay);
  }

  private disarm(schedule: ISchedule): void {
    if (schedule.timer !== undefined) clearTimer(schedule.timer);
    schedule.timer = undefined;
    schedule.nextAt = undefined;
  }

  private onTimer(schedule: ISchedule): void {
    schedule.timer = undefined;
    if (!this.running || schedule.nextAt === undefined) return;
    const now = timeNow();
    // Woken early (a capped wait, or a clock that moved back): keep waiting for the tick.
    if (now < schedule.nextAt) return this.wait(schedule, now);
    const tick = schedule.nextAt;
    schedule.lastAt = tick;
    // After a long sleep the following ticks may be past already; those are skipped, not
    // fired in a burst: the next tick is the first one after now.
    const following = nextTickAfter(schedule.cron, Math.max(tick, now));
    schedule.nextAt = following;
    this.wait(schedule, now);
    this.onTick(schedule.taskName, tick);
  }
}

/** The `timezone` option, checked: `undefined` means the server's zone. */
function timezoneOf(options: IScheduleOptions | undefined, taskName: string | undefined): string | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', options,
      `${describeTask(taskName)}: expected the schedule options to be an object such as { timezone: "Europe/Berlin" }, got ${describeValue(options)}`);
  }
  const { timezone } = options;
  if (timezone === undefined) return undefined;
  if (!isTimeZone(timezone)) {
    throw new InvalidOptionError('timezone', timezone,
      `${describeTask(taskName)}: expected \`timezone\` to be an IANA time zone such as "Europe/Berlin", got ${describeValue(timezone)}`);
  }
  return timezone;
}

/**
 * Whether the runtime knows `timezone`. croner converts times with the same
 * `Intl.DateTimeFormat`, but only when it computes a tick, so an unknown zone would
 * otherwise fail later, when the manager starts.
 */
function isTimeZone(timezone: unknown): timezone is string {
  if (typeof timezone !== 'string' || timezone === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/**
 * croner's next tick strictly after `from` (epoch ms).
 *
 * Asked from inside the second pass of an hour that repeats (autumn's daylight saving
 * change), croner 10 answers with the matching time of the first pass, up to an hour in
 * the past: `30 2 * * *` in Europe/Berlin, asked at 02:10 CET, says 02:30 CEST. Taken as
 * is, that tick would be due at once and fire again and again. croner runs a repeated
 * hour once, in its first pass, so the true next tick is the one croner gives from the
 * last instant it still answers forward from: found by bisection between its answer and
 * `from` (about 22 questions, once a year).
 */
export function nextTickAfter(cron: Cron, from: number): number | undefined {
  const next = cron.nextRun(new Date(from))?.getTime();
  if (next === undefined || next > from) return next;
  let forward = next;
  let backward = from;
  while (backward - forward > 1) {
    const middle = Math.floor((forward + backward) / 2);
    const answer = cron.nextRun(new Date(middle))?.getTime();
    if (answer === undefined || answer > middle) forward = middle;
    else backward = middle;
  }
  const after = cron.nextRun(new Date(forward))?.getTime();
  // Should croner ever answer backwards here too, stop the schedule rather than spin.
  return after !== undefined && after > from ? after : undefined;
}
