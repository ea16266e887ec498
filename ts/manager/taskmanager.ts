import { ObjectMap } from '@push.rocks/lik';
import { Subject } from 'rxjs';
import type { TaskConstraintGroup } from './constraintgroup.js';
import type {
  AbstractDistributedCoordinator,
} from '../coordinator/abstract.js';
import {
  ShutdownError,
  UnknownTaskError,
  type TaskbufferError,
} from '../errors.js';
import type { IConstraintGroupEvent, ITaskEvent } from '../events.js';
import { IsolatedSubject } from '../internal/isolatedsubject.js';
import { randomId } from '../internal/ids.js';
import { CronTicks } from './cronticks.js';
import { GroupRegistry } from './groupregistry.js';
import { checkManagerOptions, checkStopOptions, checkTaskToAdd, type IActiveRunInfo, type IConstraintGroupState, type IExecuteRemoveOptions, type IStopOptions, type ITaskExecutionReport, type ITaskManagerOptions } from './manageroptions.js';
import { executeOnce, RunQueue } from './runqueue.js';
import type { IWaitingRunInfo } from './waitreasons.js';
import { Scheduler, type INextScheduledRun, type IScheduledTaskInfo, type IScheduleOptions } from './scheduler.js';
import { Task, type AnyTask } from '../task/task.js';
import { checkTriggerOptions } from '../task/triggeroptions.js';
import type { ITaskMetadata, ITriggerOptions } from '../types.js';
import { assertPositiveInteger } from '../internal/validate.js';

type TManagerState = 'new' | 'started' | 'stopping' | 'stopped';

/**
 * Runs tasks through constraint groups, schedules them with cron, aggregates their
 * events into `taskSubject` and answers questions about them by name and label.
 */
export class TaskManager {
  /** Every event of every added task. A subscriber that throws is reported to `onError`, once. */
  readonly taskSubject: Subject<ITaskEvent> = new IsolatedSubject<ITaskEvent>('TaskManager.taskSubject', (error) => this.reportError(error));
  /** Constraint groups paused and resumed. A subscriber that throws is reported to `onError`, once. */
  readonly constraintGroupSubject: Subject<IConstraintGroupEvent> = new IsolatedSubject<IConstraintGroupEvent>(
    'TaskManager.constraintGroupSubject',
    (error) => this.reportError(error),
  );
  /** The registered tasks. Add and remove them with `addTask` / `removeTask`. */
  readonly taskMap = new ObjectMap<AnyTask>();
  /** Identifies this instance to a distributed coordinator. */
  readonly instanceId: string;
  readonly distributedCoordinator: AbstractDistributedCoordinator | undefined;

  private readonly tasksByName = new Map<string, AnyTask>();
  private readonly groupRegistry: GroupRegistry;
  private readonly runQueue: RunQueue;
  private readonly scheduler = new Scheduler((name, scheduledAt) => void this.cronTicks.run(name, scheduledAt));
  private readonly cronTicks: CronTicks;
  private readonly reportError: (error: TaskbufferError) => void;
  private state: TManagerState = 'new';

  constructor(options: ITaskManagerOptions = {}) {
    checkManagerOptions(options);
    this.instanceId = options.instanceId ?? options.distributedCoordinator?.instanceId ?? randomId();
    this.distributedCoordinator = options.distributedCoordinator;
    this.reportError = options.onError ?? ((error) => console.error(`taskbuffer TaskManager: ${error.message}`, error));
    this.groupRegistry = new GroupRegistry(() => this.runQueue, this.constraintGroupSubject,
      () => this.distributedCoordinator?.clusterSlots !== undefined);
    this.runQueue = new RunQueue(() => this.groupRegistry.groups, {
      slots: () => this.distributedCoordinator?.clusterSlots,
      instanceId: this.instanceId,
    }, (task, input, options) => this.triggerTaskConstrained(task as AnyTask, input, options));
    this.cronTicks = new CronTicks({
      taskNamed: (name) => (this.state === 'started' ? this.tasksByName.get(name) : undefined),
      runQueue: this.runQueue,
      coordinator: this.distributedCoordinator,
      instanceId: this.instanceId,
      reportError: this.reportError,
    });
    this.distributedCoordinator?.bindManager({
      instanceId: this.instanceId,
      taskSubject: this.taskSubject,
      runningTaskNames: () => [...this.tasksByName.values()].filter((task) => task.running).map((task) => task.name!),
      taskNames: () => [...this.tasksByName.keys()],
    });
  }

  // ---- registry ------------------------------------------------------------------

  /** Registers a task (it needs a unique name) and forwards its events to `taskSubject`. */
  addTask(task: AnyTask): void {
    checkTaskToAdd(task, this.tasksByName);
    this.tasksByName.set(task.name!, task);
    this.taskMap.add(task);
    if (this.state !== 'stopped') task.addEventSink(this.taskSubject);
  }

  /** Unregisters a task, stops forwarding its events and removes its cron schedule. */
  removeTask(task: AnyTask): void {
    if (task.name === undefined || this.tasksByName.get(task.name) !== task) return;
    this.tasksByName.delete(task.name);
    this.taskMap.remove(task);
    this.scheduler.remove(task.name);
    task.removeEventSink(this.taskSubject);
  }

  getTaskByName(name: string): AnyTask | undefined {
    return this.tasksByName.get(name);
  }

  /** Tasks whose label `key` has `value`. */
  getTasksByLabel(key: string, value: string): AnyTask[] {
    return [...this.tasksByName.values()].filter((task) => task.hasLabel(key, value));
  }

  getTasksMetadataByLabel(key: string, value: string): ITaskMetadata[] {
    return this.getTasksByLabel(key, value).map((task) => metadataOf(task, this.scheduler));
  }

  /** A snapshot of the named task (with its cron schedule, if any), or `null`. */
  getTaskMetadata(name: string): ITaskMetadata | null {
    const task = this.tasksByName.get(name);
    return task === undefined ? null : metadataOf(task, this.scheduler);
  }

  getAllTasksMetadata(): ITaskMetadata[] {
    return [...this.tasksByName.values()].map((task) => metadataOf(task, this.scheduler));
  }

  // ---- constraint groups ----------------------------------------------------------

  /** The registered groups (a copy). */
  get constraintGroups(): Array<TaskConstraintGroup<any>> {
    return [...this.groupRegistry.groups];
  }

  /** Registers a group; from now on every run the manager starts must fit it. Names are unique. */
  addConstraintGroup(group: TaskConstraintGroup<any>): void {
    this.groupRegistry.add(group);
  }

  /** Unregisters a group by name; runs waiting only for it start. `true` when it existed. */
  removeConstraintGroup(name: string): boolean {
    return this.groupRegistry.remove(name);
  }

  /** Per group: its limits, whether it is paused, its last `shouldExecute` refusal, and per key the runs holding it (`holders`), waiting, and cooldown left. */
  getConstraintGroupStates(): IConstraintGroupState[] {
    return this.groupRegistry.states();
  }

  /** The runs triggered through the manager that wait to begin, and why (`reason.kind`: held, cap, cooldown, paused, ...); at most `limit`. */
  getWaitingRuns(limit = Number.POSITIVE_INFINITY): IWaitingRunInfo[] {
    if (limit !== Number.POSITIVE_INFINITY) assertPositiveInteger('getWaitingRuns', 'limit', limit);
    return this.runQueue.insight().waitingRuns(limit);
  }

  /** The runs that started and have not ended, oldest first (runs of `task.trigger()` outside the manager are not its). */
  getActiveRuns(): IActiveRunInfo[] {
    return this.runQueue.activeRunInfos();
  }

  /**
   * Aborts the started run `runId` (running or between retries): its signal fires, its trigger rejects with an
   * AbortError. False when none is going on (runs waiting for a slot are aborted through their trigger's `signal`).
   */
  abortRun(runId: string, reason: unknown = new Error('abortRun was called')): boolean {
    return this.runQueue.abortStarted(runId, reason);
  }

  // ---- pause and resume -------------------------------------------------------------

  /** New runs of the task (triggers and cron ticks) wait until `resumeTask`; running work finishes. */
  pauseTask(name: string): void {
    const task = requireTask(this.tasksByName, name, 'pauseTask');
    this.runQueue.pauseTask(task);
    task.setPaused(true);
  }

  /** Starts the runs that waited while the task was paused, in order. */
  resumeTask(name: string): void {
    const task = requireTask(this.tasksByName, name, 'resumeTask');
    task.setPaused(false);
    this.runQueue.resume(task);
  }

  /** New runs that this group applies to wait until `resumeConstraintGroup`; running work finishes. */
  pauseConstraintGroup(name: string): void {
    this.groupRegistry.pause(name);
  }

  /** Starts the runs that waited while the group was paused, in order. */
  resumeConstraintGroup(name: string): void {
    this.groupRegistry.resume(name);
  }

  // ---- triggers -------------------------------------------------------------------

  /**
   * Runs `task` through the constraint groups: at once when every group has room, else
   * after queued work for the same keys (higher `priority` first). Resolves with the
   * result, or `undefined` when a `shouldExecute` said no.
   */
  triggerTaskConstrained<TInput, TResult>(
    task: Task<any, any, any, TInput, TResult>,
    input?: TInput,
    options?: ITriggerOptions,
  ): Promise<TResult | undefined> {
    const refusal = refusalWhen(this.state, 'triggerTaskConstrained');
    if (refusal !== undefined) return refusal;
    try {
      if (options !== undefined) checkTriggerOptions('triggerTaskConstrained', options);
      return this.runQueue.trigger(task, input, options) as Promise<TResult | undefined>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Same as `triggerTaskConstrained`. */
  triggerTask<TInput, TResult>(
    task: Task<any, any, any, TInput, TResult>,
    input?: TInput,
    options?: ITriggerOptions,
  ): Promise<TResult | undefined> {
    return this.triggerTaskConstrained(task, input, options);
  }

  /** Triggers the registered task `name` through the constraint groups; rejects for an unknown name. */
  triggerTaskByName(name: string, input?: unknown, options?: ITriggerOptions): Promise<any> {
    const task = this.tasksByName.get(name);
    if (task === undefined) return Promise.reject(new UnknownTaskError(name, 'triggerTaskByName'));
    return this.triggerTaskConstrained(task, input, options);
  }

  /**
   * Adds `task`, runs it once through the constraint groups, removes it again and
   * resolves with a report. Rejects with the task's error if it fails (after removing it).
   */
  async addExecuteRemoveTask<TInput, TResult>(
    task: Task<any, any, any, TInput, TResult>,
    options: IExecuteRemoveOptions<TInput> = {},
  ): Promise<ITaskExecutionReport<TResult>> {
    const refusal = refusalWhen(this.state, 'addExecuteRemoveTask');
    if (refusal !== undefined) await refusal;
    const { input, ...triggerOptions } = options;
    checkTriggerOptions('addExecuteRemoveTask', triggerOptions);
    this.addTask(task);
    try {
      return await executeOnce(this.runQueue, task, input, triggerOptions);
    } finally {
      this.removeTask(task);
    }
  }

  // ---- cron -----------------------------------------------------------------------

  /**
   * Registers `task` (unless it already is) and schedules it. `cronExpression` has 5
   * fields (minute hour day-of-month month day-of-week) or 6 with seconds first, as croner
   * reads them; it is read in the server's time zone unless `options.timezone` names
   * another. Throws `InvalidCronError` for an invalid expression and `InvalidOptionError`
   * for invalid options (such as an unknown time zone), before changing anything.
   *
   * @example
   * manager.addAndScheduleTask(backup, '0 2 * * *', { timezone: 'Europe/Berlin' }); // 02:00 in Berlin
   */
  addAndScheduleTask(task: AnyTask, cronExpression: string, options?: IScheduleOptions): void {
    Scheduler.parse(cronExpression, task?.name, options);
    if (task?.name === undefined || this.tasksByName.get(task.name) !== task) this.addTask(task);
    this.scheduler.add(task.name!, cronExpression, options);
  }

  /**
   * Schedules (or reschedules) the registered task `name`; `cronExpression` and `options`
   * as for `addAndScheduleTask`. A new schedule replaces the old one, time zone included.
   * Throws, changing nothing, for an unknown name, an invalid expression or invalid options.
   */
  scheduleTaskByName(name: string, cronExpression: string, options?: IScheduleOptions): void {
    if (!this.tasksByName.has(name)) throw new UnknownTaskError(name, 'scheduleTaskByName');
    this.scheduler.add(name, cronExpression, options);
  }

  /** Removes the cron schedule of `name` (the task stays registered). `true` when it had one. */
  descheduleTaskByName(name: string): boolean {
    if (!this.tasksByName.has(name)) throw new UnknownTaskError(name, 'descheduleTaskByName');
    return this.scheduler.remove(name);
  }

  /** Each scheduled task with its expression, time zone (when one was given), next run and last run. */
  getScheduledTasks(): IScheduledTaskInfo[] {
    return this.scheduler.list();
  }

  /** The next run of each scheduled task, soonest first, at most `limit` of them. */
  getNextScheduledRuns(limit = 10): INextScheduledRun[] {
    assertPositiveInteger('getNextScheduledRuns', 'limit', limit);
    return this.scheduler.upcoming(limit);
  }

  // ---- lifecycle ------------------------------------------------------------------

  /** Between `start()` and `stop()`: triggers are accepted. */
  get isStarted(): boolean {
    return this.state === 'started';
  }

  /** Starts cron and the distributed coordinator; accepts triggers again after `stop()`. */
  async start(): Promise<void> {
    if (this.state === 'started') return;
    if (this.state === 'stopped') {
      for (const task of this.tasksByName.values()) task.addEventSink(this.taskSubject);
    }
    this.state = 'started';
    this.runQueue.setKeepAlive(true);
    await this.distributedCoordinator?.start();
    this.scheduler.start();
  }

  /**
   * Stops cron and the coordinator, ends event forwarding and refuses new triggers with a
   * `ShutdownError` until `start()`. Without `drain`, work already accepted still runs,
   * but no timer of the manager keeps the process alive any more. With `drain`, waiting
   * work is rejected with a `ShutdownError`, running work may finish, and what still runs
   * after `timeoutMs` is aborted; `stop()` then resolves.
   */
  async stop(options: IStopOptions = {}): Promise<void> {
    checkStopOptions(options);
    const wasStarted = this.state === 'started';
    this.state = 'stopping';
    this.scheduler.stop();
    if (options.drain === true) await this.runQueue.drain(options.timeoutMs ?? Number.POSITIVE_INFINITY);
    for (const task of this.tasksByName.values()) task.removeEventSink(this.taskSubject);
    this.runQueue.setKeepAlive(false);
    this.state = 'stopped';
    if (wasStarted) await this.distributedCoordinator?.stop();
  }
}

/** A task's metadata with its cron schedule, if it has one. */
function metadataOf(task: AnyTask, scheduler: Scheduler): ITaskMetadata {
  const metadata = task.getMetadata();
  if (task.name !== undefined) scheduler.describeInto(metadata, task.name);
  return metadata;
}

function requireTask(tasksByName: ReadonlyMap<string, AnyTask>, name: string, action: string): AnyTask {
  const task = tasksByName.get(name);
  if (task === undefined) throw new UnknownTaskError(name, action);
  return task;
}

/** A stopped (or stopping) manager refuses triggers with a ShutdownError. */
function refusalWhen(state: TManagerState, action: string): Promise<never> | undefined {
  if (state !== 'stopped' && state !== 'stopping') return undefined;
  return Promise.reject(new ShutdownError(`${action}: the TaskManager is stopped; call start() to accept triggers again`));
}
