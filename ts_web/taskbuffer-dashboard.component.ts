import { html, LitElement, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { guard } from 'lit/directives/guard.js';
import { repeat } from 'lit/directives/repeat.js';
import { styleMap } from 'lit/directives/style-map.js';
import type { ITaskMetadata, ITaskStep, TaskManager } from 'taskbuffer';
import { formatClock, formatCountdown, formatDuration } from './format.js';
import styles from './taskbuffer-dashboard.styles.js';
import { TaskManagerController, type IConstraintGroupView, type IRunRecord, type ITaskView } from './taskmanager-controller.js';

/** `auto` (or no attribute) follows `prefers-color-scheme`. */
export type TDashboardTheme = 'auto' | 'light' | 'dark';

/** Detail of `taskbuffer-filter-change`. */
export interface IDashboardFilterChangeDetail {
  /** `''` (all) or a status such as `failed`. */
  status: string;
  /** `''` (all), `key` (has the label) or `key=value`. */
  label: string;
  /** `''` (all) or text the task name must contain (case-insensitive). */
  name: string;
}

/** Detail of `taskbuffer-theme-change`. */
export interface IDashboardThemeChangeDetail {
  theme: TDashboardTheme;
}

const KNOWN_STATUSES = ['idle', 'running', 'completed', 'failed'] as const;
const HISTORY_ROWS_SHOWN = 20;

/**
 * @summary A live view of a taskbuffer `TaskManager`: every task with its status, steps,
 * progress, labels, runs, errors, run history and cron countdown, and the manager's
 * constraint groups.
 *
 * @event taskbuffer-filter-change - The user changed a filter; `detail` is `{ status, label, name }`.
 * @event taskbuffer-theme-change - The user picked a theme; `detail` is `{ theme }` (the `theme` attribute is already set).
 *
 * @csspart header - The title, summary and filter bar.
 * @csspart toolbar - The filter and theme controls.
 * @csspart groups - The list of constraint groups.
 * @csspart group - One constraint group.
 * @csspart tasks - The list of tasks.
 * @csspart task - One task's card (has `data-status` and `data-task`).
 * @csspart status - A task's status pill.
 * @csspart progress - A task's progress bar.
 * @csspart error - A task's last error.
 *
 * @cssproperty --tb-background - Behind everything (each theme paints its own).
 * @cssproperty --tb-surface - Cards and controls.
 * @cssproperty --tb-surface-muted - Label keys.
 * @cssproperty --tb-text - Main text.
 * @cssproperty --tb-text-muted - Secondary text.
 * @cssproperty --tb-border - Borders and idle accents.
 * @cssproperty --tb-track - The empty part of progress bars and pending steps.
 * @cssproperty --tb-accent - Running tasks and active steps.
 * @cssproperty --tb-success - Completed tasks, steps and runs.
 * @cssproperty --tb-danger - Failed tasks and runs, error text.
 * @cssproperty --tb-danger-surface - Behind the last error.
 * @cssproperty --tb-warning - Waiting runs, cooldowns, `paused`.
 * @cssproperty --tb-font-family - Text font.
 * @cssproperty --tb-mono-font-family - Cron expressions and constraint keys.
 * @cssproperty --tb-font-size - Base font size (default 14px).
 * @cssproperty --tb-radius - Corner radius of cards (default 8px).
 * @cssproperty --tb-gap - Space between cards and around the dashboard (default 12px).
 * @cssproperty --tb-card-min-width - Narrowest a task card gets before the grid wraps (default 290px).
 * @cssproperty --tb-progress-height - Height of progress bars (default 8px).
 */
export class TaskbufferDashboard extends LitElement {
  static override styles = styles;

  static override properties = {
    taskManager: { attribute: false },
    refreshInterval: { type: Number, attribute: 'refresh-interval' },
    historySize: { type: Number, attribute: 'history-size' },
    theme: { type: String, reflect: true },
    statusFilter: { type: String, attribute: 'status-filter' },
    labelFilter: { type: String, attribute: 'label-filter' },
    nameFilter: { type: String, attribute: 'name-filter' },
    heading: { type: String },
  };

  /** The manager to show. Set it before or after the element is attached; setting another one switches over. */
  declare taskManager: TaskManager | undefined;
  /** How often (ms) countdowns, next runs, running times and constraint groups refresh. `0` stops polling. Task events show at once regardless. */
  declare refreshInterval: number;
  /** Runs remembered per task. */
  declare historySize: number;
  /** `light`, `dark`, or `auto`/unset to follow `prefers-color-scheme`. */
  declare theme: TDashboardTheme | undefined;
  /** Only tasks with this status (`''` = all). */
  declare statusFilter: string;
  /** Only tasks with this label: `key` or `key=value` (`''` = all). */
  declare labelFilter: string;
  /** Only tasks whose name contains this text, case-insensitively (`''` = all). */
  declare nameFilter: string;
  /** The title above the tasks. */
  declare heading: string;

  private readonly controller: TaskManagerController;
  /** Tasks whose history table is open. */
  private readonly openHistories = new Set<string>();

  constructor() {
    super();
    this.taskManager = undefined;
    this.refreshInterval = 1000;
    this.historySize = 20;
    this.statusFilter = '';
    this.labelFilter = '';
    this.nameFilter = '';
    this.heading = 'Tasks';
    this.controller = new TaskManagerController(this, {
      refreshInterval: this.refreshInterval,
      historySize: this.historySize,
    });
  }

  /** Reads every task, schedule and constraint group again now, instead of at the next poll. */
  refresh(): void {
    this.controller.refresh();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('refreshInterval')) this.controller.setRefreshInterval(this.refreshInterval);
    if (changed.has('historySize')) this.controller.setHistorySize(this.historySize);
    if (changed.has('taskManager')) {
      this.openHistories.clear();
      this.controller.setManager(this.taskManager);
    }
  }

  protected override render(): TemplateResult {
    const all = [...this.controller.tasks.values()];
    const visible = this.applyFilters(all);
    return html`
      <header class="header" part="header">
        <div class="title">
          <h2>${this.heading}</h2>
          ${this.renderSummary(all, visible.length)}
        </div>
        ${this.renderToolbar(all)}
      </header>
      ${this.taskManager === undefined
        ? html`<p class="empty">No task manager yet: set <code>dashboard.taskManager = manager</code>.</p>`
        : nothing}
      ${this.renderGroups(this.controller.groups)}
      <ul class="tasks" part="tasks">
        ${repeat(
          visible,
          (view) => view.name,
          (view) => {
            const open = this.openHistories.has(view.name);
            return guard([view, view.revision, open], () => this.renderTask(view, open));
          },
        )}
      </ul>
      ${this.taskManager !== undefined && visible.length === 0
        ? html`<p class="empty">${all.length === 0 ? 'The manager has no tasks yet.' : 'No task matches the filters.'}</p>`
        : nothing}
    `;
  }

  private applyFilters(views: ITaskView[]): ITaskView[] {
    const status = this.statusFilter;
    const [labelKey, labelValue] = splitLabelFilter(this.labelFilter);
    const name = this.nameFilter.trim().toLowerCase();
    if (status === '' && labelKey === '' && name === '') return views;
    return views.filter((view) => {
      const metadata = view.metadata;
      if (status !== '' && statusOf(metadata) !== status) return false;
      if (labelKey !== '') {
        if (!Object.prototype.hasOwnProperty.call(metadata.labels, labelKey)) return false;
        if (labelValue !== undefined && metadata.labels[labelKey] !== labelValue) return false;
      }
      return name === '' || view.name.toLowerCase().includes(name);
    });
  }

  private renderSummary(all: ITaskView[], shown: number): TemplateResult {
    const counts = new Map<string, number>();
    for (const view of all) {
      const status = statusOf(view.metadata);
      counts.set(status, (counts.get(status) ?? 0) + 1);
    }
    const waiting = this.controller.groups.reduce(
      (sum, group) => sum + group.keys.reduce((keys, key) => keys + key.waiting, 0),
      0,
    );
    return html`<div class="summary">
      <span data-count="tasks">${shown === all.length ? `${all.length} tasks` : `${shown} of ${all.length} tasks`}</span>
      <span data-count="running">${counts.get('running') ?? 0} running</span>
      <span data-count="failed">${counts.get('failed') ?? 0} failed</span>
      ${waiting > 0 ? html`<span data-count="waiting">${waiting} waiting</span>` : nothing}
    </div>`;
  }

  private renderToolbar(all: ITaskView[]): TemplateResult {
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
    // Keep a filter set from outside selectable even when no task has that value (yet).
    if (this.statusFilter !== '') statuses.add(this.statusFilter);
    const labelKeys = [...labels.keys()].sort();
    const labelFilterKnown = this.labelFilter === '' || labelKeys.some((key) =>
      key === this.labelFilter || [...labels.get(key)!].some((value) => `${key}=${value}` === this.labelFilter));
    const theme = this.theme ?? 'auto';
    return html`<div class="toolbar" part="toolbar">
      <label>Status
        <select name="status" @change=${this.onStatusChange}>
          <option value="" ?selected=${this.statusFilter === ''}>all</option>
          ${[...statuses].map((status) => html`<option value=${status} ?selected=${status === this.statusFilter}>${status}</option>`)}
        </select>
      </label>
      <label>Label
        <select name="label" @change=${this.onLabelChange}>
          <option value="" ?selected=${this.labelFilter === ''}>all</option>
          ${labelFilterKnown ? nothing : html`<option value=${this.labelFilter} selected>${this.labelFilter}</option>`}
          ${labelKeys.map((key) => html`<optgroup label=${key}>
            <option value=${key} ?selected=${this.labelFilter === key}>${key} (any)</option>
            ${[...labels.get(key)!].sort().map((value) => {
              const filter = `${key}=${value}`;
              return html`<option value=${filter} ?selected=${this.labelFilter === filter}>${filter}</option>`;
            })}
          </optgroup>`)}
        </select>
      </label>
      <label>Name
        <input name="name" type="search" placeholder="filter" .value=${this.nameFilter} @input=${this.onNameInput} />
      </label>
      <label>Theme
        <select name="theme" @change=${this.onThemeChange}>
          ${(['auto', 'light', 'dark'] as const).map((option) => html`<option value=${option} ?selected=${option === theme}>${option}</option>`)}
        </select>
      </label>
    </div>`;
  }

  private renderGroups(groups: IConstraintGroupView[]): TemplateResult | typeof nothing {
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

  private renderTask(view: ITaskView, open: boolean): TemplateResult {
    const metadata = view.metadata;
    const status = statusOf(metadata);
    const labels = Object.entries(metadata.labels);
    const paused = (metadata as { paused?: unknown }).paused === true;
    const now = Date.now();
    return html`<li class="task" part="task" data-status=${status} data-task=${view.name}>
      <div class="task-head">
        <span class="task-name">${view.name}</span>
        <span class="badges">
          ${paused ? html`<span class="badge" data-badge="paused">paused</span>` : nothing}
          <span class="status" part="status" data-status=${status}>${status}</span>
        </span>
      </div>
      ${labels.length === 0
        ? nothing
        : html`<ul class="labels">
            ${labels.map(([key, value]) => html`<li class="label" data-label=${key}><span class="label-key">${key}</span><span class="label-value">${value}</span></li>`)}
          </ul>`}
      ${renderProgress(metadata, status)}
      ${metadata.steps.length === 0
        ? nothing
        : html`<ol class="steps">
            ${metadata.steps.map((step) => html`<li class="step" data-step=${step.name} data-step-status=${step.status}>${step.name}</li>`)}
          </ol>`}
      <div class="facts">
        <span class="fact" data-fact="progress"><b>${Math.round(metadata.currentProgress)}%</b></span>
        <span class="fact" data-fact="runs"><b>${metadata.runCount}</b> ${metadata.runCount === 1 ? 'run' : 'runs'}</span>
        <span class="fact" data-fact="errors" ?data-nonzero=${metadata.errorCount > 0}><b>${metadata.errorCount}</b> ${metadata.errorCount === 1 ? 'error' : 'errors'}</span>
        ${metadata.activeRuns > 1 ? html`<span class="fact" data-fact="active"><b>${metadata.activeRuns}</b> at once</span>` : nothing}
        ${metadata.buffered ? html`<span class="fact" data-fact="buffered">buffered ×${metadata.bufferMax ?? 1}</span>` : nothing}
        ${status === 'running' && metadata.lastRun !== undefined
          ? html`<span class="fact" data-fact="elapsed">for ${formatDuration(now - metadata.lastRun)}</span>`
          : nothing}
      </div>
      ${metadata.cronSchedule === undefined
        ? nothing
        : html`<div class="schedule">
            <span>cron <code>${metadata.cronSchedule}</code>${metadata.cronTimezone === undefined
              ? nothing
              : html` <span class="timezone">(${metadata.cronTimezone})</span>`}</span>
            ${metadata.nextRun === undefined
              ? html`<span>no next run</span>`
              : html`<span>next run <span class="countdown">${formatCountdown(metadata.nextRun, now)}</span> (${formatClock(metadata.nextRun)})</span>`}
          </div>`}
      ${metadata.lastError === undefined
        ? nothing
        : html`<div class="error" part="error"><span class="error-label">last error:</span><span class="error-message">${metadata.lastError}</span></div>`}
      ${this.renderHistory(view, open, now)}
    </li>`;
  }

  private renderHistory(view: ITaskView, open: boolean, now: number): TemplateResult | typeof nothing {
    const runs = view.runs;
    if (runs.length === 0) return nothing;
    const last = runs[runs.length - 1]!;
    return html`<div class="history">
        <ol class="runs" aria-label="last runs">
          ${runs.map((run) => html`<li class="run" data-outcome=${run.outcome} title=${describeRun(run, now)}></li>`)}
        </ol>
        <span class="last-run">last: ${describeRun(last, now, false)}</span>
      </div>
      <details ?open=${open} @toggle=${(event: Event) => this.onHistoryToggle(view.name, event)}>
        <summary>history (${runs.length})</summary>
        ${open
          ? html`<table>
              <thead><tr><th>start</th><th>duration</th><th>outcome</th></tr></thead>
              <tbody>
                ${runs.slice(-HISTORY_ROWS_SHOWN).reverse().map((run) => html`<tr>
                  <td>${formatClock(run.start)}</td>
                  <td>${run.duration === undefined ? formatDuration(now - run.start) : formatDuration(run.duration)}</td>
                  <td data-outcome=${run.outcome}>${describeOutcome(run)}${run.error === undefined ? '' : `: ${run.error}`}</td>
                </tr>`)}
              </tbody>
            </table>`
          : nothing}
      </details>`;
  }

  private onStatusChange = (event: Event): void => {
    this.statusFilter = (event.target as HTMLSelectElement).value;
    this.emitFilterChange();
  };

  private onLabelChange = (event: Event): void => {
    this.labelFilter = (event.target as HTMLSelectElement).value;
    this.emitFilterChange();
  };

  private onNameInput = (event: Event): void => {
    this.nameFilter = (event.target as HTMLInputElement).value;
    this.emitFilterChange();
  };

  private onThemeChange = (event: Event): void => {
    const value = (event.target as HTMLSelectElement).value as TDashboardTheme;
    // Unset (not 'auto') so that the attribute goes away and the page's own choice shows again.
    this.theme = value === 'auto' ? undefined : value;
    this.dispatchEvent(new CustomEvent<IDashboardThemeChangeDetail>('taskbuffer-theme-change', {
      detail: { theme: value },
      bubbles: true,
      composed: true,
    }));
  };

  private onHistoryToggle(name: string, event: Event): void {
    const isOpen = (event.target as HTMLDetailsElement).open;
    if (isOpen === this.openHistories.has(name)) return;
    if (isOpen) this.openHistories.add(name);
    else this.openHistories.delete(name);
    this.requestUpdate();
  }

  private emitFilterChange(): void {
    this.dispatchEvent(new CustomEvent<IDashboardFilterChangeDetail>('taskbuffer-filter-change', {
      detail: { status: this.statusFilter, label: this.labelFilter, name: this.nameFilter },
      bubbles: true,
      composed: true,
    }));
  }
}

/** The status as a string; a status the core adds later is shown as it comes. */
function statusOf(metadata: ITaskMetadata): string {
  const status: unknown = metadata.status;
  return typeof status === 'string' && status !== '' ? status : 'idle';
}

function splitLabelFilter(filter: string): [string, string | undefined] {
  if (filter === '') return ['', undefined];
  const at = filter.indexOf('=');
  return at < 0 ? [filter, undefined] : [filter.slice(0, at), filter.slice(at + 1)];
}

function describeLimits(group: IConstraintGroupView): string {
  const parts: string[] = [];
  if (Number.isFinite(group.maxConcurrent)) parts.push(group.maxConcurrent === 1 ? 'one at a time per key' : `max ${group.maxConcurrent} per key`);
  if (group.cooldownMs > 0) parts.push(`cooldown ${formatDuration(group.cooldownMs)}`);
  return parts.length === 0 ? 'no limits' : parts.join(' · ');
}

function describeRun(run: IRunRecord, now: number, withError = true): string {
  const duration = run.duration === undefined ? `${formatDuration(now - run.start)} so far` : formatDuration(run.duration);
  const error = withError && run.error !== undefined ? ` (${run.error})` : '';
  return `${formatClock(run.start)} · ${duration} · ${describeOutcome(run)}${error}`;
}

/** `running`, `completed`, `failed`; with the try count once a run was retried. */
function describeOutcome(run: IRunRecord): string {
  if (run.attempt === undefined || run.attempt < 2) return run.outcome;
  return run.outcome === 'running' ? `running, try ${run.attempt}` : `${run.outcome} after ${run.attempt} tries`;
}

/** One segment per step, as wide as its percentage; tasks without steps get one segment. */
function renderProgress(metadata: ITaskMetadata, status: string): TemplateResult {
  const steps = metadata.steps;
  const progress = Math.round(metadata.currentProgress);
  if (steps.length === 0) {
    const state = status === 'running' ? 'active' : status === 'failed' ? 'failed' : progress >= 100 ? 'completed' : 'pending';
    return html`<div class="progress ${status === 'running' ? 'indeterminate' : ''}" part="progress" role="progressbar"
      aria-valuemin="0" aria-valuemax="100" aria-valuenow=${progress}>
      <span class="segment" data-step-status=${state}></span>
    </div>`;
  }
  const declared = steps.reduce((sum, step) => sum + step.percentage, 0);
  const rest = Math.max(0, 100 - declared);
  return html`<div class="progress" part="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=${progress}>
    ${steps.map((step: ITaskStep) => html`<span class="segment" data-step=${step.name} data-step-status=${step.status}
      style=${styleMap({ flexGrow: String(Math.max(step.percentage, 1)) })}
      title=${`${step.name}: ${step.description} (${step.percentage}%, ${step.status})`}></span>`)}
    ${rest > 0
      ? html`<span class="segment rest" data-step-status=${metadata.currentProgress >= 100 ? 'completed' : 'pending'}
          style=${styleMap({ flexGrow: String(rest) })}></span>`
      : nothing}
  </div>`;
}
