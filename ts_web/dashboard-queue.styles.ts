import { css } from 'lit';

/** The queue view: counts per state, the jobs table and the job's detail side by side, one fixed height. */
export const queueStyles = css`
  .queue {
    display: grid;
    grid-template-rows: auto auto auto auto minmax(0, 1fr);
    gap: 6px;
    background: var(--tb-surface);
    border: 1px solid var(--tb-border);
    border-radius: var(--tb-radius);
    padding: 8px 12px;
    margin-bottom: var(--tb-gap);
    /* One height whatever the page holds: the tasks below never move. */
    height: var(--tb-queue-height);
    min-width: 0;
  }

  .queue h3 {
    font-size: 0.95em;
  }

  .queue-head {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 6px 10px;
  }

  .queue-counts {
    display: flex;
    flex-wrap: wrap;
    gap: 4px;
  }

  .queue-state b {
    font-variant-numeric: tabular-nums;
    /* Room for a few more digits: a growing count does not push the next one along. */
    display: inline-block;
    min-width: 3ch;
    text-align: right;
  }

  /* The state shown: marked by its edge and background (not by weight, which would widen it and move the next ones), so that the counts keep their colours and contrast. */
  .queue-state[aria-pressed='true'] {
    background: var(--tb-surface-muted);
    border-color: var(--tb-accent);
    box-shadow: inset 0 -2px 0 var(--tb-accent);
  }

  .queue-state[data-state='failed'] b {
    color: var(--tb-danger);
  }

  .queue-state[data-state='active'] b {
    color: var(--tb-accent);
  }

  .queue-state[data-state='completed'] b {
    color: var(--tb-success);
  }

  .queue-no-worker {
    display: flex;
    flex-wrap: wrap;
    gap: 4px;
    max-height: 3.6em;
    overflow: hidden auto;
  }

  .queue-more,
  .queue-none,
  .queue-page {
    color: var(--tb-text-muted);
    font-size: 0.9em;
  }

  .queue-none {
    margin: 4px 0;
  }

  .queue-error {
    margin: 0;
    color: var(--tb-danger);
    font-size: 0.9em;
    overflow-wrap: anywhere;
  }

  .queue-tools {
    display: flex;
    flex-wrap: wrap;
    gap: 6px 16px;
    align-items: center;
  }

  .queue-tools label {
    display: flex;
    align-items: center;
    gap: 6px;
    color: var(--tb-text-muted);
    font-size: 0.9em;
  }

  .queue-find {
    display: flex;
    align-items: center;
    gap: 6px;
  }

  .queue-body {
    display: grid;
    grid-template-columns: minmax(0, 1.4fr) minmax(0, 1fr);
    gap: var(--tb-gap);
    min-height: 0;
  }

  /* The table scrolls under its header; the pager below it stays in view. */
  .queue-jobs {
    display: grid;
    grid-template-rows: minmax(0, 1fr) auto;
    min-width: 0;
    min-height: 0;
  }

  .queue-table,
  .queue-job {
    min-width: 0;
    min-height: 0;
    overflow: auto;
  }

  /* Without a job open, the table takes the whole width. */
  .queue-jobs:only-child {
    grid-column: 1 / -1;
  }

  .queue table {
    width: 100%;
    border-collapse: collapse;
    font-size: 0.88em;
  }

  .queue th {
    text-align: left;
    font-weight: 600;
    color: var(--tb-text-muted);
    border-bottom: 1px solid var(--tb-border);
    padding: 2px 6px;
    position: sticky;
    top: 0;
    background: var(--tb-surface);
  }

  /* break-word, not anywhere: a cell's words (a task name, a label chip) keep the width they need, and only what cannot fit breaks. */
  .queue td {
    padding: 2px 6px;
    border-bottom: 1px solid var(--tb-border);
    vertical-align: top;
    overflow-wrap: break-word;
  }

  .queue td .label {
    white-space: nowrap;
  }

  .queue tr[data-open] td {
    background: var(--tb-surface-muted);
  }

  .job-link {
    font-family: var(--tb-mono-font-family);
    border: none;
    background: none;
    padding: 0;
    color: var(--tb-accent);
    text-decoration: underline;
    text-align: left;
    overflow-wrap: anywhere;
  }

  .job-num {
    font-variant-numeric: tabular-nums;
    white-space: nowrap;
  }

  .job-stalls {
    color: var(--tb-warning);
  }

  .queue-pager {
    display: flex;
    align-items: center;
    gap: 8px;
    margin-top: 4px;
  }

  .queue-job {
    border-left: 1px solid var(--tb-border);
    padding-left: var(--tb-gap);
    display: grid;
    align-content: start;
    /* Each part as tall as its content: the panel scrolls, its parts are not squeezed. */
    grid-auto-rows: max-content;
    gap: 4px;
    font-size: 0.9em;
  }

  .queue-job-head {
    display: flex;
    align-items: center;
    gap: 8px;
  }

  .queue-job-head h4 {
    margin: 0;
    margin-right: auto;
    font-size: 1em;
    overflow-wrap: anywhere;
    min-width: 0;
  }

  .job-id {
    font-family: var(--tb-mono-font-family);
  }

  .queue-job h5 {
    margin: 4px 0 0;
    font-size: 0.9em;
    color: var(--tb-text-muted);
  }

  .status[data-job-state='active'] {
    color: var(--tb-accent);
  }

  .status[data-job-state='completed'] {
    color: var(--tb-success);
  }

  .status[data-job-state='failed'] {
    color: var(--tb-danger);
  }

  .status[data-job-state='waiting'],
  .status[data-job-state='delayed'] {
    color: var(--tb-warning);
  }

  .queue-job-actions {
    display: flex;
    gap: 6px;
  }

  .queue-facts {
    display: grid;
    grid-template-columns: max-content minmax(0, 1fr);
    gap: 1px 10px;
    margin: 0;
  }

  .queue-facts dt {
    color: var(--tb-text-muted);
  }

  .queue-facts dd {
    margin: 0;
    overflow-wrap: anywhere;
  }

  .job-instance {
    font-family: var(--tb-mono-font-family);
  }

  .queue-progress {
    height: var(--tb-progress-height);
    background: var(--tb-track);
    border-radius: 999px;
    overflow: hidden;
  }

  .queue-progress-fill {
    display: block;
    height: 100%;
    background: var(--tb-accent);
  }

  .queue-steps {
    display: flex;
    flex-wrap: wrap;
    gap: 2px 10px;
  }

  .queue-steps [data-step-status='active'] .step-status {
    color: var(--tb-accent);
  }

  .queue-steps [data-step-status='completed'] .step-status {
    color: var(--tb-success);
  }

  .step-status,
  .step-time {
    color: var(--tb-text-muted);
  }

  .queue-json {
    margin: 0;
    font-family: var(--tb-mono-font-family);
    font-size: 0.9em;
    background: var(--tb-background);
    border: 1px solid var(--tb-border);
    border-radius: 4px;
    padding: 4px 6px;
    max-height: 10em;
    overflow: auto;
    white-space: pre-wrap;
    overflow-wrap: anywhere;
  }

  /* The whole error here (the card's two-line cut does not apply). */
  .queue-job-error {
    display: block;
    -webkit-line-clamp: none;
    line-clamp: none;
  }

  .queue-job-error .error-label {
    margin-right: 0;
  }

  @media (max-width: 700px) {
    .queue {
      height: auto;
    }

    .queue-body {
      grid-template-columns: minmax(0, 1fr);
    }

    .queue-job {
      border-left: none;
      padding-left: 0;
    }
  }
`;
