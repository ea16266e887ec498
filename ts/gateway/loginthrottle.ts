import { timeNow } from '../internal/clock.js';

/** Failed logins from one address that are answered at once; later ones wait longer and longer. */
const FREE_FAILURES = 3;
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 8_000;
/** An address with no failed login for this long starts afresh. */
const FORGET_AFTER_MS = 15 * 60_000;
/** Address and name pairs remembered at most; the oldest go first (a flood of them cannot grow memory). */
const MAX_ADDRESSES = 10_000;

interface IFailures {
  count: number;
  last: number;
}

/**
 * Slows down guessing: after a few failed logins for one client name from one address,
 * each further answer there waits twice as long as the one before, up to MAX_DELAY_MS.
 * Counted per name, so that a valid login of one client (which clears its count) cannot
 * clear the count of guesses at another's key.
 */
export class LoginThrottle {
  private readonly byAddress = new Map<string, IFailures>();

  /** How long to wait before answering a login from `address`, in ms. */
  delayFor(address: string, name: string): number {
    const failures = this.current(keyOf(address, name));
    if (failures === undefined || failures.count < FREE_FAILURES) return 0;
    return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (failures.count - FREE_FAILURES));
  }

  failed(address: string, name: string): void {
    const key = keyOf(address, name);
    const failures = this.current(key) ?? { count: 0, last: 0 };
    failures.count++;
    failures.last = timeNow();
    // Re-inserted so that the map's order is the order of the last failure.
    this.byAddress.delete(key);
    this.byAddress.set(key, failures);
    if (this.byAddress.size > MAX_ADDRESSES) this.byAddress.delete(this.byAddress.keys().next().value!);
  }

  succeeded(address: string, name: string): void {
    this.byAddress.delete(keyOf(address, name));
  }

  private current(key: string): IFailures | undefined {
    const failures = this.byAddress.get(key);
    if (failures !== undefined && timeNow() - failures.last > FORGET_AFTER_MS) {
      this.byAddress.delete(key);
      return undefined;
    }
    return failures;
  }
}

function keyOf(address: string, name: string): string {
  return `${address}\n${name}`;
}
