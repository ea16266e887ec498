/**
 * Catches uncaught exceptions and unhandled rejections for one test (not a test file).
 * The runner's own listeners would fail the test at once, without saying which error;
 * for the length of the test they are set aside and the strays are collected instead,
 * so the test can assert that there were none, after a timer tick (rxjs rethrows a
 * subscriber's error on a timer).
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';

const EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

export interface IStrayErrors {
  /** What reached the process so far, as `event: message`. */
  readonly seen: string[];
  /** Waits past a timer tick, then fails if anything reached the process. */
  assertNone(): Promise<void>;
}

export function catchStrayErrors(t: TestContext): IStrayErrors {
  const seen: string[] = [];
  // Typed loosely: node's typings overload `on` per event name, which a loop cannot pick.
  const emitter = process as unknown as NodeJS.EventEmitter;
  const saved = new Map<string, Array<(...args: any[]) => void>>();
  const collectors = new Map<string, (error: unknown) => void>();
  for (const event of EVENTS) {
    saved.set(event, emitter.listeners(event) as Array<(...args: any[]) => void>);
    emitter.removeAllListeners(event);
    const collect = (error: unknown) => seen.push(`${event}: ${error instanceof Error ? error.message : String(error)}`);
    collectors.set(event, collect);
    emitter.on(event, collect);
  }
  t.after(() => {
    for (const event of EVENTS) {
      emitter.off(event, collectors.get(event)!);
      for (const listener of saved.get(event)!) emitter.on(event, listener);
    }
  });
  return {
    seen,
    async assertNone() {
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(seen, [], 'nothing reached the process as an uncaught exception or unhandled rejection');
    },
  };
}
