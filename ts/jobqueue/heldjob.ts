import { MAX_RUN_ID_LENGTH } from '../task/triggeroptions.js';
import type { ITriggerOptions } from '../types.js';
import { Subscription as RxSubscription, type Subscription } from 'rxjs';
import { messageOf } from '../errors.js';
import type { TaskManager } from '../manager/taskmanager.js';
import type { IJobRetryOptions } from './jobrecord.js';
import type { QueueConnection } from './queueconnection.js';

export type TAnyTask = NonNullable<ReturnType<TaskManager['getTaskByName']>>;

/** How many fields a claim's reply has per job (see the `claim` function in queueprelude.lua.ts). */
export const FIELDS_PER_JOB = 8;

export type TEnded = 'stop' | 'lost' | 'cancel' | undefined;

/** A job this worker holds the lease of, while its run goes on. */
export interface IHeldJob {
  id: string;
  taskName: string;
  lease: string;
  attempt: number;
  retry: IJobRetryOptions | undefined;
  controller: AbortController;
  /** Why the worker aborted the run, if it did: decides what its outcome means. */
  endedBy: TEnded;
}

/** A keep time as the scripts take it: -1 keeps forever. */
export function keepArg(keepMs: number): number {
  return keepMs === Number.POSITIVE_INFINITY ? -1 : keepMs;
}

/** The job at `at` of a claim's reply (8 fields), and how to run it. */
export function claimedJob(reply: Array<string | number>, at: number): { job: IHeldJob; input: string; priority: string; timeoutMs: string } {
  const [id, taskName, input, priority, timeoutMs, retry, failures, lease] = reply.slice(at, at + FIELDS_PER_JOB).map(String) as string[];
  const job: IHeldJob = {
    id: id!, taskName: taskName!, lease: lease!, attempt: Number(failures) + 1,
    retry: retry === '' ? undefined : (JSON.parse(retry!) as IJobRetryOptions),
    controller: new AbortController(), endedBy: undefined,
  };
  return { job, input: input!, priority: priority!, timeoutMs: timeoutMs! };
}

/**
 * Publishes the steps of `task`, for each of its jobs in `held` (an empty subscription for
 * a task without steps). One subscription per task, kept until the worker stops.
 */
export function publishSteps(task: TAnyTask, held: ReadonlyMap<string, IHeldJob>, connection: QueueConnection, instanceId: string): Subscription {
  if (task.getMetadata().steps.length === 0) return new RxSubscription();
  return task.eventSubject.subscribe((event) => {
    if (event.type !== 'step') return;
    const steps = JSON.stringify(event.task.steps);
    // A run of a job carries the job's id; steps belong to the task, so without it every job of the task shows them.
    const own = held.get(event.runId);
    for (const job of own === undefined ? held.values() : [own]) {
      if (job.taskName !== task.name || job.endedBy !== undefined) continue;
      connection.run('progress', [job.id, job.lease, event.task.currentProgress, steps, event.stepName, instanceId])
        .catch((error: unknown) => connection.report(error, `could not record a step of job ${JSON.stringify(job.id)}: ${messageOf(error)}`));
    }
  });
}

/**
 * The trigger options of a job's run: one try (the queue retries on its own), the job's
 * priority and time limit, and the job's id as the run's id, so that its events (and a
 * gateway's `watchRun`) name the job.
 */
export function runOptionsOf(job: IHeldJob, priority: string, timeoutMs: string): ITriggerOptions & { retry: false } {
  const options: ITriggerOptions & { retry: false } = { signal: job.controller.signal, priority: Number(priority), retry: false };
  if (timeoutMs !== '') options.timeoutMs = Number(timeoutMs);
  if (job.id.length <= MAX_RUN_ID_LENGTH) options.runId = job.id;
  return options;
}
