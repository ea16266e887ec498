import type { IJob } from './dashboard-queue-source.js';

/**
 * The queue view's filter of the page it read: space-separated terms, each of which must
 * match. `key=value` matches a job whose label `key` is exactly `value`; any other term a
 * job whose task name contains it, ignoring case. `''` matches every job.
 */
export function filterJobs(jobs: readonly IJob[], text: string): IJob[] {
  const terms = text.split(/\s+/).filter((term) => term.length > 0);
  if (terms.length === 0) return [...jobs];
  const tests = terms.map(termTest);
  return jobs.filter((job) => tests.every((test) => test(job)));
}

function termTest(term: string): (job: IJob) => boolean {
  const equals = term.indexOf('=');
  if (equals > 0) {
    const key = term.slice(0, equals);
    const value = term.slice(equals + 1);
    return (job) => Object.hasOwn(job.labels, key) && job.labels[key] === value;
  }
  const needle = term.toLowerCase();
  return (job) => job.taskName.toLowerCase().includes(needle);
}
