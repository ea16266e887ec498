import { html, nothing, type TemplateResult } from 'lit';
import { styleMap } from 'lit/directives/style-map.js';
import type { ITaskMetadata, ITaskStep } from 'taskbuffer';

/** One segment per step, as wide as its percentage; tasks without steps get one segment. */
export function renderProgress(metadata: ITaskMetadata, status: string): TemplateResult {
  const steps = metadata.steps;
  const progress = Math.round(metadata.currentProgress);
  if (steps.length === 0) {
    const state = status === 'running' ? 'active' : status === 'failed' ? 'failed' : progress >= 100 ? 'completed' : 'pending';
    return html`<div class="progress ${status === 'running' ? 'indeterminate' : ''}" part="progress" role="progressbar"
      aria-label="progress" aria-valuemin="0" aria-valuemax="100" aria-valuenow=${progress}>
      <span class="segment" data-step-status=${state}></span>
    </div>`;
  }
  // Steps need not add up to 100%: the rest gets a segment of its own.
  const declared = steps.reduce((sum, step) => sum + step.percentage, 0);
  const rest = Math.max(0, 100 - declared);
  return html`<div class="progress" part="progress" role="progressbar" aria-label="progress" aria-valuemin="0" aria-valuemax="100" aria-valuenow=${progress}
    aria-valuetext=${`${progress}%${metadata.currentStep === undefined ? '' : `, step ${metadata.currentStep}`}`}>
    ${steps.map((step: ITaskStep) => html`<span class="segment" data-step=${step.name} data-step-status=${step.status}
      style=${styleMap({ flexGrow: String(Math.max(step.percentage, 1)) })}
      title=${`${step.name}: ${step.description} (${step.percentage}%, ${step.status})`}></span>`)}
    ${rest > 0
      ? html`<span class="segment rest" data-step-status=${metadata.currentProgress >= 100 ? 'completed' : 'pending'}
          style=${styleMap({ flexGrow: String(rest) })}></span>`
      : nothing}
  </div>`;
}
