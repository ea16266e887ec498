/**
 * Values that cross a process boundary (a job's input, a run's `update` payload, a
 * gateway frame) go as JSON. `JSON.stringify` would quietly turn a Date into a string, a
 * Map into `{}` and `NaN` into `null`, so the other side would get something other than
 * what was sent; callers refuse such values where they enter with the path this finds.
 * `undefined` object properties are allowed (JSON leaves them out, as an optional field means).
 */
export interface IJsonProblem {
  /** Where the first unsafe value is, e.g. `input.when`. */
  path: string;
  /** What it is, e.g. `a Date instance (not a plain object)`. */
  why: string;
  value: unknown;
}

/** The first value in `value` that JSON would not carry as it is, or undefined when it is JSON-safe. */
export function findJsonProblem(value: unknown, path: string): IJsonProblem | undefined {
  return findProblem(value, path, new Set());
}

function findProblem(value: unknown, path: string, seen: Set<object>): IJsonProblem | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : { path, why: `${value} (not a finite number)`, value };
    case 'object':
      return value === null ? undefined : findInObject(value, path, seen);
    default:
      return { path, why: `a ${typeof value}`, value };
  }
}

function findInObject(value: object, path: string, seen: Set<object>): IJsonProblem | undefined {
  if (seen.has(value)) return { path, why: 'a circular reference', value };
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        if (value[i] === undefined) return { path: `${path}[${i}]`, why: 'undefined (JSON turns it into null)', value: undefined };
        const problem = findProblem(value[i], `${path}[${i}]`, seen);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      return { path, why: `a ${value.constructor?.name ?? 'class'} instance (not a plain object)`, value };
    }
    for (const [name, field] of Object.entries(value)) {
      if (field === undefined) continue;
      const problem = findProblem(field, `${path}.${name}`, seen);
      if (problem !== undefined) return problem;
    }
    return undefined;
  } finally {
    seen.delete(value);
  }
}
