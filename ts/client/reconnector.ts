import { clearTimer, setTimer, type TTimer } from '../internal/clock.js';

/**
 * When a lost connection is tried again: after `initialDelayMs`, doubling with each
 * failed attempt up to `maxDelayMs`, back to the start after a success. Holds at most
 * one timer, which `cancel()` clears.
 */
export class Reconnector {
  private timer: TTimer | undefined;
  private attempts = 0;

  constructor(private readonly delays: { initialDelayMs: number; maxDelayMs: number }) {}

  /** Calls `attempt` after the next delay, and again after each failure unless `giveUp(error)` says so. */
  schedule(attempt: () => Promise<void>, giveUp: (error: unknown) => boolean): void {
    const delay = Math.min(this.delays.maxDelayMs, this.delays.initialDelayMs * 2 ** this.attempts++);
    this.timer = setTimer(() => {
      this.timer = undefined;
      attempt().catch((error: unknown) => {
        if (!giveUp(error)) this.schedule(attempt, giveUp);
      });
    }, delay);
  }

  /** A connection was made: the next loss starts from `initialDelayMs` again. */
  succeeded(): void {
    this.attempts = 0;
  }

  cancel(): void {
    if (this.timer !== undefined) clearTimer(this.timer);
    this.timer = undefined;
  }
}
