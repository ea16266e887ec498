import type { ReactiveControllerHost } from 'lit';
import type { IDashboardActions, TDashboardAction } from './dashboard-actions.js';
import { parseJsonInput } from './json-input.js';
import { messageOf } from './error-text.js';

/** A question the dashboard asks before it acts: what, on what, and (for triggers) with which input. */
export interface IActionDialog {
  /** Grows with every dialog, so that the host focuses each new one once. */
  id: number;
  title: string;
  message: string;
  confirmLabel: string;
  /** For triggers and retries: the JSON text being edited and what is wrong with it, if anything. */
  input?: { text: string; error: string | undefined };
  perform(input: unknown): void;
}

/** One outcome in the status line. */
export interface IActionToast {
  id: number;
  text: string;
  outcome: 'pending' | 'ok' | 'error';
}

/**
 * An action of another view (the queue's Cancel and Retry) that the dashboard asks about
 * and reports like its own: `act` runs once confirmed; its outcome goes to the status line.
 */
export interface IConfirmedAction<T> {
  title: string;
  message: string;
  confirmLabel: string;
  /** The status line while `act` runs. */
  pending: string;
  act(): Promise<T>;
  /** The status line once `act` resolved, and whether that is the outcome asked for. */
  outcome(value: T): { text: string; ok: boolean };
  /** Put before the error's message when `act` rejects. */
  failed: string;
  /** Called once `act` settled, either way (e.g. to read what changed). */
  settled?(): void;
}

const MAX_TOASTS = 4;
/** The bulk actions of the selection bar. */
export type TBulkAction = 'trigger' | 'pause' | 'resume' | 'abort';

/**
 * The dashboard's actions: which ones the actions layer allows, the tasks selected, the
 * confirmation asked, the outcomes reported. It only ever calls the actions layer
 * (`IDashboardActions`), never the manager, so that a remote layer plugs in unchanged.
 * Buttons carry `data-action` and `data-task`/`data-group`/`data-run`, and the handlers
 * here are made once: a card re-renders only when its task changed.
 */
export class ActionsController {
  dialog: IActionDialog | undefined;
  toasts: IActionToast[] = [];
  readonly selected = new Set<string>();
  /** Grows when what is allowed or selected changed: cards re-render then. */
  revision = 0;
  private provider: IDashboardActions | undefined;
  /** The JSON text the dashboard last sent per task: what a retry or the next trigger starts from. */
  private readonly lastInputs = new Map<string, string>();
  private nextId = 1;

  constructor(private readonly host: ReactiveControllerHost) {}

  get layer(): IDashboardActions | undefined {
    return this.provider;
  }

  setLayer(layer: IDashboardActions | undefined): void {
    if (layer === this.provider) return;
    this.provider = layer;
    this.dialog = undefined;
    this.selected.clear();
    this.revision++;
  }

  /** Whether `action` may be offered (on `taskName`). */
  can(action: TDashboardAction, taskName?: string): boolean {
    return this.provider?.allowed(action, taskName) === true;
  }

  /** Whether any action at all is offered: without one, no action control is shown. */
  get any(): boolean {
    return this.can('trigger') || this.can('retry') || this.can('abort') || this.can('pause');
  }

  // ---- handlers bound in templates ----------------------------------------------------

  /** A card's or a lane's button: `data-action` says what, `data-task`, `data-group` or `data-run` on what. */
  readonly onAction = (event: Event): void => {
    const data = (event.currentTarget as HTMLElement).dataset;
    const task = data.task ?? '';
    switch (data.action) {
      case 'trigger': return this.askTrigger([task], false);
      case 'retry': return this.askTrigger([task], true);
      case 'abort': return void this.askAbortTasks([task]);
      case 'abort-run': return this.askAbortRun(data.run ?? '', task);
      case 'pause': return this.askPause('task', [task], true);
      case 'resume': return this.askPause('task', [task], false);
      case 'pause-group': return this.askPause('group', [data.group ?? ''], true);
      case 'resume-group': return this.askPause('group', [data.group ?? ''], false);
      default: return undefined;
    }
  };

  readonly onSelect = (event: Event): void => {
    const box = event.currentTarget as HTMLInputElement;
    const name = box.dataset.task ?? '';
    if (box.checked) this.selected.add(name);
    else this.selected.delete(name);
    this.changed();
  };

  /** The selection bar's buttons (`data-bulk`). */
  readonly onBulk = (event: Event): void => {
    const names = [...this.selected];
    const bulk = (event.currentTarget as HTMLElement).dataset.bulk as TBulkAction | 'clear';
    if (bulk === 'clear') {
      this.selected.clear();
      return this.changed();
    }
    if (names.length === 0) return;
    if (bulk === 'trigger') return this.askTrigger(names, false);
    if (bulk === 'abort') return void this.askAbortTasks(names);
    this.askPause('task', names, bulk === 'pause');
  };

  readonly onInput = (event: Event): void => {
    const dialog = this.dialog;
    if (dialog?.input === undefined) return;
    const text = (event.target as HTMLTextAreaElement).value;
    dialog.input = { text, error: parseJsonInput(text).error };
    this.host.requestUpdate();
  };

  readonly onConfirm = (): void => {
    const dialog = this.dialog;
    if (dialog === undefined) return;
    let input: unknown;
    if (dialog.input !== undefined) {
      const parsed = parseJsonInput(dialog.input.text);
      if (parsed.error !== undefined) return; // the button is disabled; a key press may still get here
      input = parsed.value;
    }
    this.dialog = undefined;
    dialog.perform(input);
    this.host.requestUpdate();
  };

  readonly onCancel = (): void => {
    this.dialog = undefined;
    this.host.requestUpdate();
  };

  /** Selects every task in `names` (those the filters show). */
  selectAll(names: readonly string[]): void {
    for (const name of names) this.selected.add(name);
    this.changed();
  }

  /** Forgets tasks that went away, so that the selection never acts on a task not shown. */
  keepOnly(names: ReadonlySet<string>): void {
    let dropped = false;
    for (const name of this.selected) if (!names.has(name)) dropped = this.selected.delete(name) || dropped;
    if (dropped) this.revision++;
  }

  /** Asks as the dashboard's own actions do, then runs `action.act` and reports its outcome. */
  confirmAction<T>(action: IConfirmedAction<T>): void {
    const { title, message, confirmLabel } = action;
    this.open({ title, message, confirmLabel, perform: () => {
      const toast = this.report(action.pending, 'pending');
      action.act().then(
        (value) => {
          const { text, ok } = action.outcome(value);
          this.settle(toast, text, ok ? 'ok' : 'error');
        },
        (error: unknown) => this.settle(toast, `${action.failed}: ${messageOf(error)}`, 'error'),
      ).finally(() => action.settled?.());
    } });
  }

  // ---- asking, then acting --------------------------------------------------------------

  private askTrigger(names: string[], retry: boolean): void {
    const allowed = names.filter((name) => this.can(retry ? 'retry' : 'trigger', name));
    if (allowed.length === 0) return void this.report(`Not allowed: ${retry ? 'retry' : 'trigger'} ${names.join(', ')}`, 'error');
    const verb = retry ? 'Retry' : 'Run';
    const text = allowed.length === 1 ? (this.lastInputs.get(allowed[0]!) ?? '') : '';
    this.open({
      title: `${verb} ${listOf(allowed)}`,
      message: `${verb} ${listOf(allowed)} with this input (JSON; empty for none)?`,
      confirmLabel: verb,
      input: { text, error: parseJsonInput(text).error },
      perform: (input) => {
        for (const name of allowed) this.trigger(name, input, this.lastTextFor(input));
      },
    });
  }

  private trigger(name: string, input: unknown, text: string): void {
    this.lastInputs.set(name, text);
    const toast = this.report(`Triggered ${name}`, 'pending');
    this.provider!.trigger(name, input).then(
      () => this.settle(toast, `${name}: run ended`, 'ok'),
      (error: unknown) => this.settle(toast, `${name} failed: ${messageOf(error)}`, 'error'),
    );
  }

  private async askAbortTasks(names: string[]): Promise<void> {
    const allowed = names.filter((name) => this.can('abort', name));
    if (allowed.length === 0 || this.provider === undefined) return;
    let runs;
    try {
      runs = (await this.provider.activeRuns()).filter((run) => allowed.includes(run.taskName));
    } catch (error) {
      return void this.report(`Could not list the running runs: ${messageOf(error)}`, 'error');
    }
    if (runs.length === 0) return void this.report(`${listOf(allowed)}: nothing running to abort`, 'error');
    const ids = runs.map((run) => run.runId);
    this.open({
      title: `Abort ${runs.length === 1 ? 'a run' : `${runs.length} runs`}`,
      message: `Abort ${runs.map((run) => `run ${run.runId} of ${run.taskName}`).join(', ')}?`,
      confirmLabel: 'Abort',
      perform: () => void this.abort(ids),
    });
  }

  private askAbortRun(runId: string, taskName: string): void {
    if (!this.can('abort', taskName)) return;
    this.open({ title: 'Abort a run', message: `Abort run ${runId} of ${taskName}?`, confirmLabel: 'Abort', perform: () => void this.abort([runId]) });
  }

  private async abort(ids: string[]): Promise<void> {
    const toast = this.report(`Aborting ${ids.length === 1 ? `run ${ids[0]}` : `${ids.length} runs`}`, 'pending');
    const outcomes = await Promise.allSettled(ids.map((id) => this.provider!.abortRun(id)));
    const done = outcomes.filter((outcome) => outcome.status === 'fulfilled' && outcome.value).length;
    const text = ids.length === 1
      ? (done === 1 ? `Aborted run ${ids[0]}` : `Run ${ids[0]} was not running any more`)
      : `Aborted ${done} of ${ids.length} runs`;
    this.settle(toast, text, done === ids.length ? 'ok' : 'error');
  }

  private askPause(what: 'task' | 'group', names: string[], pause: boolean): void {
    const allowed = what === 'group' ? (this.can('pause') ? names : []) : names.filter((name) => this.can('pause', name));
    if (allowed.length === 0) return;
    const verb = pause ? 'Pause' : 'Resume';
    this.open({
      title: `${verb} ${what === 'group' ? 'group ' : ''}${listOf(allowed)}`,
      message: pause
        ? `${verb} ${what === 'group' ? 'group ' : ''}${listOf(allowed)}? New runs wait until resumed; running ones finish.`
        : `${verb} ${what === 'group' ? 'group ' : ''}${listOf(allowed)}? Runs that waited start in order.`,
      confirmLabel: verb,
      perform: () => void this.pause(what, allowed, pause),
    });
  }

  private async pause(what: 'task' | 'group', names: string[], pause: boolean): Promise<void> {
    const layer = this.provider!;
    const call = (name: string) => what === 'group'
      ? (pause ? layer.pauseGroup(name) : layer.resumeGroup(name))
      : (pause ? layer.pauseTask(name) : layer.resumeTask(name));
    const outcomes = await Promise.allSettled(names.map(call));
    const failed = names.filter((_, index) => outcomes[index]!.status === 'rejected');
    const verb = pause ? 'Paused' : 'Resumed';
    if (failed.length === 0) return void this.report(`${verb} ${what === 'group' ? 'group ' : ''}${listOf(names)}`, 'ok');
    const first = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
    this.report(`${verb} ${names.length - failed.length} of ${names.length}; ${listOf(failed)}: ${messageOf(first.reason)}`, 'error');
  }

  private open(dialog: Omit<IActionDialog, 'id'>): void {
    this.dialog = { ...dialog, id: this.nextId++ };
    this.host.requestUpdate();
  }

  private lastTextFor(input: unknown): string {
    return input === undefined ? '' : JSON.stringify(input, null, 2);
  }

  private report(text: string, outcome: IActionToast['outcome']): IActionToast {
    const toast = { id: this.nextId++, text, outcome };
    this.toasts = [...this.toasts, toast].slice(-MAX_TOASTS);
    this.host.requestUpdate();
    return toast;
  }

  private settle(toast: IActionToast, text: string, outcome: IActionToast['outcome']): void {
    toast.text = text;
    toast.outcome = outcome;
    this.toasts = [...this.toasts];
    this.host.requestUpdate();
  }

  private changed(): void {
    this.revision++;
    this.host.requestUpdate();
  }
}

/** `a`, `a and b`, `a, b and 3 more`. */
function listOf(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  if (names.length === 2) return `${names[0]} and ${names[1]}`;
  if (names.length <= 4) return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  return `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}

