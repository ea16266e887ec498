import { describeTask } from '../errors.js';
import type { AnyTask } from '../task/task.js';
import { enterRetry, type TEnteredRetry } from '../task/triggerretry.js';
import type { ITriggerOptions } from '../types.js';
import type { AnyGroup } from './constraintgroup.js';
import { ConstrainedRun, NO_GROUPS, NO_KEYS, type IRunExtras } from './managedrun.js';

/**
 * How a trigger becomes a run record: which groups apply (a null key exempts the run from
 * a group), which of them hold their slots in the cluster, and which options it keeps.
 * Each group is asked for its key now, so later group changes do not reinterpret it.
 */
export function planRun(all: ReadonlyArray<AnyGroup>, task: AnyTask, input: unknown, options: ITriggerOptions | undefined, seq: number): ConstrainedRun {
  let extras: IRunExtras | undefined;
  if (hasRunOptions(options)) {
    // Checked already (the manager's checkTriggerOptions): building the policy cannot throw.
    const retry = options.retry === undefined ? undefined : enterRetry(describeTask(task.name), options.retry);
    extras = newExtras(options.signal, options.timeoutMs, options.priority, retry, options.runId);
  }
  if (all.length === 1 && all[0]!.scope === 'local') return soleGroupRun(task, input, all, all[0]!.getConstraintKey(task, input), extras, seq);
  const keys = all.map((group) => group.getConstraintKey(task, input));
  const cluster = countWhere(all, keys, isClusterGroup);
  if (cluster > 0) {
    extras ??= newExtras(undefined, undefined, undefined, undefined, undefined);
    [extras.clusterGroups, extras.clusterKeys] = pick(all, keys, cluster, isClusterGroup);
  }
  const local = countWhere(all, keys, isLocalGroup);
  // When every group applies, the run shares the manager's array of them.
  const [groups, localKeys] = local === all.length ? [all, keys as string[]] : pick(all, keys, local, isLocalGroup);
  return new ConstrainedRun(task, input, groups, local === 1 ? localKeys[0]! : localKeys, seq, extras);
}

/** A run under the one local group `all` holds, the common setup: no array of keys to build; a null key exempts it. */
export function soleGroupRun(task: AnyTask, input: unknown, all: ReadonlyArray<AnyGroup>, key: string | null,
  extras: IRunExtras | undefined, seq: number): ConstrainedRun {
  return key === null
    ? new ConstrainedRun(task, input, NO_GROUPS, NO_KEYS, seq, extras)
    : new ConstrainedRun(task, input, all, key, seq, extras);
}

/** Whether a trigger has options that a run keeps (in its extras). */
export function hasRunOptions(options: ITriggerOptions | undefined): options is ITriggerOptions {
  return options !== undefined &&
    (options.signal !== undefined || options.timeoutMs !== undefined || options.priority !== undefined || options.retry !== undefined ||
      options.runId !== undefined);
}

/**
 * Takes `group` out of a run whose trigger counted it (the group was removed since). The
 * arrays may be shared with other runs (or be the manager's own), so they are copied, not
 * changed in place.
 */
export function dropGroup(run: ConstrainedRun, group: AnyGroup): void {
  const index = run.groups.indexOf(group);
  if (index >= 0) {
    const keys = typeof run.keys === 'string' ? [run.keys] : run.keys;
    const remainingKeys = keys.filter((_, i) => i !== index);
    run.groups = run.groups.filter((_, i) => i !== index);
    run.keys = remainingKeys.length === 1 ? remainingKeys[0]! : remainingKeys;
  }
  const extras = run.extras;
  if (extras === undefined) return;
  const clusterIndex = extras.clusterGroups.indexOf(group);
  if (clusterIndex >= extras.clusterHeld) {
    extras.clusterGroups = extras.clusterGroups.filter((_, i) => i !== clusterIndex);
    extras.clusterKeys = extras.clusterKeys.filter((_, i) => i !== clusterIndex);
  }
}

function newExtras(signal: AbortSignal | undefined, timeoutMs: number | undefined, priority: number | undefined,
  retry: TEnteredRetry, runId: string | undefined): IRunExtras {
  return {
    signal,
    timeoutMs,
    priority,
    retry,
    runId,
    onAbort: undefined,
    clusterGroups: NO_GROUPS,
    clusterKeys: NO_KEYS,
    clusterHeld: 0,
  };
}

function isClusterGroup(group: AnyGroup): boolean {
  return group.scope === 'cluster';
}

function isLocalGroup(group: AnyGroup): boolean {
  return group.scope !== 'cluster';
}

/** How many groups `wanted` picks among those whose key is not null. */
function countWhere(all: ReadonlyArray<AnyGroup>, keys: ReadonlyArray<string | null>, wanted: (group: AnyGroup) => boolean): number {
  let count = 0;
  for (let i = 0; i < all.length; i++) if (keys[i] !== null && wanted(all[i]!)) count++;
  return count;
}

/**
 * The groups (and their keys) that `wanted` picks, as arrays of exactly `count` entries:
 * a run may hold them for long, and arrays grown by push keep spare room.
 */
function pick(all: ReadonlyArray<AnyGroup>, keys: ReadonlyArray<string | null>, count: number,
  wanted: (group: AnyGroup) => boolean): [AnyGroup[], string[]] {
  if (count === 0) return [NO_GROUPS, NO_KEYS];
  const groups = new Array<AnyGroup>(count);
  const picked = new Array<string>(count);
  let n = 0;
  for (let i = 0; i < all.length; i++) {
    const key = keys[i];
    if (key === null || !wanted(all[i]!)) continue;
    groups[n] = all[i]!;
    picked[n++] = key!;
  }
  return [groups, picked];
}
