import { css } from 'lit';

/**
 * The theme: every colour, font and size of the dashboard as a `--tb-*` custom property on
 * `:host` (the light palette by default; the dark one with `theme="dark"`, or without a
 * `theme` when the system prefers dark), and the host box that paints them.
 * Everything else reads these properties only, so a page restyles the dashboard by setting them.
 */

/** The dark palette, used by `theme="dark"` and, without a `theme`, by `prefers-color-scheme: dark`. */
const darkTokens = css`
  color-scheme: dark;
  --tb-background: #0f1419;
  --tb-surface: #171d24;
  --tb-surface-muted: #1f2630;
  --tb-text: #e6e9ee;
  --tb-text-muted: #9aa5b4;
  --tb-border: #2b3440;
  --tb-control-border: #6b7685;
  --tb-track: #2a323d;
  --tb-accent: #5b9bff;
  --tb-on-accent: #0f1419;
  --tb-success: #3fbf74;
  --tb-danger: #ff6b5e;
  --tb-danger-surface: #3a1d1c;
  --tb-warning: #e0a64a;
`;

export const themeStyles = css`
  :host {
    /* Light palette (the default). Every colour of the dashboard comes from these. */
    color-scheme: light;
    --tb-background: #f5f6f8;
    --tb-surface: #ffffff;
    --tb-surface-muted: #eef0f3;
    --tb-text: #1b1f24;
    --tb-text-muted: #5b6472;
    --tb-border: #d8dde4;
    --tb-control-border: #7a8391;
    --tb-track: #e3e7ec;
    --tb-accent: #2563d9;
    /* Text on an accent fill (a confirm button): 4.5:1 against --tb-accent in each theme. */
    --tb-on-accent: #ffffff;
    --tb-success: #18743f;
    --tb-danger: #c4322a;
    --tb-danger-surface: #fdecea;
    --tb-warning: #8f5a0b;
    /* Shape and type. */
    --tb-font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
    --tb-mono-font-family: ui-monospace, 'SFMono-Regular', Menlo, Consolas, 'DejaVu Sans Mono', monospace;
    --tb-font-size: 14px;
    --tb-radius: 8px;
    --tb-gap: 12px;
    --tb-card-min-width: 290px;
    --tb-card-height: 240px;
    --tb-group-height: 7.5em;
    --tb-waits-height: 11em;
    --tb-cluster-height: 7em;
    --tb-queue-height: 26em;
    --tb-progress-height: 8px;

    display: block;
    box-sizing: border-box;
    padding: var(--tb-gap);
    background: var(--tb-background);
    color: var(--tb-text);
    font-family: var(--tb-font-family);
    font-size: var(--tb-font-size);
    line-height: 1.4;
  }

  :host([theme='dark']) {
    ${darkTokens}
  }

  @media (prefers-color-scheme: dark) {
    :host(:not([theme='light'])) {
      ${darkTokens}
    }
  }

  :host([hidden]) {
    display: none;
  }
`;
