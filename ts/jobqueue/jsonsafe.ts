import { InvalidJobDataError } from './queueerrors.js';

/**
 * A job's input and result go through Redis as JSON. `JSON.stringify` would quietly turn
 * a Date into a string, a Map into `{}` and `NaN` into `null`, so that the task would get
 * something other than what was added; this check refuses such values where they enter,
 * naming the path of the first one. `undefined` object properties are allowed (JSON
 * leaves them out, as an optional field means).
 */
export function toJson(value: unknown, what: string, jobId: string | undefined, maxBytes: number): string | undefined {
  if (value === undefined) return undefined;
  const problem = findProblem(value, what, new Set());
  if (problem !== undefined) {
    throw new InvalidJobDataError(`${describeJob(jobId)}: ${problem.path} is ${problem.why}; a job's ${what} must be JSON-safe (plain objects, arrays, strings, finite numbers, booleans, null)`,
      jobId, problem.path, problem.value);
  }
  const json = JSON.stringify(value);
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes) {
    throw new InvalidJobDataError(`${describeJob(jobId)}: ${what} is ${bytes} bytes as JSON, over maxInputBytes (${maxBytes}); store large data elsewhere and pass a reference`,
      jobId, what, value);
  }
  return json;
}

function describeJob(jobId: string | undefined): string {
  return jobId === undefined ? 'a new job' : `job ${JSON.stringify(jobId)}`;
}

interface IProblem {
  path: string;
  why: string;
  value: unknown;
}

function findProblem(value: unknown, path: string, seen: Set<object>): IProblem | undefined {
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

function findInObject(value: object, path: string, seen: Set<object>): IProblem | undefined {
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
