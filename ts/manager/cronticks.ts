import type { AbstractDistributedCoordinator, IDistributedTaskRequest, TDistributedTaskStatus } from '../coordinator/abstract.js';
import { CoordinatorError, messageOf, type TaskbufferError } from '../errors.js';
import { timeNow } from '../internal/clock.js';
import { randomId } from '../internal/ids.js';
import type { AnyTask } from '../task/task.js';
import type { RunQueue } from './runqueue.js';

/** What a cron tick needs of its TaskManager. */
export interface ICronTickHost {
  /** The registered task of that name while the manager is started, else undefined. */
  taskNamed(name: string): AnyTask | undefined;
  readonly runQueue: RunQueue;
  readonly coordinator: AbstractDistributedCoordinator | undefined;
  readonly instanceId: string;
  reportError(error: TaskbufferError): void;
}

/**
 * What a TaskManager does when a cron tick comes: with a distributed coordinator, ask
 * whether this instance runs it; run it through the constraint groups like any trigger;
 * report the outcome back. A tick's failure is the task's (lastError, a `failed` event),
 * never thrown; a coordinator that cannot be reached goes to the manager's `onError`.
 */
export class CronTicks {
  constructor(private readonly manager: ICronTickHost) {}

  /** A cron tick: ask the coordinator (if any), run through the constraints, report back. */
  async run(taskName: string, scheduledAt: number): Promise<void> {
    const task = this.manager.taskNamed(taskName);
    if (task === undefined) return;
    const coordinator = this.manager.coordinator;
    const request: IDistributedTaskRequest | undefined = coordinator && {
      requestId: randomId(),
      instanceId: this.manager.instanceId,
      taskName,
      scheduledAt,
      submittedAt: timeNow(),
      status: 'requesting',
    };
    if (coordinator !== undefined && request !== undefined) {
      try {
        const answer = await coordinator.fireDistributedTaskRequest(request);
        if (!answer.shouldTrigger) return;
      } catch (error) {
        this.manager.reportError(new CoordinatorError(`could not ask the distributed coordinator about task ${JSON.stringify(taskName)} ` +
          `(tick ${new Date(scheduledAt).toISOString()}); the tick was not run here`, error, taskName));
        return;
      }
    }
    const outcome = await this.runScheduled(task);
    if (coordinator !== undefined && request !== undefined) {
      try {
        await coordinator.updateDistributedTaskRequest({ ...request, ...outcome, finishedAt: timeNow() });
      } catch (error) {
        this.manager.reportError(new CoordinatorError(`could not tell the distributed coordinator how task ${JSON.stringify(taskName)} ` +
          `went (tick ${new Date(scheduledAt).toISOString()}, ${outcome.status})`, error, taskName));
      }
    }
  }

  /** Runs a cron tick; its failure is recorded on the task (lastError, `failed` event), not thrown. */
  private async runScheduled(task: AnyTask): Promise<{ status: TDistributedTaskStatus; error?: string }> {
    if (this.manager.taskNamed(task.name!) !== task) return { status: 'skipped', error: 'the TaskManager was stopped' };
    try {
      const { runQueue } = this.manager;
      const run = runQueue.createRun(task, undefined, undefined);
      await runQueue.submit(run);
      return { status: run.skipped ? 'skipped' : 'succeeded' };
    } catch (error) {
      return { status: 'failed', error: messageOf(error) };
    }
  }
}
