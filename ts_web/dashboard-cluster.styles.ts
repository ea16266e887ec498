import { css } from 'lit';
import { boxRules } from './dashboard-box.styles.js';

/** The cluster above the groups: a line with the count (and a failed read), then one box per live instance, as tall as a group box. */
export const clusterStyles = css`
  .cluster {
    margin-bottom: var(--tb-gap);
  }

  .cluster-head {
    display: flex;
    flex-wrap: wrap;
    align-items: baseline;
    gap: 2px 10px;
    margin-bottom: 6px;
  }

  .cluster-head h3 {
    font-size: 0.95em;
  }

  .cluster-count,
  .cluster-stale {
    color: var(--tb-text-muted);
    font-size: 0.9em;
    font-variant-numeric: tabular-nums;
  }

  .cluster-error {
    color: var(--tb-danger);
    font-size: 0.9em;
    overflow-wrap: anywhere;
  }

  /* One height whatever the number of instances (more scroll inside): instances that come and go move nothing below. */
  .instances {
    display: flex;
    flex-wrap: wrap;
    align-content: flex-start;
    gap: var(--tb-gap);
    height: var(--tb-cluster-height);
    overflow-y: auto;
  }

  .instances:focus-visible {
    outline: 2px solid var(--tb-accent);
    outline-offset: 2px;
    border-radius: var(--tb-radius);
  }

  .instance {
    ${boxRules}
    font-size: 0.9em;
  }

  .instance[data-late] {
    border-color: var(--tb-warning);
  }

  .instance-head {
    display: flex;
    align-items: baseline;
    gap: 8px;
  }

  .instance-id {
    font-weight: 600;
    font-size: calc(1em / 0.9);
    overflow-wrap: anywhere;
    margin-right: auto;
  }

  .instance-facts {
    display: flex;
    flex-wrap: wrap;
    gap: 0 10px;
    color: var(--tb-text-muted);
    font-variant-numeric: tabular-nums;
  }

  .instance-host {
    font-family: var(--tb-mono-font-family);
    overflow-wrap: anywhere;
  }

  .instance-heartbeat[data-late] {
    color: var(--tb-warning);
    font-weight: 600;
  }

  /* One line; the whole list is in its tooltip. */
  .instance-running {
    color: var(--tb-accent);
    white-space: nowrap;
    overflow: hidden;
    text-overflow: ellipsis;
  }

  .instance-running[data-idle] {
    color: var(--tb-text-muted);
  }

  .instance-tasks {
    color: var(--tb-text-muted);
  }
`;
