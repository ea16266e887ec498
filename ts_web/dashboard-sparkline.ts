import { html, svg, type TemplateResult } from 'lit';
import type { IMinutePoint } from './minute-metrics.js';

/** Width and height of a sparkline, in SVG user units (the CSS sizes it; the templates' viewBox says the same). */
const WIDTH = 120;
const HEIGHT = 24;

/**
 * Runs per minute as bars, failed runs stacked on top in the danger colour: one bar per
 * minute, the current minute at the right. Drawn as two paths (not a rect per minute), so
 * that a card's sparkline is two DOM nodes whatever the window. `label` says in words what
 * the bars show, for screen readers.
 */
export function renderRunBars(points: readonly IMinutePoint[], label: string): TemplateResult {
  const step = WIDTH / Math.max(1, points.length);
  const max = Math.max(1, ...points.map((point) => point.completed + point.failed));
  let completed = '';
  let failed = '';
  points.forEach((point, index) => {
    const x = round(index * step);
    const width = round(Math.max(0.5, step - 0.5));
    const okHeight = round((point.completed / max) * HEIGHT);
    const failedHeight = round((point.failed / max) * HEIGHT);
    if (okHeight > 0) completed += `M${x} ${round(HEIGHT - okHeight)}h${width}v${okHeight}h${-width}z`;
    if (failedHeight > 0) failed += `M${x} ${round(HEIGHT - okHeight - failedHeight)}h${width}v${failedHeight}h${-width}z`;
  });
  // The outer <svg> in an html template: Lit's svg tag is for what goes inside one.
  return html`<svg class="sparkline" viewBox="0 0 120 24" preserveAspectRatio="none" role="img" aria-label=${label}>
    <path class="baseline" d=${`M0 ${HEIGHT - 0.5}h${WIDTH}`}></path>
    <path class="bars-completed" d=${completed}></path>
    <path class="bars-failed" d=${failed}></path>
  </svg>`;
}

/**
 * One or two lines over the minutes (e.g. p95 and p50 durations), scaled to the larger's
 * maximum; minutes without a value break the line.
 */
export function renderLines(series: ReadonlyArray<ReadonlyArray<number | undefined>>, label: string): TemplateResult {
  const length = Math.max(1, ...series.map((values) => values.length));
  const step = WIDTH / Math.max(1, length - 1);
  const max = Math.max(1, ...series.flatMap((values) => values.filter((value): value is number => value !== undefined)));
  const pathOf = (values: ReadonlyArray<number | undefined>): string => {
    let d = '';
    let drawing = false;
    values.forEach((value, index) => {
      if (value === undefined) {
        drawing = false;
        return;
      }
      const x = round(index * step);
      const y = round(HEIGHT - 1 - (value / max) * (HEIGHT - 2));
      // A lone point gets a short stroke, so that it shows.
      d += drawing ? `L${x} ${y}` : `M${x} ${y}h0.01`;
      drawing = true;
    });
    return d;
  };
  // The outer <svg> in an html template: Lit's svg tag is for what goes inside one.
  return html`<svg class="sparkline" viewBox="0 0 120 24" preserveAspectRatio="none" role="img" aria-label=${label}>
    <path class="baseline" d=${`M0 ${HEIGHT - 0.5}h${WIDTH}`}></path>
    ${series.map((values, index) => svg`<path class=${`line line-${index}`} d=${pathOf(values)}></path>`)}
  </svg>`;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
