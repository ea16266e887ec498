import { html, nothing, type TemplateResult } from 'lit';
import { formatDuration } from './format.js';
import type { IConstraintGroupView } from './taskmanager-controller.js';

/** The constraint groups, each with its limits and, per active key, runs holding, waiting and cooldown left. */
export function renderGroups(groups: IConstraintGroupView[]): TemplateResult | typeof nothing {
  if (groups.length === 0) return nothing;
  return html`<section class="groups" part="groups" aria-label="Constraint groups">
      ${groups.map((group) => html`<div class="group" part="group" data-group=${group.name}>
        <div class="group-head">
          <span class="group-name">${group.name}</span>
          ${group.paused === true ? html`<span class="badge" data-badge="paused">paused</span>` : nothing}
          <span class="group-limits">${describeLimits(group)}</span>
        </div>
        ${group.keys.length === 0
          ? html`<div class="group-idle">no runs holding or waiting</div>`
          : html`<ul class="group-keys">
              ${group.keys.map((key) => html`<li class="group-key" data-key=${key.key}>
                <span class="key-name">${key.key}</span>
                <span class="key-running">${key.running}${Number.isFinite(group.maxConcurrent) ? `/${group.maxConcurrent}` : ''} running</span>
                ${key.waiting > 0 ? html`<span class="key-waiting">${key.waiting} waiting</span>` : nothing}
                ${key.cooldownRemainingMs > 0
                  ? html`<span class="key-cooldown">cooldown ${formatDuration(key.cooldownRemainingMs)} left</span>`
                  : nothing}
              </li>`)}
            </ul>`}
      </div>`)}
    </section>`;
}

/** `one at a time per key · cooldown 2 s`, or `no limits`. */
function describeLimits(group: IConstraintGroupView): string {
  const parts: string[] = [];
  if (Number.isFinite(group.maxConcurrent)) parts.push(group.maxConcurrent === 1 ? 'one at a time per key' : `max ${group.maxConcurrent} per key`);
  if (group.cooldownMs > 0) parts.push(`cooldown ${formatDuration(group.cooldownMs)}`);
  return parts.length === 0 ? 'no limits' : parts.join(' · ');
}
