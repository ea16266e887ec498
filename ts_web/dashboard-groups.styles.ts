import { css } from 'lit';
import { boxRules } from './dashboard-box.styles.js';

/** The constraint groups above the tasks: one box per group, one line per active key. */
export const groupStyles = css`
  .groups {
    display: flex;
    flex-wrap: wrap;
    gap: var(--tb-gap);
    margin-bottom: var(--tb-gap);
  }

  .group {
    ${boxRules}
  }

  .group-head {
    display: flex;
    justify-content: space-between;
    align-items: baseline;
    gap: 8px;
  }

  /* The limits give way (ellipsis, full text in the lanes' words) so that the pause button keeps its line. */
  .group-head .group-limits {
    /* Takes what the name leaves and gives way first. */
    flex: 1 1 0;
    text-align: right;
    min-width: 0;
    white-space: nowrap;
    overflow: hidden;
    text-overflow: ellipsis;
  }

  .group-head .act {
    flex-shrink: 0;
  }

  .group-name {
    font-weight: 600;
    overflow-wrap: anywhere;
    margin-right: auto;
  }

  .group-limits,
  .group-idle {
    color: var(--tb-text-muted);
    font-size: 0.9em;
  }

  .group-keys {
    margin-top: 4px;
    display: grid;
    gap: 2px;
  }

  .group-key {
    display: flex;
    flex-wrap: wrap;
    gap: 2px 10px;
    font-size: 0.9em;
  }

  .key-name {
    font-family: var(--tb-mono-font-family);
    overflow-wrap: anywhere;
  }

  .key-running {
    color: var(--tb-accent);
  }

  .key-waiting,
  .key-cooldown {
    color: var(--tb-warning);
  }
`;
