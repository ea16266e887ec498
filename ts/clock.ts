/**
 * The clock of run bookkeeping (start times, durations, event timestamps).
 *
 * `Date.now()` is a call into the runtime, and on a loaded machine it costs about a tenth
 * of a whole queued run. When a run ends inside a TaskManager, the queue starts the next
 * run at once, in the same synchronous stretch, with only its own bookkeeping in between:
 * so the ending run hands its reading on, and the next start takes that instead of reading
 * the clock again. A reading is taken at most once and withdrawn when the stretch ends, so
 * nothing else ever sees it.
 */
let handedOn: number | undefined;

/** The time now: a reading handed on by a run that just ended, else the clock. */
export function takeTime(): number {
  const reading = handedOn;
  if (reading === undefined) return Date.now();
  handedOn = undefined;
  return reading;
}

/**
 * Hands `reading` on to the next `takeTime()`, until `withdrawTime()`. Only around code
 * that runs no user code before that `takeTime()`, so that the reading cannot go stale;
 * withdraw in a `finally`.
 */
export function handOnTime(reading: number): void {
  handedOn = reading;
}

export function withdrawTime(): void {
  handedOn = undefined;
}
