import type { IActiveRunInfo, TaskManager } from 'taskbuffer';

/**
 * What a person may do from the dashboard. `pause` covers resuming, of tasks and (with no
 * task name) of constraint groups. A remote implementation maps these onto the gateway's
 * scopes: `trigger` and `retry` onto `trigger:<task>`, `abort` and `pause` onto
 * `control:<task>`, a group's pause onto `control:*`.
 */
export type TDashboardAction = 'trigger' | 'retry' | 'abort' | 'pause';

/** Every action, in the order the attribute lists them. */
export const DASHBOARD_ACTIONS: readonly TDashboardAction[] = ['trigger', 'retry', 'abort', 'pause'];

/**
 * The actions layer of `<taskbuffer-dashboard>`: what the buttons call, and whether a
 * button is shown at all. Everything is asynchronous, so that an implementation over the
 * gateway client (which asks another machine) fits the same shape as the in-page one.
 */
export interface IDashboardActions {
  /** Whether `action` is allowed (on the task `taskName`; without one: on a group, or on any task). */
  allowed(action: TDashboardAction, taskName?: string): boolean;
  /** Triggers the task with `input`; resolves with its result once the run ended. */
  trigger(taskName: string, input: unknown): Promise<unknown>;
  /** The runs going on now (to abort one), oldest first. */
  activeRuns(): Promise<IActiveRunInfo[]>;
  /** Aborts a running run; `false` when it was not running any more. */
  abortRun(runId: string): Promise<boolean>;
  pauseTask(taskName: string): Promise<void>;
  resumeTask(taskName: string): Promise<void>;
  pauseGroup(groupName: string): Promise<void>;
  resumeGroup(groupName: string): Promise<void>;
}

/**
 * The actions an `actions` attribute enables: a space- or comma-separated list of
 * `trigger`, `retry`, `abort`, `pause`, or `all`. Unknown words are ignored (a newer page
 * on an older dashboard enables what this one knows); `''` enables none.
 */
export function parseActions(value: string | null | undefined): Set<TDashboardAction> {
  const words = (value ?? '').toLowerCase().split(/[\s,]+/).filter((word) => word.length > 0);
  if (words.includes('all')) return new Set(DASHBOARD_ACTIONS);
  return new Set(DASHBOARD_ACTIONS.filter((action) => words.includes(action)));
}

/** The in-page actions: straight calls on a `TaskManager`, allowed as the `actions` attribute says. */
export class LocalDashboardActions implements IDashboardActions {
  constructor(
    private readonly manager: TaskManager,
    private readonly enabled: ReadonlySet<TDashboardAction>,
  ) {}

  allowed(action: TDashboardAction, taskName?: string): boolean {
    if (!this.enabled.has(action)) return false;
    return taskName === undefined || this.manager.getTaskByName(taskName) !== undefined;
  }

  trigger(taskName: string, input: unknown): Promise<unknown> {
    return this.manager.triggerTaskByName(taskName, input);
  }

  async activeRuns(): Promise<IActiveRunInfo[]> {
    return this.manager.getActiveRuns();
  }

  async abortRun(runId: string): Promise<boolean> {
    return this.manager.abortRun(runId, new Error('aborted from the dashboard'));
  }

  async pauseTask(taskName: string): Promise<void> {
    this.manager.pauseTask(taskName);
  }

  async resumeTask(taskName: string): Promise<void> {
    this.manager.resumeTask(taskName);
  }

  async pauseGroup(groupName: string): Promise<void> {
    this.manager.pauseConstraintGroup(groupName);
  }

  async resumeGroup(groupName: string): Promise<void> {
    this.manager.resumeConstraintGroup(groupName);
  }
}
