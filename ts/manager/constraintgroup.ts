import { timeNow } from '../internal/clock.js';
import { describeValue, assertCap, assertFunction, assertNonEmptyString, assertNonNegativeFinite } from '../internal/validate.js';
import { InvalidOptionError } from '../errors.js';
import type { Task } from '../task/task.js';

/** Options of `new TaskConstraintGroup(...)`. */
export interface ITaskConstraintGroupOptions<TData extends object = Record<string, unknown>> {
  /** Identifies the group; `manager.removeConstraintGroup(name)` uses it. */
  name: string;
  /**
   * The key a run is counted under, from the task and the trigger's input. Runs with the
   * same key share `maxConcurrent` and `cooldownMs`; `null` exempts the run from this
   * group's slots and cooldown (not from its `shouldExecute`).
   */
  constraintKeyForExecution: (task: Task<any, any, TData>, input?: any) => string | null | undefined;
  /**
   * Runs allowed at once per key: a positive integer or `Infinity`.
   * @default Infinity
   */
  maxConcurrent?: number;
  /**
   * Minimum time in ms from the end of one run to the start of the next run with the same key.
   * @default 0
   */
  cooldownMs?: number;
  /**
   * Checked right before a run starts, after its slots are taken (for immediate and queued
   * triggers alike). `false` skips the run, and its trigger resolves `undefined`.
   */
  shouldExecute?: (task: Task<any, any, TData>, input?: any) => boolean | Promise<boolean>;
  /**
   * `cluster` holds `maxConcurrent` and `cooldownMs` across every instance of a cluster
   * (it needs a TaskManager whose distributed coordinator offers cluster slots, such as
   * `RedisCoordinator`); `local` holds them in this process only, at no network cost.
   * @default 'local'
   */
  scope?: 'local' | 'cluster';
}

/**
 * The slots and cooldown of one key. A state is the key's for as long as a slot of it is
 * held: it is forgotten only once no slot is held, and `reset` zeroes the count of every
 * state it forgets, so a state that is not the key's any more never shows a held slot.
 * @internal
 */
export interface IKeyState {
  running: number;
  /** When the last run with this key ended (epoch ms), for the cooldown. */
  lastEndedAt: number | undefined;
}

/** A group of any data type, for the manager's collections of them. */
export type AnyGroup = TaskConstraintGroup<any>;

/** Told when a key may have room again because of a call from outside the manager. */
export type TCapacityListener = (group: TaskConstraintGroup<any>, key: string | undefined) => void;

// Keys whose runs all ended and whose cooldown passed are forgotten by a sweep every so
// many releases, so that a group keyed by e.g. domain does not grow with every domain it
// has ever seen, while a key that is busy again right away keeps its state meanwhile.
const SWEEP_EVERY_RELEASES = 1024;

/**
 * Limits how runs of tasks relate to each other: per-key mutual exclusion or caps
 * (`maxConcurrent`), a cooldown between runs of a key, and a last-moment `shouldExecute`
 * check. Register it with `manager.addConstraintGroup(group)`; a run starts only when
 * every group that applies to it has room.
 */
export class TaskConstraintGroup<TData extends object = Record<string, unknown>> {
  readonly name: string;
  readonly maxConcurrent: number;
  readonly cooldownMs: number;
  readonly scope: 'local' | 'cluster';
  private readonly keyFunction: ITaskConstraintGroupOptions<TData>['constraintKeyForExecution'];
  private readonly shouldExecuteFunction: ITaskConstraintGroupOptions<TData>['shouldExecute'];
  private readonly keys = new Map<string, IKeyState>();
  private readonly capacityListeners = new Set<TCapacityListener>();
  private releasesSinceSweep = 0;

  constructor(options: ITaskConstraintGroupOptions<TData>) {
    if (options === null || typeof options !== 'object') {
      throw new InvalidOptionError('options', options,
        `new TaskConstraintGroup(options): expected an options object, got ${describeValue(options)}`);
    }
    assertNonEmptyString('new TaskConstraintGroup(options)', 'name', options.name);
    const owner = `TaskConstraintGroup ${JSON.stringify(options.name)}`;
    assertFunction(owner, 'constraintKeyForExecution', options.constraintKeyForExecution);
    if (options.maxConcurrent !== undefined) assertCap(owner, 'maxConcurrent', options.maxConcurrent);
    if (options.cooldownMs !== undefined) assertNonNegativeFinite(owner, 'cooldownMs', options.cooldownMs);
    if (options.shouldExecute !== undefined) assertFunction(owner, 'shouldExecute', options.shouldExecute);
    if (options.scope !== undefined && options.scope !== 'local' && options.scope !== 'cluster') {
      throw new InvalidOptionError('scope', options.scope, `${owner}: expected \`scope\` to be 'local' or 'cluster', got ${describeValue(options.scope)}`);
    }
    this.scope = options.scope ?? 'local';
    this.name = options.name;
    this.keyFunction = options.constraintKeyForExecution;
    this.maxConcurrent = options.maxConcurrent ?? Number.POSITIVE_INFINITY;
    this.cooldownMs = options.cooldownMs ?? 0;
    this.shouldExecuteFunction = options.shouldExecute;
  }

  /** Whether the group has a `shouldExecute` check. */
  get hasShouldExecute(): boolean {
    return this.shouldExecuteFunction !== undefined;
  }

  /** The key for a run of `task` with `input`, or `null` when the group does not apply. */
  getConstraintKey(task: Task<any, any, TData>, input?: any): string | null {
    const key = this.keyFunction(task, input);
    if (key === null || key === undefined) return null;
    if (typeof key !== 'string') {
      throw new InvalidOptionError('constraintKeyForExecution', key,
        `TaskConstraintGroup ${JSON.stringify(this.name)}: constraintKeyForExecution must return a string or null, got ${describeValue(key)}`);
    }
    return key;
  }

  /** Runs `shouldExecute` (`true` when the group has none). */
  async checkShouldExecute(task: Task<any, any, TData>, input?: any): Promise<boolean> {
    if (this.shouldExecuteFunction === undefined) return true;
    return (await this.shouldExecuteFunction(task, input)) !== false;
  }

  /** Whether a run with `key` may start now: a free slot and no cooldown left. */
  canRun(key: string): boolean {
    const state = this.keys.get(key);
    if (state === undefined) return true;
    if (state.running >= this.maxConcurrent) return false;
    // Without a cooldown there is no clock to read: this is asked for every trigger.
    return this.cooldownMs === 0 || this.cooldownLeft(state, timeNow()) === 0;
  }

  /** Takes a slot for `key`. The manager does this for you; call it only to reserve capacity by hand. */
  acquireSlot(key: string): void {
    this.takeSlot(key);
  }

  /**
   * `acquireSlot` for the manager, which takes every slot through it: returns the key's
   * state, which a run that holds the slot may keep to ask `wouldHaveRoomAfterRelease`
   * without looking the key up again.
   * @internal
   */
  takeSlot(key: string): IKeyState {
    let state = this.keys.get(key);
    if (state === undefined) this.keys.set(key, (state = { running: 1, lastEndedAt: undefined }));
    else state.running++;
    return state;
  }

  /** Gives a slot of `key` back and starts its cooldown. */
  releaseSlot(key: string): void {
    if (this.getRunningCount(key) === 0) {
      throw new InvalidOptionError('key', key,
        `TaskConstraintGroup ${JSON.stringify(this.name)}: releaseSlot(${JSON.stringify(key)}) but no slot of that key is held`);
    }
    this.release(key, true);
    for (const listener of this.capacityListeners) listener(this, key);
  }

  /** Milliseconds until the cooldown of `key` has passed (0 when it has). */
  getCooldownRemaining(key: string): number {
    if (this.cooldownMs === 0) return 0;
    const state = this.keys.get(key);
    return state === undefined ? 0 : this.cooldownLeft(state, timeNow());
  }

  /** Runs holding a slot of `key` right now. */
  getRunningCount(key: string): number {
    return this.keys.get(key)?.running ?? 0;
  }

  /** Keys that have runs or a cooldown, with their running count and cooldown left. */
  getKeyStates(): Array<{ key: string; running: number; cooldownRemainingMs: number }> {
    const now = timeNow();
    const states: Array<{ key: string; running: number; cooldownRemainingMs: number }> = [];
    for (const [key, state] of this.keys) {
      const cooldownRemainingMs = this.cooldownLeft(state, now);
      if (state.running > 0 || cooldownRemainingMs > 0) states.push({ key, running: state.running, cooldownRemainingMs });
    }
    return states;
  }

  /** Forgets all running counts and cooldowns. Work waiting in a manager is woken. */
  reset(): void {
    this.keys.forEach(zeroRunning);
    this.keys.clear();
    for (const listener of this.capacityListeners) listener(this, undefined);
  }

  /**
   * Gives a slot back; `ran: false` (the run was skipped) leaves the cooldown as it was.
   * @internal
   */
  release(key: string, ran: boolean): void {
    const state = this.keys.get(key);
    if (state === undefined || state.running === 0) return;
    state.running--;
    // The end time only feeds the cooldown; without one, skip reading the clock.
    if (ran && this.cooldownMs > 0) state.lastEndedAt = timeNow();
    // An idle key stays until the next sweep: a busy key (a mutex with a queue) goes idle
    // and busy again on every run, and would otherwise be deleted and added each time.
    if (++this.releasesSinceSweep >= SWEEP_EVERY_RELEASES) this.sweep();
  }

  /**
   * Whether giving back one slot of the key whose state is `state` (from `takeSlot`) would
   * leave room for another run: a slot is held, and no more than `maxConcurrent` are
   * (slots reserved by hand with `acquireSlot` may exceed it). A cooldown the release
   * would start is the caller's to check.
   * @internal
   */
  wouldHaveRoomAfterRelease(state: IKeyState): boolean {
    return state.running >= 1 && state.running <= this.maxConcurrent;
  }

  /** @internal */
  onCapacity(listener: TCapacityListener): () => void {
    this.capacityListeners.add(listener);
    return () => this.capacityListeners.delete(listener);
  }

  private cooldownLeft(state: IKeyState, now: number): number {
    if (this.cooldownMs === 0 || state.lastEndedAt === undefined) return 0;
    return Math.max(0, state.lastEndedAt + this.cooldownMs - now);
  }

  private sweep(): void {
    this.releasesSinceSweep = 0;
    const now = timeNow();
    // forEach, not for-of over entries: that makes an [key, state] array per key, and a
    // sweep of a group with many keys runs every thousand releases on a busy manager.
    this.keys.forEach((state, key) => {
      if (state.running === 0 && this.cooldownLeft(state, now) === 0) this.keys.delete(key);
    });
  }
}

/** A forgotten state must not show slots as held (see IKeyState). */
function zeroRunning(state: IKeyState): void {
  state.running = 0;
}
