/**
 * The core's one clock: the time now and timers. Every reading and timer of the task,
 * manager and variant code goes through here, so that tests can run the core on a clock
 * they move themselves (`useClock`), and so that node's mock timers, which replace the
 * globals, reach it too (the system clock looks the globals up at each call).
 */

/** A timer handle, as the clock's `setTimeout` returns it. */
export type TTimer = ReturnType<typeof setTimeout>;

/** What the core needs of a clock. */
export interface IClock {
  /** Epoch milliseconds. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TTimer;
  clearTimeout(timer: TTimer): void;
}

const systemClock: IClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer),
};

let current: IClock = systemClock;

/**
 * Runs the core on `clock` from now on; `undefined` goes back to the system clock.
 * For tests: timers armed on one clock are not moved to the next.
 * @internal
 */
export function useClock(clock: IClock | undefined): void {
  current = clock ?? systemClock;
}

/** The time now, epoch ms. */
export function timeNow(): number {
  return current.now();
}

export function setTimer(callback: () => void, ms: number): TTimer {
  return current.setTimeout(callback, ms);
}

export function clearTimer(timer: TTimer): void {
  current.clearTimeout(timer);
}

/** Node timers can be unref'd so they do not keep the process alive; browsers have no such thing. */
export function setTimerRef(timer: TTimer, keepAlive: boolean): void {
  const handle = timer as unknown as { ref?: () => void; unref?: () => void };
  if (keepAlive) handle.ref?.();
  else handle.unref?.();
}
