import { timeNow } from '../internal/clock.js';

/** Failed logins from one address that are answered at once; later ones wait longer and longer. */
const FREE_FAILURES = 3;
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 8_000;
/** An address with no failed login for this long starts afresh. */
const FORGET_AFTER_MS = 15 * 60_000;
/** Addresses remembered at most; the oldest go first (a flood of addresses cannot grow memory). */
const MAX_ADDRESSES = 10_000;

interface IFailures {
  count: number;
  last: number;
}

/**
 * Slows down guessing: after a few failed logins from one address, each further answer
 * to that address waits twice as long as the one before, up to MAX_DELAY_MS.
 */
export class LoginThrottle {
  private readonly byAddress = new Map<string, IFailures>();

  /** How long to wait before answering a login from `address`, in ms. */
  delayFor(address: string): number {
    const failures = this.current(address);
    if (failures === undefined || failures.count < FREE_FAILURES) return 0;
    return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (failures.count - FREE_FAILURES));
  }

  failed(address: string): void {
    const failures = this.current(address) ?? { count: 0, last: 0 };
    failures.count++;
    failures.last = timeNow();
    // Re-inserted so that the map's order is the order of the last failure.
    this.byAddress.delete(address);
    this.byAddress.set(address, failures);
    if (this.byAddress.size > MAX_ADDRESSES) this.byAddress.delete(this.byAddress.keys().next().value!);
  }

  succeeded(address: string): void {
    this.byAddress.delete(address);
  }

  private current(address: string): IFailures | undefined {
    const failures = this.byAddress.get(address);
    if (failures !== undefined && timeNow() - failures.last > FORGET_AFTER_MS) {
      this.byAddress.delete(address);
      return undefined;
    }
    return failures;
  }
}
