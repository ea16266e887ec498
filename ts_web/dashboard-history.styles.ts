import { css } from 'lit';

/** A card's run history: one mark per run, the last run, and the table behind `<details>`. */
export const historyStyles = css`
  .history {
    display: flex;
    align-items: center;
    gap: 8px;
    font-size: 0.85em;
    color: var(--tb-text-muted);
  }

  /* A box as wide as the ten marks it can hold: a new run never moves the text after it. */
  .runs {
    display: flex;
    gap: 2px;
    flex: 0 0 88px;
    overflow: hidden;
  }

  .run {
    flex-shrink: 0;
  }

  .last-run {
    white-space: nowrap;
    overflow: hidden;
    text-overflow: ellipsis;
    min-width: 0;
    flex: 1 1 0;
    font-variant-numeric: tabular-nums;
  }

  .run {
    width: 7px;
    height: 14px;
    border-radius: 2px;
    background: var(--tb-track);
  }

  .run[data-outcome='completed'] {
    background: var(--tb-success);
  }

  .run[data-outcome='failed'] {
    background: var(--tb-danger);
  }

  .run[data-outcome='running'] {
    background: var(--tb-accent);
  }

  details {
    font-size: 0.85em;
  }

  summary {
    cursor: pointer;
    color: var(--tb-text-muted);
    width: fit-content;
  }

  table {
    border-collapse: collapse;
    width: 100%;
    margin-top: 4px;
    font-variant-numeric: tabular-nums;
  }

  th,
  td {
    text-align: left;
    padding: 1px 8px 1px 0;
    vertical-align: top;
  }

  th {
    color: var(--tb-text-muted);
    font-weight: 500;
  }

  td[data-outcome='failed'] {
    color: var(--tb-danger);
  }

  td[data-outcome='completed'] {
    color: var(--tb-success);
  }

  td[data-outcome='running'] {
    color: var(--tb-accent);
  }
`;
