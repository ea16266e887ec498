import { css } from 'lit';

/** Resets inside the shadow root, and the header: title, summary, toolbar controls, the empty notice. */
export const headerStyles = css`
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }

  ul,
  ol {
    list-style: none;
    margin: 0;
    padding: 0;
  }

  h2,
  h3 {
    margin: 0;
    font-weight: 600;
  }

  code {
    font-family: var(--tb-mono-font-family);
    font-size: 0.92em;
  }

  .header {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    justify-content: space-between;
    gap: 8px var(--tb-gap);
    margin-bottom: var(--tb-gap);
  }

  .title {
    display: flex;
    align-items: baseline;
    flex-wrap: wrap;
    gap: 4px 12px;
  }

  h2 {
    font-size: 1.2em;
  }

  .summary {
    color: var(--tb-text-muted);
    display: flex;
    flex-wrap: wrap;
    gap: 4px 10px;
    font-variant-numeric: tabular-nums;
  }

  /* Room for a few more digits: a count that grows does not push the toolbar onto a new line. */
  .summary span {
    min-width: 6.5em;
  }

  .summary [data-count='tasks'] {
    min-width: 9em;
  }

  .toolbar select {
    width: 9em;
  }

  .summary [data-count='running'] {
    color: var(--tb-accent);
  }

  .summary [data-count='failed'] {
    color: var(--tb-danger);
  }

  .toolbar {
    display: flex;
    flex-wrap: wrap;
    gap: 8px;
  }

  .toolbar label {
    display: flex;
    align-items: center;
    gap: 6px;
    color: var(--tb-text-muted);
    font-size: 0.9em;
  }

  .search input {
    width: 22em;
    max-width: 60vw;
  }

  /* Read by screen readers, not shown. */
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }

  select,
  input {
    font: inherit;
    font-size: 0.95em;
    color: var(--tb-text);
    background: var(--tb-surface);
    /* Darker than card borders: a control's edge needs 3:1 against its background (WCAG 1.4.11). */
    border: 1px solid var(--tb-control-border);
    border-radius: calc(var(--tb-radius) - 2px);
    padding: 3px 6px;
    max-width: 14em;
  }

  select:focus-visible,
  input:focus-visible,
  summary:focus-visible {
    outline: 2px solid var(--tb-accent);
    outline-offset: 1px;
  }

  .empty {
    color: var(--tb-text-muted);
    padding: var(--tb-gap);
    border: 1px dashed var(--tb-border);
    border-radius: var(--tb-radius);
    margin: 0 0 var(--tb-gap);
  }
`;
