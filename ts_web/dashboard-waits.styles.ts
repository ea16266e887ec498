import { css } from 'lit';

/** Why runs wait: the waiting list and the timeline side by side, one fixed height, and the holders in group lanes. */
export const waitsStyles = css`
  .waits {
    display: grid;
    grid-template-columns: minmax(0, 1fr) minmax(0, 1.4fr);
    gap: var(--tb-gap);
    margin-bottom: var(--tb-gap);
    /* One height whatever waits: the task list below never moves. */
    height: var(--tb-waits-height);
  }

  .waiting,
  .timeline {
    background: var(--tb-surface);
    border: 1px solid var(--tb-border);
    border-radius: var(--tb-radius);
    padding: 8px 12px;
    min-width: 0;
    overflow: hidden auto;
  }

  .waits h3 {
    font-size: 0.95em;
    margin-bottom: 4px;
  }

  .waiting-count {
    color: var(--tb-warning);
    font-variant-numeric: tabular-nums;
  }

  .waits-none {
    margin: 0;
    color: var(--tb-text-muted);
    font-size: 0.9em;
  }

  .waiting-runs {
    display: grid;
    gap: 2px;
    font-size: 0.9em;
  }

  .waiting-run {
    overflow-wrap: anywhere;
  }

  .waiting-more {
    color: var(--tb-text-muted);
  }

  .timeline-rows {
    display: grid;
    gap: 3px;
  }

  .timeline-row {
    display: grid;
    grid-template-columns: minmax(6em, 12em) minmax(0, 1fr);
    align-items: center;
    gap: 8px;
    font-size: 0.85em;
  }

  .timeline-key {
    font-family: var(--tb-mono-font-family);
    white-space: nowrap;
    overflow: hidden;
    text-overflow: ellipsis;
  }

  .timeline-group {
    color: var(--tb-text-muted);
  }

  .timeline-track {
    width: 100%;
    height: 14px;
    background: var(--tb-track);
    border-radius: 3px;
  }

  .bar[data-kind='running'] {
    fill: var(--tb-accent);
  }

  .bar[data-kind='completed'] {
    fill: var(--tb-success);
  }

  .bar[data-kind='failed'] {
    fill: var(--tb-danger);
  }

  .bar[data-kind='cooldown'] {
    fill: var(--tb-warning);
    opacity: 0.6;
  }

  .timeline-now {
    color: var(--tb-text-muted);
    font-weight: normal;
  }

  .group-refusal {
    color: var(--tb-warning);
    font-size: 0.85em;
    overflow-wrap: anywhere;
  }

  .key-holder {
    color: var(--tb-text-muted);
    overflow-wrap: anywhere;
  }

  @media (max-width: 700px) {
    .waits {
      grid-template-columns: minmax(0, 1fr);
      height: auto;
    }
  }
`;
