import { css } from 'lit';

/** The dark palette, used by `theme="dark"` and, without a `theme`, by `prefers-color-scheme: dark`. */
const darkTokens = css`
  color-scheme: dark;
  --tb-background: #0f1419;
  --tb-surface: #171d24;
  --tb-surface-muted: #1f2630;
  --tb-text: #e6e9ee;
  --tb-text-muted: #9aa5b4;
  --tb-border: #2b3440;
  --tb-track: #2a323d;
  --tb-accent: #5b9bff;
  --tb-success: #3fbf74;
  --tb-danger: #ff6b5e;
  --tb-danger-surface: #3a1d1c;
  --tb-warning: #e0a64a;
`;

export default css`
  :host {
    /* Light palette (the default). Every colour of the dashboard comes from these. */
    color-scheme: light;
    --tb-background: #f5f6f8;
    --tb-surface: #ffffff;
    --tb-surface-muted: #eef0f3;
    --tb-text: #1b1f24;
    --tb-text-muted: #5b6472;
    --tb-border: #d8dde4;
    --tb-track: #e3e7ec;
    --tb-accent: #2563d9;
    --tb-success: #1d8348;
    --tb-danger: #c4322a;
    --tb-danger-surface: #fdecea;
    --tb-warning: #a86a12;
    /* Shape and type. */
    --tb-font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
    --tb-mono-font-family: ui-monospace, 'SFMono-Regular', Menlo, Consolas, 'DejaVu Sans Mono', monospace;
    --tb-font-size: 14px;
    --tb-radius: 8px;
    --tb-gap: 12px;
    --tb-card-min-width: 290px;
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

  /* ---- header and filters ---------------------------------------------------- */

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

  select,
  input {
    font: inherit;
    font-size: 0.95em;
    color: var(--tb-text);
    background: var(--tb-surface);
    border: 1px solid var(--tb-border);
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

  /* ---- constraint groups ----------------------------------------------------- */

  .groups {
    display: flex;
    flex-wrap: wrap;
    gap: var(--tb-gap);
    margin-bottom: var(--tb-gap);
  }

  .group {
    flex: 1 1 var(--tb-card-min-width);
    background: var(--tb-surface);
    border: 1px solid var(--tb-border);
    border-radius: var(--tb-radius);
    padding: 8px 12px;
    min-width: 0;
  }

  .group-head {
    display: flex;
    justify-content: space-between;
    gap: 8px;
    flex-wrap: wrap;
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

  /* ---- task cards ------------------------------------------------------------ */

  .tasks {
    display: grid;
    grid-template-columns: repeat(auto-fill, minmax(min(100%, var(--tb-card-min-width)), 1fr));
    gap: var(--tb-gap);
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
    /* Off-screen cards are not laid out or painted: 1,000 tasks stay cheap. */
    content-visibility: auto;
    contain-intrinsic-size: auto 170px;
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

  /* Progress: one segment per step, as wide as the step's percentage. */
  .progress {
    display: flex;
    gap: 2px;
    height: var(--tb-progress-height);
    border-radius: 999px;
    overflow: hidden;
    background: var(--tb-track);
  }

  .segment {
    flex: 1 1 0;
    min-width: 3px;
    background: var(--tb-track);
    filter: brightness(0.93);
  }

  .segment[data-step-status='completed'] {
    background: var(--tb-success);
    filter: none;
  }

  .segment[data-step-status='active'] {
    background: var(--tb-accent);
    filter: none;
    animation: tb-pulse 1.2s ease-in-out infinite;
  }

  .segment[data-step-status='failed'],
  .task[data-status='failed'] .segment[data-step-status='active'] {
    background: var(--tb-danger);
    filter: none;
    animation: none;
  }

  .segment.rest {
    filter: none;
  }

  .progress.indeterminate .segment[data-step-status='active'] {
    background: linear-gradient(90deg, var(--tb-track) 0%, var(--tb-accent) 50%, var(--tb-track) 100%);
    background-size: 200% 100%;
    animation: tb-slide 1.2s linear infinite;
  }

  @keyframes tb-pulse {
    50% {
      opacity: 0.55;
    }
  }

  @keyframes tb-slide {
    from {
      background-position: 100% 0;
    }
    to {
      background-position: -100% 0;
    }
  }

  @media (prefers-reduced-motion: reduce) {
    .segment {
      animation: none !important;
    }
  }

  .steps {
    display: flex;
    flex-wrap: wrap;
    gap: 2px 10px;
    font-size: 0.85em;
    color: var(--tb-text-muted);
  }

  .step::before {
    content: '○ ';
  }

  .step[data-step-status='active'] {
    color: var(--tb-accent);
    font-weight: 600;
  }

  .step[data-step-status='active']::before {
    content: '● ';
  }

  .step[data-step-status='completed']::before {
    content: '✓ ';
    color: var(--tb-success);
  }

  .task[data-status='failed'] .step[data-step-status='active'] {
    color: var(--tb-danger);
  }

  .facts {
    display: flex;
    flex-wrap: wrap;
    gap: 2px 12px;
    font-size: 0.85em;
    color: var(--tb-text-muted);
  }

  .fact b {
    color: var(--tb-text);
    font-weight: 600;
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

  .error-label {
    font-weight: 600;
    margin-right: 4px;
  }

  /* ---- run history ----------------------------------------------------------- */

  .history {
    display: flex;
    align-items: center;
    gap: 8px;
    font-size: 0.85em;
    color: var(--tb-text-muted);
    flex-wrap: wrap;
  }

  .runs {
    display: flex;
    gap: 2px;
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
