import { css } from 'lit';

/** Sparklines: a card's metrics line and the totals above the tasks (each a fixed height, so nothing moves when data arrives). */
export const metricsStyles = css`
  .sparkline {
    width: 120px;
    height: 24px;
    flex-shrink: 0;
    overflow: visible;
  }

  .sparkline .baseline {
    stroke: var(--tb-border);
    stroke-width: 1;
    fill: none;
  }

  .sparkline .bars-completed {
    fill: var(--tb-success);
  }

  .sparkline .bars-failed {
    fill: var(--tb-danger);
  }

  .sparkline .line {
    fill: none;
    stroke: var(--tb-accent);
    stroke-width: 1.5;
    stroke-linejoin: round;
    stroke-linecap: round;
    vector-effect: non-scaling-stroke;
  }

  .sparkline .line-1 {
    stroke: var(--tb-text-muted);
    stroke-dasharray: 2 2;
  }

  .total[data-total='failure-rate'] .line {
    stroke: var(--tb-danger);
  }

  .metrics .sparkline {
    width: 60px;
  }

  .metrics {
    display: flex;
    align-items: center;
    gap: 8px;
    min-height: 24px;
    font-size: 0.85em;
    color: var(--tb-text-muted);
    font-variant-numeric: tabular-nums;
  }

  .metrics-text,
  .metrics-none {
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
    min-width: 0;
  }

  .totals {
    display: flex;
    flex-wrap: wrap;
    gap: 8px var(--tb-gap);
    margin-bottom: var(--tb-gap);
  }

  .total {
    display: grid;
    grid-template-columns: auto auto;
    grid-template-rows: auto 24px;
    column-gap: 8px;
    align-items: baseline;
    padding: 6px 10px;
    background: var(--tb-surface);
    border: 1px solid var(--tb-border);
    border-radius: var(--tb-radius);
    font-variant-numeric: tabular-nums;
  }

  .total .sparkline {
    grid-column: 1 / -1;
    width: 160px;
  }

  .total-label {
    color: var(--tb-text-muted);
    font-size: 0.85em;
  }

  .total-value {
    font-weight: 600;
    text-align: right;
    min-width: 6.5em;
  }
`;
