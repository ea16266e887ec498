import { Subject } from 'rxjs';
import type { IScheduledTaskInfo, ITaskEvent, ITaskMetadata, IWaitingRunInfo } from 'taskbuffer';
import type { IGatewaySubscription, TaskGatewayClient } from 'taskbuffer/client';
import type { IConstraintGroupView, IDashboardSource } from './dashboard-source.js';
import { WAITING_LISTED } from './group-watch.js';

/** What a fetch read: everything, or only the groups and waiting runs. */
export type TFetchKind = 'all' | 'waits';

/** What the mirror uses of a TaskGatewayClient. */
export type IMirrorClient = Pick<TaskGatewayClient, 'listTasks' | 'getConstraintGroupStates' | 'getWaitingRuns' | 'subscribe' | 'stateSubject'>;

/**
 * After a run event, the groups and waiting runs are fetched again within this many ms
 * (once for a burst of events), so that a lane shows its holder without waiting for a poll.
 */
const EVENT_FETCH_DELAY_MS = 150;

/**
 * A manager on another machine, as the dashboard reads one: its events come live through
 * a gateway subscription; its tasks, schedules, constraint groups and waiting runs are
 * fetched (all of it at the dashboard's polls and after each reconnect, the groups and
 * waiting runs after run events) and read from the last copy. Fetches never overlap: one asked for while another is out runs
 * right after it.
 */
export class RemoteManagerMirror implements IDashboardSource {
  readonly taskSubject = new Subject<ITaskEvent>();
  readonly mirror: { fetch(): void; readonly fetched: Subject<TFetchKind> };
  /** Why the last fetch failed (e.g. a missing `read` scope), until one succeeds. */
  lastError: unknown = undefined;
  private tasks = new Map<string, ITaskMetadata>();
  private groups: IConstraintGroupView[] = [];
  private waiting: IWaitingRunInfo[] = [];
  private subscription: IGatewaySubscription | undefined;
  private stateSubscription: { unsubscribe(): void } | undefined;
  private inFlight = false;
  private fetchNext: TFetchKind | undefined;
  private eventFetch: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(private readonly client: IMirrorClient, private readonly onChange: () => void = () => {}) {
    this.mirror = { fetch: () => this.fetch('all'), fetched: new Subject<TFetchKind>() };
  }

  /** Resolves once the gateway delivers events (after `start()`); rejects with its refusal. */
  get subscriptionReady(): Promise<void> {
    return this.subscription?.ready ?? Promise.reject(new Error('RemoteManagerMirror: start() was not called'));
  }

  /** Subscribes to the gateway's events and fetches once connected (again after every reconnect). */
  start(): void {
    this.subscription = this.client.subscribe({}, (event) => this.onEvent(event as ITaskEvent));
    this.subscription.ready.catch((error: unknown) => this.fail(error));
    this.stateSubscription = this.client.stateSubject.subscribe((state) => {
      // After the client has restored its subscription (it does so right after `open`):
      // read before it, and events between the read and the subscription would be lost.
      if (state === 'open') queueMicrotask(() => this.fetch('all'));
      this.onChange();
    });
  }

  /** Ends the subscription and every timer; the client stays as it is (it may be the page's). */
  stop(): void {
    this.stopped = true;
    this.subscription?.unsubscribe();
    this.stateSubscription?.unsubscribe();
    if (this.eventFetch !== undefined) clearTimeout(this.eventFetch);
    this.eventFetch = undefined;
    this.taskSubject.complete();
    this.mirror.fetched.complete();
  }

  getAllTasksMetadata(): ITaskMetadata[] {
    return [...this.tasks.values()];
  }

  getTaskMetadata(name: string): ITaskMetadata | null {
    return this.tasks.get(name) ?? null;
  }

  getScheduledTasks(): IScheduledTaskInfo[] {
    const scheduled: IScheduledTaskInfo[] = [];
    for (const task of this.tasks.values()) {
      if (task.cronSchedule === undefined || task.nextRun === undefined) continue;
      const info: IScheduledTaskInfo = { name: task.name, schedule: task.cronSchedule, nextRun: new Date(task.nextRun) };
      if (task.cronTimezone !== undefined) info.timezone = task.cronTimezone;
      scheduled.push(info);
    }
    return scheduled;
  }

  getConstraintGroupStates(): IConstraintGroupView[] {
    return this.groups;
  }

  getWaitingRuns(limit = Number.POSITIVE_INFINITY): IWaitingRunInfo[] {
    return this.waiting.length > limit ? this.waiting.slice(0, limit) : this.waiting;
  }

  /**
   * Fetches `all` (tasks, schedules, groups, waiting runs) or only the `waits` (groups and
   * waiting runs: what a run event changes; the task list can be large). One asked for
   * while another is out runs right after it, as the larger of the two asked.
   */
  private fetch(kind: TFetchKind): void {
    if (this.stopped) return;
    if (this.inFlight) {
      this.fetchNext = this.fetchNext === 'all' || kind === 'all' ? 'all' : 'waits';
      return;
    }
    this.inFlight = true;
    const tasks = kind === 'all' ? this.client.listTasks() : undefined;
    Promise.all([tasks, this.client.getConstraintGroupStates(), this.client.getWaitingRuns(WAITING_LISTED + 1)])
      .then(([taskList, groups, waiting]) => {
        if (this.stopped) return;
        if (taskList !== undefined) this.tasks = new Map(taskList.map((task) => [task.name, task]));
        this.groups = groups;
        this.waiting = waiting;
        this.lastError = undefined;
        this.mirror.fetched.next(kind);
      }, (error: unknown) => this.fail(error))
      .finally(() => {
        this.inFlight = false;
        const next = this.fetchNext;
        this.fetchNext = undefined;
        if (next !== undefined && !this.stopped) this.fetch(next);
      });
  }

  private fail(error: unknown): void {
    if (this.stopped) return;
    // A lost connection says so through the client's state; anything else (a refusal) is shown.
    if ((error as { code?: unknown })?.code !== 'CONNECTION_LOST') this.lastError = error;
    this.onChange();
  }

  private onEvent(event: ITaskEvent): void {
    this.taskSubject.next(event);
    if (event.type === 'step' || event.type === 'update' || this.eventFetch !== undefined) return;
    this.eventFetch = setTimeout(() => {
      this.eventFetch = undefined;
      this.fetch('waits');
    }, EVENT_FETCH_DELAY_MS);
  }
}
