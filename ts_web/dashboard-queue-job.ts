import { html, nothing, type TemplateResult } from 'lit';
import { styleMap } from 'lit/directives/style-map.js';
import type { ActionsController } from './actions-controller.js';
import { CANCELLABLE_STATES, RETRYABLE_STATES, type IJob, type TJobState } from './dashboard-queue-source.js';
import { formatClock, formatDuration } from './format.js';
import type { IQueueJobDetail, QueueController } from './queue-controller.js';
import { renderLabels } from './dashboard-labels.js';

/** Characters of an input or a result shown at most; the rest is counted, so that a large job cannot flood the page. */
export const MAX_JSON_SHOWN = 20_000;

/**
 * One job in full: state, task, attempt, instance and times, its labels, its result or
 * error (name, code, message), progress and steps, and its input; with Cancel… (waiting,
 * delayed, active) and Retry… (failed, cancelled) where the actions layer allows them on
 * the job's task (`abort` and `retry`), each confirmed and reported like the dashboard's
 * other actions.
 */
export function renderQueueJob(view: QueueController, detail: IQueueJobDetail, actions: ActionsController, now: number): TemplateResult {
  const job = detail.job;
  return html`<aside class="queue-job" aria-label=${`Job ${detail.id}`} data-job=${detail.id}>
      <div class="queue-job-head">
        <h4>Job <span class="job-id">${detail.id}</span></h4>
        ${job ? html`<span class="status" data-job-state=${job.state}>${job.state}</span>` : nothing}
        <button type="button" class="queue-job-close" aria-label="Close the job's details" @click=${view.onCloseJob}>Close</button>
      </div>
      ${job === undefined ? html`<p class="queue-none">Reading the job…</p>` : nothing}
      ${job === null && detail.problem !== undefined ? html`<p class="queue-error" role="alert" data-problem>${detail.problem}</p>` : nothing}
      ${job === null && detail.problem === undefined ? html`<p class="queue-none" data-missing>No job ${JSON.stringify(detail.id)} in the queue (never added, or removed after its keep time).</p>` : nothing}
      ${job ? renderJobBody(view, job, actions, now) : nothing}
    </aside>`;
}

function renderJobBody(view: QueueController, job: IJob, actions: ActionsController, now: number): TemplateResult {
  const canCancel = CANCELLABLE_STATES.has(job.state) && actions.can('abort', job.taskName);
  const canRetry = RETRYABLE_STATES.has(job.state) && actions.can('retry', job.taskName);
  return html`
    ${canCancel || canRetry
      ? html`<div class="queue-job-actions" role="group" aria-label=${`Actions on job ${job.id}`}>
          ${canCancel ? html`<button type="button" class="act" data-action="cancel-job" @click=${() => askCancel(view, actions, job)}>Cancel…</button>` : nothing}
          ${canRetry ? html`<button type="button" class="act" data-action="retry-job" @click=${() => askRetry(view, actions, job)}>Retry…</button>` : nothing}
        </div>`
      : nothing}
    <dl class="queue-facts">
      <dt>task</dt><dd class="job-task">${job.taskName}</dd>
      <dt>attempt</dt><dd>${job.attempt}${job.stalls > 0 ? ` (${job.stalls} stalled)` : ''}${job.retry?.attempts === undefined ? '' : ` of ${job.retry.attempts}`}</dd>
      <dt>progress</dt><dd>${describeProgress(job)}</dd>
      ${job.priority === 0 ? nothing : html`<dt>priority</dt><dd>${job.priority}</dd>`}
      <dt>instance</dt><dd class="job-instance">${job.instanceId ?? '—'}</dd>
      <dt>created</dt><dd>${describeTime(job.createdAt, now)}</dd>
      ${job.startedAt === undefined ? nothing : html`<dt>started</dt><dd>${describeTime(job.startedAt, now)}</dd>`}
      ${job.finishedAt === undefined ? nothing : html`<dt>finished</dt><dd>${describeTime(job.finishedAt, now)}</dd>`}
      ${Object.keys(job.labels).length === 0 ? nothing : html`<dt>labels</dt><dd>${renderLabels(job.labels)}</dd>`}
    </dl>
    ${job.error === undefined
      ? nothing
      : html`<div class="error queue-job-error" part="error" data-job-error>
          <span class="error-label">${job.error.name}${job.error.code === undefined ? '' : ` (${job.error.code})`}:</span> ${job.error.message}
        </div>`}
    ${job.state === 'completed' ? html`<h5>Result</h5><pre class="queue-json" data-json="result">${showJson(job.result)}</pre>` : nothing}
    ${renderJobProgress(job)}
    <h5>Input</h5>
    <pre class="queue-json" data-json="input">${showJson(job.input)}</pre>
  `;
}

/** The job's progress as a bar, and its steps in words. */
function renderJobProgress(job: IJob): TemplateResult {
  const progress = Math.max(0, Math.min(100, Math.round(job.progress)));
  return html`<div class="queue-progress" role="progressbar" aria-label=${`progress of job ${job.id}`} aria-valuemin="0" aria-valuemax="100"
      aria-valuenow=${progress} aria-valuetext=${describeProgress(job)}>
      <span class="queue-progress-fill" style=${styleMap({ width: `${progress}%` })}></span>
    </div>
    ${job.steps.length === 0
      ? nothing
      : html`<ol class="queue-steps" aria-label="Steps">
          ${job.steps.map((step) => html`<li data-step=${step.name} data-step-status=${step.status} title=${step.description}>
            <span class="step-name">${step.name}</span> <span class="step-status">${step.status}</span>
            ${step.duration === undefined ? nothing : html` <span class="step-time">${formatDuration(step.duration)}</span>`}
          </li>`)}
        </ol>`}`;
}

function askCancel(view: QueueController, actions: ActionsController, job: IJob): void {
  const queue = view.queue;
  if (queue === undefined) return;
  const what = `job ${job.id} of ${job.taskName}`;
  actions.confirmAction<TJobState>({
    title: `Cancel job ${job.id}`,
    message: job.state === 'active'
      ? `Cancel ${what}? It is aborted where it runs (its task's signal fires).`
      : `Cancel ${what}? It will not run.`,
    confirmLabel: 'Cancel job',
    pending: `Cancelling ${what}`,
    act: () => queue.cancel(job.id),
    outcome: (state) => state === 'cancelled'
      ? { text: `Cancelled ${what}`, ok: true }
      : state === 'active'
        ? { text: `Aborting ${what} where it runs`, ok: true }
        : { text: `${what} had already ended: ${state}`, ok: false },
    failed: `Could not cancel ${what}`,
    settled: () => void view.refresh(),
  });
}

function askRetry(view: QueueController, actions: ActionsController, job: IJob): void {
  const queue = view.queue;
  if (queue === undefined) return;
  const what = `job ${job.id} of ${job.taskName}`;
  actions.confirmAction<TJobState>({
    title: `Retry job ${job.id}`,
    message: `Retry ${what}? It goes back to waiting, as new, with the same input.`,
    confirmLabel: 'Retry job',
    pending: `Retrying ${what}`,
    act: () => queue.retry(job.id),
    outcome: (state) => ({ text: `Retried ${what}: ${state} again`, ok: true }),
    failed: `Could not retry ${what}`,
    settled: () => void view.refresh(),
  });
}

/** `40%`, or `40%, step upload` while a step is active. */
function describeProgress(job: IJob): string {
  const active = job.steps.find((step) => step.status === 'active');
  return `${Math.round(job.progress)}%${active === undefined ? '' : `, step ${active.name}`}`;
}

/** `06:17:05 UTC (3.2 s ago)`. */
function describeTime(at: number, now: number): string {
  return `${formatClock(at)} (${formatDuration(now - at)} ago)`;
}

/** Pretty JSON as text (never as HTML), cut at `MAX_JSON_SHOWN` characters. */
function showJson(value: unknown): string {
  if (value === undefined) return '(none)';
  const text = JSON.stringify(value, null, 2) ?? String(value);
  return text.length <= MAX_JSON_SHOWN ? text : `${text.slice(0, MAX_JSON_SHOWN)}\n… (${text.length - MAX_JSON_SHOWN} more characters)`;
}
