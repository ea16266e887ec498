import type { Subscription } from 'rxjs';
import { RetryPolicy } from '../task/retry.js';
import { withTimeout } from '../coordinator/redisconnection.js';
import type { TaskManager } from '../manager/taskmanager.js';
import { DueTimer } from './duetimer.js';
import { toJson } from './jsonsafe.js';
import type { QueueConnection } from './queueconnection.js';
import { JobCancelledError, LeaseLostError, QueueStoppedError, toJobError } from './queueerrors.js';
import { claimedJob, FIELDS_PER_JOB, keepArg, publishSteps, runOptionsOf, type IHeldJob, type TAnyTask, type TEnded } from './heldjob.js';
import type { IQueueSettings } from './queueoptions.js';

type TOutcome = 'completed' | 'failed' | 'retry' | 'release';
/** A run's outcome, waiting to be recorded. */
interface IOutcome {
  job: IHeldJob;
  outcome: TOutcome;
  payload: string;
  retryDelayMs: number;
}

const LEAVE_TIMEOUT_MS = 2_000;

/**
 * Takes jobs of the tasks a TaskManager has and runs them through it, one lease per job.
 * Claims are exact: a claim asks for as many jobs as there are free slots and no more;
 * the outcome of a run and the claim of the next job are one script call. Idle workers
 * are woken by the `wake` channel; timers only renew leases, sweep expired ones and
 * promote delayed jobs when they are due.
 */
export class QueueWorker {
  /** The jobs this worker holds, by id. */
  private readonly held = new Map<string, IHeldJob>();
  /**
   * Runs whose lease was lost and whose job this worker then took again: they still run
   * (a task may ignore its signal), so they keep their slot until they end.
   */
  private readonly superseded = new Set<IHeldJob>();
  /** Slots asked for by claims whose reply has not come back yet. */
  private reserved = 0;
  /** A wake-up came while a claim was on its way: ask again once it is back. */
  private wakePending = false;
  private stopping = false;
  private renewTimer: ReturnType<typeof setInterval> | undefined;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;
  /** Claims when the next delayed job is due (the claim moves it to waiting first). */
  private readonly due = new DueTimer(() => {
    if (this.free > 0) this.claim();
    else void this.sweep();
  });
  private readonly stepSubscriptions = new Map<string, Subscription>();
  private onIdle: (() => void) | undefined;
  /** Outcomes waiting for the end of this turn of the event loop, to go in one call. */
  private unsent: IOutcome[] = [];
  /** Outcomes not yet confirmed by Redis (unsent or on their way). */
  private recording = 0;

  constructor(
    private readonly connection: QueueConnection,
    private readonly settings: IQueueSettings,
    private readonly manager: TaskManager,
  ) {}

  /** Registers the worker, starts its timers and takes the first jobs. */
  async start(): Promise<void> {
    await Promise.all([
      this.connection.listen('wake', (task) => this.woken(task)),
      this.connection.listen('cancel', (message) => this.cancelRequested(message)),
    ]);
    // stop() during the subscriptions found no timers to clear: start none.
    if (this.stopping) throw new QueueStoppedError(`RedisTaskQueue.work: the worker ${this.settings.instanceId} was stopped while it started`);
    this.connection.onReady = () => this.claim();
    // Wake-ups published while the subscriber was away are lost.
    this.connection.onResubscribed.add(() => this.claim());
    const { leaseMs } = this.settings;
    this.renewTimer = setInterval(() => this.renew(), Math.floor(leaseMs / 3));
    this.sweepTimer = setInterval(() => void this.sweep().then(() => this.claimIfIdle()), Math.floor(leaseMs / 3));
    await this.renew();
    await this.sweep();
    this.claim();
  }

  /**
   * Takes no new job; lets running ones finish (with `drain`) until `timeoutMs`, then
   * aborts the rest and puts them back to waiting without using up an attempt.
   */
  async stop(drain: boolean, timeoutMs: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweepTimer);
    this.due.clear();
    this.connection.onReady = () => {};
    if (drain) await this.idleWithin(timeoutMs);
    for (const job of this.held.values()) this.end(job, 'stop', new QueueStoppedError(`the worker ${this.settings.instanceId} stopped: job ${JSON.stringify(job.id)} goes back to waiting`));
    await this.idleWithin(Math.max(timeoutMs, 1_000));
    clearInterval(this.renewTimer);
    for (const subscription of this.stepSubscriptions.values()) subscription.unsubscribe();
    this.stepSubscriptions.clear();
    // Bounded: with Redis unreachable, stop() still ends (the presence then expires by itself).
    await withTimeout(this.connection.run('leave', [this.settings.instanceId]), LEAVE_TIMEOUT_MS, 'RedisTaskQueue.stop: leaving the queue')
      .catch((error: unknown) => this.connection.report(error, 'could not remove the worker'));
  }

  /** The names of the tasks this worker can run: whatever the manager has right now. */
  private taskNames(): string[] {
    return this.manager.taskMap.getArray().map((task) => task.name!);
  }

  private get free(): number {
    // A stopped manager takes nothing: claim again when it is started (the sweep's claim does).
    return this.stopping || !this.manager.isStarted ? 0 : this.settings.concurrency - this.held.size - this.superseded.size - this.reserved;
  }

  /** The sweep's safety net: a wake-up lost (a failed claim, a dropped message) costs at most one sweep interval. */
  private claimIfIdle(): void {
    if (this.reserved === 0 && !this.stopping) this.claim();
  }

  private woken(task: string): void {
    if (task !== '*' && this.manager.getTaskByName(task) === undefined) return;
    if (this.reserved > 0) this.wakePending = true;
    else this.claim();
  }

  private claim(): void {
    const count = this.free;
    if (count <= 0) return;
    const { instanceId, leaseMs } = this.settings;
    this.reserved += count;
    this.wakePending = false;
    this.connection.run('claim', [instanceId, leaseMs, count, ...this.taskNames()]).then(
      (reply) => this.claimed(reply as string[], 0, count),
      (error: unknown) => {
        this.reserved -= count;
        this.connection.report(error, 'could not claim jobs');
        this.checkIdle();
      },
    );
  }

  /** A reply with `{ …, ms until the next due job, …claimed jobs }` from index `dueAt`. */
  private claimed(reply: Array<string | number>, dueIndex: number, asked: number): void {
    this.reserved -= asked;
    this.arm(Number(reply[dueIndex]));
    for (let i = dueIndex + 1; i + FIELDS_PER_JOB <= reply.length; i += FIELDS_PER_JOB) this.runJob(reply, i);
    if (this.wakePending && this.reserved === 0) this.claim();
    this.checkIdle();
  }

  private runJob(reply: Array<string | number>, at: number): void {
    const { job, input, priority, timeoutMs } = claimedJob(reply, at);
    const stale = this.held.get(job.id);
    if (stale !== undefined) this.supersede(stale);
    this.held.set(job.id, job);
    const task = this.manager.getTaskByName(job.taskName);
    // A claim can come back after stop() began, or after the task left the manager: the
    // job goes back to waiting without using an attempt, for a worker that can run it.
    if (this.stopping || task === undefined || !this.manager.isStarted) return this.record(job, 'release', '', 0);
    if (!this.stepSubscriptions.has(task.name!)) this.stepSubscriptions.set(task.name!, publishSteps(task, this.held, this.connection, this.settings.instanceId));
    const options = runOptionsOf(job, priority, timeoutMs);
    let outcome: Promise<unknown>;
    try {
      outcome = this.manager.triggerTaskByName(job.taskName, input === '' ? undefined : JSON.parse(input!), options);
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then((result) => this.succeeded(job, result), (error: unknown) => this.failed(job, task, error));
  }

  private succeeded(job: IHeldJob, result: unknown): void {
    let json: string | undefined;
    try {
      json = toJson(result, 'result', job.id, this.settings.maxInputBytes);
    } catch (error) {
      return this.record(job, 'failed', JSON.stringify(toJobError(error)), 0);
    }
    this.record(job, 'completed', json ?? '', 0);
  }

  private failed(job: IHeldJob, task: TAnyTask | undefined, error: unknown): void {
    // A manager stopped under a running queue refused or cut the run: the job goes back
    // (no attempt used) for a worker that runs, rather than failing for the manager's sake.
    if (job.endedBy === 'stop' || !this.manager.isStarted) return this.record(job, 'release', '', 0);
    const payload = JSON.stringify(toJobError(error));
    if (job.endedBy !== undefined) return this.record(job, 'failed', payload, 0);
    let policy: RetryPolicy | undefined;
    let retry = false;
    try {
      policy = job.retry !== undefined ? new RetryPolicy(`job ${JSON.stringify(job.id)}`, job.retry) : task?.retryPolicy;
      retry = policy?.shouldRetry(error, job.attempt) ?? false;
    } catch (retryIfError) {
      // A broken retryIf is the error worth seeing, as for a local run.
      return this.record(job, 'failed', JSON.stringify(toJobError(retryIfError)), 0);
    }
    if (!retry) return this.record(job, 'failed', payload, 0);
    this.record(job, 'retry', payload, Math.round(policy!.delayBefore(job.attempt + 1)));
  }

  /**
   * Records a run's outcome. Outcomes of one turn of the event loop go together in one
   * call, which also claims the jobs for the slots they free: under load that is one
   * round trip for a whole batch of jobs.
   */
  private record(job: IHeldJob, outcome: TOutcome, payload: string, retryDelayMs: number): void {
    if (this.held.get(job.id) === job) this.held.delete(job.id);
    else this.superseded.delete(job);
    this.unsent.push({ job, outcome, payload, retryDelayMs });
    this.recording++;
    if (this.unsent.length === 1) setImmediate(() => this.sendOutcomes());
  }

  private sendOutcomes(): void {
    const batch = this.unsent;
    this.unsent = [];
    const { instanceId, leaseMs, keepCompletedMs, keepFailedMs } = this.settings;
    const count = Math.max(this.free, 0);
    this.reserved += count;
    const args: Array<string | number> = [instanceId, leaseMs, count, batch.length];
    for (const { job, outcome, payload, retryDelayMs } of batch) {
      args.push(job.id, job.lease, outcome, payload, retryDelayMs, keepArg(outcome === 'completed' ? keepCompletedMs : keepFailedMs));
    }
    if (count > 0) args.push(...this.taskNames());
    this.connection.run('finish', args).then(
      (reply) => {
        this.recording -= batch.length;
        const statuses = (reply as [string[]])[0];
        batch.forEach(({ job, outcome }, i) => {
          if (statuses[i] !== 'ok' && job.endedBy !== 'lost') this.settings.onError(new LeaseLostError(job.id, job.taskName, `its outcome (${outcome}) came after the lease was lost and was discarded; the job's state is decided elsewhere`));
        });
        this.claimed(reply as string[], 1, count);
      },
      (error: unknown) => {
        this.recording -= batch.length;
        this.reserved -= count;
        this.connection.report(error, `could not record the outcome of ${batch.length} job(s) (their leases run out and they run again)`);
        this.checkIdle();
      },
    );
  }

  private async renew(): Promise<void> {
    const { instanceId, leaseMs } = this.settings;
    // The jobs as sent: by the time the answer is back, this worker may hold a job again under a new lease.
    const sent = new Map(this.held);
    const pairs: string[] = [];
    for (const job of sent.values()) pairs.push(job.id, job.lease);
    try {
      const [lost, cancels] = (await this.connection.run('renew', [instanceId, leaseMs, JSON.stringify(this.taskNames()), ...pairs])) as [string[], string[]];
      for (const id of lost) {
        const job = sent.get(id);
        if (job !== undefined) this.loseLease(job, `the lease ran out before it was renewed (leaseMs ${leaseMs}) and another worker may run it; this run is aborted`);
      }
      // A cancellation is the job's, whichever run of it this worker holds now.
      for (const id of cancels) this.cancelHeld(id, 'cancelled by queue.cancel()');
    } catch (error) {
      this.connection.report(error, 'could not renew leases');
    }
  }

  private async sweep(): Promise<void> {
    const { maxStalls, keepFailedMs, keepCompletedMs } = this.settings;
    try {
      const [nextDueMs] = (await this.connection.run('sweep', [maxStalls, keepArg(keepFailedMs), keepArg(keepCompletedMs)])) as number[];
      this.arm(nextDueMs!);
    } catch (error) {
      this.connection.report(error, 'could not sweep expired leases');
    }
  }

  private arm(inMs: number): void {
    if (!this.stopping) this.due.arm(inMs);
  }

  private cancelRequested(message: string): void {
    try {
      const { jobId, message: reason } = JSON.parse(message) as { jobId: string; message: string };
      this.cancelHeld(jobId, reason);
    } catch (error) {
      this.connection.report(error, 'ignored a malformed cancel message');
    }
  }

  private cancelHeld(id: string, reason: string): void {
    const job = this.held.get(id);
    if (job !== undefined && job.endedBy === undefined) this.end(job, 'cancel', new JobCancelledError(id, reason));
  }

  private end(job: IHeldJob, why: TEnded, error: Error): void {
    if (job.endedBy !== undefined) return;
    job.endedBy = why;
    job.controller.abort(error);
  }

  private loseLease(job: IHeldJob, detail: string): void {
    if (job.endedBy !== undefined) return;
    this.settings.onError(new LeaseLostError(job.id, job.taskName, detail));
    this.end(job, 'lost', new LeaseLostError(job.id, job.taskName, 'the lease was lost'));
  }

  /** This worker took a job again whose earlier run here lost its lease and still goes on. */
  private supersede(stale: IHeldJob): void {
    this.held.delete(stale.id);
    this.superseded.add(stale);
    this.loseLease(stale, 'the lease ran out while this run went on and this worker took the job again; the earlier run is aborted');
  }

  private idleWithin(timeoutMs: number): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private isIdle(): boolean {
    return this.held.size === 0 && this.superseded.size === 0 && this.reserved === 0 && this.recording === 0;
  }

  private checkIdle(): void {
    if (this.isIdle() && this.onIdle !== undefined) {
      const onIdle = this.onIdle;
      this.onIdle = undefined;
      onIdle();
    }
  }
}
