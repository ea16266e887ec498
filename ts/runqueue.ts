import type { TaskConstraintGroup } from './constraintgroup.js';
import type { IClusterSlot, IClusterSlots } from './coordinator/abstract.js';
import { createDeferred, type Deferred } from './deferred.js';
import { AbortError, describeTask, messageOf } from './errors.js';
import { before, PriorityQueue, type IPrioritized } from './priorityqueue.js';
import type { AnyTask, IInternalTriggerOptions } from './task.js';
import type { IRunControl, TaskRun } from './taskrun.js';

/** Where a run is: waiting in a line, holding slots, or between the tries of a retry. */
type TRunState = 'new' | 'queued' | 'holding' | 'retryWait' | 'requeued' | 'done';

/** The runs waiting behind one gate: a (group, key) without room, a paused task or a paused group. */
interface IWaitLine {
  runs: PriorityQueue<ConstrainedRun>;
  /** Set for a constraint line: the group and key it waits for. */
  group: TaskConstraintGroup<any> | undefined;
  key: string;
  /** Set for a pause line: the paused task or group. */
  gate: AnyTask | TaskConstraintGroup<any> | undefined;
}

/**
 * One trigger on its way through the constraint groups. It doubles as the options the
 * task is triggered with, and as the control through which the task's retries give
 * slots back and take them again.
 */
export class ConstrainedRun implements IPrioritized, IInternalTriggerOptions, IRunControl {
  seq: number;
  heapIndex = -1;
  state: TRunState = 'new';
  /** Set when a `shouldExecute` said no and the function was not called. */
  skipped = false;
  /** The line the run waits in, while it waits. */
  line: IWaitLine | undefined;
  taskRun: TaskRun | undefined;
  holdsSlots = false;
  readonly promise: Promise<unknown>;
  resolve!: (value: unknown) => void;
  reject!: (reason: unknown) => void;
  /** While waiting for slots again after a retry's delay. */
  reacquired: Deferred<void> | undefined;
  onAbort: (() => void) | undefined;
  /** How many of `clusterGroups` (in order) this run holds a cluster slot of. */
  clusterHeld = 0;
  readonly control = this;

  constructor(
    private readonly queue: RunQueue,
    readonly task: AnyTask,
    readonly input: unknown,
    /** The groups whose key for this run is not null, with those keys (parallel arrays). */
    readonly groups: Array<TaskConstraintGroup<any>>,
    readonly keys: string[],
    /** Groups with `scope: 'cluster'` that apply, with their keys: their slots live in the cluster. */
    readonly clusterGroups: Array<TaskConstraintGroup<any>>,
    readonly clusterKeys: string[],
    readonly priority: number,
    readonly signal: AbortSignal | undefined,
    readonly timeoutMs: number | undefined,
    seq: number,
  ) {
    this.seq = seq;
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Withdraws the trigger from a task's own waiting line (buffer, debounce, once). */
  cancelWaiter: ((reason: unknown) => void) | undefined;

  /** @internal */
  attach(run: TaskRun): void {
    this.taskRun = run;
  }

  /** @internal */
  attachWaiter(cancel: (reason: unknown) => void): void {
    this.cancelWaiter = cancel;
  }

  /** @internal */
  releaseForRetry(): void {
    this.queue.releaseForRetry(this);
  }

  /** @internal */
  reacquireForRetry(): Promise<void> {
    return this.queue.reacquireForRetry(this);
  }
}

const noShouldExecute = true as const;

/**
 * Starts runs when every group that applies to them has room, and parks the others.
 *
 * A blocked run waits in the line of the first gate that blocks it, so a release only
 * looks at the line of the key it freed: the cost per trigger does not grow with the
 * number of waiting runs or keys, and a busy key never holds back a free one. Lines are
 * ordered by priority, then trigger order, and a key with room still blocks a run while
 * an earlier run waits for it, so nobody overtakes. Keys blocked only by a cooldown are
 * woken by one timer set to the soonest expiry; paused tasks and groups are gates whose
 * lines are drained when they resume.
 */
export class RunQueue {
  private readonly lines = new Map<TaskConstraintGroup<any>, Map<string, IWaitLine>>();
  private readonly pauseLines = new Map<AnyTask | TaskConstraintGroup<any>, IWaitLine>();
  private readonly pausedTasks = new Set<AnyTask>();
  private readonly pausedGroups = new Set<TaskConstraintGroup<any>>();
  private readonly activeRuns = new Set<ConstrainedRun>();
  private readonly coolingLines = new Set<IWaitLine>();
  private cooldownTimer: ReturnType<typeof setTimeout> | undefined;
  private cooldownTimerAt = 0;
  private keepAlive = true;
  private seq = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    /** The groups registered now; `shouldExecute` of each is asked before every run. */
    private readonly currentGroups: () => ReadonlyArray<TaskConstraintGroup<any>>,
    /** Where the slots of `scope: 'cluster'` groups are taken, and who takes them. */
    private readonly cluster: { slots(): IClusterSlots | undefined; instanceId: string },
  ) {}

  /** Runs started and not yet ended (holding slots, or between retries). */
  get active(): number {
    return this.activeRuns.size;
  }

  /** Runs waiting for a slot or for a paused task or group. */
  get waiting(): number {
    let count = 0;
    for (const byKey of this.lines.values()) for (const line of byKey.values()) count += line.runs.size;
    for (const line of this.pauseLines.values()) count += line.runs.size;
    return count;
  }

  /** Waiting runs per key of `group`, for dashboards. */
  waitingByKey(group: TaskConstraintGroup<any>): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [key, line] of this.lines.get(group) ?? []) counts.set(key, line.runs.size);
    return counts;
  }

  /** Builds a run; each group is asked for its key now, so later group changes do not reinterpret it. */
  createRun(task: AnyTask, input: unknown, options: IInternalTriggerOptions | undefined): ConstrainedRun {
    const groups: Array<TaskConstraintGroup<any>> = [];
    const keys: string[] = [];
    const clusterGroups: Array<TaskConstraintGroup<any>> = [];
    const clusterKeys: string[] = [];
    for (const group of this.currentGroups()) {
      const key = group.getConstraintKey(task, input);
      if (key === null) continue;
      if (group.scope === 'cluster') {
        clusterGroups.push(group);
        clusterKeys.push(key);
      } else {
        groups.push(group);
        keys.push(key);
      }
    }
    const priority = options?.priority ?? task.priority;
    return new ConstrainedRun(
      this, task, input, groups, keys, clusterGroups, clusterKeys, priority, options?.signal, options?.timeoutMs, this.seq++,
    );
  }

  /** Starts the run now if nothing stands in its way, else queues it. Resolves with its outcome. */
  submit(run: ConstrainedRun): Promise<unknown> {
    const signal = run.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        run.state = 'done';
        run.reject(new AbortError(`${describeTask(run.task.name)} was aborted before it started: ${messageOf(signal.reason)}`, signal.reason));
        return run.promise;
      }
      run.onAbort = () => this.onAbort(run);
      signal.addEventListener('abort', run.onAbort, { once: true });
    }
    this.startOrPark(run);
    return run.promise;
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
    const forget = (run: ConstrainedRun) => dropGroup(run, group);
    for (const run of this.activeRuns) if (run.state === 'retryWait') forget(run);
    for (const byKey of this.lines.values()) for (const line of byKey.values()) line.runs.forEach(forget);
    for (const line of this.pauseLines.values()) line.runs.forEach(forget);
    if (this.pausedGroups.delete(group)) this.drainPauseLine(group);
    for (const line of ownLines?.values() ?? []) {
      this.coolingLines.delete(line);
      for (const run of line.runs.drain()) {
        forget(run);
        run.line = undefined;
        this.startOrPark(run);
      }
    }
    this.clearCooldownTimerIfIdle();
  }

  // ---- pause and resume ---------------------------------------------------------------

  isPaused(gate: AnyTask | TaskConstraintGroup<any>): boolean {
    return this.pausedTasks.has(gate as AnyTask) || this.pausedGroups.has(gate as TaskConstraintGroup<any>);
  }

  pauseTask(task: AnyTask): void {
    this.pausedTasks.add(task);
  }

  resumeTask(task: AnyTask): void {
    if (this.pausedTasks.delete(task)) this.drainPauseLine(task);
  }

  pauseGroup(group: TaskConstraintGroup<any>): void {
    this.pausedGroups.add(group);
  }

  resumeGroup(group: TaskConstraintGroup<any>): void {
    if (this.pausedGroups.delete(group)) this.drainPauseLine(group);
  }

  // ---- shutdown ------------------------------------------------------------------------

  /** Rejects every waiting run with `error` (retries waiting for their slots included). */
  rejectWaiting(error: Error): void {
    const lines = [...this.pauseLines.values()];
    for (const byKey of this.lines.values()) lines.push(...byKey.values());
    this.lines.clear();
    this.pauseLines.clear();
    this.coolingLines.clear();
    this.clearCooldownTimerIfIdle();
    for (const line of lines) {
      for (const run of line.runs.drain()) {
        run.line = undefined;
        if (run.state === 'requeued') {
          // The task's retry loop ends the run with this error; its promise settles through it.
          run.state = 'retryWait';
          run.reacquired?.reject(error);
        } else {
          this.end(run);
          run.reject(error);
        }
      }
    }
  }

  /** Aborts every started run: the function is signalled and the trigger rejects at once. */
  abortActive(reason: Error): void {
    for (const run of [...this.activeRuns]) {
      if (run.taskRun !== undefined) {
        run.taskRun.abort(reason);
      } else {
        // Not (yet) a run of the task itself, e.g. waiting inside a buffered task's own
        // line or for its shouldExecute: give its slots back, reject it here, and take it
        // out of the task's line so that it never starts.
        this.finish(run, false);
        run.reject(new AbortError(`${describeTask(run.task.name)} was aborted: ${messageOf(reason)}`, reason));
        run.cancelWaiter?.(reason);
      }
    }
  }

  /** Resolves once no run is started or waiting. */
  whenIdle(): Promise<void> {
    if (this.activeRuns.size === 0 && this.waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Lets the cooldown timer keep the process alive (while the manager runs) or not. */
  setKeepAlive(keepAlive: boolean): void {
    this.keepAlive = keepAlive;
    if (this.cooldownTimer !== undefined) setTimerRef(this.cooldownTimer, keepAlive);
  }

  // ---- retries (called through ConstrainedRun) ---------------------------------------------

  releaseForRetry(run: ConstrainedRun): void {
    if (run.state !== 'holding') return;
    run.state = 'retryWait';
    this.releaseSlots(run, true);
  }

  reacquireForRetry(run: ConstrainedRun): Promise<void> {
    if (run.state !== 'retryWait') return Promise.resolve();
    run.reacquired = createDeferred<void>();
    run.state = 'requeued';
    const reacquired = run.reacquired.promise;
    this.startOrPark(run);
    return reacquired;
  }

  // ---- the core: start or park ---------------------------------------------------------------

  private startOrPark(run: ConstrainedRun): void {
    if (run.state === 'done') return;
    // A retry belongs to a run that started before any pause: only new runs wait at a pause.
    const gate = run.state === 'requeued' ? undefined : this.pauseGateOf(run);
    if (gate !== undefined) return this.parkAtGate(run, gate);
    const blocker = this.firstBlocker(run);
    if (blocker >= 0) return this.park(run, blocker);
    this.takeSlots(run);
    if (run.state === 'requeued') {
      run.state = 'holding';
      return this.withClusterSlots(run, () => {
        run.reacquired!.resolve();
        run.reacquired = undefined;
      });
    }
    this.withClusterSlots(run, () => this.begin(run));
  }

  /**
   * Takes the run's cluster slots (after its local ones), then continues. While it waits
   * the run holds its local slots; a failure or an abort ends the run.
   */
  private withClusterSlots(run: ConstrainedRun, then: () => void): void {
    if (run.clusterHeld === run.clusterGroups.length) return then();
    const slots = this.cluster.slots();
    if (slots === undefined) {
      this.finish(run, false);
      return run.reject(new Error(`${describeTask(run.task.name)}: a constraint group has scope 'cluster' but the manager's coordinator offers no cluster slots`));
    }
    const index = run.clusterHeld;
    const group = run.clusterGroups[index]!;
    const key = run.clusterKeys[index]!;
    slots.acquire(clusterSlotOf(group, key), this.holderOf(run), run.signal, run.timeoutMs).then(
      () => {
        if (run.state !== 'holding') {
          // The run ended (aborted, drained) while the cluster answered: give the slot straight back.
          slots.release(clusterSlotOf(group, key), this.holderOf(run), false);
          return;
        }
        group.acquireSlot(key); // mirrored locally, so this instance's share shows in its states
        run.clusterHeld++;
        this.withClusterSlots(run, then);
      },
      (error: unknown) => {
        if (run.state !== 'holding') return;
        if (run.reacquired !== undefined) {
          run.state = 'retryWait';
          this.releaseSlots(run, false);
          return run.reacquired.reject(error);
        }
        this.finish(run, false);
        run.reject(error);
      },
    );
  }

  private holderOf(run: ConstrainedRun): string {
    return `${this.cluster.instanceId}:${run.seq}`;
  }

  private pauseGateOf(run: ConstrainedRun): AnyTask | TaskConstraintGroup<any> | undefined {
    if (this.pausedTasks.size > 0 && this.pausedTasks.has(run.task)) return run.task;
    if (this.pausedGroups.size > 0) {
      for (const group of run.groups) if (this.pausedGroups.has(group)) return group;
      for (const group of run.clusterGroups) if (this.pausedGroups.has(group)) return group;
    }
    return undefined;
  }

  /**
   * Index of the first key that cannot take this run now, or -1. A key with room still
   * blocks a run while an earlier (or more urgent) run waits for it.
   */
  private firstBlocker(run: ConstrainedRun): number {
    for (let i = 0; i < run.groups.length; i++) {
      const group = run.groups[i]!;
      const key = run.keys[i]!;
      if (!group.canRun(key)) return i;
      const head = this.lines.get(group)?.get(key)?.runs.peek();
      if (head !== undefined && before(head, run)) return i;
    }
    return -1;
  }

  private takeSlots(run: ConstrainedRun): void {
    for (let i = 0; i < run.groups.length; i++) run.groups[i]!.acquireSlot(run.keys[i]!);
    run.holdsSlots = true;
    if (run.state !== 'requeued') {
      run.state = 'holding';
      this.activeRuns.add(run);
    }
  }

  /** With slots taken: ask every shouldExecute, then trigger the task. */
  private begin(run: ConstrainedRun): void {
    const allowed = this.allowedByShouldExecute(run);
    if (allowed === noShouldExecute) return this.launch(run);
    allowed.then(
      (ok) => {
        if (run.state !== 'holding' || run.taskRun !== undefined) return;
        if (ok) return this.launch(run);
        run.skipped = true;
        this.finish(run, false);
        run.resolve(undefined);
      },
      (error: unknown) => {
        if (run.state !== 'holding') return;
        this.finish(run, false);
        run.reject(error);
      },
    );
  }

  private launch(run: ConstrainedRun): void {
    let outcome: Promise<unknown>;
    try {
      outcome = run.task.trigger(run.input, run);
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then(
      (result) => {
        if (run.state === 'done') return;
        this.finish(run, true);
        run.resolve(result);
      },
      (error: unknown) => {
        if (run.state === 'done') return;
        this.finish(run, true);
        run.reject(error);
      },
    );
  }

  /** Every registered group's `shouldExecute` must agree, also groups whose key is null. */
  private allowedByShouldExecute(run: ConstrainedRun): typeof noShouldExecute | Promise<boolean> {
    const groups = this.currentGroups();
    let needsCheck = false;
    for (const group of groups) if (group.hasShouldExecute) needsCheck = true;
    if (!needsCheck) return noShouldExecute;
    return (async () => {
      for (const group of groups) {
        if (group.hasShouldExecute && !(await group.checkShouldExecute(run.task, run.input))) return false;
      }
      return true;
    })();
  }

  /** The run is over: give back what it holds and let others in. */
  private finish(run: ConstrainedRun, ran: boolean): void {
    if (run.state === 'done') return;
    this.releaseSlots(run, ran);
    this.end(run);
  }

  private end(run: ConstrainedRun): void {
    if (run.line !== undefined) this.leaveLine(run);
    run.state = 'done';
    if (run.onAbort !== undefined) run.signal!.removeEventListener('abort', run.onAbort);
    if (this.activeRuns.delete(run) || this.idleWaiters.length > 0) this.notifyIfIdle();
  }

  private releaseSlots(run: ConstrainedRun, ran: boolean): void {
    this.releaseClusterSlots(run, ran);
    if (!run.holdsSlots) return;
    run.holdsSlots = false;
    for (let i = 0; i < run.groups.length; i++) run.groups[i]!.release(run.keys[i]!, ran);
    for (let i = 0; i < run.groups.length; i++) this.wake(run.groups[i]!, run.keys[i]!);
  }

  private releaseClusterSlots(run: ConstrainedRun, ran: boolean): void {
    if (run.clusterHeld === 0) return;
    const slots = this.cluster.slots();
    for (let i = 0; i < run.clusterHeld; i++) {
      const group = run.clusterGroups[i]!;
      const key = run.clusterKeys[i]!;
      group.release(key, ran);
      slots?.release(clusterSlotOf(group, key), this.holderOf(run), ran);
    }
    run.clusterHeld = 0;
  }

  private onAbort(run: ConstrainedRun): void {
    const reason = run.signal!.reason;
    switch (run.state) {
      case 'queued':
        this.leaveLine(run);
        this.end(run);
        run.reject(new AbortError(`${describeTask(run.task.name)} was aborted while it waited: ${messageOf(reason)}`, reason));
        return;
      case 'requeued':
        // The task's own listener ends the run; this only takes it out of the line.
        this.leaveLine(run);
        run.state = 'retryWait';
        return;
      case 'holding':
        if (run.taskRun !== undefined) return; // the task rejects at once and finish() follows
        this.finish(run, false);
        run.reject(new AbortError(`${describeTask(run.task.name)} was aborted: ${messageOf(reason)}`, reason));
        return;
      default:
        return;
    }
  }

  // ---- lines ----------------------------------------------------------------------------

  private park(run: ConstrainedRun, blocker: number): void {
    const group = run.groups[blocker]!;
    const key = run.keys[blocker]!;
    let byKey = this.lines.get(group);
    if (byKey === undefined) this.lines.set(group, (byKey = new Map()));
    let line = byKey.get(key);
    if (line === undefined) byKey.set(key, (line = { runs: new PriorityQueue(), group, key, gate: undefined }));
    this.enterLine(run, line);
    // The key may have room already (a cooldown just passed, or only an earlier waiter
    // blocked this run): draining keeps the line's order and starts whoever is first.
    if (group.canRun(key)) this.drainLine(line);
    else this.watchCooldown(line);
  }

  private parkAtGate(run: ConstrainedRun, gate: AnyTask | TaskConstraintGroup<any>): void {
    let line = this.pauseLines.get(gate);
    if (line === undefined) this.pauseLines.set(gate, (line = { runs: new PriorityQueue(), group: undefined, key: '', gate }));
    this.enterLine(run, line);
  }

  private enterLine(run: ConstrainedRun, line: IWaitLine): void {
    if (run.state !== 'requeued') run.state = 'queued';
    run.line = line;
    line.runs.push(run);
  }

  private leaveLine(run: ConstrainedRun): void {
    const line = run.line;
    if (line === undefined) return;
    run.line = undefined;
    line.runs.remove(run);
    if (line.runs.size > 0) return;
    if (line.gate !== undefined) this.pauseLines.delete(line.gate);
    else this.removeLine(line);
    this.notifyIfIdle();
  }

  private drainLine(line: IWaitLine): void {
    const { group, key, runs } = line;
    while (runs.size > 0 && group!.canRun(key)) this.placeWoken(runs.pop()!);
    if (runs.size === 0) this.removeLine(line);
    else this.watchCooldown(line);
  }

  private drainPauseLine(gate: AnyTask | TaskConstraintGroup<any>): void {
    const line = this.pauseLines.get(gate);
    if (line === undefined) return;
    this.pauseLines.delete(gate);
    while (line.runs.size > 0) this.placeWoken(line.runs.pop()!);
  }

  private placeWoken(run: ConstrainedRun): void {
    run.line = undefined;
    this.startOrPark(run);
  }

  private removeLine(line: IWaitLine): void {
    this.coolingLines.delete(line);
    this.clearCooldownTimerIfIdle();
    const byKey = this.lines.get(line.group!);
    if (byKey?.get(line.key) !== line) return;
    byKey.delete(line.key);
    if (byKey.size === 0) this.lines.delete(line.group!);
  }

  private notifyIfIdle(): void {
    if (this.idleWaiters.length === 0 || this.activeRuns.size > 0 || this.waiting > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // ---- cooldowns ---------------------------------------------------------------------------

  /** Lines blocked only by a cooldown (slots are free) need a timer; full lines wait for a release. */
  private watchCooldown(line: IWaitLine): void {
    const group = line.group!;
    const remaining = group.getCooldownRemaining(line.key);
    if (remaining === 0 || group.getRunningCount(line.key) >= group.maxConcurrent) {
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
function dropGroup(run: ConstrainedRun, group: TaskConstraintGroup<any>): void {
  const index = run.groups.indexOf(group);
  if (index >= 0) {
    run.groups.splice(index, 1);
    run.keys.splice(index, 1);
  }
  const clusterIndex = run.clusterGroups.indexOf(group);
  if (clusterIndex >= run.clusterHeld) {
    run.clusterGroups.splice(clusterIndex, 1);
    run.clusterKeys.splice(clusterIndex, 1);
  }
}

function clusterSlotOf(group: TaskConstraintGroup<any>, key: string): IClusterSlot {
  return { groupName: group.name, key, maxConcurrent: group.maxConcurrent, cooldownMs: group.cooldownMs };
}

/** Node timers can be unref'd so they do not keep the process alive; browsers have no such thing. */
function setTimerRef(timer: ReturnType<typeof setTimeout>, keepAlive: boolean): void {
  const handle = timer as unknown as { ref?: () => void; unref?: () => void };
  if (keepAlive) handle.ref?.();
  else handle.unref?.();
}
