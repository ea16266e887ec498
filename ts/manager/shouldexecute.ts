import type { AnyGroup } from './constraintgroup.js';
import { timeNow } from '../internal/clock.js';
import type { ConstrainedRun } from './managedrun.js';
import type { IShouldExecuteRefusal } from './waitreasons.js';

/** The answer when no registered group has a `shouldExecute`: no promise to wait for. */
export const NO_CHECK = true as const;

/**
 * The last check before a run starts: every registered group's `shouldExecute` must
 * agree, also groups whose key is null for the run.
 */
export class ShouldExecuteCheck {
  private askedOf: ReadonlyArray<AnyGroup> | undefined = undefined;
  private found = false;
  /** The last refusal of each group, for dashboards; weak, so that a removed group is let go of. */
  private readonly refusals = new WeakMap<AnyGroup, IShouldExecuteRefusal>();

  constructor(
    /** The groups registered now; the array is replaced when groups change, never changed in place. */
    private readonly currentGroups: () => ReadonlyArray<AnyGroup>,
  ) {}

  /** `NO_CHECK` when there is nothing to ask, else whether every check said yes. */
  allows(run: ConstrainedRun): typeof NO_CHECK | Promise<boolean> {
    const groups = this.currentGroups();
    if (!this.anyShouldExecute(groups)) return NO_CHECK;
    return askEvery(groups, run, this.refusals);
  }

  /** The last run `group`'s `shouldExecute` said no to, if any. */
  lastRefusalOf(group: AnyGroup): IShouldExecuteRefusal | undefined {
    return this.refusals.get(group);
  }

  /** Whether a group of `groups` has a `shouldExecute`; remembered per array. */
  private anyShouldExecute(groups: ReadonlyArray<AnyGroup>): boolean {
    if (groups !== this.askedOf) {
      this.askedOf = groups;
      this.found = groups.some((group) => group.hasShouldExecute);
    }
    return this.found;
  }
}

// Apart from `allows`, which runs for every run: a function with a closure (or an async
// body) makes a context at every call, even the calls that return before it.
async function askEvery(groups: ReadonlyArray<AnyGroup>, run: ConstrainedRun,
  refusals: WeakMap<AnyGroup, IShouldExecuteRefusal>): Promise<boolean> {
  for (const group of groups) {
    if (group.hasShouldExecute && !(await group.checkShouldExecute(run.task, run.input))) {
      // Only refusals are recorded (one object each): a run that may go costs nothing more.
      refusals.set(group, { taskName: run.task.name!, runId: run.active?.runId ?? '', at: timeNow() });
      return false;
    }
  }
  return true;
}
