/** Small helpers shared by the rule tests (not a test file itself). */
import type { Subject } from 'rxjs';
import { createDeferred, type Deferred } from '../ts/internal/deferred.js';
import type { ITaskEvent } from '../ts/index.js';

/** Records every event `task` emits from now on, in a live array. */
export function collectEvents(task: { eventSubject: Subject<ITaskEvent> }): ITaskEvent[] {
  const events: ITaskEvent[] = [];
  task.eventSubject.subscribe((event) => events.push(event));
  return events;
}

export type { Deferred } from '../ts/internal/deferred.js';

/** A promise with its settle functions, as the core makes them. */
export function deferred<T = void>(): Deferred<T> {
  return createDeferred<T>();
}

/**
 * Lets every pending microtask (promise reaction) run. A setImmediate callback only runs
 * once the microtask queue is empty; doing it a few times also covers reactions that
 * schedule further reactions through several promise hops.
 */
export async function flush(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export type Settlement<T> =
  | { state: 'pending' }
  | { state: 'fulfilled'; value: T }
  | { state: 'rejected'; reason: unknown };

/** Watches a promise so a test can look at whether and how it settled without awaiting it. */
export function track<T>(promise: Promise<T>): { readonly current: Settlement<T>; settledCount: number } {
  const tracker = {
    current: { state: 'pending' } as Settlement<T>,
    settledCount: 0,
  };
  promise.then(
    (value) => {
      tracker.settledCount++;
      tracker.current = { state: 'fulfilled', value };
    },
    (reason: unknown) => {
      tracker.settledCount++;
      tracker.current = { state: 'rejected', reason };
    },
  );
  return tracker;
}

/** Pops every item of a priority queue, best first. */
export function popAll<T>(queue: { readonly size: number; pop(): T | undefined }): T[] {
  const items: T[] = [];
  while (queue.size > 0) items.push(queue.pop()!);
  return items;
}
