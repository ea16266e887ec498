import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { ITaskEvent, ITaskMetadata } from 'taskbuffer';
import type { IDashboardSource } from './dashboard-source.js';
import { FrameBatch } from './frame-batch.js';
import { GroupWatch } from './group-watch.js';
import { refreshIntervalMs } from './poll-loop.js';
import type { IConstraintGroupView } from './dashboard-source.js';
import { RunMetrics } from './run-metrics.js';
import {
  applyPolledSchedule,
  foldEvent,
  newView,
  takeReloadedSnapshot,
  takeSnapshot,
  trimHistory,
  type ILooseTaskEvent,
  type ITaskView,
} from './task-view.js';

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

const DEFAULT_REFRESH_MS = 1000;
const DEFAULT_HISTORY_SIZE = 20;
/**
 * Runs kept across all tasks: with many tasks each keeps fewer (never under one), so that
 * memory stays bounded whatever the number of tasks and however long the page stays open.
 */
export const MAX_TOTAL_RUNS = 50_000;

/**
 * Keeps a host element in sync with a `TaskManager`: it subscribes to `taskSubject` while
 * the host is connected (so a start, a step, a completion or a failure shows at once),
 * keeps a bounded run history per task, and polls only for what events do not carry.
 * Many events between two animation frames cause one host update, not one per event.
 *
 * It uses only the manager's public API and never keeps the manager alive on its own:
 * detaching the host, or setting another manager, unsubscribes.
 *
 * This class is the lifecycle (subscriptions, polling, frames); how an event or a
 * snapshot changes a task's view is in `task-view.ts` and `run-history.ts`.
 */
export class TaskManagerController implements ReactiveController {
  /** Tasks by name, in the order the manager lists them (new tasks at the end). */
  readonly tasks = new Map<string, ITaskView>();
  /** Constraint groups with the runs holding each key, the runs waiting and why, and the timeline per key. */
  readonly waits = new GroupWatch();
  /** Events received from the current manager (for diagnostics). */
  eventCount = 0;
  /** Runs ended per minute, failures and durations over the last hour, in total and per task (from events). */
  readonly metrics = new RunMetrics();
  /** Grows whenever tasks were added, removed or read again: what is derived from all tasks' labels may be stale. */
  catalogRevision = 0;

  private currentManager: IDashboardSource | undefined;
  private refreshMs: number;
  private historyLimit: number;
  private connected = false;
  private subscriptions: IUnsubscribable[] = [];
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private readonly frame = new FrameBatch(() => this.flush());
  /** Names whose full metadata (with the schedule) should be read at the next frame. */
  private readonly pendingLookups = new Set<string>();
  private groupsStale = false;
  /** The per-task history limit the kept histories were last trimmed to. */
  private appliedHistoryLimit = DEFAULT_HISTORY_SIZE;

  constructor(
    private readonly host: ReactiveControllerHost,
    options: ITaskManagerControllerOptions = {},
  ) {
    this.refreshMs = refreshIntervalMs(options.refreshInterval ?? DEFAULT_REFRESH_MS);
    this.historyLimit = sanitizeHistory(options.historySize ?? DEFAULT_HISTORY_SIZE);
    this.appliedHistoryLimit = this.historyLimit;
    host.addController(this);
  }

  /** Constraint groups and their active keys, as of the last refresh. */
  get groups(): IConstraintGroupView[] {
    return this.waits.groups;
  }

  /** The manager (or mirror of a remote one) shown; setting another one drops everything known about the previous one. */
  get manager(): IDashboardSource | undefined {
    return this.currentManager;
  }

  /**
   * Shows `manager` instead of the current one. Does not request a host update itself (the
   * host calls this while it updates); call `host.requestUpdate()` when calling it from elsewhere.
   */
  setManager(manager: IDashboardSource | undefined): void {
    if (manager === this.currentManager) return;
    this.detach();
    this.currentManager = manager;
    this.tasks.clear();
    this.waits.clear();
    this.eventCount = 0;
    this.metrics.clear();
    this.attach();
  }

  get refreshInterval(): number {
    return this.refreshMs;
  }

  setRefreshInterval(ms: number): void {
    const next = refreshIntervalMs(ms);
    if (next === this.refreshMs) return;
    this.refreshMs = next;
    if (this.subscriptions.length > 0) this.startPolling();
  }

  get historySize(): number {
    return this.historyLimit;
  }

  setHistorySize(size: number): void {
    this.historyLimit = sanitizeHistory(size);
    this.applyHistoryLimit();
  }

  /** Runs kept per task now: `historySize`, or fewer when that many for every task would exceed `MAX_TOTAL_RUNS`. */
  get effectiveHistorySize(): number {
    return Math.max(1, Math.min(this.historyLimit, Math.floor(MAX_TOTAL_RUNS / Math.max(1, this.tasks.size))));
  }

  /** Trims every history when the limit went down (rare: only as tasks are added), so the total stays bounded. */
  private applyHistoryLimit(): void {
    const limit = this.effectiveHistorySize;
    if (limit < this.appliedHistoryLimit) for (const view of this.tasks.values()) trimHistory(view, limit);
    this.appliedHistoryLimit = limit;
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
        takeReloadedSnapshot(view, metadata);
        this.tasks.set(metadata.name, view);
      }
    }
    this.waits.read(manager);
    this.catalogRevision++;
    this.applyHistoryLimit();
  }

  /** One poll: schedules, countdowns, running times, constraint groups, tasks added or removed unseen. */
  refresh(): void {
    const manager = this.currentManager;
    if (manager === undefined) return;
    if (manager.mirror !== undefined) {
      manager.mirror.fetch(); // read once it arrives (`fetched`)
      this.frame.request(); // countdowns and running times move on meanwhile
    } else if (manager.taskMap?.length !== this.tasks.size) {
      this.reload();
    } else {
      const schedules = new Map(manager.getScheduledTasks().map((info) => [info.name, info]));
      for (const view of this.tasks.values()) applyPolledSchedule(view, schedules.get(view.name));
      this.waits.read(manager);
      this.catalogRevision++; // labels may have changed, and nothing else would tell
    }
    this.frame.request();
  }

  private attach(): void {
    const manager = this.currentManager;
    if (!this.connected || manager === undefined || this.subscriptions.length > 0) return;
    this.subscriptions.push(
      manager.taskSubject.subscribe({ next: (event) => this.onEvent(event), error: () => undefined }),
    );
    // Group pause/resume changes nothing a task event carries: refresh the groups at the next frame.
    const groupEvents = manager.constraintGroupSubject;
    if (groupEvents !== undefined) {
      this.subscriptions.push(groupEvents.subscribe({
        next: () => {
          this.groupsStale = true;
          this.frame.request();
        },
        error: () => undefined,
      }));
    }
    const registry = manager.taskMap?.eventSubject;
    if (registry !== undefined) {
      this.subscriptions.push(registry.subscribe({ next: (change) => this.onRegistryChange(change.operation, change.payload?.name) }));
    }
    if (manager.mirror !== undefined) {
      this.subscriptions.push(manager.mirror.fetched.subscribe({ next: (kind) => this.onFetched(kind) }));
    }
    this.reload();
    this.startPolling();
    // Show what was read (on a re-attach nothing else would ask the host to update).
    this.frame.request();
  }

  private detach(): void {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.subscriptions = [];
    this.stopPolling();
    this.frame.cancel();
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
    if (typeof metadata?.name !== 'string') return;
    this.eventCount++;
    const view = this.viewForEvent(metadata);
    foldEvent(view, event, metadata, this.appliedHistoryLimit);
    this.waits.onRunEvent(event.type, event.runId, view.name, typeof event.timestamp === 'number' ? event.timestamp : Date.now());
    if (event.type === 'completed' || event.type === 'failed') {
      this.metrics.record(view.name, typeof event.timestamp === 'number' ? event.timestamp : Date.now(), event.type, event.duration);
    }
    if (event.type !== 'step') {
      this.groupsStale = true;
      // A cron tick just fired or ended: read its next run at the next frame instead of the next poll.
      if (view.metadata.cronSchedule !== undefined) this.pendingLookups.add(view.name);
    }
    this.frame.request();
  }

  /** The view an event's snapshot goes to; a task not listed yet gets one (e.g. added while the registry was not observable). */
  private viewForEvent(metadata: ITaskMetadata): ITaskView {
    const known = this.tasks.get(metadata.name);
    if (known !== undefined) return known;
    const view = newView(metadata);
    this.tasks.set(metadata.name, view);
    this.pendingLookups.add(metadata.name);
    return view;
  }

  /** A mirror fetched the remote manager's state (it is local now): read all of it, or only the groups. */
  private onFetched(kind: 'all' | 'waits'): void {
    if (kind === 'all') this.reload();
    else this.groupsStale = true;
    this.frame.request();
  }

  private onRegistryChange(operation: string, name: string | undefined): void {
    if (typeof name !== 'string') return;
    if (operation === 'remove') {
      this.tasks.delete(name);
      this.metrics.forget(name);
      this.catalogRevision++;
      this.pendingLookups.delete(name);
    } else if (operation === 'add') {
      // Read it at the next frame: addAndScheduleTask registers first and schedules right after.
      this.pendingLookups.add(name);
    }
    this.frame.request();
  }

  /** Once per animation frame: finish what events left to look up, then one host update. */
  private flush(): void {
    const manager = this.currentManager;
    if (manager !== undefined && this.pendingLookups.size > 0) this.lookUpPending(manager);
    this.applyHistoryLimit();
    if (manager !== undefined && this.groupsStale) {
      this.waits.read(manager);
      this.groupsStale = false;
    }
    this.host.requestUpdate();
  }

  /** Reads the full metadata of the tasks events and registry changes named since the last frame. */
  private lookUpPending(manager: IDashboardSource): void {
    let reordered = false;
    for (const name of this.pendingLookups) {
      const metadata = manager.getTaskMetadata(name);
      if (metadata === null) {
        this.tasks.delete(name);
        this.catalogRevision++;
        continue;
      }
      const view = this.tasks.get(name);
      if (view === undefined) {
        this.tasks.set(name, newView(metadata));
        reordered = true;
      } else {
        takeSnapshot(view, metadata);
      }
    }
    this.pendingLookups.clear();
    if (reordered) {
      this.groupsStale = true;
      this.catalogRevision++;
    }
  }
}

function sanitizeHistory(size: number): number {
  return Number.isFinite(size) && size >= 1 ? Math.floor(size) : DEFAULT_HISTORY_SIZE;
}
