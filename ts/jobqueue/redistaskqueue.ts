import { randomUUID } from 'node:crypto';
import type { Subject } from 'rxjs';
import { InvalidOptionError } from '../errors.js';
import { IsolatedSubject } from '../internal/isolatedsubject.js';
import { assertNonEmptyString, assertNonNegativeFinite, describeValue } from '../internal/validate.js';
import type { TaskManager } from '../manager/taskmanager.js';
import { JOB_STATES, pairsToObject, parseJob, type IJob, type IQueueCounts, type TJobState } from './jobrecord.js';
import { JobStateError } from './jobstateerror.js';
import { JobWatch } from './jobwatch.js';
import { toJson } from './jsonsafe.js';
import { QueueConnection } from './queueconnection.js';
import { QueueStoppedError, UnknownJobError, wellFormed } from './queueerrors.js';
import type { IQueueEvent } from './queueevents.js';
import {
  checkAddOptions,
  checkListOptions,
  checkStopOptions,
  resolveQueueOptions,
  type IAddJobOptions,
  type IBulkJob,
  type IListJobsOptions,
  type IQueueSettings,
  type IQueueStopOptions,
  type IRedisTaskQueueOptions,
} from './queueoptions.js';
import { assertOptionsObject } from '../internal/validate.js';
import { QueueWorker } from './queueworker.js';

/** What `add` tells: the job's id, and whether this call added it (`false`: the id existed). */
export interface IAddedJob {
  id: string;
  created: boolean;
}

/**
 * A durable job queue on Redis. Producers `add` jobs by task name (no TaskManager
 * needed); `work(manager)` makes an instance run the jobs of the tasks its manager has,
 * through the manager (constraint groups, steps and events apply). A job is never lost:
 * each active job is leased by one worker, and a worker that dies loses its leases to
 * the others. See "A durable queue" in the readme for the exact guarantees.
 */
export class RedisTaskQueue {
  readonly name: string;
  readonly instanceId: string;
  readonly leaseMs: number;
  private readonly settings: IQueueSettings;
  private readonly connection: QueueConnection;
  private readonly subject: Subject<IQueueEvent>;
  private readonly watch: JobWatch;
  private worker: QueueWorker | undefined;
  private stopped = false;
  /** The one stop; a second call waits for it (a process exiting after it must not cut it short). */
  private stopping: Promise<void> | undefined;

  constructor(options: IRedisTaskQueueOptions) {
    this.settings = resolveQueueOptions(options);
    const { name, instanceId, leaseMs, keyPrefix, onError } = this.settings;
    this.name = name;
    this.instanceId = instanceId;
    this.leaseMs = leaseMs;
    this.connection = new QueueConnection(this.settings, keyPrefix, name, onError);
    this.subject = new IsolatedSubject<IQueueEvent>('RedisTaskQueue.eventSubject', onError);
    this.watch = new JobWatch(this.connection, this.subject);
  }

  /**
   * The events of every job on every instance (`added`, `started`, `step`, `progress`,
   * `retrying`, `completed`, `failed`, `cancelled`, `stalled`, `retried`). The queue subscribes to
   * them the first time this is read; `await queue.listenForEvents()` waits until Redis
   * confirmed it.
   */
  get eventSubject(): Subject<IQueueEvent> {
    if (!this.stopped) void this.watch.listen();
    return this.subject;
  }

  /** Resolves once this instance receives the queue's events (see `eventSubject`). */
  async listenForEvents(): Promise<void> {
    this.assertOpen('listenForEvents');
    await this.watch.listen();
  }

  /** Adds a job for the task `taskName`; with an existing `jobId`, adds nothing (`created: false`). */
  async add(taskName: string, input?: unknown, options?: IAddJobOptions): Promise<IAddedJob> {
    return (await this.addJobs([{ ...options, taskName, input }], 'RedisTaskQueue.add'))[0]!;
  }

  /** Adds many jobs in one round trip; the answers are in the same order. */
  addBulk(jobs: readonly IBulkJob[]): Promise<IAddedJob[]> {
    return this.addJobs(jobs, 'RedisTaskQueue.addBulk');
  }

  /** `add` and `addBulk`: `where` names the call in error messages. */
  private async addJobs(jobs: readonly IBulkJob[], where: string): Promise<IAddedJob[]> {
    this.assertOpen(where);
    if (!Array.isArray(jobs)) throw new InvalidOptionError('jobs', jobs, `${where}: expected an array of jobs, got ${describeValue(jobs)}`);
    const args: Array<string | number> = [this.instanceId, jobs.length];
    const ids: string[] = [];
    jobs.forEach((job, index) => {
      const at = jobs.length === 1 ? where : `${where} (job ${index})`;
      assertOptionsObject(at, job, ['taskName', 'input', 'jobId', 'delayMs', 'priority', 'retry', 'timeoutMs', 'labels'], 'job');
      const { taskName, input, ...options } = job;
      checkAddOptions(at, taskName, options);
      const id = options.jobId ?? randomUUID();
      ids.push(id);
      args.push(id, taskName, toJson(input, 'input', id, this.settings.maxInputBytes) ?? '', options.priority ?? 0, Math.round(options.delayMs ?? 0),
        options.retry === undefined ? '' : JSON.stringify(options.retry), options.timeoutMs ?? '',
        options.labels === undefined ? '' : JSON.stringify(options.labels));
    });
    if (jobs.length === 0) return [];
    const created = (await this.connection.run('add', args)) as number[];
    return ids.map((id, index) => ({ id, created: created[index] === 1 }));
  }

  /** The job's record, or `null` when there is none (never added, or removed after its keep time). */
  async getJob(id: string): Promise<IJob | null> {
    this.assertOpen('getJob');
    assertNonEmptyString('RedisTaskQueue.getJob', 'id', id);
    const hash = await this.connection.readJob(id);
    return hash.state === undefined ? null : parseJob(hash);
  }

  /**
   * Resolves with the job's result, or rejects with a `JobFailedError` (the task's error
   * kept in `jobError`) or `JobCancelledError`, wherever the job runs, also when it
   * finished before the call. `timeoutMs` bounds the wait (`ResultTimeoutError`). A job
   * whose record is gone (never added, removed after its keep time, or a Redis restarted
   * without persistence) rejects with `UnknownJobError`; a failed or cancelled one whose
   * record went before it could be read still rejects with its error.
   */
  waitForResult<TResult = unknown>(id: string, options?: { timeoutMs?: number }): Promise<TResult> {
    try {
      this.assertOpen('waitForResult');
      assertNonEmptyString('RedisTaskQueue.waitForResult', 'id', id);
      if (options !== undefined) assertOptionsObject('RedisTaskQueue.waitForResult', options, ['timeoutMs']);
      if (options?.timeoutMs !== undefined) assertNonNegativeFinite('RedisTaskQueue.waitForResult', 'timeoutMs', options.timeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.watch.waitForResult(id, options?.timeoutMs) as Promise<TResult>;
  }

  /**
   * Cancels a job: a waiting or delayed one at once; an active one is aborted on the
   * instance that runs it (its task function's `signal` fires) and ends `cancelled`.
   * Resolves with the job's state after the call (`cancelled`, `active` while its worker
   * aborts it, or the final state it already had); rejects for an unknown id.
   */
  async cancel(id: string, reason = 'cancelled by queue.cancel()'): Promise<TJobState> {
    this.assertOpen('cancel');
    assertNonEmptyString('RedisTaskQueue.cancel', 'id', id);
    const error = JSON.stringify({ name: 'JobCancelledError', code: 'JOB_CANCELLED', message: wellFormed(String(reason)) });
    const keepMs = this.settings.keepFailedMs;
    const state = (await this.connection.run('cancel', [id, error, this.instanceId, keepMs === Number.POSITIVE_INFINITY ? -1 : keepMs])) as string;
    if (state === 'missing') throw new UnknownJobError(id, 'cancel');
    return state === 'requested' ? 'active' : (state as TJobState);
  }

  /**
   * Puts a `failed` or `cancelled` job back to waiting as if it were new: same id, task,
   * input, labels, priority, retry policy and timeoutMs; its tries, stalls, error,
   * progress and steps are forgotten, and its record no longer expires (until it ends
   * again). Wakes the workers and emits `retried`. Resolves with `'waiting'`; rejects
   * with `UnknownJobError` for an unknown id and `JobStateError` for any other state.
   */
  async retry(id: string): Promise<TJobState> {
    this.assertOpen('retry');
    assertNonEmptyString('RedisTaskQueue.retry', 'id', id);
    const state = (await this.connection.run('retry', [id, this.instanceId])) as string;
    if (state === 'missing') throw new UnknownJobError(id, 'retry');
    if (state !== 'retried') throw new JobStateError(id, state as TJobState);
    return 'waiting';
  }

  /** No instance starts a new job of this queue until `resume()`; active jobs finish. */
  async pause(): Promise<void> {
    this.assertOpen('pause');
    await this.connection.run('pause', ['1']);
  }

  /** Workers take jobs again (all of them are woken). */
  async resume(): Promise<void> {
    this.assertOpen('resume');
    await this.connection.run('pause', ['0']);
  }

  /** Jobs per state, whether the queue is paused, and waiting jobs that no live worker can run. */
  async getCounts(): Promise<IQueueCounts> {
    this.assertOpen('getCounts');
    const [counts, perTask, workers] = (await this.connection.run('counts', [])) as [number[], Array<string | number>, string[]];
    const result = { paused: counts[6] === 1, waitingByTask: {}, waitingWithoutWorker: {} } as IQueueCounts;
    JOB_STATES.forEach((state, index) => (result[state] = counts[index]!));
    const served = new Set(workers.flatMap((tasks) => JSON.parse(tasks) as string[]));
    for (let i = 0; i < perTask.length; i += 2) {
      const task = String(perTask[i]);
      result.waitingByTask[task] = Number(perTask[i + 1]);
      if (!served.has(task)) result.waitingWithoutWorker[task] = Number(perTask[i + 1]);
    }
    return result;
  }

  /** A page of jobs in one state (oldest first; `active` by lease end); pass the last id as `after` for the next. */
  async listJobs(options: IListJobsOptions): Promise<IJob[]> {
    this.assertOpen('listJobs');
    checkListOptions(options);
    const hashes = (await this.connection.run('list', [options.state, options.limit ?? 50, options.after ?? ''])) as string[][];
    return hashes.map((flat) => parseJob(pairsToObject(flat)));
  }

  /**
   * Makes this instance take jobs of the tasks `manager` has (also those added to it
   * later) and run them through `manager.triggerTaskByName`. Resolves once the worker is
   * registered and has asked for its first jobs; rejects with `QueueStoppedError` when
   * `stop()` came first. A job claimed just as its task left the manager goes back to
   * waiting (no attempt used) for a worker that has the task.
   */
  async work(manager: TaskManager): Promise<void> {
    this.assertOpen('work');
    if (manager === null || typeof manager !== 'object' || typeof manager.triggerTaskByName !== 'function') {
      throw new InvalidOptionError('manager', manager, `RedisTaskQueue.work: expected a TaskManager, got ${describeValue(manager)}`);
    }
    if (this.worker !== undefined) throw new InvalidOptionError('manager', manager, 'RedisTaskQueue.work: this queue instance already works for a TaskManager; create another RedisTaskQueue for another one');
    this.worker = new QueueWorker(this.connection, this.settings, manager);
    await this.worker.start();
  }

  /**
   * Stops taking jobs, lets running ones finish (unless `drain: false`) until
   * `timeoutMs`, puts the rest back to waiting (no attempt used up), rejects pending
   * `waitForResult` calls and closes the connections. Final: the queue object cannot be
   * used afterwards (jobs in Redis stay for other instances). A second call waits for the
   * first one (its options are ignored).
   */
  async stop(options?: IQueueStopOptions): Promise<void> {
    checkStopOptions(options);
    this.stopped = true;
    this.stopping ??= this.stopNow(options?.drain ?? true, options?.timeoutMs ?? 30_000);
    await this.stopping;
  }

  private async stopNow(drain: boolean, timeoutMs: number): Promise<void> {
    await this.worker?.stop(drain, timeoutMs);
    this.watch.rejectAll(new QueueStoppedError(`RedisTaskQueue ${JSON.stringify(this.name)} was stopped while waiting for a result`));
    await this.connection.close();
  }

  private assertOpen(action: string): void {
    if (this.stopped) throw new QueueStoppedError(`RedisTaskQueue.${action}: queue ${JSON.stringify(this.name)} was stopped; create a new RedisTaskQueue`);
  }
}
