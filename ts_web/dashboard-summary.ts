import { html, type TemplateResult } from 'lit';
import type { IConstraintGroupView } from './dashboard-source.js';
import type { ITaskView } from './task-view.js';
import { statusOf } from './task-status.js';

/**
 * The counts next to the heading: tasks (shown of all), running, failed, and runs waiting:
 * every waiting run the manager lists (`waitingRuns`, also those behind a paused task), else
 * those waiting in groups' keys (a manager without `getWaitingRuns`).
 */
export function renderSummary(all: ITaskView[], shown: number, groups: IConstraintGroupView[], waitingRuns?: number): TemplateResult {
  const counts = countByStatus(all);
  const waiting = waitingRuns ?? groups.reduce(
    (sum, group) => sum + group.keys.reduce((keys, key) => keys + key.waiting, 0),
    0,
  );
  // Every count is always there (0 included), so that the header never changes shape while live.
  return html`<div class="summary" role="group" aria-label="Counts">
      <span data-count="tasks">${shown === all.length ? `${all.length} tasks` : `${shown} of ${all.length} tasks`}</span>
      <span data-count="running">${counts.get('running') ?? 0} running</span>
      <span data-count="failed">${counts.get('failed') ?? 0} failed</span>
      <span data-count="waiting">${waiting} waiting</span>
    </div>`;
}

function countByStatus(views: ITaskView[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const view of views) {
    const status = statusOf(view.metadata);
    counts.set(status, (counts.get(status) ?? 0) + 1);
  }
  return counts;
}
