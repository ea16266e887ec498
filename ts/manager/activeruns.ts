import { isOver, type ConstrainedRun } from './managedrun.js';

/**
 * The runs of a manager that started and did not end yet, in the order they started, for
 * a draining stop. A run that ends is not taken out (that would cost a search or a hash
 * per run): the list skips ended runs and drops them once they outnumber the active ones.
 * It holds the run records, not their ActiveRuns (internal/hotpath.ts, trick 5).
 */
export class ActiveRunList {
  private list: ConstrainedRun[] = [];
  private activeCount = 0;

  get count(): number {
    return this.activeCount;
  }

  add(run: ConstrainedRun): void {
    this.list.push(run);
    this.activeCount++;
  }

  /** Called once per added run, as it ends (its state is over already). */
  ended(): void {
    this.activeCount--;
    const ended = this.list.length - this.activeCount;
    if (ended > this.activeCount + 64) this.dropEnded();
  }

  /** The runs active now, as a new array (aborting one changes the list). */
  current(): ConstrainedRun[] {
    return this.list.filter((run) => !isOver(run));
  }

  /** Keeps the active runs in the list, in order, and drops the ended ones. */
  private dropEnded(): void {
    const list = this.list;
    let kept = 0;
    for (let i = 0; i < list.length; i++) {
      const run = list[i]!;
      if (!isOver(run)) list[kept++] = run;
    }
    list.length = kept;
  }
}
