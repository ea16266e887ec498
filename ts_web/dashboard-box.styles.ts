import { css } from 'lit';

/**
 * The box a constraint group and a cluster instance share: a card of the grid's narrowest
 * width and one fixed height (`--tb-group-height`; more scrolls inside), so that what it
 * shows right now never moves what is below.
 */
export const boxRules = css`
  flex: 1 1 var(--tb-card-min-width);
  background: var(--tb-surface);
  border: 1px solid var(--tb-border);
  border-radius: var(--tb-radius);
  padding: 8px 12px;
  min-width: 0;
  height: var(--tb-group-height);
  overflow: hidden auto;
`;
