import { clearTimer, setTimer, timeNow, type TTimer } from '../internal/clock.js';
import { Cron } from 'croner';
import { InvalidCronError } from '../errors.js';

/** A scheduled task, as `manager.getScheduledTasks()` lists it. */
export interface IScheduledTaskInfo {
  name: string;
  /** The cron expression. */
  schedule: string;
  /** The next tick. */
  nextRun: Date;
  /** The tick that fired last, if any fired since the schedule was added. */
  lastRun?: Date;
}

/** One upcoming tick, as `manager.getNextScheduledRuns()` lists them. */
export interface INextScheduledRun {
  taskName: string;
  schedule: string;
  nextRun: Date;
}

/** Called for each tick with its scheduled time (the same instant on every instance). */
export type TTickHandler = (taskName: string, scheduledAt: number) => void;

interface ISchedule {
  taskName: string;
  expression: string;
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

  /** Checks an expression: 5 fields, or 6 with seconds first (or a croner nickname such as `@hourly`). */
  static parse(expression: string, taskName?: string): Cron {
    if (typeof expression !== 'string') {
      throw new InvalidCronError(String(expression), `expected a string, got ${typeof expression}`, taskName);
    }
    const trimmed = expression.trim();
    const fields = trimmed.split(/\s+/).length;
    if (!trimmed.startsWith('@') && fields !== 5 && fields !== 6) {
      throw new InvalidCronError(expression, `expected 5 fields (minute hour day month weekday) or 6 (with seconds first), got ${fields}`, taskName);
    }
    try {
      return new Cron(trimmed, { paused: true });
    } catch (error) {
      throw new InvalidCronError(expression, error instanceof Error ? error.message : String(error), taskName);
    }
  }

  /** Adds or replaces the schedule of `taskName`. Throws `InvalidCronError` for a bad expression. */
  add(taskName: string, expression: string): void {
    const cron = Scheduler.parse(expression, taskName);
    this.remove(taskName);
    const schedule: ISchedule = { taskName, expression, cron, nextAt: undefined, lastAt: undefined, timer: undefined };
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
      .map((info) => ({ taskName: info.name, schedule: info.schedule, nextRun: info.nextRun }));
  }

  private nextTick(schedule: ISchedule, now: number): number | undefined {
    if (this.running && schedule.nextAt !== undefined) return schedule.nextAt;
    return schedule.cron.nextRun(new Date(now))?.getTime();
  }

  private arm(schedule: ISchedule, now: number): void {
    this.disarm(schedule);
    schedule.nextAt = schedule.cron.nextRun(new Date(now))?.getTime();
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
    const following = schedule.cron.nextRun(new Date(Math.max(tick, now)))?.getTime();
    schedule.nextAt = following;
    this.wait(schedule, now);
    this.onTick(schedule.taskName, tick);
  }
}
