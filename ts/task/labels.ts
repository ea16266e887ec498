import { InvalidOptionError } from '../errors.js';
import { assertString, describeValue } from '../internal/validate.js';

/**
 * A task's labels. Held in a Map so that keys such as `__proto__` are ordinary keys;
 * `snapshot()` hands out a frozen copy that is shared until the labels change.
 */
export class LabelSet {
  private readonly map = new Map<string, string>();
  private frozen: Readonly<Record<string, string>> | undefined;

  constructor(private readonly owner: string, initial?: Record<string, string>) {
    if (initial === undefined) return;
    if (initial === null || typeof initial !== 'object' || Array.isArray(initial)) {
      throw new InvalidOptionError('labels', initial,
        `${owner}: expected \`labels\` to be an object of strings, got ${describeValue(initial)}`);
    }
    for (const key of Object.keys(initial)) this.set(key, initial[key]!);
  }

  set(key: string, value: string): void {
    assertString(this.owner, 'label key', key);
    assertString(this.owner, `label ${JSON.stringify(key)}`, value);
    this.map.set(key, value);
    this.frozen = undefined;
  }

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  has(key: string, value?: string): boolean {
    if (value === undefined) return this.map.has(key);
    return this.map.get(key) === value;
  }

  remove(key: string): boolean {
    const removed = this.map.delete(key);
    if (removed) this.frozen = undefined;
    return removed;
  }

  /** A frozen copy, shared until the labels change. */
  snapshot(): Readonly<Record<string, string>> {
    this.frozen ??= Object.freeze(this.toRecord());
    return this.frozen;
  }

  /** A new plain object the caller owns; keys are defined, not assigned, so `__proto__` stays a key. */
  toRecord(): Record<string, string> {
    const record: Record<string, string> = {};
    for (const [key, value] of this.map) {
      Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
    }
    return record;
  }
}
