import type { IClusterSlot, IClusterSlots } from '../coordinator/abstract.js';
import { describeTask, InvalidOptionError } from '../errors.js';
import type { AnyGroup } from './constraintgroup.js';
import { HOLDING, type ConstrainedRun, type IRunExtras } from './managedrun.js';

/** Where the slots of `scope: 'cluster'` groups are taken, and who takes them. */
export interface IClusterAccess {
  slots(): IClusterSlots | undefined;
  readonly instanceId: string;
}

/**
 * The cluster slots of a run: taken one by one after its local slots, mirrored in the
 * local group so that this instance's share shows in its states, and given back when the
 * run ends or waits for a retry.
 */
export class ClusterSlotTaker {
  constructor(private readonly cluster: IClusterAccess) {}

  /**
   * Takes the next cluster slot of `run`. Resolves `true` once it is held, `false` when
   * the run stopped holding its local slots meanwhile (aborted, drained): the slot went
   * straight back. Rejects when the cluster refuses it.
   */
  takeNext(run: ConstrainedRun): Promise<boolean> {
    const extras = run.extras!;
    const group = extras.clusterGroups[extras.clusterHeld]!;
    const key = extras.clusterKeys[extras.clusterHeld]!;
    const slots = this.cluster.slots();
    if (slots === undefined) {
      // addConstraintGroup refuses such a group; this is a coordinator that lost its slots since.
      return Promise.reject(new InvalidOptionError('scope', 'cluster', `${describeTask(run.task.name)}: constraint group ` +
        `${JSON.stringify(group.name)} (key ${JSON.stringify(key)}) has scope 'cluster', but the manager's coordinator offers no cluster slots`));
    }
    return slots.acquire(clusterSlotOf(group, key), this.holderOf(run), extras.signal, extras.timeoutMs).then(() => {
      if (run.state !== HOLDING) {
        slots.release(clusterSlotOf(group, key), this.holderOf(run), false);
        return false;
      }
      group.takeSlot(key);
      extras.clusterHeld++;
      return true;
    });
  }

  /** Gives back every cluster slot the run holds; `ran: false` leaves the cooldown as it was. */
  releaseAll(run: ConstrainedRun, extras: IRunExtras, ran: boolean): void {
    const slots = this.cluster.slots();
    for (let i = 0; i < extras.clusterHeld; i++) {
      const group = extras.clusterGroups[i]!;
      const key = extras.clusterKeys[i]!;
      group.release(key, ran);
      slots?.release(clusterSlotOf(group, key), this.holderOf(run), ran);
    }
    extras.clusterHeld = 0;
  }

  private holderOf(run: ConstrainedRun): string {
    return `${this.cluster.instanceId}:${run.seq}`;
  }
}

function clusterSlotOf(group: AnyGroup, key: string): IClusterSlot {
  return { groupName: group.name, key, maxConcurrent: group.maxConcurrent, cooldownMs: group.cooldownMs };
}
