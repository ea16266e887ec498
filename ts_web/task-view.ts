import type { ITaskMetadata, TaskManager } from 'taskbuffer';
import { appendRun, closeOpenRuns, endRun, markRetry, seedRuns, type IRunRecord } from './run-history.js';

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

/**
 * The event fields a view reads. Typed loosely on purpose: event types added to the core
 * later pass through (their snapshot is still shown).
 */
export interface ILooseTaskEvent {
  type: string;
  timestamp?: number;
  task?: ITaskMetadata;
  duration?: number;
  error?: string;
  attempt?: number;
  runId?: unknown;
}

/** One entry of `TaskManager.getScheduledTasks()`. */
type IScheduleInfo = ReturnType<TaskManager['getScheduledTasks']>[number];

/** The view of a task seen for the first time, with the last run the manager knows of. */
export function newView(metadata: ITaskMetadata): ITaskView {
  return { name: metadata.name, metadata, runs: seedRuns(metadata), revision: 0 };
}

/** Shows a snapshot read from the manager just now (it carries the schedule). */
export function takeSnapshot(view: ITaskView, metadata: ITaskMetadata): void {
  view.metadata = metadata;
  view.revision++;
}

/**
 * Shows a snapshot read on (re)attaching. Events may have been missed since the last one,
 * so runs still open here but not in the manager are closed.
 */
export function takeReloadedSnapshot(view: ITaskView, metadata: ITaskMetadata): void {
  view.metadata = metadata;
  if (metadata.activeRuns === 0) closeOpenRuns(view.runs, metadata);
  view.revision++;
}

/**
 * Folds one task event into the view: its snapshot (keeping the schedule the manager
 * told us) and, for starts, ends and retries, the run history.
 */
export function foldEvent(view: ITaskView, event: ILooseTaskEvent, metadata: ITaskMetadata, historyLimit: number): void {
  view.metadata = withSchedule(metadata, view.metadata);
  const timestamp = typeof event.timestamp === 'number' ? event.timestamp : Date.now();
  switch (event.type) {
    case 'started':
      appendRun(view.runs, { start: timestamp, outcome: 'running' }, historyLimit);
      break;
    case 'completed':
    case 'failed':
      endRun(view.runs, { outcome: event.type, timestamp, duration: event.duration, error: event.error }, historyLimit);
      break;
    case 'retrying':
      markRetry(view.runs, event.attempt, event.error);
      break;
    default:
      // 'step', 'paused', 'resumed' and types this dashboard does not know yet: the snapshot is all it needs.
      break;
  }
  view.revision++;
}

/** Applies one poll: the task's current cron schedule (`undefined`: it has none, or no longer). */
export function applyPolledSchedule(view: ITaskView, schedule: IScheduleInfo | undefined): void {
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

/** Keeps only the last `limit` runs. */
export function trimHistory(view: ITaskView, limit: number): void {
  if (view.runs.length <= limit) return;
  view.runs = view.runs.slice(-limit);
  view.revision++;
}

/** Event snapshots come from the task, which does not know its cron schedule: keep the manager's. */
function withSchedule(metadata: ITaskMetadata, previous: ITaskMetadata): ITaskMetadata {
  if (metadata.cronSchedule !== undefined || previous.cronSchedule === undefined) return metadata;
  const merged: ITaskMetadata = { ...metadata, cronSchedule: previous.cronSchedule };
  if (previous.cronTimezone !== undefined) merged.cronTimezone = previous.cronTimezone;
  if (previous.nextRun !== undefined) merged.nextRun = previous.nextRun;
  return merged;
}
