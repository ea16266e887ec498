import { html, nothing, type TemplateResult } from 'lit';
import type { IDashboardFilters } from './dashboard-filters.js';
import type { TDashboardTheme } from './dashboard-types.js';
import type { ITaskView } from './task-view.js';
import { KNOWN_STATUSES, statusOf } from './task-status.js';

/** What the toolbar's controls call when the user changes them. */
export interface IToolbarHandlers {
  onStatusChange(event: Event): void;
  onLabelChange(event: Event): void;
  onSearchInput(event: Event): void;
  onThemeChange(event: Event): void;
}

/** What the status and label selects offer. */
export interface IFilterChoices {
  statuses: Set<string>;
  /** Label keys, each with the values seen. */
  labels: Map<string, Set<string>>;
}

/** The search box, the filter selects (status, label) and the theme select, showing the current choices. */
export function renderToolbar(
  choices: IFilterChoices,
  filters: IDashboardFilters,
  query: string,
  theme: TDashboardTheme,
  handlers: IToolbarHandlers,
): TemplateResult {
  const labels = choices.labels;
  const statuses = new Set(choices.statuses);
  // Keep a filter set from outside selectable even when no task has that value (yet).
  if (filters.status !== '') statuses.add(filters.status);
  const labelKeys = [...labels.keys()].sort();
  const labelFilterKnown = filters.label === '' || labelKeys.some((key) =>
    key === filters.label || [...labels.get(key)!].some((value) => `${key}=${value}` === filters.label));
  return html`<div class="toolbar" part="toolbar">
      <label class="search">Search
        <input name="search" type="search" placeholder="name, error, status:failed …" autocomplete="off" spellcheck="false"
          aria-keyshortcuts="/" aria-describedby="search-help" .value=${query} @input=${handlers.onSearchInput} />
      </label>
      <span id="search-help" class="visually-hidden">
        Free text matches task names and error messages. Qualifiers: status:failed, label:key or label:key=value,
        group:name, key:value. All terms must match. Press slash to come back here.
      </span>
      <label>Status
        <select name="status" @change=${handlers.onStatusChange}>
          <option value="" ?selected=${filters.status === ''}>all</option>
          ${[...statuses].map((status) => html`<option value=${status} ?selected=${status === filters.status}>${status}</option>`)}
        </select>
      </label>
      <label>Label
        <select name="label" @change=${handlers.onLabelChange}>
          <option value="" ?selected=${filters.label === ''}>all</option>
          ${labelFilterKnown ? nothing : html`<option value=${filters.label} selected>${filters.label}</option>`}
          ${labelKeys.map((key) => html`<optgroup label=${key}>
            <option value=${key} ?selected=${filters.label === key}>${key} (any)</option>
            ${[...labels.get(key)!].sort().map((value) => {
              const filter = `${key}=${value}`;
              return html`<option value=${filter} ?selected=${filters.label === filter}>${filter}</option>`;
            })}
          </optgroup>`)}
        </select>
      </label>
      <label>Theme
        <select name="theme" @change=${handlers.onThemeChange}>
          ${(['auto', 'light', 'dark'] as const).map((option) => html`<option value=${option} ?selected=${option === theme}>${option}</option>`)}
        </select>
      </label>
    </div>`;
}

/**
 * Every status and label (key and values) the tasks have, plus the statuses the core knows.
 * A walk over all tasks: the host keeps the result until tasks are added, removed or polled.
 */
export function collectFilterChoices(all: ITaskView[]): IFilterChoices {
  const statuses = new Set<string>(KNOWN_STATUSES);
  const labels = new Map<string, Set<string>>();
  for (const view of all) {
    statuses.add(statusOf(view.metadata));
    for (const [key, value] of Object.entries(view.metadata.labels)) {
      let values = labels.get(key);
      if (values === undefined) labels.set(key, (values = new Set()));
      values.add(value);
    }
  }
  return { statuses, labels };
}
