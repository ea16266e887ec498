import type { IAbortableRun, IRunControl, TManagedTrigger } from '../task/taskrun.js';

/**
 * How a graph steers one node's run when it triggers the node's task itself (not through
 * a TaskManager): the run hands itself over as it begins, so that a stopping graph can
 * abort it (a node waiting in its task's own line is withdrawn instead). Cheaper than an
 * AbortSignal per node, and a signal shared by every node would gather a listener per node.
 * @internal
 */
export class NodeControl implements IRunControl {
  readonly managedTrigger: TManagedTrigger | undefined = undefined;
  private run: IAbortableRun | undefined = undefined;
  private cancelWaiter: ((reason: unknown) => void) | undefined = undefined;
  /** Set once the graph aborted the node: a run that begins later is aborted at once. */
  private aborted: { reason: unknown } | undefined = undefined;

  attach(run: IAbortableRun): void {
    this.run = run;
    this.cancelWaiter = undefined;
    if (this.aborted !== undefined) run.abort(this.aborted.reason);
  }

  attachWaiter(cancel: (reason: unknown) => void): void {
    this.cancelWaiter = cancel;
    if (this.aborted !== undefined) cancel(this.aborted.reason);
  }

  // Outside a manager no slot is held, so a retry has none to give back or wait for.
  releaseForRetry(): void {}

  reacquireForRetry(): Promise<void> {
    return Promise.resolve();
  }

  /** Aborts the node's run, or withdraws it from its task's line. */
  abort(reason: unknown): void {
    if (this.aborted !== undefined) return;
    this.aborted = { reason };
    if (this.run !== undefined) this.run.abort(reason);
    else this.cancelWaiter?.(reason);
  }
}
