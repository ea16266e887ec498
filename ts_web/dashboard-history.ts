import { html, nothing, type TemplateResult } from 'lit';
import { formatClock, formatDuration } from './format.js';
import type { IRunRecord } from './run-history.js';
import type { ITaskView } from './task-view.js';

/** The table shows the newest runs only. */
const HISTORY_ROWS_SHOWN = 20;
/** Marks for the newest runs, in a box of fixed width (see `.runs`), so that the text after it never moves. */
const RUN_MARKS_SHOWN = 10;

/** Called when the user opens or closes a task's history table. */
export type THistoryToggleHandler = (taskName: string, event: Event) => void;

/**
 * A card's run history: one mark per run, the last run in words, and a `<details>` table
 * that is rendered only while open (closed tables of many tasks would cost for nothing).
 */
export function renderHistory(view: ITaskView, open: boolean, now: number, onToggle: THistoryToggleHandler): TemplateResult {
  const runs = view.runs;
  // Before the first run the lines are there already, so that the first run moves nothing.
  if (runs.length === 0) {
    return html`<div class="history"><ol class="runs" aria-label="last runs"></ol><span class="last-run">no runs seen yet</span></div>
      <details><summary>history (0)</summary></details>`;
  }
  const last = runs[runs.length - 1]!;
  return html`<div class="history">
        <ol class="runs" aria-label="last runs">
          ${runs.slice(-RUN_MARKS_SHOWN).map((run) => html`<li class="run" data-outcome=${run.outcome} title=${describeRun(run, now)}></li>`)}
        </ol>
        <span class="last-run" title=${describeRun(last, now)}>last: ${describeRun(last, now, false)}</span>
      </div>
      <details ?open=${open} @toggle=${(event: Event) => onToggle(view.name, event)}>
        <summary>history (${runs.length})</summary>
        ${open
          ? html`<table>
              <thead><tr><th>start</th><th>duration</th><th>outcome</th></tr></thead>
              <tbody>
                ${runs.slice(-HISTORY_ROWS_SHOWN).reverse().map((run) => html`<tr>
                  <td>${formatClock(run.start)}</td>
                  <td>${run.duration === undefined ? formatDuration(now - run.start) : formatDuration(run.duration)}</td>
                  <td data-outcome=${run.outcome}>${describeOutcome(run)}${run.error === undefined ? '' : `: ${run.error}`}</td>
                </tr>`)}
              </tbody>
            </table>`
          : nothing}
      </details>`;
}

/** `12:00:03 · 1.2 s · failed (boom)`; a run still going counts its time `so far`. */
function describeRun(run: IRunRecord, now: number, withError = true): string {
  const duration = run.duration === undefined ? `${formatDuration(now - run.start)} so far` : formatDuration(run.duration);
  const error = withError && run.error !== undefined ? ` (${run.error})` : '';
  return `${formatClock(run.start)} · ${duration} · ${describeOutcome(run)}${error}`;
}

/** `running`, `completed`, `failed`; with the try count once a run was retried. */
function describeOutcome(run: IRunRecord): string {
  if (run.attempt === undefined || run.attempt < 2) return run.outcome;
  return run.outcome === 'running' ? `running, try ${run.attempt}` : `${run.outcome} after ${run.attempt} tries`;
}
