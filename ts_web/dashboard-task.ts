import { html, nothing, type TemplateResult } from 'lit';
import type { ITaskMetadata } from 'taskbuffer';
import type { ActionsController } from './actions-controller.js';
import { renderCardActions } from './dashboard-actions-view.js';
import { renderHistory, type THistoryToggleHandler } from './dashboard-history.js';
import { renderLabels } from './dashboard-labels.js';
import { renderTaskMetrics } from './dashboard-metrics.js';
import type { MinuteMetrics } from './minute-metrics.js';
import { renderProgress } from './dashboard-progress.js';
import { formatClock, formatCountdown, formatDuration } from './format.js';
import type { ITaskView } from './task-view.js';
import { statusOf } from './task-status.js';

/**
 * One task's card (with its action buttons when actions are allowed; `orphan`: with a badge saying no live instance of the cluster has it) (all cards are equally tall: see `--tb-card-height`). What may come and go
 * while live is last (the error) or has its place kept, so that nothing in a card moves when
 * a run starts or ends: name, status and badges, labels, progress, steps, facts, cron schedule,
 * last error and run history. Task data is only ever bound as text or attribute values,
 * never as markup.
 */
export function renderTask(
  view: ITaskView,
  open: boolean,
  onHistoryToggle: THistoryToggleHandler,
  position: number,
  setSize: number,
  metrics: MinuteMetrics | undefined,
  actions: ActionsController,
  orphan = false,
): TemplateResult {
  const metadata = view.metadata;
  const status = statusOf(metadata);
  const paused = (metadata as { paused?: unknown }).paused === true;
  // One clock reading per card, so that its countdown, running time and history agree.
  const now = Date.now();
  // aria-posinset/setsize: only a window of the list is in the DOM, so say where this card sits in all of it.
  return html`<li class="task" part="task" data-status=${status} data-task=${view.name} aria-posinset=${position} aria-setsize=${setSize}>
      <div class="task-head">
        <span class="task-name">${view.name}</span>
        <span class="badges">
          ${paused ? html`<span class="badge" data-badge="paused">paused</span>` : nothing}
          ${orphan ? html`<span class="badge" data-badge="orphan" title="No live instance of the cluster has this task">no live instance</span>` : nothing}
          <span class="status" part="status" data-status=${status}>${status}</span>
        </span>
      </div>
      ${renderCardActions(actions, view.name, status, paused)}
      ${renderLabels(metadata.labels)}
      ${renderProgress(metadata, status)}
      ${renderSteps(metadata)}
      ${renderFacts(metadata, status, now)}
      ${renderTaskMetrics(metrics)}
      ${renderSchedule(metadata, now)}
      ${renderHistory(view, open, now, onHistoryToggle)}
      ${renderLastError(metadata)}
    </li>`;
}

function renderSteps(metadata: ITaskMetadata): TemplateResult | typeof nothing {
  if (metadata.steps.length === 0) return nothing;
  return html`<ol class="steps" aria-label="steps">
            ${metadata.steps.map((step) => html`<li class="step" data-step=${step.name} data-step-status=${step.status}>${step.name}</li>`)}
          </ol>`;
}

/** Progress, runs and errors always; runs at once, buffering and the running time when they apply. */
function renderFacts(metadata: ITaskMetadata, status: string, now: number): TemplateResult {
  return html`<div class="facts">
        <span class="fact" data-fact="progress"><b>${Math.round(metadata.currentProgress)}%</b></span>
        <span class="fact" data-fact="runs"><b>${metadata.runCount}</b> ${metadata.runCount === 1 ? 'run' : 'runs'}</span>
        <span class="fact" data-fact="errors" ?data-nonzero=${metadata.errorCount > 0}><b>${metadata.errorCount}</b> ${metadata.errorCount === 1 ? 'error' : 'errors'}</span>
        ${metadata.activeRuns > 1 ? html`<span class="fact" data-fact="active"><b>${metadata.activeRuns}</b> at once</span>` : nothing}
        ${metadata.buffered ? html`<span class="fact" data-fact="buffered">buffered ×${metadata.bufferMax ?? 1}</span>` : nothing}
        ${status === 'running' && metadata.lastRun !== undefined
          ? html`<span class="fact" data-fact="elapsed">for ${formatDuration(now - metadata.lastRun)}</span>`
          : nothing}
      </div>`;
}

/** The cron expression (and its time zone) with a countdown to the next run; nothing for unscheduled tasks. */
function renderSchedule(metadata: ITaskMetadata, now: number): TemplateResult | typeof nothing {
  if (metadata.cronSchedule === undefined) return nothing;
  return html`<div class="schedule">
            <span>cron <code>${metadata.cronSchedule}</code>${metadata.cronTimezone === undefined
              ? nothing
              : html` <span class="timezone">(${metadata.cronTimezone})</span>`}</span>
            ${metadata.nextRun === undefined
              ? html`<span>no next run</span>`
              : html`<span>next run <span class="countdown">${formatCountdown(metadata.nextRun, now)}</span>
                  <span class="next-run">(${formatClock(metadata.nextRun)}${metadata.cronTimezone === undefined
                    ? ''
                    : `, ${formatClock(metadata.nextRun, metadata.cronTimezone)}`})</span></span>`}
          </div>`;
}

function renderLastError(metadata: ITaskMetadata): TemplateResult | typeof nothing {
  if (metadata.lastError === undefined) return nothing;
  return html`<div class="error" part="error" title=${metadata.lastError}><span class="error-label">last error:</span><span class="error-message">${metadata.lastError}</span></div>`;
}
