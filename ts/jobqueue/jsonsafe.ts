import { findJsonProblem } from '../internal/jsonsafe.js';
import { InvalidJobDataError } from './queueerrors.js';

/** A job's input or result as the JSON it goes through Redis as; refuses what JSON would change (see findJsonProblem). */
export function toJson(value: unknown, what: string, jobId: string | undefined, maxBytes: number): string | undefined {
  if (value === undefined) return undefined;
  const problem = findJsonProblem(value, what);
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
