import { html, nothing, type TemplateResult } from 'lit';

/** Labels as `key` `value` chips (a task's on its card, a job's in the queue view); nothing for none. */
export function renderLabels(labels: Readonly<Record<string, string>>): TemplateResult | typeof nothing {
  const entries = Object.entries(labels);
  if (entries.length === 0) return nothing;
  return html`<ul class="labels" aria-label="labels">
            ${entries.map(([key, value]) => html`<li class="label" data-label=${key}><span class="label-key">${key}</span><span class="label-value">${value}</span></li>`)}
          </ul>`;
}
