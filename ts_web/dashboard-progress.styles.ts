import { css } from 'lit';

/** A card's progress bar (one segment per step, as wide as the step's percentage) and its step names. */
export const progressStyles = css`
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

  /* Colour and underline, not bold: a bolder step would be wider and could re-wrap the line. */
  .step[data-step-status='active'] {
    color: var(--tb-accent);
    text-decoration: underline;
    text-underline-offset: 2px;
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
`;
