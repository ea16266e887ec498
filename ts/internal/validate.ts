import { InvalidOptionError } from '../errors.js';

/**
 * Checks for options where they enter. Each message names the owner, the option, what
 * was expected and what came in, e.g.
 * `Task "api": expected \`bufferMax\` to be a positive integer, got 0 (number)`.
 */

/** A readable rendering of any value for error messages: `0 (number)`, `"x" (string)`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `${JSON.stringify(value)} (string)`;
  if (typeof value === 'function') return `a function`;
  if (typeof value === 'object') {
    try {
      return `${JSON.stringify(value)} (${Array.isArray(value) ? 'array' : 'object'})`;
    } catch {
      return 'an object';
    }
  }
  return `${String(value)} (${typeof value})`;
}

function reject(owner: string, option: string, expected: string, value: unknown): never {
  throw new InvalidOptionError(option, value, `${owner}: expected \`${option}\` to be ${expected}, got ${describeValue(value)}`);
}

export function assertPositiveInteger(owner: string, option: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    reject(owner, option, 'a positive integer', value);
  }
}

/** A positive integer or `Infinity`, as for concurrency caps. */
export function assertCap(owner: string, option: string, value: unknown): asserts value is number {
  if (value === Number.POSITIVE_INFINITY) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    reject(owner, option, 'a positive integer or Infinity', value);
  }
}

export function assertNonNegativeFinite(owner: string, option: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    reject(owner, option, 'a finite number >= 0', value);
  }
}

export function assertFinite(owner: string, option: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) reject(owner, option, 'a finite number', value);
}

export function assertFunction(owner: string, option: string, value: unknown): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') reject(owner, option, 'a function', value);
}

export function assertString(owner: string, option: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') reject(owner, option, 'a string', value);
}

export function assertNonEmptyString(owner: string, option: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) reject(owner, option, 'a non-empty string', value);
}

export function assertBoolean(owner: string, option: string, value: unknown): asserts value is boolean {
  if (typeof value !== 'boolean') reject(owner, option, 'a boolean', value);
}

export function assertArray(owner: string, option: string, value: unknown): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) reject(owner, option, 'an array', value);
}

/** Refuses anything but a plain object whose keys are all `known`, naming the first unknown one. */
export function assertOptionsObject(where: string, options: unknown, known: readonly string[], name = 'options'): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidOptionError(name, options, `${where}: expected \`${name}\` to be an object, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new InvalidOptionError(key, (options as Record<string, unknown>)[key],
        `${where}: unknown option ${JSON.stringify(key)} in \`${name}\` (known: ${known.join(', ')})`);
    }
  }
}
