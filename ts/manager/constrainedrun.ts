import type { IKeyState, TaskConstraintGroup } from './constraintgroup.js';
import type { IPrioritized } from './priorityqueue.js';
import type { ActiveRun } from './runqueue.js';
import type { AnyTask } from '../task/task.js';
import type { WaitLine } from './waitline.js';

export type AnyGroup = TaskConstraintGroup<any>;

/**
 * Where a run is. Numbers rather than strings only so that "over" is one comparison
 * (`state >= DONE`).
 * - NEW: created, not yet placed.
 * - QUEUED: waiting in a line (for a key with room, or for a paused task or group).
 * - HOLDING: holds its local slots; starting or running.
 * - RETRY_WAIT: between the tries of a retry, holding no slot.
 * - REQUEUED: a retry waiting in a line for its slots again.
 * - DONE / SKIPPED: over; SKIPPED when a `shouldExecute` said no and nothing ran.
 */
export const NEW = 0;
export const QUEUED = 1;
export const HOLDING = 2;
export const RETRY_WAIT = 3;
export const REQUEUED = 4;
export const DONE = 5;
export const SKIPPED = 6;

/**
 * What only some triggers need: their options, an abort listener, cluster slots. Kept off
 * the run itself so that the many runs without them stay small while they wait in a line.
 */
export interface IRunExtras {
  signal: AbortSignal | undefined;
  timeoutMs: number | undefined;
  /** The trigger's own priority, when it overrides the task's. */
  priority: number | undefined;
  onAbort: (() => void) | undefined;
  /** Groups with `scope: 'cluster'` that apply, with their keys: their slots live in the cluster. */
  clusterGroups: AnyGroup[];
  clusterKeys: string[];
  /** How many of `clusterGroups` (in order) the run holds a cluster slot of. */
  clusterHeld: number;
}

// Runs that no group (or no cluster group) applies to share these instead of arrays of their own.
export const NO_GROUPS: AnyGroup[] = Object.freeze([]) as unknown as AnyGroup[];
export const NO_KEYS: string[] = Object.freeze([]) as unknown as string[];

/** The keys of a run, one per group in `groups`; a lone key is kept as is, without an array. */
export type TRunKeys = string | readonly string[];

export function keyAt(keys: TRunKeys, index: number): string {
  return typeof keys === 'string' ? keys : keys[index]!;
}

/**
 * One trigger on its way through the constraint groups.
 *
 * A plain trigger (no options, one local group) gets its run only when it leaves its
 * line (see WaitLine). Others wait as runs, up to a whole burst of them at once, so a run
 * keeps only what every waiting run needs: trigger options and cluster slots are in
 * `extras`, made only for runs that have some, and what a started run needs is in its
 * `ActiveRun`.
 */
export class ConstrainedRun implements IPrioritized {
  state = NEW;
  heapIndex = -1;
  /** The line the run waits in, while it waits. */
  line: WaitLine | undefined = undefined;
  /** From the moment the run takes its slots until it ends. */
  active: ActiveRun | undefined = undefined;
  /**
   * The constraint line the run last left. A line is taken out of its manager only once
   * empty and never used again, so while it has waiters it is still the line of the run's
   * key: an ending run finds who is next there without looking its key up.
   */
  cameFrom: WaitLine | undefined = undefined;
  /** The state of the key whose slot a run of one group holds, from the moment it takes it. */
  keyState: IKeyState | undefined = undefined;
  /** Settles the trigger's promise. Rejections go through it too (see `rejectRun`), so a run keeps one function, not two. */
  resolve: (value: unknown) => void = noop;

  constructor(
    readonly task: AnyTask,
    readonly input: unknown,
    /** The groups whose key for this run is not null, and their keys. */
    public groups: ReadonlyArray<AnyGroup>,
    public keys: TRunKeys,
    readonly seq: number,
    public extras: IRunExtras | undefined,
  ) {}

  /** The trigger's priority, else the task's. */
  get priority(): number {
    return this.extras?.priority ?? this.task.priority;
  }

  /** Whether a `shouldExecute` said no, so the function was not called. */
  get skipped(): boolean {
    return this.state === SKIPPED;
  }

  /**
   * A run that lives as long as the class, so that V8 keeps the hidden class of runs. V8
   * holds the class of a fully built object only weakly: once every run has ended and a
   * full garbage collection runs, the class is dropped, all code optimised for runs is
   * thrown away, and the next burst of triggers starts slow, in the interpreter.
   */
  private static readonly keptForItsClass = new ConstrainedRun(undefined as unknown as AnyTask, undefined, NO_GROUPS, '', 0, undefined);
}

export function isOver(run: ConstrainedRun): boolean {
  return run.state >= DONE;
}

function noop(): void {}
