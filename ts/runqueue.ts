import type { TaskConstraintGroup } from './constraintgroup.js';
import { before, PriorityQueue, type IPrioritized } from './priorityqueue.js';
import type { AnyTask } from './task.js';

/** One trigger on its way through the constraint groups. */
export interface IConstrainedRun extends IPrioritized {
  task: AnyTask;
  input: unknown;
  /** The groups whose key for this run is not null, with those keys (parallel arrays). */
  groups: Array<TaskConstraintGroup<any>>;
  keys: string[];
  /** Set when a `shouldExecute` said no and the function was not called. */
  skipped: boolean;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

/** The runs waiting for one key of one group, and whether a cooldown timer watches them. */
interface IWaitLine {
  group: TaskConstraintGroup<any>;
  key: string;
  runs: PriorityQueue<IConstrainedRun>;
}

const noop = (): void => {};

/**
 * Starts runs when every group that applies to them has room, and parks the others.
 *
 * A blocked run waits in the line of the first (group, key) that blocks it, so a release
 * only looks at the line of the key it freed: the cost per trigger does not grow with
 * the number of waiting runs or keys, and a busy key never holds back a free one. Lines
 * are ordered by priority, then trigger order. When a woken run is still blocked by
 * another key, it moves to that key's line. Keys blocked only by a cooldown are woken
 * by one timer set to the soonest expiry.
 */
export class RunQueue {
  private readonly lines = new Map<TaskConstraintGroup<any>, Map<string, IWaitLine>>();
  private readonly coolingLines = new Set<IWaitLine>();
  private cooldownTimer: ReturnType<typeof setTimeout> | undefined;
  private cooldownTimerAt = 0;
  private keepAlive = true;
  private seq = 0;
  private activeCount = 0;

  constructor(
    /** The groups registered now; `shouldExecute` of each is asked before every run. */
    private readonly currentGroups: () => ReadonlyArray<TaskConstraintGroup<any>>,
  ) {}

  /** Runs holding their slots right now (also while `shouldExecute` is being asked). */
  get active(): number {
    return this.activeCount;
  }

  /** Runs waiting for a slot. */
  get waiting(): number {
    let count = 0;
    for (const byKey of this.lines.values()) for (const line of byKey.values()) count += line.runs.size;
    return count;
  }

  /** Waiting runs per group and key, for dashboards. */
  waitingByKey(group: TaskConstraintGroup<any>): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [key, line] of this.lines.get(group) ?? []) counts.set(key, line.runs.size);
    return counts;
  }

  /** Builds a run: asks each group for its key now, so that later group changes do not reinterpret it. */
  createRun(task: AnyTask, input: unknown, priority = 0): IConstrainedRun {
    const groups: Array<TaskConstraintGroup<any>> = [];
    const keys: string[] = [];
    for (const group of this.currentGroups()) {
      const key = group.getConstraintKey(task, input);
      if (key !== null) {
        groups.push(group);
        keys.push(key);
      }
    }
    return { task, input, groups, keys, priority, seq: this.seq++, skipped: false, resolve: noop, reject: noop };
  }

  /** Starts the run now if every key has room and nobody waits for it; otherwise queues it. */
  submit(run: IConstrainedRun): Promise<unknown> {
    if (this.isFreeForNewcomer(run)) return this.start(run);
    return new Promise((resolve, reject) => {
      run.resolve = resolve;
      run.reject = reject;
      this.park(run, this.firstBlocker(run));
    });
  }

  /** Wakes the waiting line of `key` (all lines of `group` when `key` is undefined). */
  wake(group: TaskConstraintGroup<any>, key: string | undefined): void {
    const byKey = this.lines.get(group);
    if (byKey === undefined) return;
    if (key !== undefined) {
      const line = byKey.get(key);
      if (line !== undefined) this.drainLine(line);
      return;
    }
    for (const line of [...byKey.values()]) this.drainLine(line);
  }

  /** Forgets a group that was just removed: no waiting run counts its key any more. */
  forgetGroup(group: TaskConstraintGroup<any>): void {
    const ownLines = this.lines.get(group);
    this.lines.delete(group);
    for (const byKey of this.lines.values()) {
      for (const line of byKey.values()) line.runs.forEach((run) => dropGroup(run, group));
    }
    if (ownLines === undefined) return;
    for (const line of ownLines.values()) {
      this.coolingLines.delete(line);
      for (const run of line.runs.drain()) {
        dropGroup(run, group);
        this.placeWoken(run);
      }
    }
    this.clearCooldownTimerIfIdle();
  }

  /** Lets the cooldown timer keep the process alive (while the manager runs) or not. */
  setKeepAlive(keepAlive: boolean): void {
    this.keepAlive = keepAlive;
    if (this.cooldownTimer !== undefined) setTimerRef(this.cooldownTimer, keepAlive);
  }

  private isFreeForNewcomer(run: IConstrainedRun): boolean {
    return this.firstBlocker(run) < 0;
  }

  /**
   * Index of the first key that cannot take this run now, or -1. A key with room still
   * blocks a run while an earlier (or more urgent) run waits for it, so that nobody
   * overtakes a waiting run, whichever group's line it happens to wait in.
   */
  private firstBlocker(run: IConstrainedRun): number {
    for (let i = 0; i < run.groups.length; i++) {
      const group = run.groups[i]!;
      const key = run.keys[i]!;
      if (!group.canRun(key)) return i;
      const head = this.lines.get(group)?.get(key)?.runs.peek();
      if (head !== undefined && before(head, run)) return i;
    }
    return -1;
  }

  private start(run: IConstrainedRun): Promise<unknown> {
    for (let i = 0; i < run.groups.length; i++) run.groups[i]!.acquireSlot(run.keys[i]!);
    this.activeCount++;
    return this.execute(run);
  }

  private async execute(run: IConstrainedRun): Promise<unknown> {
    let ran = false;
    try {
      const allowed = this.allowedByShouldExecute(run);
      // Most runs have no shouldExecute to ask: awaiting a plain `true` would cost a tick.
      if (allowed !== true && !(await allowed)) {
        run.skipped = true;
        return undefined;
      }
      ran = true;
      return await run.task.trigger(run.input);
    } finally {
      this.finish(run, ran);
    }
  }

  /** Every registered group's `shouldExecute` must agree, also groups whose key is null. */
  private allowedByShouldExecute(run: IConstrainedRun): boolean | Promise<boolean> {
    const groups = this.currentGroups();
    let needsCheck = false;
    for (const group of groups) if (group.hasShouldExecute) needsCheck = true;
    if (!needsCheck) return true;
    return (async () => {
      for (const group of groups) {
        if (group.hasShouldExecute && !(await group.checkShouldExecute(run.task, run.input))) return false;
      }
      return true;
    })();
  }

  private finish(run: IConstrainedRun, ran: boolean): void {
    this.activeCount--;
    for (let i = 0; i < run.groups.length; i++) run.groups[i]!.release(run.keys[i]!, ran);
    for (let i = 0; i < run.groups.length; i++) this.wake(run.groups[i]!, run.keys[i]!);
  }

  private park(run: IConstrainedRun, blocker: number): void {
    const group = run.groups[blocker]!;
    const key = run.keys[blocker]!;
    let byKey = this.lines.get(group);
    if (byKey === undefined) this.lines.set(group, (byKey = new Map()));
    let line = byKey.get(key);
    if (line === undefined) byKey.set(key, (line = { group, key, runs: new PriorityQueue() }));
    line.runs.push(run);
    // The key may have room already (a cooldown just passed, or only waiters blocked a
    // newcomer): draining keeps the line's order and starts whoever is first.
    if (group.canRun(key)) this.drainLine(line);
    else this.watchCooldown(line);
  }

  private drainLine(line: IWaitLine): void {
    const { group, key, runs } = line;
    while (runs.size > 0 && group.canRun(key)) this.placeWoken(runs.pop()!);
    if (runs.size === 0) {
      this.removeLine(line);
    } else {
      this.watchCooldown(line);
    }
  }

  /** A run taken from a line: start it, or park it at the key that still blocks it. */
  private placeWoken(run: IConstrainedRun): void {
    const blocker = this.firstBlocker(run);
    if (blocker >= 0) return this.park(run, blocker);
    this.start(run).then(run.resolve, run.reject);
  }

  private removeLine(line: IWaitLine): void {
    this.coolingLines.delete(line);
    this.clearCooldownTimerIfIdle();
    const byKey = this.lines.get(line.group);
    if (byKey?.get(line.key) !== line) return;
    byKey.delete(line.key);
    if (byKey.size === 0) this.lines.delete(line.group);
  }

  /** Lines blocked only by a cooldown (slots are free) need a timer; full lines wait for a release. */
  private watchCooldown(line: IWaitLine): void {
    const remaining = line.group.getCooldownRemaining(line.key);
    if (remaining === 0 || line.group.getRunningCount(line.key) >= line.group.maxConcurrent) {
      this.coolingLines.delete(line);
      this.clearCooldownTimerIfIdle();
      return;
    }
    this.coolingLines.add(line);
    this.armCooldownTimer(Date.now() + remaining);
  }

  private armCooldownTimer(at: number): void {
    if (this.cooldownTimer !== undefined && this.cooldownTimerAt <= at) return;
    if (this.cooldownTimer !== undefined) clearTimeout(this.cooldownTimer);
    this.cooldownTimerAt = at;
    this.cooldownTimer = setTimeout(this.onCooldownTimer, Math.max(0, at - Date.now()));
    setTimerRef(this.cooldownTimer, this.keepAlive);
  }

  /** A timer with nothing left to wake would keep the process alive for nothing. */
  private clearCooldownTimerIfIdle(): void {
    if (this.coolingLines.size > 0 || this.cooldownTimer === undefined) return;
    clearTimeout(this.cooldownTimer);
    this.cooldownTimer = undefined;
  }

  private readonly onCooldownTimer = (): void => {
    this.cooldownTimer = undefined;
    const lines = [...this.coolingLines];
    this.coolingLines.clear();
    // drainLine puts lines that are still cooling back into coolingLines and re-arms the timer.
    for (const line of lines) this.drainLine(line);
  };
}

/** Takes `group` out of a run whose trigger counted it (the group was removed since). */
function dropGroup(run: IConstrainedRun, group: TaskConstraintGroup<any>): void {
  const index = run.groups.indexOf(group);
  if (index < 0) return;
  run.groups.splice(index, 1);
  run.keys.splice(index, 1);
}

/** Node timers can be unref'd so they do not keep the process alive; browsers have no such thing. */
function setTimerRef(timer: ReturnType<typeof setTimeout>, keepAlive: boolean): void {
  const handle = timer as unknown as { ref?: () => void; unref?: () => void };
  if (keepAlive) handle.ref?.();
  else handle.unref?.();
}
