import { html, nothing, type TemplateResult } from 'lit';
import type { ActionsController } from './actions-controller.js';
import { renderQueueJob } from './dashboard-queue-job.js';
import { QUEUE_STATES, type IJob, type IQueueCounts } from './dashboard-queue-source.js';
import { formatDuration } from './format.js';
import { renderLabels } from './dashboard-labels.js';
import type { QueueController } from './queue-controller.js';

/** Tasks listed in the "waiting for a worker" line at most; the rest are counted. */
export const MAX_NO_WORKER_TASKS = 8;

/**
 * The durable queue: the jobs per state (a count shows that state's jobs), `paused`, the
 * waiting jobs no live worker can run, a page of jobs of the chosen state with next and
 * previous, a find by id and a filter of the page, and the detail of one job with Cancel
 * and Retry where the actions layer allows them. One height whatever it shows (more
 * scrolls inside), so that the tasks below never move.
 */
export function renderQueue(view: QueueController, actions: ActionsController, now: number): TemplateResult | typeof nothing {
  if (view.queue === undefined) return nothing;
  const counts = view.counts;
  return html`<section class="queue" part="queue" aria-label="Durable queue">
      <div class="queue-head">
        <h3>Queue</h3>
        ${counts?.paused === true ? html`<span class="badge" data-badge="paused">paused</span>` : nothing}
        ${renderCounts(view, counts)}
      </div>
      ${counts === undefined ? nothing : renderNoWorker(counts)}
      ${view.error === undefined ? nothing : html`<p class="queue-error" role="alert">${view.error}</p>`}
      <div class="queue-tools">
        <form class="queue-find" role="search" aria-label="Find a job by its id" @submit=${view.onFind}>
          <label>Job id <input name="job-id" type="search" maxlength="1024" autocomplete="off" spellcheck="false" /></label>
          <button type="submit">Find</button>
        </form>
        <label class="queue-filter">Filter this page
          <input name="queue-filter" type="search" placeholder="task name, key=value" autocomplete="off" spellcheck="false"
            .value=${view.filter} @input=${view.onFilterInput} />
        </label>
      </div>
      <div class="queue-body">
        ${renderJobs(view, now)}
        ${view.detail === undefined ? nothing : renderQueueJob(view, view.detail, actions, now)}
      </div>
    </section>`;
}

/** One button per state with its count; the chosen one is pressed. */
function renderCounts(view: QueueController, counts: IQueueCounts | undefined): TemplateResult {
  return html`<div class="queue-counts" role="group" aria-label="Jobs per state">
      ${QUEUE_STATES.map((state) => html`<button type="button" class="queue-state" data-state=${state} aria-pressed=${state === view.state ? 'true' : 'false'}
        @click=${view.onStateClick}>${state} <b data-count=${state}>${counts === undefined ? '…' : counts[state]}</b></button>`)}
    </div>`;
}

/** `3 waiting for a worker that has images:resize`, per task, most waiting first. */
function renderNoWorker(counts: IQueueCounts): TemplateResult | typeof nothing {
  const tasks = Object.entries(counts.waitingWithoutWorker).filter(([, count]) => count > 0)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  if (tasks.length === 0) return nothing;
  const rest = tasks.length - MAX_NO_WORKER_TASKS;
  return html`<ul class="queue-no-worker" aria-label="Jobs waiting for a worker">
      ${tasks.slice(0, MAX_NO_WORKER_TASKS).map(([task, count]) => html`<li class="badge" data-no-worker=${task}>${count} waiting for a worker that has ${task}</li>`)}
      ${rest > 0 ? html`<li class="queue-more">and ${rest} more tasks</li>` : nothing}
    </ul>`;
}

function renderJobs(view: QueueController, now: number): TemplateResult {
  const visible = view.visibleJobs;
  const filtered = view.filter.trim() !== '';
  return html`<div class="queue-jobs" data-state=${view.state}>
      <div class="queue-table">
        <table aria-label=${`${view.state} jobs, page ${view.pageNumber}`}>
          <thead><tr><th scope="col">id</th><th scope="col">task</th><th scope="col">attempt</th><th scope="col">progress</th><th scope="col">labels</th><th scope="col">age</th></tr></thead>
          <tbody>${visible.map((job) => renderRow(view, job, now))}</tbody>
        </table>
        ${visible.length > 0 ? nothing : html`<p class="queue-none">${emptyText(view, filtered)}</p>`}
      </div>
      <div class="queue-pager" role="group" aria-label="Pages">
        <button type="button" data-page="previous" ?disabled=${view.pageNumber <= 1} @click=${view.onPreviousPage}>Previous</button>
        <span class="queue-page">page ${view.pageNumber}${filtered && view.pageLoaded ? `, ${visible.length} of ${view.jobs.length} match` : ''}</span>
        <button type="button" data-page="next" ?disabled=${!view.hasMore || !view.pageLoaded} @click=${view.onNextPage}>Next</button>
      </div>
    </div>`;
}

function renderRow(view: QueueController, job: IJob, now: number): TemplateResult {
  const open = view.detail?.id === job.id;
  return html`<tr data-job=${job.id} ?data-open=${open}>
      <td><button type="button" class="job-link" data-job=${job.id} aria-expanded=${open ? 'true' : 'false'}
        aria-label=${`Show job ${job.id}`} @click=${view.onJobClick}>${job.id}</button></td>
      <td class="job-task">${job.taskName}</td>
      <td class="job-num">${job.attempt}${job.stalls > 0 ? html` <span class="job-stalls" title="stalls">(${job.stalls} stalled)</span>` : nothing}</td>
      <td class="job-num">${Math.round(job.progress)}%</td>
      <td>${renderLabels(job.labels)}</td>
      <td class="job-num" title=${new Date(job.createdAt).toISOString()}>${formatDuration(now - job.createdAt)}</td>
    </tr>`;
}

function emptyText(view: QueueController, filtered: boolean): string {
  if (!view.pageLoaded) return view.error === undefined ? 'Reading the queue…' : 'Not read yet.';
  if (view.jobs.length === 0) return view.pageNumber === 1 ? `No ${view.state} jobs.` : 'No more jobs on this page.';
  return filtered ? 'No job on this page matches the filter.' : '';
}
