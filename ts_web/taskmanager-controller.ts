import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { ITaskEvent, ITaskMetadata, TaskManager } from 'taskbuffer';

/** How one run of a task ended (or that it is still going). */
export type TRunOutcome = 'running' | 'completed' | 'failed';

/** One run in a task's history, as the dashboard saw it. Times are epoch ms. */
export interface IRunRecord {
  start: number;
  /** Set when the run has ended. */
  duration?: number;
  outcome: TRunOutcome;
  /** The error message of a failed run. */
  error?: string;
  /** The try under way or the last one, once a run has been retried (2 for the first retry). */
  attempt?: number;
}

/** What the dashboard knows about one task. */
export interface ITaskView {
  readonly name: string;
  /** The latest snapshot: from the latest event, with the schedule fields from the latest poll. */
  metadata: ITaskMetadata;
  /** The last runs, oldest first, at most `historySize` of them. */
  runs: IRunRecord[];
  /** Grows whenever anything shown for this task changed; lets the host re-render only changed rows. */
  revision: number;
}

/** A constraint group's state, as `TaskManager.getConstraintGroupStates()` returns it. */
export type IConstraintGroupView = ReturnType<TaskManager['getConstraintGroupStates']>[number];

/** Options of `new TaskManagerController(host, options)`. */
export interface ITaskManagerControllerOptions {
  /**
   * How often, in ms, to refresh what events do not carry: next cron runs, countdowns,
   * running times and constraint group states. `0` turns polling off.
   * @default 1000
   */
  refreshInterval?: number;
  /**
   * Runs kept per task.
   * @default 20
   */
  historySize?: number;
}

interface IUnsubscribable {
  unsubscribe(): void;
}

/** The event fields the controller reads. Typed loosely on purpose: event types added to the core later pass through. */
interface ILooseTaskEvent {
  type: string;
  timestamp?: number;
  task?: ITaskMetadata;
  duration?: number;
  error?: string;
  attempt?: number;
}

const DEFAULT_REFRESH_MS = 1000;
const DEFAULT_HISTORY_SIZE = 20;

/**
 * Keeps a host element in sync with a `TaskManager`: it subscribes to `taskSubject` while
 * the host is connected (so a start, a step, a completion or a failure shows at once),
 * keeps a bounded run history per task, and polls only for what events do not carry.
 * Many events between two animation frames cause one host update, not one per event.
 *
 * It uses only the manager's public API and never keeps the manager alive on its own:
 * detaching the host, or setting another manager, unsubscribes.
 */
export class TaskManagerController implements ReactiveController {
  /** Tasks by name, in the order the manager lists them (new tasks at the end). */
  readonly tasks = new Map<string, ITaskView>();
  /** Constraint groups and their active keys, as of the last refresh. */
  groups: IConstraintGroupView[] = [];
  /** Events received from the current manager (for diagnostics). */
  eventCount = 0;

  private currentManager: TaskManager | undefined;
  private refreshMs: number;
  private historyLimit: number;
  private connected = false;
  private subscriptions: IUnsubscribable[] = [];
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private frameHandle: number | undefined;
  private frameIsTimeout = false;
  /** Names whose full metadata (with the schedule) should be read at the next frame. */
  private readonly pendingLookups = new Set<string>();
  private groupsStale = false;

  constructor(
    private readonly host: ReactiveControllerHost,
    options: ITaskManagerControllerOptions = {},
  ) {
    this.refreshMs = sanitizeInterval(options.refreshInterval ?? DEFAULT_REFRESH_MS);
    this.historyLimit = sanitizeHistory(options.historySize ?? DEFAULT_HISTORY_SIZE);
    host.addController(this);
  }

  /** The manager shown; setting another one drops everything known about the previous one. */
  get manager(): TaskManager | undefined {
    return this.currentManager;
  }

  /**
   * Shows `manager` instead of the current one. Does not request a host update itself (the
   * host calls this while it updates); call `host.requestUpdate()` when calling it from elsewhere.
   */
  setManager(manager: TaskManager | undefined): void {
    if (manager === this.currentManager) return;
    this.detach();
    this.currentManager = manager;
    this.tasks.clear();
    this.groups = [];
    this.eventCount = 0;
    this.attach();
  }

  get refreshInterval(): number {
    return this.refreshMs;
  }

  setRefreshInterval(ms: number): void {
    const next = sanitizeInterval(ms);
    if (next === this.refreshMs) return;
    this.refreshMs = next;
    if (this.subscriptions.length > 0) this.startPolling();
  }

  get historySize(): number {
    return this.historyLimit;
  }

  setHistorySize(size: number): void {
    this.historyLimit = sanitizeHistory(size);
    for (const view of this.tasks.values()) {
      if (view.runs.length > this.historyLimit) {
        view.runs = view.runs.slice(-this.historyLimit);
        view.revision++;
      }
    }
  }

  hostConnected(): void {
    this.connected = true;
    this.attach();
  }

  hostDisconnected(): void {
    this.connected = false;
    this.detach();
  }

  /** Reads every task, the schedules and the groups again (also done on every attach). */
  reload(): void {
    const manager = this.currentManager;
    if (manager === undefined) return;
    const previous = new Map(this.tasks);
    this.tasks.clear();
    for (const metadata of manager.getAllTasksMetadata()) {
      const view = previous.get(metadata.name);
      if (view === undefined) {
        this.tasks.set(metadata.name, newView(metadata));
      } else {
        view.metadata = metadata;
        if (metadata.activeRuns === 0) closeOpenRuns(view, metadata);
        view.revision++;
        this.tasks.set(metadata.name, view);
      }
    }
    this.groups = manager.getConstraintGroupStates();
  }

  /** One poll: schedules, countdowns, running times, constraint groups, tasks added or removed unseen. */
  refresh(): void {
    const manager = this.currentManager;
    if (manager === undefined) return;
    if (manager.taskMap.length !== this.tasks.size) {
      this.reload();
    } else {
      const schedules = new Map(manager.getScheduledTasks().map((info) => [info.name, info]));
      for (const view of this.tasks.values()) {
        const schedule = schedules.get(view.name);
        const metadata = view.metadata;
        if (schedule !== undefined) {
          const { cronTimezone: _zone, ...rest } = metadata;
          view.metadata = { ...rest, cronSchedule: schedule.schedule, nextRun: schedule.nextRun.getTime() };
          if (schedule.timezone !== undefined) view.metadata.cronTimezone = schedule.timezone;
          view.revision++;
        } else if (metadata.cronSchedule !== undefined) {
          const { cronSchedule: _cron, cronTimezone: _zone, nextRun: _next, ...rest } = metadata;
          view.metadata = rest;
          view.revision++;
        } else if (metadata.status === 'running') {
          view.revision++; // its "running for" time moved on
        }
      }
      this.groups = manager.getConstraintGroupStates();
    }
    this.requestFrame();
  }

  private attach(): void {
    const manager = this.currentManager;
    if (!this.connected || manager === undefined || this.subscriptions.length > 0) return;
    this.subscriptions.push(
      manager.taskSubject.subscribe({ next: (event) => this.onEvent(event), error: () => undefined }),
    );
    // Group pause/resume changes nothing a task event carries: refresh the groups at the next frame.
    const groupEvents = manager.constraintGroupSubject as TaskManager['constraintGroupSubject'] | undefined;
    if (groupEvents !== undefined) {
      this.subscriptions.push(groupEvents.subscribe({
        next: () => {
          this.groupsStale = true;
          this.requestFrame();
        },
        error: () => undefined,
      }));
    }
    const registry = manager.taskMap?.eventSubject;
    if (registry !== undefined) {
      this.subscriptions.push(registry.subscribe((change) => this.onRegistryChange(change.operation, change.payload?.name)));
    }
    this.reload();
    this.startPolling();
    // Show what was read (on a re-attach nothing else would ask the host to update).
    this.requestFrame();
  }

  private detach(): void {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.subscriptions = [];
    this.stopPolling();
    this.cancelFrame();
    this.pendingLookups.clear();
  }

  private startPolling(): void {
    this.stopPolling();
    if (this.refreshMs > 0) this.pollTimer = setInterval(() => this.refresh(), this.refreshMs);
  }

  private stopPolling(): void {
    if (this.pollTimer !== undefined) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  private onEvent(incoming: ITaskEvent): void {
    const event = incoming as unknown as ILooseTaskEvent;
    const metadata = event?.task;
    const name = metadata?.name;
    if (typeof name !== 'string') return;
    this.eventCount++;
    let view = this.tasks.get(name);
    if (view === undefined) {
      // An event of a task we have not listed yet (e.g. added while the registry was not observable).
      view = newView(metadata!);
      this.tasks.set(name, view);
      this.pendingLookups.add(name);
    } else {
      view.metadata = withSchedule(metadata!, view.metadata);
    }
    const timestamp = typeof event.timestamp === 'number' ? event.timestamp : Date.now();
    switch (event.type) {
      case 'started':
        this.pushRun(view, { start: timestamp, outcome: 'running' });
        break;
      case 'completed':
      case 'failed':
        this.endRun(view, event.type, timestamp, event.duration, event.error);
        break;
      case 'retrying':
        this.markRetry(view, event.attempt, event.error);
        break;
      default:
        // 'step', 'paused', 'resumed' and types this dashboard does not know yet: the snapshot is all it needs.
        break;
    }
    view.revision++;
    if (event.type !== 'step') {
      this.groupsStale = true;
      // A cron tick just fired or ended: read its next run at the next frame instead of the next poll.
      if (view.metadata.cronSchedule !== undefined) this.pendingLookups.add(name);
    }
    this.requestFrame();
  }

  private onRegistryChange(operation: string, name: string | undefined): void {
    if (typeof name !== 'string') return;
    if (operation === 'remove') {
      this.tasks.delete(name);
      this.pendingLookups.delete(name);
    } else if (operation === 'add') {
      // Read it at the next frame: addAndScheduleTask registers first and schedules right after.
      this.pendingLookups.add(name);
    }
    this.requestFrame();
  }

  private pushRun(view: ITaskView, run: IRunRecord): void {
    view.runs.push(run);
    if (view.runs.length > this.historyLimit) view.runs.splice(0, view.runs.length - this.historyLimit);
  }

  /** A try of the newest open run failed and another follows: the run goes on. */
  private markRetry(view: ITaskView, attempt: number | undefined, error: string | undefined): void {
    for (let index = view.runs.length - 1; index >= 0; index--) {
      const run = view.runs[index]!;
      if (run.outcome !== 'running') continue;
      run.attempt = typeof attempt === 'number' ? attempt : (run.attempt ?? 1) + 1;
      if (error !== undefined) run.error = error;
      return;
    }
  }

  /** Ends the open run whose start best matches `timestamp - duration` (runs of a task may overlap). */
  private endRun(view: ITaskView, outcome: 'completed' | 'failed', timestamp: number, duration?: number, error?: string): void {
    const ran = typeof duration === 'number' && Number.isFinite(duration) ? duration : undefined;
    const start = ran === undefined ? timestamp : timestamp - ran;
    let best: IRunRecord | undefined;
    for (const run of view.runs) {
      if (run.outcome !== 'running') continue;
      if (best === undefined || Math.abs(run.start - start) < Math.abs(best.start - start)) best = run;
    }
    const record = best ?? { start, outcome };
    record.outcome = outcome;
    record.duration = ran ?? timestamp - record.start;
    if (outcome === 'failed' && error !== undefined) record.error = error;
    else if (outcome === 'completed') delete record.error; // a retried run that succeeded in the end
    if (best === undefined) this.pushRun(view, record);
  }

  private requestFrame(): void {
    if (this.frameHandle !== undefined) return;
    if (typeof requestAnimationFrame === 'function') {
      this.frameIsTimeout = false;
      this.frameHandle = requestAnimationFrame(() => this.flush());
    } else {
      this.frameIsTimeout = true;
      this.frameHandle = setTimeout(() => this.flush(), 16) as unknown as number;
    }
  }

  private cancelFrame(): void {
    if (this.frameHandle === undefined) return;
    if (this.frameIsTimeout) clearTimeout(this.frameHandle);
    else cancelAnimationFrame(this.frameHandle);
    this.frameHandle = undefined;
  }

  /** Once per animation frame: finish what events left to look up, then one host update. */
  private flush(): void {
    this.frameHandle = undefined;
    const manager = this.currentManager;
    if (manager !== undefined && this.pendingLookups.size > 0) {
      let reordered = false;
      for (const name of this.pendingLookups) {
        const metadata = manager.getTaskMetadata(name);
        if (metadata === null) {
          this.tasks.delete(name);
          continue;
        }
        const view = this.tasks.get(name);
        if (view === undefined) {
          this.tasks.set(name, newView(metadata));
          reordered = true;
        } else {
          view.metadata = metadata;
          view.revision++;
        }
      }
      this.pendingLookups.clear();
      if (reordered) this.groupsStale = true;
    }
    if (manager !== undefined && this.groupsStale) {
      this.groups = manager.getConstraintGroupStates();
      this.groupsStale = false;
    }
    this.host.requestUpdate();
  }
}

function newView(metadata: ITaskMetadata): ITaskView {
  const view: ITaskView = { name: metadata.name, metadata, runs: [], revision: 0 };
  // Seed the history with the last run the manager knows of, when there was one before we looked.
  if (metadata.lastRun !== undefined) {
    if (metadata.activeRuns > 0) {
      view.runs.push({ start: metadata.lastRun, outcome: 'running' });
    } else if (metadata.status === 'completed' || metadata.status === 'failed') {
      const run: IRunRecord = { start: metadata.lastRun, outcome: metadata.status };
      if (metadata.lastDuration !== undefined) run.duration = metadata.lastDuration;
      if (metadata.status === 'failed' && metadata.lastError !== undefined) run.error = metadata.lastError;
      view.runs.push(run);
    }
  }
  return view;
}

/** Runs that ended while nobody listened: close them with the outcome the task reports. */
function closeOpenRuns(view: ITaskView, metadata: ITaskMetadata): void {
  for (const run of view.runs) {
    if (run.outcome !== 'running') continue;
    run.outcome = metadata.status === 'failed' ? 'failed' : 'completed';
  }
}

/** Event snapshots come from the task, which does not know its cron schedule: keep the manager's. */
function withSchedule(metadata: ITaskMetadata, previous: ITaskMetadata): ITaskMetadata {
  if (metadata.cronSchedule !== undefined || previous.cronSchedule === undefined) return metadata;
  const merged: ITaskMetadata = { ...metadata, cronSchedule: previous.cronSchedule };
  if (previous.cronTimezone !== undefined) merged.cronTimezone = previous.cronTimezone;
  if (previous.nextRun !== undefined) merged.nextRun = previous.nextRun;
  return merged;
}

function sanitizeInterval(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? Math.max(16, ms) : 0;
}

function sanitizeHistory(size: number): number {
  return Number.isFinite(size) && size >= 1 ? Math.floor(size) : DEFAULT_HISTORY_SIZE;
}
