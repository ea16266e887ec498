/**
 * A fake clock for tests (not a test file): the core's time stands still until the test
 * moves it, so a timing test asserts exact times ("starts exactly 60 ms after the first
 * run ended") and takes no real time, however loaded the machine is.
 *
 * It replaces the core's one clock (`useClock` in ts/internal/clock.ts), which every
 * reading and timer of the task, variant and manager code goes through. Test code that
 * stands for work taking time awaits `clock.sleep(ms)`, and reads `clock.now()`.
 *
 * Why this and not node's `mock.timers`: in Node 20, `tick(ms)` sets the time to the end
 * first and then fires every timer due within `ms`, with no promise reactions in between,
 * so a run that ends at 50 ms and arms a 60 ms cooldown from a promise reaction would see
 * the clock at the end of the tick and start late. This clock fires one timer at a time, at
 * its own time, and lets the promise reactions it caused run before the next one, as the
 * event loop does. It also leaves the real timers alone: the safety nets of the tests
 * (`within`) still fire in real time, and `setImmediate` still drains microtasks.
 */
import type { TestContext } from 'node:test';
import { useClock, type IClock, type TTimer } from '../ts/internal/clock.js';

interface IFakeTimer {
  at: number;
  /** Arm order: timers due at the same time fire in the order they were armed. */
  seq: number;
  callback: () => void;
  ref(): IFakeTimer;
  unref(): IFakeTimer;
  hasRef(): boolean;
}

/** The longest a timer may be set for, as in node: longer (or under 1 ms, or NaN) means 1 ms. */
const TIMEOUT_MAX = 2 ** 31 - 1;

/** How far `settle` moves the clock, by default, before it gives up on a promise: a day of fake time. */
const SETTLE_LIMIT_MS = 24 * 60 * 60 * 1000;

/**
 * Lets every pending promise reaction run: a setImmediate callback runs only once the
 * microtask queue is empty, reactions queued by reactions included.
 */
function drainMicrotasks(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

export interface IFakeClockOptions {
  /** Where the time starts, epoch ms. @default 0 */
  start?: number;
  /**
   * What a reading of the clock returns, given the time the timers run on. By default the
   * two are the same; tests of the core's behaviour on a clock that moves between two
   * adjacent reads give a function that runs ahead a little more on every call.
   */
  reading?: (time: number) => number;
}

export class FakeClock implements IClock {
  /** The time the timers run on; readings are `reading(current)`. */
  private current: number;
  private readonly reading: ((time: number) => number) | undefined;
  private armed = 0;
  private readonly timers = new Set<IFakeTimer>();

  constructor(options: IFakeClockOptions = {}) {
    this.current = options.start ?? 0;
    this.reading = options.reading;
  }

  now(): number {
    return this.reading === undefined ? this.current : this.reading(this.current);
  }

  /** Timers armed and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** The time the timers run on: what `now()` reads, unless the clock was given a `reading`. */
  get time(): number {
    return this.current;
  }

  /** Like node's setTimeout: under 1 ms (or NaN) is 1 ms, and the time stays whole ms. */
  setTimeout(callback: () => void, ms: number): TTimer {
    const delay = ms >= 1 && ms <= TIMEOUT_MAX ? Math.ceil(ms) : 1;
    const timer: IFakeTimer = {
      at: this.current + delay,
      seq: this.armed++,
      callback,
      ref: () => timer,
      unref: () => timer,
      hasRef: () => true,
    };
    this.timers.add(timer);
    return timer as unknown as TTimer;
  }

  clearTimeout(timer: TTimer): void {
    this.timers.delete(timer as unknown as IFakeTimer);
  }

  /** Resolves once `ms` of fake time have passed: what a test function awaits to stand for work that takes `ms`. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => this.setTimeout(resolve, ms));
  }

  /**
   * Moves the time forward by `ms`. First lets pending promise reactions run (they may arm
   * timers), then fires every timer due on the way, each at its own time and followed by
   * the reactions it caused, and ends at exactly `ms` later.
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await drainMicrotasks();
    for (let timer = this.nextDue(target); timer !== undefined; timer = this.nextDue(target)) await this.fire(timer);
    this.current = target;
  }

  /**
   * Moves the time on from timer to timer until `promise` settles, and hands it back (so
   * `await clock.settle(p)` resolves or rejects as `p` does). Fails at once when `promise`
   * is still pending with no timer left to fire (it would wait forever), and once it has
   * moved the time by `limitMs` (a day unless told). The time stays at the last timer
   * fired, the moment `promise` settled.
   */
  async settle<T>(promise: Promise<T>, what = 'the promise', limitMs = SETTLE_LIMIT_MS): Promise<T> {
    let settled = false;
    promise.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    const limit = this.current + limitMs;
    await drainMicrotasks();
    while (!settled) {
      const timer = this.nextDue(Number.POSITIVE_INFINITY);
      if (timer === undefined) throw new Error(`${what} is still pending at ${this.current} ms and no timer is left to fire: it would wait forever`);
      if (timer.at > limit) throw new Error(`${what} is still pending after ${limitMs} ms of fake time`);
      await this.fire(timer);
    }
    return promise;
  }

  /** The timer due first, if it is due by `limit`. */
  private nextDue(limit: number): IFakeTimer | undefined {
    let first: IFakeTimer | undefined;
    for (const timer of this.timers) {
      if (first === undefined || timer.at < first.at || (timer.at === first.at && timer.seq < first.seq)) first = timer;
    }
    return first !== undefined && first.at <= limit ? first : undefined;
  }

  private async fire(timer: IFakeTimer): Promise<void> {
    this.timers.delete(timer);
    this.current = Math.max(this.current, timer.at);
    timer.callback();
    await drainMicrotasks();
  }
}

/** Runs the core on a new fake clock for the rest of test `t`; the system clock is back once `t` ends. */
export function useFakeClock(t: TestContext, options?: IFakeClockOptions): FakeClock {
  const clock = new FakeClock(options);
  useClock(clock);
  t.after(() => useClock(undefined));
  return clock;
}

/**
 * Runs `body` with the core on a new fake clock and puts the system clock back when it
 * ends, for code that is not one test of its own (one case of a property test).
 */
export async function withFakeClock<T>(options: IFakeClockOptions, body: (clock: FakeClock) => Promise<T>): Promise<T> {
  const clock = new FakeClock(options);
  useClock(clock);
  try {
    return await body(clock);
  } finally {
    useClock(undefined);
  }
}
