import { html, nothing, svg, type TemplateResult } from 'lit';
import type { IWaitingRunInfo } from 'taskbuffer';
import { formatDuration } from './format.js';
import { WAITING_LISTED, type GroupWatch } from './group-watch.js';
import type { ITimelineSegment } from './key-timeline.js';
import { describeWaitingRun } from './wait-words.js';

/** Keys in the timeline at most: those with the latest activity. */
export const MAX_TIMELINE_KEYS = 24;

/**
 * Why runs wait, and the timeline: every waiting run with its reason in words, and per key
 * the runs of the last minutes as bars (cooldowns hatched), so that contention and cooldowns
 * show at a glance. The section keeps one height whatever waits (more scrolls inside).
 */
export function renderWaits(waits: GroupWatch, now: number): TemplateResult {
  const waiting: readonly IWaitingRunInfo[] = waits.waiting;
  const count = waits.waitingCount;
  return html`<section class="waits" part="waits" aria-label="Why runs wait">
      <div class="waiting" data-waiting=${count}>
        <h3>Waiting <span class="waiting-count">${count}</span></h3>
        ${waiting.length === 0
          ? html`<p class="waits-none">No run waits.</p>`
          : html`<ol class="waiting-runs" aria-label="Waiting runs">
              ${waiting.slice(0, WAITING_LISTED).map((info) => html`<li class="waiting-run" data-task=${info.taskName} data-reason=${info.reason.kind}
                  data-run=${info.runId ?? ''}>${describeWaitingRun(info, now)}</li>`)}
              ${waits.waitingTruncated ? html`<li class="waiting-more">and at least ${count - WAITING_LISTED} more</li>` : nothing}
            </ol>`}
      </div>
      ${renderTimeline(waits.timeline.segmentsSince(now), waits.timeline.spanAt(now), now)}
    </section>`;
}

interface ITimelineRow {
  label: string;
  groupName: string;
  key: string;
  segments: ITimelineSegment[];
  last: number;
}

/** One row per key, newest activity first; bars placed on `[now - span, now]` (see KeyTimeline's `spanAt`). */
function renderTimeline(segments: readonly ITimelineSegment[], span: number, now: number): TemplateResult {
  const last = formatDuration(span);
  const rows = rowsOf(segments, now).slice(0, MAX_TIMELINE_KEYS);
  const from = now - span;
  const x = (at: number) => Math.max(0, Math.min(100, ((at - from) / span) * 100));
  return html`<div class="timeline" part="timeline">
      <h3>Runs per key, last ${last} <span class="timeline-now">→ now</span></h3>
      ${rows.length === 0
        ? html`<p class="waits-none">No run held a key in the last ${last}.</p>`
        : html`<ul class="timeline-rows" aria-label="Runs per key">
            ${rows.map((row) => html`<li class="timeline-row" data-group=${row.groupName} data-key=${row.key}>
              <span class="timeline-key" title=${row.label}>${row.key}<span class="timeline-group"> · ${row.groupName}</span></span>
              <svg class="timeline-track" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label=${describeRow(row, last)}>
                ${row.segments.map((segment) => {
                  const start = x(segment.start);
                  const width = Math.max(0.4, x(segment.end ?? now) - start);
                  return svg`<rect class="bar" data-kind=${segment.kind} data-run=${segment.runId ?? ''} x=${start} width=${width}
                    y=${segment.kind === 'cooldown' ? 6 : 1} height=${segment.kind === 'cooldown' ? 3 : 5}><title>${describeSegment(segment, now)}</title></rect>`;
                })}
              </svg>
            </li>`)}
          </ul>`}
    </div>`;
}

function rowsOf(segments: readonly ITimelineSegment[], now: number): ITimelineRow[] {
  const rows = new Map<string, ITimelineRow>();
  for (const segment of segments) {
    const id = `${segment.groupName}\u0000${segment.key}`;
    let row = rows.get(id);
    if (row === undefined) {
      rows.set(id, (row = { label: `${segment.groupName} / ${segment.key}`, groupName: segment.groupName, key: segment.key, segments: [], last: 0 }));
    }
    row.segments.push(segment);
    row.last = Math.max(row.last, segment.end ?? now);
  }
  return [...rows.values()].sort((a, b) => b.last - a.last || a.label.localeCompare(b.label));
}

function describeSegment(segment: ITimelineSegment, now: number): string {
  if (segment.kind === 'cooldown') return `cooldown of ${formatDuration((segment.end ?? now) - segment.start)}`;
  const run = `run ${segment.runId ?? '?'} of ${segment.taskName ?? '?'}`;
  if (segment.kind === 'running') return `${run}, running for ${formatDuration(now - segment.start)}`;
  return `${run}, ${segment.kind} after ${formatDuration((segment.end ?? now) - segment.start)}`;
}

function describeRow(row: ITimelineRow, last: string): string {
  const runs = row.segments.filter((segment) => segment.kind !== 'cooldown');
  const running = runs.filter((segment) => segment.kind === 'running').length;
  const failed = runs.filter((segment) => segment.kind === 'failed').length;
  const cooldowns = row.segments.length - runs.length;
  return `${row.label}: ${runs.length} runs in the last ${last}` +
    `${running > 0 ? `, ${running} running` : ''}${failed > 0 ? `, ${failed} failed` : ''}${cooldowns > 0 ? `, ${cooldowns} cooldowns` : ''}`;
}
