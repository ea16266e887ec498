import { randomId } from '../internal/ids.js';

/**
 * A run's id as a run holds it: the `runId` its trigger gave, or a number of this process
 * that becomes a string only when an event or the task function asks for it (most runs
 * are never observed, so most never pay for the string).
 */
export type TRunKey = string | number;

// Ids must not collide across the processes of a cluster, whose events meet in one view.
const PROCESS_TAG = randomId().replace(/-/g, '').slice(0, 8);
let lastRunNumber = 0;

/** A new run's key: the next number of this process. */
export function nextRunKey(): number {
  return ++lastRunNumber;
}

/** The id events carry for the run with `key`, e.g. `3f9c01ab-42`. */
export function runIdOf(key: TRunKey): string {
  return typeof key === 'string' ? key : `${PROCESS_TAG}-${key}`;
}
