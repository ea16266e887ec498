import { css } from 'lit';

/** The connection light of a remote dashboard. */
export const connectionStyles = css`
  .connection {
    display: flex;
    align-items: center;
    flex-wrap: wrap;
    gap: 4px 8px;
    width: 100%;
    color: var(--tb-text-muted);
    font-size: 0.9em;
  }

  .connection-dot {
    width: 0.7em;
    height: 0.7em;
    border-radius: 50%;
    background: var(--tb-border);
  }

  .connection[data-state='open'] .connection-dot {
    background: var(--tb-success);
  }

  .connection[data-state='connecting'] .connection-dot,
  .connection[data-state='reconnecting'] .connection-dot {
    background: var(--tb-warning);
  }

  .connection[data-state='closed'] .connection-dot {
    background: var(--tb-danger);
  }

  .connection-url {
    overflow-wrap: anywhere;
  }

  .connection-problem {
    color: var(--tb-danger);
  }
`;
