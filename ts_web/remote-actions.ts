import type { IActiveRunInfo } from 'taskbuffer';
import { allows, type TaskGatewayClient } from 'taskbuffer/client';
import type { IDashboardActions, TDashboardAction } from './dashboard-actions.js';

/** What the remote actions use of a TaskGatewayClient. */
export type IActionsClient = Pick<TaskGatewayClient, 'scopes' | 'trigger' | 'getActiveRuns' | 'abortRun' | 'pauseTask' | 'resumeTask' | 'pauseConstraintGroup' | 'resumeConstraintGroup'>;

/**
 * The dashboard's actions on a manager behind a gateway: each one is shown only when the
 * client's scopes allow it (`trigger` and `retry` need `trigger:<task>`; `abort` and
 * `pause` need `control:<task>`; a group's pause needs `control:*`), and `narrowTo`, when
 * given (from the `actions` attribute), narrows them further. Without a task name,
 * `pause` means a group's; any other action means "on some task". The gateway checks again.
 */
export class RemoteDashboardActions implements IDashboardActions {
  constructor(
    private readonly client: IActionsClient,
    private readonly narrowTo?: ReadonlySet<TDashboardAction>,
  ) {}

  allowed(action: TDashboardAction, taskName?: string): boolean {
    if (this.narrowTo !== undefined && !this.narrowTo.has(action)) return false;
    const scoped = action === 'trigger' || action === 'retry' ? 'trigger' : 'control';
    if (taskName !== undefined || action === 'pause') return allows(this.client.scopes, scoped, taskName ?? '*');
    // "On some task" (whether to show the bulk bar at all): each task is asked on its own later.
    return this.client.scopes.some((scope) => scope === 'admin' || scope.startsWith(`${scoped}:`));
  }

  trigger(taskName: string, input: unknown): Promise<unknown> {
    return this.client.trigger(taskName, input, { events: false }).result;
  }

  activeRuns(): Promise<IActiveRunInfo[]> {
    return this.client.getActiveRuns();
  }

  abortRun(runId: string): Promise<boolean> {
    return this.client.abortRun(runId, 'aborted from the dashboard');
  }

  pauseTask(taskName: string): Promise<void> {
    return this.client.pauseTask(taskName);
  }

  resumeTask(taskName: string): Promise<void> {
    return this.client.resumeTask(taskName);
  }

  pauseGroup(groupName: string): Promise<void> {
    return this.client.pauseConstraintGroup(groupName);
  }

  resumeGroup(groupName: string): Promise<void> {
    return this.client.resumeConstraintGroup(groupName);
  }
}
