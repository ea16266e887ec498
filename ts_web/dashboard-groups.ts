import { html, nothing, type TemplateResult } from 'lit';
import type { ActionsController } from './actions-controller.js';
import { formatDuration } from './format.js';
import type { IConstraintGroupView } from './dashboard-source.js';
import { describeHolder, describeRefusal } from './wait-words.js';

/**
 * The constraint groups: per group its limits, `paused`, the last run its `shouldExecute`
 * refused, and one lane per key with the runs holding it (task, run id, for how long), how
 * many wait and the cooldown left. With actions allowed, a group can be paused and resumed
 * and a holding run aborted from here.
 */
export function renderGroups(groups: IConstraintGroupView[], actions: ActionsController, now: number): TemplateResult | typeof nothing {
  if (groups.length === 0) return nothing;
  const canPause = actions.can('pause');
  return html`<section class="groups" part="groups" aria-label="Constraint groups">
      ${groups.map((group) => html`<div class="group" part="group" data-group=${group.name} ?data-paused=${group.paused === true}>
        <div class="group-head">
          <span class="group-name">${group.name}</span>
          ${group.paused === true ? html`<span class="badge" data-badge="paused">paused</span>` : nothing}
          <span class="group-limits">${describeLimits(group)}</span>
          ${canPause
            ? html`<button type="button" class="act" data-action=${group.paused ? 'resume-group' : 'pause-group'} data-group=${group.name}
                aria-label=${`${group.paused ? 'Resume' : 'Pause'} group ${group.name}`} @click=${actions.onAction}>${group.paused ? 'Resume…' : 'Pause…'}</button>`
            : nothing}
        </div>
        ${group.lastRefusal === undefined ? nothing : html`<div class="group-refusal">${describeRefusal(group.lastRefusal, now)}</div>`}
        ${group.keys.length === 0
          ? html`<div class="group-idle">no runs holding or waiting</div>`
          : html`<ul class="group-keys" aria-label=${`Keys of ${group.name}`}>
              ${group.keys.map((key) => html`<li class="group-key" data-key=${key.key}>
                <span class="key-name">${key.key}</span>
                <span class="key-running">${key.running}${Number.isFinite(group.maxConcurrent) ? `/${group.maxConcurrent}` : ''} running</span>
                ${key.waiting > 0 ? html`<span class="key-waiting">${key.waiting} waiting</span>` : nothing}
                ${key.cooldownRemainingMs > 0
                  ? html`<span class="key-cooldown">cooldown ${formatDuration(key.cooldownRemainingMs)} left</span>`
                  : nothing}
                ${(key.holders ?? []).map((holder) => html`<span class="key-holder" data-run=${holder.runId}>${describeHolder(holder, now)}${actions.can('abort', holder.taskName)
                  ? html` <button type="button" class="act act-small" data-action="abort-run" data-run=${holder.runId} data-task=${holder.taskName}
                      aria-label=${`Abort run ${holder.runId} of ${holder.taskName}`} @click=${actions.onAction}>abort…</button>`
                  : nothing}</span>`)}
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
