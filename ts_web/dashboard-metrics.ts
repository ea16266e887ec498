import { html, nothing, type TemplateResult } from 'lit';
import { renderLines, renderRunBars } from './dashboard-sparkline.js';
import { formatDuration } from './format.js';
import { METRIC_MINUTES, type IMetricsSummary, type MinuteMetrics } from './minute-metrics.js';

/**
 * A card's last hour: runs per minute as bars and, in words, runs, failure rate and p50/p95
 * duration. Always one line tall (also before the first run), so that nothing moves when
 * the first run ends.
 */
export function renderTaskMetrics(metrics: MinuteMetrics | undefined): TemplateResult {
  if (metrics === undefined || metrics.isEmpty) {
    return html`<div class="metrics" data-metrics="empty"><span class="metrics-none">no runs in the last ${METRIC_MINUTES} min</span></div>`;
  }
  const summary = metrics.summary();
  const points = metrics.series();
  const words = describe(summary);
  return html`<div class="metrics" title=${`Last ${METRIC_MINUTES} min: ${words}`}>
      ${renderRunBars(points, `Runs per minute, last ${METRIC_MINUTES} minutes: ${words}`)}
      <span class="metrics-text">${describeShort(summary)}</span>
    </div>`;
}

/**
 * The totals above the tasks: runs per minute (failed ones stacked in red), failure rate,
 * and p50/p95 duration per minute, over the last hour.
 */
export function renderTotals(metrics: MinuteMetrics): TemplateResult | typeof nothing {
  const summary = metrics.summary();
  const points = metrics.series();
  const runs = summary.completed + summary.failed;
  return html`<section class="totals" part="totals" aria-label=${`All tasks, last ${METRIC_MINUTES} minutes`}>
      <div class="total" data-total="throughput">
        <span class="total-label">runs / min</span>
        <b class="total-value">${formatRate(summary.perMinute)}</b>
        ${renderRunBars(points, `Runs per minute, last ${METRIC_MINUTES} minutes: ${runs} runs, ${summary.failed} failed`)}
      </div>
      <div class="total" data-total="failure-rate">
        <span class="total-label">failed</span>
        <b class="total-value">${formatPercent(summary.failureRate)}</b>
        ${renderLines([points.map((point) => {
          const ended = point.completed + point.failed;
          return ended === 0 ? undefined : (point.failed / ended) * 100;
        })], `Failure rate per minute, last ${METRIC_MINUTES} minutes: ${formatPercent(summary.failureRate)} overall`)}
      </div>
      <div class="total" data-total="duration">
        <span class="total-label">p50 / p95</span>
        <b class="total-value">${summary.p50 === undefined ? '—' : `${formatDuration(summary.p50)} / ${formatDuration(summary.p95!)}`}</b>
        ${renderLines([points.map((point) => point.p95), points.map((point) => point.p50)],
          `Duration per minute, last ${METRIC_MINUTES} minutes: p95 upper line, p50 lower line`)}
      </div>
    </section>`;
}

/** `12 runs · 8% failed · p50 120 ms · p95 1.2 s` (over the window). */
function describe(summary: IMetricsSummary): string {
  const runs = summary.completed + summary.failed;
  const parts = [`${runs} ${runs === 1 ? 'run' : 'runs'}/${METRIC_MINUTES} min`, `${formatPercent(summary.failureRate)} failed`];
  if (summary.p50 !== undefined) parts.push(`p50 ${formatDuration(summary.p50)}`, `p95 ${formatDuration(summary.p95!)}`);
  return parts.join(' · ');
}

/** What fits on a card: `12 runs · 8% failed · p95 1.2 s`; the full line is in the title. */
function describeShort(summary: IMetricsSummary): string {
  const runs = summary.completed + summary.failed;
  const parts = [`${runs} ${runs === 1 ? 'run' : 'runs'}`, `${formatPercent(summary.failureRate)} failed`];
  if (summary.p95 !== undefined) parts.push(`p95 ${formatDuration(summary.p95)}`);
  return parts.join(' · ');
}

function formatPercent(rate: number): string {
  const percent = rate * 100;
  return `${percent > 0 && percent < 1 ? percent.toFixed(1) : Math.round(percent)}%`;
}

function formatRate(perMinute: number): string {
  return perMinute >= 10 ? String(Math.round(perMinute)) : perMinute.toFixed(1);
}
