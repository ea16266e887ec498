import { clearTimer, setTimer, setTimerRef, timeNow, type TTimer } from '../internal/clock.js';
import type { RunLine } from './managedrun.js';

/**
 * Wakes lines whose key is blocked only by a cooldown (its slots are free): one timer,
 * set to the soonest expiry. A full key needs no timer: a run that releases a slot
 * wakes its line.
 */
export class CooldownWatch {
  private readonly cooling = new Set<RunLine>();
  private timer: TTimer | undefined = undefined;
  private timerAt = 0;
  private keepAlive = true;

  constructor(
    /** Drains a line whose cooldown may have passed; it calls `watch` again if it still cools. */
    private readonly drain: (line: RunLine) => void,
  ) {}

  /** Watches `line` if its key cools, and forgets it if its key is full. */
  watch(line: RunLine): void {
    const group = line.group!;
    // A group without a cooldown never has a cooling line: nothing to watch or unwatch.
    if (group.cooldownMs === 0) return;
    if (group.getRunningCount(line.key) >= group.maxConcurrent) return this.forget(line);
    // The caller found the key blocked on an earlier read of the clock; the cooldown may have
    // passed since. Then `remaining` is 0 and the timer fires at once: returning here instead
    // would leave the line with nobody to wake it.
    const remaining = group.getCooldownRemaining(line.key);
    this.cooling.add(line);
    this.arm(timeNow() + remaining);
  }

  forget(line: RunLine): void {
    if (this.cooling.size === 0) return;
    this.cooling.delete(line);
    this.clearIfIdle();
  }

  forgetAll(): void {
    this.cooling.clear();
    this.clearIfIdle();
  }

  /** Lets the timer keep the process alive (while the manager runs) or not. */
  setKeepAlive(keepAlive: boolean): void {
    this.keepAlive = keepAlive;
    if (this.timer !== undefined) setTimerRef(this.timer, keepAlive);
  }

  private arm(at: number): void {
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) clearTimer(this.timer);
    this.timerAt = at;
    this.timer = setTimer(this.onTimer, Math.max(0, at - timeNow()));
    setTimerRef(this.timer, this.keepAlive);
  }

  /** A timer with nothing left to wake would keep the process alive for nothing. */
  private clearIfIdle(): void {
    if (this.cooling.size > 0 || this.timer === undefined) return;
    clearTimer(this.timer);
    this.timer = undefined;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    const lines = [...this.cooling];
    this.cooling.clear();
    for (const line of lines) this.drain(line);
  };
}
