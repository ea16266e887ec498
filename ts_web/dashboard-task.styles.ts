import { css } from 'lit';

/** The task grid and a card's frame: status accent, name, status pill and badges, labels. */
export const taskCardStyles = css`
  .tasks {
    display: grid;
    grid-template-columns: repeat(auto-fill, minmax(min(100%, var(--tb-card-min-width)), 1fr));
    gap: var(--tb-gap);
    /* One height for every card: the virtual list places cards by index, and a card whose
       content changes (an error appears, a step starts) never moves the cards after it. */
    grid-auto-rows: var(--tb-card-height);
    align-content: start;
  }

  .task {
    display: flex;
    flex-direction: column;
    gap: 6px;
    min-width: 0;
    padding: 10px 12px;
    background: var(--tb-surface);
    border: 1px solid var(--tb-border);
    border-left: 4px solid var(--tb-border);
    border-radius: var(--tb-radius);
    height: var(--tb-card-height);
    /* Content beyond the card's height (an open history table) scrolls inside the card. */
    overflow: hidden auto;
    contain: layout paint style;
  }

  /* In a card of fixed height, overflowing content scrolls; it must not squeeze the lines with overflow: hidden. */
  .task > * {
    flex-shrink: 0;
  }

  .task[data-status='running'] {
    border-left-color: var(--tb-accent);
  }

  .task[data-status='completed'] {
    border-left-color: var(--tb-success);
  }

  .task[data-status='failed'] {
    border-left-color: var(--tb-danger);
  }

  .task-head {
    display: flex;
    align-items: flex-start;
    justify-content: space-between;
    gap: 8px;
  }

  .task-name {
    font-weight: 600;
    overflow-wrap: anywhere;
    min-width: 0;
  }

  .badges {
    display: flex;
    gap: 4px;
    flex-shrink: 0;
  }

  /* As wide as the widest status, so that the pill does not move as the status changes. */
  .status {
    min-width: 6.5em;
    text-align: center;
  }

  .status,
  .badge {
    font-size: 0.78em;
    font-weight: 600;
    letter-spacing: 0.02em;
    padding: 1px 8px;
    border-radius: 999px;
    border: 1px solid currentColor;
    color: var(--tb-text-muted);
    white-space: nowrap;
  }

  .status[data-status='running'] {
    color: var(--tb-accent);
  }

  .status[data-status='completed'] {
    color: var(--tb-success);
  }

  .status[data-status='failed'] {
    color: var(--tb-danger);
  }

  .badge {
    color: var(--tb-warning);
  }

  .labels {
    display: flex;
    flex-wrap: wrap;
    gap: 4px;
  }

  .label {
    display: inline-flex;
    font-size: 0.8em;
    border: 1px solid var(--tb-border);
    border-radius: 4px;
    overflow: hidden;
    max-width: 100%;
  }

  .label-key,
  .label-value {
    padding: 0 6px;
    overflow-wrap: anywhere;
  }

  .label-key {
    background: var(--tb-surface-muted);
    color: var(--tb-text-muted);
  }
`;

/** A card's facts line (progress, runs, errors), its cron schedule and its last error. */
export const taskFactsStyles = css`
  /* One line whatever appears in it (a running time, "buffered"): the lines below never move. */
  .facts {
    display: flex;
    white-space: nowrap;
    overflow: hidden;
    font-variant-numeric: tabular-nums;
    line-height: 1.4;
    height: 1.4em;
    gap: 2px 12px;
    font-size: 0.85em;
    color: var(--tb-text-muted);
  }

  .fact b {
    color: var(--tb-text);
    font-weight: 600;
  }

  /* Room for 100% and for a few digits more, so that a growing count does not push the rest along. */
  .fact[data-fact='progress'] {
    min-width: 4ch;
  }

  .fact[data-fact='runs'],
  .fact[data-fact='errors'] {
    min-width: 8ch;
  }

  .fact[data-fact='errors'][data-nonzero] b {
    color: var(--tb-danger);
  }

  .schedule {
    font-size: 0.85em;
    color: var(--tb-text-muted);
    display: flex;
    flex-wrap: wrap;
    gap: 2px 8px;
    align-items: baseline;
  }

  .countdown {
    color: var(--tb-text);
    font-variant-numeric: tabular-nums;
    font-weight: 600;
  }

  .error {
    font-size: 0.85em;
    color: var(--tb-danger);
    background: var(--tb-danger-surface);
    border-radius: calc(var(--tb-radius) - 4px);
    padding: 4px 8px;
    overflow-wrap: anywhere;
  }

  /* Two lines at most (the whole message is in the title): a long error does not overflow the card. */
  .error {
    display: -webkit-box;
    -webkit-box-orient: vertical;
    -webkit-line-clamp: 2;
    line-clamp: 2;
    overflow: hidden;
    flex-shrink: 0;
  }

  .error-label {
    font-weight: 600;
    margin-right: 4px;
  }
`;
