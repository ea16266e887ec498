import { html, LitElement, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type { TaskManager } from 'taskbuffer';
import type { TaskGatewayClient } from 'taskbuffer/client';
import { ActionsController } from './actions-controller.js';
import { ClusterController, type IDashboardCluster } from './cluster-controller.js';
import { LocalDashboardActions, parseActions, type IDashboardActions } from './dashboard-actions.js';
import { renderBulkBar, renderDialog, renderToasts } from './dashboard-actions-view.js';
import { renderCluster } from './dashboard-cluster.js';
import { renderConnection } from './dashboard-connection.js';
import { applyFilters } from './dashboard-filters.js';
import { parseQuery, type ITaskQuery } from './dashboard-query.js';
import { renderGroups } from './dashboard-groups.js';
import { renderQueue } from './dashboard-queue.js';
import type { IDashboardQueue } from './dashboard-queue-source.js';
import { renderTotals } from './dashboard-metrics.js';
import { renderSummary } from './dashboard-summary.js';
import { renderTaskList } from './dashboard-task-list.js';
import { renderWaits } from './dashboard-waits.js';
import { collectFilterChoices, renderToolbar, type IFilterChoices, type IToolbarHandlers } from './dashboard-toolbar.js';
import type { IDashboardFilterChangeDetail, IDashboardThemeChangeDetail, TDashboardTheme } from './dashboard-types.js';
import styles from './taskbuffer-dashboard.styles.js';
import { SearchController } from './search-controller.js';
import { TaskMemberships } from './task-memberships.js';
import type { ITaskView } from './task-view.js';
import { RemoteConnection } from './remote-connection.js';
import { TaskManagerController } from './taskmanager-controller.js';
import { VirtualGridController } from './virtual-grid-controller.js';
import { QueueController } from './queue-controller.js';

/**
 * @summary A live view of a taskbuffer `TaskManager`: every task with its status, steps,
 * progress, labels, runs, errors, run history and cron countdown; the manager's constraint
 * groups with the runs holding each key, why each waiting run waits, and a timeline of runs
 * per key; and, when the `actions` attribute allows them, actions (run, retry, abort, pause
 * and resume, on one task or on all selected), each confirmed and its outcome reported.
 *
 * @event taskbuffer-filter-change - The user changed a filter or the search; `detail` is `{ status, label, name, query }`.
 * @event taskbuffer-theme-change - The user picked a theme; `detail` is `{ theme }` (the `theme` attribute is already set).
 *
 * @csspart header - The title, summary and filter bar.
 * @csspart connection - A remote dashboard's connection state, gateway URL and problem.
 * @csspart toolbar - The filter and theme controls.
 * @csspart cluster - The live instances of the cluster (with `cluster` set).
 * @csspart totals - Runs per minute, failure rate and p50/p95 duration of all tasks over the last hour.
 * @csspart groups - The list of constraint groups.
 * @csspart group - One constraint group.
 * @csspart waits - The waiting runs with their reasons, and the timeline.
 * @csspart timeline - The runs of the last minutes per key.
 * @csspart queue - The durable queue (with `queue` set): counts per state, a page of jobs, one job's details.
 * @csspart bulk - The bar that acts on the selected tasks (with actions).
 * @csspart dialog - The confirmation dialog (with actions).
 * @csspart toasts - The outcomes of the last actions (with actions).
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
 * @cssproperty --tb-control-border - Edges of the search box and selects.
 * @cssproperty --tb-track - The empty part of progress bars and pending steps.
 * @cssproperty --tb-accent - Running tasks and active steps.
 * @cssproperty --tb-on-accent - Text on an accent fill (the confirm button).
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
 * @cssproperty --tb-card-height - Height of every task card (default 240px); more content scrolls inside the card.
 * @cssproperty --tb-group-height - Height of every constraint group box (default 7.5em); more keys scroll inside it.
 * @cssproperty --tb-cluster-height - Height of the cluster's instances (default 7em); more scroll inside.
 * @cssproperty --tb-waits-height - Height of the waiting runs and timeline (default 11em); more scrolls inside.
 * @cssproperty --tb-queue-height - Height of the queue view (default 26em); more scrolls inside.
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
    query: { type: String },
    searchParam: { type: String, attribute: 'search-param' },
    heading: { type: String },
    actions: { type: String },
    dashboardActions: { attribute: false },
    url: { type: String },
    token: { type: String },
    client: { attribute: false },
    cluster: { attribute: false },
    queue: { attribute: false },
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
  /** The search box's query, e.g. `status:failed label:tenantId=acme timeout` (`''` = all); see the readme for the syntax. */
  declare query: string;
  /** The URL search parameter that carries `query` (so a filtered view can be bookmarked); `''` leaves the URL alone. */
  declare searchParam: string;
  /** The title above the tasks. */
  declare heading: string;
  /**
   * Which actions the page offers on its `taskManager`: `trigger retry abort pause` (any of
   * them, space- or comma-separated) or `all`. `''` (the default) offers none: no action
   * control is shown.
   */
  declare actions: string;
  /**
   * The actions layer to use instead of the in-page one (e.g. one over a remote connection):
   * it decides what is allowed (`allowed`), and `actions` is then not read.
   */
  declare dashboardActions: IDashboardActions | undefined;
  /** A gateway's websocket URL (`ws://host:port/taskbuffer`): with `token`, shows the manager behind it (when no `taskManager` is set). */
  declare url: string;
  /** `<client name>:<key>` for `url`. Prefer `client` for real keys: an attribute is visible in the page's DOM. */
  declare token: string;
  /** A TaskGatewayClient of the page's own (connected or not; never closed by the dashboard), instead of `url` and `token`. */
  declare client: TaskGatewayClient | undefined;
  /** A cluster (a `RedisCoordinator`, a `TaskGatewayClient`) whose live instances to list every `refreshInterval` ms; tasks none of them has get a badge. A remote dashboard shows its gateway's without it. */
  declare cluster: IDashboardCluster | undefined;
  /** A durable queue to show (a `RedisTaskQueue` or `client.queue`): its counts, jobs and details, Cancel/Retry as the actions layer allows. A remote dashboard shows its gateway's without it. */
  declare queue: IDashboardQueue | undefined;

  private readonly controller: TaskManagerController;
  private readonly grid: VirtualGridController;
  private readonly search: SearchController;
  private readonly actionsController = new ActionsController(this);
  private readonly clusterController = new ClusterController(this);
  private readonly remote = new RemoteConnection(this);
  private readonly queueView = new QueueController(this);
  /** The dialog focused last (0: none open), so that each new one is focused once. */
  private focusedDialog = 0;
  /** What had the focus before a dialog opened, to give it back. */
  private focusBeforeDialog: HTMLElement | null = null;
  private readonly memberships = new TaskMemberships();
  /** The catalog revision `memberships` was last invalidated at. */
  private membershipsRevision = -1;
  private parsedQuery: ITaskQuery = parseQuery('');
  /** The toolbar's choices and the catalog revision they were collected at. */
  private choices: { revision: number; value: IFilterChoices } | undefined;
  /** The in-page actions layer and what it was made for (made again only when those change). */
  private localActions: { manager: TaskManager; attribute: string; layer: LocalDashboardActions | undefined } | undefined;
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
    this.query = '';
    this.searchParam = 'tb-search';
    this.heading = 'Tasks';
    this.actions = '';
    this.dashboardActions = undefined;
    this.url = '';
    this.token = '';
    this.client = undefined;
    this.cluster = undefined;
    this.queue = undefined;
    this.controller = new TaskManagerController(this, {
      refreshInterval: this.refreshInterval,
      historySize: this.historySize,
    });
    this.grid = new VirtualGridController(this, () => this.renderRoot.querySelector<HTMLElement>('ul.tasks'));
    this.search = new SearchController(this);
  }

  /** Called by the search controller with the query a URL carries. @internal */
  applyQueryFromUrl(query: string): void {
    this.query = query;
  }

  /** Moves the keyboard focus into the search box (what the `/` key does). */
  focusSearch(): void {
    const input = this.renderRoot.querySelector<HTMLInputElement>('input[name="search"]');
    input?.focus();
    input?.select();
  }

  /** Reads every task, schedule and constraint group again now, instead of at the next poll. */
  refresh(): void {
    this.controller.refresh();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('refreshInterval')) this.controller.setRefreshInterval(this.refreshInterval);
    if (changed.has('historySize')) this.controller.setHistorySize(this.historySize);
    if (changed.has('url') || changed.has('token') || changed.has('client') || changed.has('actions') || changed.has('taskManager')) {
      // An in-page manager wins: no connection is made for a remote one beside it.
      const narrowTo = this.actions === '' ? undefined : parseActions(this.actions);
      const remote = this.taskManager === undefined;
      this.remote.configure({ client: remote ? this.client : undefined, url: remote ? this.url ?? '' : '', token: remote ? this.token ?? '' : '', narrowTo });
    }
    // A remote dashboard also shows the gateway's cluster and queue, unless the page gave its own.
    this.clusterController.watch(this.cluster ?? this.remote.cluster, this.refreshInterval);
    this.queueView.configure(this.queue ?? this.remote.queue, this.refreshInterval);
    const source = this.taskManager ?? this.remote.mirror;
    if (source !== this.controller.manager) {
      this.openHistories.clear();
      this.controller.setManager(source);
    }
    if (changed.has('query')) {
      this.parsedQuery = parseQuery(this.query ?? '');
      this.search.writeUrl(this.query ?? '');
    }
    this.chooseActionsLayer();
    if (changed.has('taskManager') || this.membershipsRevision !== this.controller.catalogRevision) {
      this.memberships.invalidate(this.taskManager);
      this.membershipsRevision = this.controller.catalogRevision;
      this.actionsController.keepOnly(new Set(this.controller.tasks.keys()));
    }
  }

  protected override render(): TemplateResult {
    const all = [...this.controller.tasks.values()];
    const filters = { status: this.statusFilter, label: this.labelFilter, name: this.nameFilter };
    const visible = applyFilters(all, filters, this.parsedQuery, (name) => this.memberships.of(name));
    const waits = this.controller.waits;
    const now = Date.now();
    return html`
      <header class="header" part="header">
        <div class="title">
          <h2>${this.heading}</h2>
          ${renderSummary(all, visible.length, this.controller.groups, waits.listsWaiting ? waits.waitingCount : undefined)}
        </div>
        ${renderToolbar(this.filterChoices(all), filters, this.query, this.theme ?? 'auto', this.toolbarHandlers)}
        ${this.taskManager === undefined ? renderConnection(this.remote.view) : nothing}
      </header>
      ${renderBulkBar(this.actionsController, visible.map((view) => view.name))}
      ${this.clusterController.cluster === undefined ? nothing : renderCluster(this.clusterController, now)}
      ${this.controller.manager !== undefined ? renderTotals(this.controller.metrics.total) : this.queueView.queue !== undefined ? nothing
        : html`<p class="empty">No task manager yet: set <code>dashboard.taskManager = manager</code>, or <code>url</code> and <code>token</code> of a gateway.</p>`}
      ${renderGroups(this.controller.groups, this.actionsController, now)}
      ${this.controller.groups.length > 0 || waits.waiting.length > 0 ? renderWaits(waits, now) : nothing}
      ${renderQueue(this.queueView, this.actionsController, now)}
      ${renderTaskList(visible, this.grid.window(visible.length), this.openHistories, this.onHistoryToggle, this.metricsOf, this.actionsController, this.clusterController.orphans)}
      ${this.controller.manager !== undefined && visible.length === 0
        ? html`<p class="empty">${all.length === 0 ? 'The manager has no tasks yet.' : 'No task matches the filters.'}</p>`
        : nothing}
      ${renderDialog(this.actionsController)}
      ${renderToasts(this.actionsController)}
    `;
  }

  protected override updated(): void {
    // Cards are a bit taller with their action buttons; the virtual grid reads the height from the styles.
    this.toggleAttribute('data-actions', this.actionsController.any);
    const dialog = this.actionsController.dialog;
    const root = this.renderRoot as ShadowRoot;
    if (dialog !== undefined && dialog.id !== this.focusedDialog) {
      // Focus goes into each new dialog once, and back to where it was when the dialog closes.
      if (this.focusedDialog === 0) this.focusBeforeDialog = root.activeElement as HTMLElement | null;
      this.focusedDialog = dialog.id;
      root.querySelector<HTMLElement>('.dialog textarea, .dialog .confirm')?.focus();
    } else if (dialog === undefined && this.focusedDialog !== 0) {
      this.focusedDialog = 0;
      if (this.focusBeforeDialog?.isConnected === true) this.focusBeforeDialog.focus();
      this.focusBeforeDialog = null;
    }
  }

  /** The page's own layer; else the in-page one over `taskManager`; else the remote one (by the client's scopes). */
  private chooseActionsLayer(): void {
    this.actionsController.setLayer(this.dashboardActions ?? (this.taskManager === undefined ? this.remote.actions : this.localLayer(this.taskManager)));
  }

  /** The in-page layer for the actions the attribute names, made again only when the manager or the attribute changed. */
  private localLayer(manager: TaskManager): LocalDashboardActions | undefined {
    if (this.localActions?.manager !== manager || this.localActions.attribute !== this.actions) {
      const enabled = parseActions(this.actions);
      this.localActions = { manager, attribute: this.actions, layer: enabled.size > 0 ? new LocalDashboardActions(manager, enabled) : undefined };
    }
    return this.localActions.layer;
  }

  private readonly metricsOf = (name: string) => this.controller.metrics.of(name);

  /** Collected again only when tasks were added, removed or polled: not for every event. */
  private filterChoices(all: ITaskView[]): IFilterChoices {
    const revision = this.controller.catalogRevision;
    if (this.choices?.revision !== revision) this.choices = { revision, value: collectFilterChoices(all) };
    return this.choices.value;
  }

  private onStatusChange = (event: Event): void => {
    this.statusFilter = (event.target as HTMLSelectElement).value;
    this.emitFilterChange();
  };

  private onLabelChange = (event: Event): void => {
    this.labelFilter = (event.target as HTMLSelectElement).value;
    this.emitFilterChange();
  };

  private onSearchInput = (event: Event): void => {
    this.query = (event.target as HTMLInputElement).value;
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

  /** The toolbar's listeners, made once (Lit re-adds a listener whose function changed). */
  private readonly toolbarHandlers: IToolbarHandlers = {
    onStatusChange: this.onStatusChange,
    onLabelChange: this.onLabelChange,
    onSearchInput: this.onSearchInput,
    onThemeChange: this.onThemeChange,
  };

  /** Remembers which history tables are open: only open ones are rendered, and a re-render keeps them open. */
  private readonly onHistoryToggle = (name: string, event: Event): void => {
    const isOpen = (event.target as HTMLDetailsElement).open;
    if (isOpen === this.openHistories.has(name)) return;
    if (isOpen) this.openHistories.add(name);
    else this.openHistories.delete(name);
    this.requestUpdate();
  };

  private emitFilterChange(): void {
    this.dispatchEvent(new CustomEvent<IDashboardFilterChangeDetail>('taskbuffer-filter-change', {
      detail: { status: this.statusFilter, label: this.labelFilter, name: this.nameFilter, query: this.query },
      bubbles: true,
      composed: true,
    }));
  }
}
