import { TaskbufferError } from '../errors.js';
import { createDeferred, type Deferred } from '../internal/deferred.js';
import { keepShapeAlive, type TResolve } from '../internal/hotpath.js';
import type { AnyTask } from '../task/task.js';
import { TaskRun, type IAbortableRun, type IRunControl, type TManagedTrigger } from '../task/taskrun.js';
import { asRetryOption, chooseRetryPolicy, type TEnteredRetry } from '../task/triggerretry.js';
import type { AnyGroup, IKeyState } from './constraintgroup.js';
import type { IPrioritized } from './priorityqueue.js';
import type { WaitLine } from './waitline.js';

/**
 * Where a run of the manager is. Numbers rather than strings so that "over" is one
 * comparison (`state >= DONE`) and the allowed moves are one bit test.
 * - NEW: created, not yet placed (or made from a plain waiter inside a line).
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

export type TRunState = typeof NEW | typeof QUEUED | typeof HOLDING | typeof RETRY_WAIT | typeof REQUEUED | typeof DONE | typeof SKIPPED;

/** The names of the states, for messages and tests. */
export const RUN_STATE_NAMES = ['NEW', 'QUEUED', 'HOLDING', 'RETRY_WAIT', 'REQUEUED', 'DONE', 'SKIPPED'] as const;

const to = (...states: number[]): number => states.reduce((mask, state) => mask | (1 << state), 0);

/**
 * Every move a run may make, by the state it is in; nothing leaves DONE or SKIPPED. A
 * run moves only through `moveTo`, which refuses any other move. A retry waiting in a
 * line (REQUEUED) ends there only when a draining stop gives up on it (it came back to
 * the line after the stop rejected the waiting runs); an abort through its signal first
 * takes it out of the line (RETRY_WAIT).
 */
const ALLOWED_MOVES: readonly number[] = [
  /* NEW        */ to(QUEUED, HOLDING, DONE),
  /* QUEUED     */ to(QUEUED, HOLDING, DONE),
  /* HOLDING    */ to(RETRY_WAIT, DONE, SKIPPED),
  /* RETRY_WAIT */ to(REQUEUED, DONE),
  /* REQUEUED   */ to(HOLDING, RETRY_WAIT, DONE),
  /* DONE       */ 0,
  /* SKIPPED    */ 0,
];

/** Whether a run in state `from` may move to `next`. */
export function isAllowedMove(from: number, next: number): boolean {
  return (ALLOWED_MOVES[from]! & (1 << next)) !== 0;
}

/** A move the run queue tried that the table above does not allow: a bug in taskbuffer. */
export class RunStateError extends TaskbufferError {
  override name = 'RunStateError';

  constructor(taskName: string | undefined, from: number, next: number) {
    super('INTERNAL', `internal error: a run of task ${JSON.stringify(taskName)} tried to move from ${RUN_STATE_NAMES[from]} to ` +
      `${RUN_STATE_NAMES[next]}, which no run may do; please report this`);
  }
}

type TMoveObserver = (run: ConstrainedRun, from: number, next: number) => void;
let moveObserver: TMoveObserver | undefined;

/**
 * Tells `observer` of every move of every run (`undefined` stops). For tests.
 * @internal
 */
export function observeRunMoves(observer: TMoveObserver | undefined): void {
  moveObserver = observer;
}

/** The one place a run's state changes. */
export function moveTo(run: ConstrainedRun, next: TRunState): void {
  const from = run.state;
  if (!isAllowedMove(from, next)) throw new RunStateError(run.task.name, from, next);
  if (moveObserver !== undefined) moveObserver(run, from, next);
  run.state = next;
}

export function isOver(run: ConstrainedRun): boolean {
  return run.state >= DONE;
}

/**
 * What only some triggers need: their options, an abort listener, cluster slots. Kept off
 * the run itself so that the many runs without them stay small while they wait in a line.
 */
export interface IRunExtras {
  signal: AbortSignal | undefined;
  timeoutMs: number | undefined;
  /** The trigger's own priority, when it overrides the task's. */
  priority: number | undefined;
  /** The trigger's own retry policy (built where it entered), `false` for one try, else undefined: the task's. */
  retry: TEnteredRetry;
  /** The trigger's `runId`, else undefined: the run makes one. */
  runId: string | undefined;
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

function noop(): void {}

/** A line of the manager's runs. */
export type RunLine = WaitLine<ConstrainedRun>;

/** Makes the run of a plain waiter leaving its line (see WaitLine). */
export function plainRun(task: AnyTask, input: unknown, groups: AnyGroup[], key: string, seq: number, resolve: TResolve): ConstrainedRun {
  const run = new ConstrainedRun(task, input, groups, key, seq, undefined);
  run.resolve = resolve;
  return run;
}

/**
 * One trigger on its way through the constraint groups: the manager's record of a run.
 *
 * A plain trigger (no options, one local group) gets its record only when it leaves its
 * line (see WaitLine). Others wait as records, up to a whole burst of them at once, so a
 * record keeps only what every waiting run needs: trigger options and cluster slots are
 * in `extras`, made only for runs that have some, and what a started run needs is in its
 * ActiveRun.
 */
export class ConstrainedRun implements IPrioritized {
  state: TRunState = NEW;
  heapIndex = -1;
  /** The line the run waits in, while it waits. */
  line: RunLine | undefined = undefined;
  /** From the moment the run takes its slots until it ends. */
  active: ActiveRun | undefined = undefined;
  /**
   * The constraint line the run last left. A line is taken out of its manager only once
   * empty and never used again, so while it has waiters it is still the line of the run's
   * key: an ending run finds who is next there without looking its key up.
   */
  cameFrom: RunLine | undefined = undefined;
  /** The state of the key whose slot a run of one group holds, from the moment it takes it. */
  keyState: IKeyState | undefined = undefined;
  /** Settles the trigger's promise. Rejections go through it too (see `rejectRun`), so a run keeps one function, not two. */
  resolve: TResolve = noop;

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
}

/**
 * Rejects the trigger through its one settle function: resolving with a rejected promise
 * rejects it too (two microtasks later than a reject function would). Only for a trigger
 * not settled yet: a settled one would leave that rejected promise unhandled.
 */
export function rejectRun(run: ConstrainedRun, error: unknown): void {
  run.resolve(Promise.reject(error));
}

/** What an ActiveRun reports to: the manager's run queue. */
export interface IRunOwner {
  settled(run: ConstrainedRun, ok: boolean, value: unknown, endedAt: number | undefined): void;
  releaseForRetry(run: ConstrainedRun): void;
  reacquireForRetry(run: ConstrainedRun): Promise<void>;
  /** The manager's trigger, for the runs it starts to trigger other tasks through it. */
  readonly managedTrigger: TManagedTrigger | undefined;
}

/**
 * A run from the moment it takes its slots until it ends. For a task the manager runs
 * itself (`task.runsDirectly`) it is the task's run, so a started run costs one object
 * and not two; for a task with a trigger of its own it is the control of that trigger.
 * Either way it is what a draining stop aborts.
 */
export class ActiveRun extends TaskRun implements IRunControl {
  /** What only some runs need; made for the first of them (most runs never do). */
  private aside: IActiveRunAside | undefined = undefined;

  constructor(
    private readonly owner: IRunOwner,
    readonly run: ConstrainedRun,
  ) {
    super(run.task, run.extras?.signal, run.extras?.timeoutMs ?? run.task?.timeoutMs,
      chooseRetryPolicy(run.extras?.retry, run.task?.retryPolicy), run.extras?.runId);
  }

  protected get input(): unknown {
    return this.run.input;
  }

  override get managedTrigger(): TManagedTrigger | undefined {
    return this.owner.managedTrigger;
  }

  /** Triggers a task that has a trigger of its own (buffered, debounced, once), with this run as its control. */
  triggerTask(): void {
    const { run, owner } = this;
    let outcome: Promise<unknown>;
    try {
      const extras = run.extras;
      outcome = run.task.triggerUnder(this, run.input,
        { signal: extras?.signal, timeoutMs: extras?.timeoutMs, priority: run.priority, retry: asRetryOption(extras?.retry), runId: extras?.runId ?? this.runId });
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then(
      (result) => owner.settled(run, true, result, undefined),
      (error: unknown) => owner.settled(run, false, error, undefined),
    );
  }

  /** The run of the task once it began: this one, or the one a task's own trigger made. */
  get taskRun(): IAbortableRun | undefined {
    return this.begun ? this : this.aside?.taskRun;
  }

  /** Withdraws the trigger from a task's own waiting line (buffer, debounce, once), if it waits in one. */
  get cancelWaiter(): ((reason: unknown) => void) | undefined {
    return this.aside?.cancelWaiter;
  }

  /** Whether a retry of this run waits for its slots. */
  get waitsForSlots(): boolean {
    return this.aside?.reacquired !== undefined;
  }

  /** Waits for the slots of a retry: `owner` settles it with `slotsTaken` or `slotsRefused`. */
  waitForSlots(): Promise<void> {
    const reacquired = createDeferred<void>();
    this.asidePart().reacquired = reacquired;
    return reacquired.promise;
  }

  /** The retry holds its slots again: its next try goes on. */
  slotsTaken(): void {
    this.takeReacquired()?.resolve();
  }

  /** The retry cannot have its slots (an abort, a draining stop, the cluster): the run fails with `error`. */
  slotsRefused(error: unknown): void {
    this.takeReacquired()?.reject(error);
  }

  protected report(ok: boolean, value: unknown, endedAt: number | undefined): void {
    this.owner.settled(this.run, ok, value, endedAt);
  }

  // ---- as the control of a task's own trigger ------------------------------------------

  attach(taskRun: IAbortableRun): void {
    this.asidePart().taskRun = taskRun;
  }

  attachWaiter(cancel: (reason: unknown) => void): void {
    this.asidePart().cancelWaiter = cancel;
  }

  override releaseForRetry(): void {
    this.owner.releaseForRetry(this.run);
  }

  override reacquireForRetry(): Promise<void> {
    return this.owner.reacquireForRetry(this.run);
  }

  private asidePart(): IActiveRunAside {
    return (this.aside ??= { taskRun: undefined, cancelWaiter: undefined, reacquired: undefined });
  }

  private takeReacquired(): Deferred<void> | undefined {
    const aside = this.aside;
    const reacquired = aside?.reacquired;
    if (reacquired !== undefined) aside!.reacquired = undefined;
    return reacquired;
  }
}

/** What only some active runs need: a task's own trigger to follow, a retry waiting for slots. */
interface IActiveRunAside {
  /** The run a task's own trigger made, once it began. */
  taskRun: IAbortableRun | undefined;
  cancelWaiter: ((reason: unknown) => void) | undefined;
  /** While a retry waits for its slots again. */
  reacquired: Deferred<void> | undefined;
}

keepShapeAlive(new ConstrainedRun(undefined as unknown as AnyTask, undefined, NO_GROUPS, '', 0, undefined));
keepShapeAlive(new ActiveRun(undefined as unknown as IRunOwner, new ConstrainedRun(undefined as unknown as AnyTask, undefined, NO_GROUPS, '', 0, undefined)));
