import { css } from 'lit';

/** The action controls: card buttons, the selection bar, the confirmation dialog, the status line. */
export const actionsStyles = css`
  /* Room for the row of action buttons in every card (set while actions are offered). */
  :host([data-actions]) {
    --tb-card-height: 272px;
  }

  button {
    font: inherit;
    font-size: 0.9em;
    color: var(--tb-text);
    background: var(--tb-surface);
    border: 1px solid var(--tb-control-border);
    border-radius: 4px;
    padding: 1px 8px;
    cursor: pointer;
  }

  button:disabled {
    opacity: 0.5;
    cursor: default;
  }

  button:focus-visible,
  .select:focus-visible,
  textarea:focus-visible {
    outline: 2px solid var(--tb-accent);
    outline-offset: 1px;
  }

  .act-small {
    font-size: 0.8em;
    padding: 0 4px;
  }

  /* Always one line, the same buttons: a card does not move when a run starts or ends. */
  .card-actions {
    display: flex;
    align-items: center;
    gap: 4px;
    flex-wrap: nowrap;
    overflow: hidden;
    min-height: 1.8em;
  }

  .bulk {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 6px;
    margin-bottom: var(--tb-gap);
  }

  .bulk-count {
    min-width: 7em;
    color: var(--tb-text-muted);
    font-variant-numeric: tabular-nums;
  }

  .dialog-backdrop {
    position: fixed;
    inset: 0;
    background: rgb(0 0 0 / 0.35);
    display: grid;
    place-items: center;
    z-index: 10;
  }

  .dialog {
    background: var(--tb-surface);
    color: var(--tb-text);
    border: 1px solid var(--tb-border);
    border-radius: var(--tb-radius);
    padding: 16px;
    width: min(32em, 92vw);
    display: grid;
    gap: 8px;
  }

  .dialog p {
    margin: 0;
    overflow-wrap: anywhere;
  }

  .json-input {
    display: grid;
    gap: 4px;
  }

  .json-input textarea {
    font-family: var(--tb-mono-font-family);
    font-size: 0.9em;
    color: var(--tb-text);
    background: var(--tb-background);
    border: 1px solid var(--tb-control-border);
    border-radius: 4px;
    resize: vertical;
  }

  .json-input textarea[aria-invalid='true'] {
    border-color: var(--tb-danger);
  }

  .input-error {
    color: var(--tb-danger);
    min-height: 1.3em;
    font-size: 0.9em;
  }

  .dialog-buttons {
    display: flex;
    justify-content: flex-end;
    gap: 8px;
  }

  .confirm {
    background: var(--tb-accent);
    border-color: var(--tb-accent);
    color: var(--tb-on-accent);
  }

  /* Fixed in the corner, over the page: outcomes come and go without moving anything. */
  .toasts {
    position: fixed;
    right: 12px;
    bottom: 12px;
    display: grid;
    gap: 6px;
    max-width: min(28em, 90vw);
    z-index: 5;
  }

  .toast {
    background: var(--tb-surface);
    border: 1px solid var(--tb-border);
    border-left: 4px solid var(--tb-accent);
    border-radius: 4px;
    padding: 6px 10px;
    overflow-wrap: anywhere;
    box-shadow: 0 2px 8px rgb(0 0 0 / 0.15);
  }

  .toast[data-outcome='ok'] {
    border-left-color: var(--tb-success);
  }

  .toast[data-outcome='error'] {
    border-left-color: var(--tb-danger);
  }
`;
