import { Subject } from 'rxjs';
import { InvalidOptionError, describeTask, messageOf, toError, type SubscriberError } from '../errors.js';
import type { ITaskEvent } from '../events.js';
import { timeNow } from '../internal/clock.js';
import { IsolatedSubject } from '../internal/isolatedsubject.js';
import { findJsonProblem } from '../internal/jsonsafe.js';
import type { ITaskContext, ITaskMetadata, ITaskStep, ITaskStepDefinition, TTaskStatus } from '../types.js';
import { LabelSet } from './labels.js';
import { RetryPolicy, type IRetryOptions } from './retry.js';
import { runIdOf, type TRunKey } from './runid.js';
import { StepTracker } from './steptracker.js';

/** What TaskCore is built from: the options `new Task` checked already. */
export interface ITaskCoreSettings {
  owner: string;
  name: string | undefined;
  catchErrors: boolean | undefined;
  retry: IRetryOptions | undefined;
  steps: ReadonlyArray<ITaskStepDefinition> | undefined;
  labels: Record<string, string> | undefined;
  bufferMax: number | undefined;
  onSubscriberError: ((error: SubscriberError) => void) | undefined;
}

/**
 * What every task is, under its options and triggers: the counts, status, steps, labels
 * and events of its runs, and the bookkeeping a run does as it begins, fails a try and
 * ends. A run (see TaskRun) calls only this; the Task on top adds options and triggers.
 */
export abstract class TaskCore {
  /** Identifies the task in metadata, events, errors and the TaskManager. */
  readonly name: string | undefined;
  /** Resolve failed runs with `undefined` instead of rejecting. */
  catchErrors: boolean;
  /**
   * The task's `retry` option, checked: its `attempts`, `shouldRetry` and `delayBefore` are
   * for callers that retry runs themselves (say a durable queue that triggers with
   * `retry: false` and schedules the next try on its own). Undefined without the option.
   */
  readonly retryPolicy: RetryPolicy | undefined;
  /**
   * Lifecycle events of this task: `started`, `step`, `retrying`, `completed`, `failed`,
   * `paused`, `resumed`. Events are only built while someone subscribes, so an
   * unobserved task pays nothing for them. A subscriber that throws is caught and
   * reported to `onSubscriberError`, once.
   */
  readonly eventSubject: Subject<ITaskEvent>;
  /** Runs that ended, successfully or not. */
  runCount = 0;
  /** Failed tries across all runs. `clearError()` leaves it alone. */
  errorCount = 0;
  readonly buffered: boolean;
  readonly bufferMax: number | undefined;

  /** @internal */
  protected readonly steps: StepTracker;
  /** @internal */
  protected readonly labelSet: LabelSet;
  private lastErrorValue: Error | undefined;
  private activeRuns = 0;
  private pausedFlag = false;
  private lastRunAt: number | undefined;
  private lastDuration: number | undefined;
  private lastOutcome: 'completed' | 'failed' | undefined;
  /** The run that began last: step events name it (steps belong to the task, not to a run). */
  private latestRunKey: TRunKey = 0;
  private readonly eventSinks: Array<Subject<ITaskEvent>> = [];

  constructor(settings: ITaskCoreSettings) {
    const report = settings.onSubscriberError ?? ((error) => console.error(`taskbuffer ${settings.owner}: ${error.message}`, error));
    this.eventSubject = new IsolatedSubject<ITaskEvent>('Task.eventSubject', report);
    this.name = settings.name;
    this.catchErrors = settings.catchErrors ?? false;
    this.retryPolicy = settings.retry === undefined ? undefined : new RetryPolicy(settings.owner, settings.retry);
    this.steps = new StepTracker(settings.owner, settings.steps);
    this.labelSet = new LabelSet(settings.owner, settings.labels);
    this.buffered = settings.bufferMax !== undefined;
    this.bufferMax = settings.bufferMax;
  }

  /**
   * Calls the task function (with its hooks) for one try.
   * @internal
   */
  abstract callFunction(input: unknown, context: ITaskContext): unknown;

  /** 0–100: the sum of completed steps' percentages; 100 after a successful run. */
  getProgress(): number {
    return this.steps.progress;
  }

  /** A copy of every step with its status. */
  getStepsMetadata(): ITaskStep[] {
    return this.steps.snapshot();
  }

  /** A JSON-safe snapshot of the task; later changes do not show in it. */
  getMetadata(): ITaskMetadata {
    const metadata: ITaskMetadata = {
      name: this.name ?? '',
      status: this.status,
      steps: this.steps.snapshot(),
      currentProgress: this.steps.progress,
      runCount: this.runCount,
      errorCount: this.errorCount,
      activeRuns: this.activeRuns,
      labels: this.labelSet.toRecord(),
      buffered: this.buffered,
      paused: this.pausedFlag,
    };
    const currentStep = this.steps.currentStepName;
    if (currentStep !== undefined) metadata.currentStep = currentStep;
    if (this.lastErrorValue !== undefined) metadata.lastError = this.lastErrorValue.message;
    if (this.lastRunAt !== undefined) metadata.lastRun = this.lastRunAt;
    if (this.lastDuration !== undefined) metadata.lastDuration = this.lastDuration;
    if (this.bufferMax !== undefined) metadata.bufferMax = this.bufferMax;
    return metadata;
  }

  /** `idle` before the first run, `running` while any run is active, else the last outcome. */
  get status(): TTaskStatus {
    if (this.activeRuns > 0) return 'running';
    return this.lastOutcome ?? 'idle';
  }

  /** Whether a run is active (stays true until the last of overlapping runs ends). */
  get running(): boolean {
    return this.activeRuns > 0;
  }

  get idle(): boolean {
    return this.activeRuns === 0;
  }

  /** When the last run started. */
  get lastRun(): Date | undefined {
    return this.lastRunAt === undefined ? undefined : new Date(this.lastRunAt);
  }

  /** The last run's error, until a later success or `clearError()`. */
  get lastError(): Error | undefined {
    return this.lastErrorValue;
  }

  /** Forgets `lastError`; `errorCount` and `status` stay. */
  clearError(): void {
    this.lastErrorValue = undefined;
  }

  /** Whether a TaskManager holds new runs of this task back. */
  get paused(): boolean {
    return this.pausedFlag;
  }

  /**
   * Set by TaskManager's `pauseTask` / `resumeTask`; emits `paused` / `resumed`.
   * @internal
   */
  setPaused(paused: boolean): void {
    if (this.pausedFlag === paused) return;
    this.pausedFlag = paused;
    if (this.isObserved()) this.emit({ type: paused ? 'paused' : 'resumed', task: this.getMetadata(), timestamp: timeNow() });
  }

  /**
   * Also deliver this task's events to `sink` (used by TaskManager). Events are then built
   * while either the task's own subject or the sink has subscribers.
   * @internal
   */
  addEventSink(sink: Subject<ITaskEvent>): void {
    if (!this.eventSinks.includes(sink)) this.eventSinks.push(sink);
  }

  /** @internal */
  removeEventSink(sink: Subject<ITaskEvent>): void {
    const index = this.eventSinks.indexOf(sink);
    if (index >= 0) this.eventSinks.splice(index, 1);
  }

  // ---- the bookkeeping of runs (called by TaskRun) -----------------------------------------

  /**
   * A run begins, at `startedAt` when the caller has a fresh reading of the clock, else
   * now. Returns the start. Reading the clock is a call into the runtime that costs about
   * a tenth of a whole queued run on a loaded machine, so a run that ends inside a
   * TaskManager hands its end reading on to the run it lets in, in the same synchronous
   * stretch with no user code in between (see TaskRun's `report`).
   * @internal
   */
  beginRun(startedAt: number | undefined, runKey: TRunKey): number {
    const now = startedAt ?? timeNow();
    this.latestRunKey = runKey;
    // Steps belong to the task, not to a run: overlapping runs share them, so only the
    // first of them starts the steps afresh.
    if (this.activeRuns === 0) this.steps.reset();
    this.activeRuns++;
    this.lastRunAt = now;
    if (this.isObserved()) this.emit({ type: 'started', runId: runIdOf(runKey), task: this.getMetadata(), timestamp: now });
    return now;
  }

  /** @internal */
  recordTryFailure(thrown: unknown): void {
    this.errorCount++;
    this.lastErrorValue = toError(thrown);
  }

  /**
   * Ends a successful run. Returns the time it read when no event went out since (an
   * event runs subscribers, after which the reading may be stale), else undefined.
   * @internal
   */
  endRunSucceeded(startedAt: number, runKey: TRunKey): number | undefined {
    const now = timeNow();
    this.activeRuns--;
    this.runCount++;
    this.lastDuration = now - startedAt;
    this.lastOutcome = 'completed';
    this.lastErrorValue = undefined;
    if (this.activeRuns === 0) this.steps.completeAll(now);
    if (!this.isObserved()) return now;
    this.emit({ type: 'completed', runId: runIdOf(runKey), duration: now - startedAt, task: this.getMetadata(), timestamp: now });
    return undefined;
  }

  /**
   * Ends a failed run; the tries that failed were counted already.
   * @internal
   */
  endRunFailed(startedAt: number, thrown: unknown, runKey: TRunKey): void {
    const now = timeNow();
    this.activeRuns--;
    this.runCount++;
    this.lastDuration = now - startedAt;
    this.lastOutcome = 'failed';
    this.lastErrorValue = toError(thrown);
    if (!this.isObserved()) return;
    this.emit({ type: 'failed', runId: runIdOf(runKey), error: messageOf(thrown), duration: now - startedAt, task: this.getMetadata(), timestamp: now });
  }

  /** @internal */
  emitRetrying(attempt: number, delayMs: number, thrown: unknown, runKey: TRunKey): void {
    if (!this.isObserved()) return;
    this.emit({ type: 'retrying', runId: runIdOf(runKey), attempt, delayMs, error: messageOf(thrown), task: this.getMetadata(), timestamp: timeNow() });
  }

  /**
   * A run's `context.update(payload)`: checked where it is made, published while observed.
   * @internal
   */
  emitUpdate(runKey: TRunKey, payload: unknown): void {
    const problem = findJsonProblem(payload, 'payload');
    if (problem !== undefined) {
      throw new InvalidOptionError('payload', problem.value,
        `${describeTask(this.name)}: context.update(payload): ${problem.path} is ${problem.why}; an update must be JSON-safe (plain objects, arrays, strings, finite numbers, booleans, null)`);
    }
    if (this.isObserved()) this.emit({ type: 'update', runId: runIdOf(runKey), payload, task: this.getMetadata(), timestamp: timeNow() });
  }

  /**
   * Marks the step `name` active (`ended` false) or completed at `now`, leaving the other steps as
   * they are: for steps that run side by side (a Taskgraph's nodes). Emits no `step` event.
   */
  protected markParallelStep(name: string, ended: boolean, now: number): void {
    this.steps.mark(name, ended, now);
  }

  /** Marks `stepName` active, after the subclass checked its type. */
  protected markStep(stepName: string): void {
    const now = timeNow();
    this.steps.notify(this.name, stepName, now);
    if (this.isObserved()) this.emit({ type: 'step', runId: runIdOf(this.latestRunKey), stepName, task: this.getMetadata(), timestamp: now });
  }

  /** Whether anyone listens (the task's subject or a manager's sink): build events only then. */
  protected isObserved(): boolean {
    if (this.eventSubject.observed) return true;
    const sinks = this.eventSinks;
    for (let i = 0; i < sinks.length; i++) if (sinks[i]!.observed) return true;
    return false;
  }

  protected emit(event: ITaskEvent): void {
    this.eventSubject.next(event);
    for (const sink of this.eventSinks) sink.next(event);
  }
}
