import type { IClusterSlot, IClusterSlots } from '../coordinator/abstract.js';
import { clearTimer, setTimer, setTimerRef, timeNow, type TTimer, withdrawTime } from '../internal/clock.js';
import { createDeferred, type Deferred } from '../internal/deferred.js';
import { AbortError, describeTask, messageOf } from '../errors.js';
import type { AnyTask, IInternalTriggerOptions } from '../task/task.js';
import { SingleTryRun, type IAbortableRun, type IRunControl, type IRunHost } from '../task/taskrun.js';
import { WaitLine } from './waitline.js';
import type { IKeyState } from './constraintgroup.js';
import {
  ConstrainedRun, DONE, HOLDING, isOver, keyAt, NO_GROUPS, NO_KEYS, QUEUED, REQUEUED, RETRY_WAIT, SKIPPED,
  type AnyGroup, type IRunExtras,
} from './constrainedrun.js';

/**
 * A run from the moment it takes its slots until it ends: the control through which the
 * task's run reports its outcome and gives slots back (and takes them again) for retries,
 * and what a draining stop aborts. A run of one plain try (most runs) is run by the
 * ActiveRun itself, as a SingleTryRun, so that it costs one object and not two.
 */
export class ActiveRun extends SingleTryRun implements IRunControl {
  /** The task's run, once it started (for aborting it): this ActiveRun for a single try. */
  taskRun: IAbortableRun | undefined = undefined;
  /** Withdraws the trigger from a task's own waiting line (buffer, debounce, once). */
  cancelWaiter: ((reason: unknown) => void) | undefined = undefined;
  /** While a retry waits for its slots again. */
  reacquired: Deferred<void> | undefined = undefined;

  constructor(
    private readonly queue: RunQueue,
    readonly run: ConstrainedRun,
  ) {
    super();
  }

  runSingleTry(host: IRunHost, input: unknown): void {
    this.taskRun = this;
    this.startSingleTry(host, input);
  }

  protected reportTry(ok: boolean, value: unknown): void {
    this.queue.settled(this.run, ok, value);
  }

  attach(taskRun: IAbortableRun): void {
    this.taskRun = taskRun;
  }

  attachWaiter(cancel: (reason: unknown) => void): void {
    this.cancelWaiter = cancel;
  }

  releaseForRetry(): void {
    this.queue.releaseForRetry(this.run);
  }

  reacquireForRetry(): Promise<void> {
    return this.queue.reacquireForRetry(this.run);
  }

  settled(ok: boolean, value: unknown): void {
    this.queue.settled(this.run, ok, value);
  }

  /** Keeps the hidden class of active runs alive; see ConstrainedRun's. */
  private static readonly keptForItsClass = new ActiveRun(undefined as unknown as RunQueue, undefined as unknown as ConstrainedRun);
}

function noop(): void {}

function newExtras(signal: AbortSignal | undefined, timeoutMs: number | undefined, priority: number | undefined): IRunExtras {
  return {
    signal,
    timeoutMs,
    priority,
    onAbort: undefined,
    clusterGroups: NO_GROUPS,
    clusterKeys: NO_KEYS,
    clusterHeld: 0,
  };
}

/**
 * Rejects the trigger through its one settle function: resolving with a rejected promise
 * rejects it too (two microtasks later than a reject function would). Only for a trigger
 * not settled yet: a settled one would leave that rejected promise unhandled.
 */
function rejectRun(run: ConstrainedRun, error: unknown): void {
  run.resolve(Promise.reject(error));
}

/** The resolve function of the promise being made; a shared executor saves a closure per trigger. */
let capturedResolve: (value: unknown) => void = noop;
function captureResolve(resolve: (value: unknown) => void): void {
  capturedResolve = resolve;
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
  private readonly lines = new Map<AnyGroup, Map<string, WaitLine>>();
  private readonly pauseLines = new Map<AnyTask | AnyGroup, WaitLine>();
  private readonly pausedTasks = new Set<AnyTask>();
  private readonly pausedGroups = new Set<AnyGroup>();
  /**
   * The active runs in the order they started. A run that ends is not taken out (that
   * would cost a search or a hash per run): the list skips ended runs and drops them once
   * they outnumber the active ones. It holds the runs, not their ActiveRuns: the list is
   * old and ActiveRuns are young, and the young collector would keep every ActiveRun an
   * old object points to, ended or not (see `end`).
   */
  private activeList: ConstrainedRun[] = [];
  private activeCount = 0;
  private readonly coolingLines = new Set<WaitLine>();
  private cooldownTimer: TTimer | undefined;
  private cooldownTimerAt = 0;
  private keepAlive = true;
  private seq = 0;
  private idleWaiters: Array<() => void> = [];
  private shouldExecuteAskedOf: ReadonlyArray<AnyGroup> | undefined;
  private shouldExecuteFound = false;

  constructor(
    /**
     * The groups registered now; `shouldExecute` of each is asked before every run. The
     * array is replaced when groups change, never changed in place, so runs share it.
     */
    private readonly currentGroups: () => ReadonlyArray<AnyGroup>,
    /** Where the slots of `scope: 'cluster'` groups are taken, and who takes them. */
    private readonly cluster: { slots(): IClusterSlots | undefined; instanceId: string },
  ) {}

  /** Runs started and not yet ended (holding slots, or between retries). */
  get active(): number {
    return this.activeCount;
  }

  /** Runs waiting for a slot or for a paused task or group. */
  get waiting(): number {
    let count = 0;
    for (const byKey of this.lines.values()) for (const line of byKey.values()) count += line.waitingCount;
    for (const line of this.pauseLines.values()) count += line.waitingCount;
    return count;
  }

  /** Waiting runs per key of `group`, for dashboards. */
  waitingByKey(group: AnyGroup): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [key, line] of this.lines.get(group) ?? []) counts.set(key, line.waitingCount);
    return counts;
  }

  /**
   * Triggers `task` through the groups (the manager's `triggerTask`). Resolves with the
   * outcome, or `undefined` when a `shouldExecute` said no.
   *
   * A plain trigger (no options, one local group) that has to wait waits as a plain waiter
   * of its line, without a run object (see WaitLine); everything else goes through
   * `createRun` and `submit`.
   */
  trigger(task: AnyTask, input: unknown, options: IInternalTriggerOptions | undefined): Promise<unknown> {
    const all = this.currentGroups();
    if (all.length !== 1 || all[0]!.scope !== 'local' || hasRunOptions(options) || this.anyPaused()) {
      return this.submit(this.createRun(task, input, options));
    }
    const group = all[0]!;
    const key = group.getConstraintKey(task, input);
    if (key !== null) {
      const line = this.lines.get(group)?.get(key);
      if (line !== undefined ? line.takesPlain(task) : !group.canRun(key)) return this.waitPlain(task, input, group, key, line);
    }
    return this.submit(this.soleGroupRun(task, input, all, key, undefined));
  }

  /** Builds a run; each group is asked for its key now, so later group changes do not reinterpret it. */
  createRun(task: AnyTask, input: unknown, options: IInternalTriggerOptions | undefined): ConstrainedRun {
    const all = this.currentGroups();
    let extras: IRunExtras | undefined;
    if (hasRunOptions(options)) extras = newExtras(options.signal, options.timeoutMs, options.priority);
    if (all.length === 1 && all[0]!.scope === 'local') return this.soleGroupRun(task, input, all, all[0]!.getConstraintKey(task, input), extras);
    const keys = all.map((group) => group.getConstraintKey(task, input));
    const cluster = countWhere(all, keys, isClusterGroup);
    if (cluster > 0) {
      extras ??= newExtras(undefined, undefined, undefined);
      [extras.clusterGroups, extras.clusterKeys] = pick(all, keys, cluster, isClusterGroup);
    }
    const local = countWhere(all, keys, isLocalGroup);
    // When every group applies, the run shares the manager's array of them.
    const [groups, localKeys] = local === all.length ? [all, keys as string[]] : pick(all, keys, local, isLocalGroup);
    return new ConstrainedRun(task, input, groups, local === 1 ? localKeys[0]! : localKeys, this.seq++, extras);
  }

  /** Starts the run now if nothing stands in its way, else queues it. Resolves with its outcome. */
  submit(run: ConstrainedRun): Promise<unknown> {
    const signal = run.extras?.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        run.state = DONE;
        return Promise.reject(new AbortError(`${describeTask(run.task.name)} was aborted before it started: ${messageOf(signal.reason)}`, signal.reason));
      }
      this.listenForAbort(run, signal);
    }
    const promise = new Promise(captureResolve);
    run.resolve = capturedResolve;
    this.startOrPark(run);
    return promise;
  }

  /** Apart from `submit`, so that a trigger without a signal makes no context for this closure (see launchIfAllowed). */
  private listenForAbort(run: ConstrainedRun, signal: AbortSignal): void {
    const onAbort = (): void => this.onAbort(run);
    run.extras!.onAbort = onAbort;
    signal.addEventListener('abort', onAbort, { once: true });
  }

  /** A run under the one local group `all` holds, the common setup: no array of keys to build; a null key exempts it. */
  private soleGroupRun(task: AnyTask, input: unknown, all: ReadonlyArray<AnyGroup>, key: string | null, extras: IRunExtras | undefined): ConstrainedRun {
    return key === null
      ? new ConstrainedRun(task, input, NO_GROUPS, NO_KEYS, this.seq++, extras)
      : new ConstrainedRun(task, input, all, key, this.seq++, extras);
  }

  /** Queues a plain trigger in the line of `key`, made if there is none yet. */
  private waitPlain(task: AnyTask, input: unknown, group: AnyGroup, key: string, existing: WaitLine | undefined): Promise<unknown> {
    const line = existing ?? this.lineOf(group, key);
    const promise = new Promise(captureResolve);
    line.addPlain(task, input, capturedResolve, this.seq++);
    this.drainOrWatch(line);
    return promise;
  }

  /** Wakes the waiting line of `key` (all lines of `group` when `key` is undefined). */
  wake(group: AnyGroup, key: string | undefined): void {
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
  forgetGroup(group: AnyGroup): void {
    const ownLines = this.lines.get(group);
    this.lines.delete(group);
    const forget = (run: ConstrainedRun) => dropGroup(run, group);
    for (const run of this.activeRuns()) if (run.state === RETRY_WAIT) forget(run);
    // forEach visits run objects only: a plain waiter counts just its line's group, and the lines of `group` are drained below.
    for (const byKey of this.lines.values()) for (const line of byKey.values()) line.forEach(forget);
    for (const line of this.pauseLines.values()) line.forEach(forget);
    if (this.pausedGroups.delete(group)) this.drainPauseLine(group);
    for (const line of ownLines?.values() ?? []) {
      this.coolingLines.delete(line);
      for (const run of line.takeAll()) {
        forget(run);
        run.line = undefined;
        this.startOrPark(run);
      }
    }
    this.clearCooldownTimerIfIdle();
  }

  // ---- pause and resume ---------------------------------------------------------------

  isPaused(gate: AnyTask | AnyGroup): boolean {
    return this.pausedTasks.has(gate as AnyTask) || this.pausedGroups.has(gate as AnyGroup);
  }

  pauseTask(task: AnyTask): void {
    this.pausedTasks.add(task);
  }

  resumeTask(task: AnyTask): void {
    if (this.pausedTasks.delete(task)) this.drainPauseLine(task);
  }

  pauseGroup(group: AnyGroup): void {
    this.pausedGroups.add(group);
  }

  resumeGroup(group: AnyGroup): void {
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
      for (const run of line.takeAll()) {
        run.line = undefined;
        if (run.state === REQUEUED) {
          // The task's retry loop ends the run with this error; its promise settles through it.
          run.state = RETRY_WAIT;
          run.active!.reacquired?.reject(error);
        } else {
          this.end(run, DONE);
          rejectRun(run, error);
        }
      }
    }
  }

  /** Aborts every started run: the function is signalled and the trigger rejects at once. */
  abortActive(reason: Error): void {
    for (const run of this.activeRuns()) {
      if (isOver(run)) continue; // ended meanwhile, by the abort of another
      const active = run.active!; // taken before `finish` below lets go of it
      if (active.taskRun !== undefined) {
        active.taskRun.abort(reason);
      } else {
        // Not (yet) a run of the task itself, e.g. waiting inside a buffered task's own
        // line or for its shouldExecute: give its slots back, reject it here, and take it
        // out of the task's line so that it never starts.
        this.finish(run, false, DONE);
        rejectRun(run, new AbortError(`${describeTask(run.task.name)} was aborted: ${messageOf(reason)}`, reason));
        active.cancelWaiter?.(reason);
      }
    }
  }

  /** Resolves once no run is started or waiting. */
  whenIdle(): Promise<void> {
    if (this.activeCount === 0 && this.waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Lets the cooldown timer keep the process alive (while the manager runs) or not. */
  setKeepAlive(keepAlive: boolean): void {
    this.keepAlive = keepAlive;
    if (this.cooldownTimer !== undefined) setTimerRef(this.cooldownTimer, keepAlive);
  }

  // ---- called through ActiveRun (the task's run controls its slots through it) ---------------

  releaseForRetry(run: ConstrainedRun): void {
    if (run.state !== HOLDING) return;
    this.giveBackSlots(run, true);
    run.state = RETRY_WAIT;
    this.wakeKeysOf(run);
  }

  reacquireForRetry(run: ConstrainedRun): Promise<void> {
    if (run.state !== RETRY_WAIT) return Promise.resolve();
    const reacquired = createDeferred<void>();
    run.active!.reacquired = reacquired;
    run.state = REQUEUED;
    this.startOrPark(run);
    return reacquired.promise;
  }

  /** The task's run ended: settle the trigger with its outcome. */
  settled(run: ConstrainedRun, ok: boolean, value: unknown): void {
    if (isOver(run)) return;
    this.finish(run, true, DONE);
    if (ok) run.resolve(value);
    else rejectRun(run, value);
  }

  // ---- the core: start or park ---------------------------------------------------------------

  /**
   * `checked` is a group whose line the run just left as its head while the key had room
   * (see drainLine): there is no need to ask that group again.
   */
  private startOrPark(run: ConstrainedRun, checked?: AnyGroup): void {
    if (isOver(run)) return;
    const requeued = run.state === REQUEUED;
    // A retry belongs to a run that started before any pause: only new runs wait at a pause.
    const gate = requeued ? undefined : this.pauseGateOf(run);
    if (gate !== undefined) return this.parkAtGate(run, gate);
    const blocker = this.firstBlocker(run, checked);
    if (blocker >= 0) return this.park(run, blocker);
    this.takeSlots(run, requeued);
    const extras = run.extras;
    if (extras !== undefined && extras.clusterHeld < extras.clusterGroups.length) return this.takeClusterSlots(run, requeued);
    this.proceed(run, requeued);
  }

  /** With every slot held: a retry goes on with its next try, a new run begins. */
  private proceed(run: ConstrainedRun, requeued: boolean): void {
    if (!requeued) return this.begin(run);
    const active = run.active!;
    const reacquired = active.reacquired!;
    active.reacquired = undefined;
    reacquired.resolve();
  }

  /**
   * Takes the run's cluster slots (after its local ones) one by one, then proceeds. While
   * it waits the run holds its local slots; a failure or an abort ends the run.
   */
  private takeClusterSlots(run: ConstrainedRun, requeued: boolean): void {
    const extras = run.extras!;
    if (extras.clusterHeld === extras.clusterGroups.length) return this.proceed(run, requeued);
    const slots = this.cluster.slots();
    if (slots === undefined) {
      this.finish(run, false, DONE);
      return rejectRun(run, new Error(`${describeTask(run.task.name)}: a constraint group has scope 'cluster' but the manager's coordinator offers no cluster slots`));
    }
    const group = extras.clusterGroups[extras.clusterHeld]!;
    const key = extras.clusterKeys[extras.clusterHeld]!;
    slots.acquire(clusterSlotOf(group, key), this.holderOf(run), extras.signal, extras.timeoutMs).then(
      () => {
        if (run.state !== HOLDING) {
          // The run ended (aborted, drained) while the cluster answered: give the slot straight back.
          slots.release(clusterSlotOf(group, key), this.holderOf(run), false);
          return;
        }
        group.takeSlot(key); // mirrored locally, so this instance's share shows in its states
        extras.clusterHeld++;
        this.takeClusterSlots(run, requeued);
      },
      (error: unknown) => {
        if (run.state !== HOLDING) return;
        const reacquired = run.active!.reacquired;
        if (reacquired !== undefined) {
          this.giveBackSlots(run, false);
          run.state = RETRY_WAIT;
          this.wakeKeysOf(run);
          return reacquired.reject(error);
        }
        this.finish(run, false, DONE);
        rejectRun(run, error);
      },
    );
  }

  private holderOf(run: ConstrainedRun): string {
    return `${this.cluster.instanceId}:${run.seq}`;
  }

  private anyPaused(): boolean {
    return this.pausedTasks.size > 0 || this.pausedGroups.size > 0;
  }

  private pauseGateOf(run: ConstrainedRun): AnyTask | AnyGroup | undefined {
    if (this.pausedTasks.size > 0 && this.pausedTasks.has(run.task)) return run.task;
    if (this.pausedGroups.size > 0) {
      for (const group of run.groups) if (this.pausedGroups.has(group)) return group;
      for (const group of run.extras?.clusterGroups ?? NO_GROUPS) if (this.pausedGroups.has(group)) return group;
    }
    return undefined;
  }

  /**
   * Index of the first key that cannot take this run now, or -1. A key with room still
   * blocks a run while an earlier (or more urgent) run waits for it.
   */
  private firstBlocker(run: ConstrainedRun, checked: AnyGroup | undefined): number {
    const { groups, keys } = run;
    for (let i = 0; i < groups.length; i++) {
      const group = groups[i]!;
      if (group === checked) continue;
      const key = keyAt(keys, i);
      if (!group.canRun(key)) return i;
      if (this.lines.get(group)?.get(key)?.headGoesBefore(run) === true) return i;
    }
    return -1;
  }

  private takeSlots(run: ConstrainedRun, requeued: boolean): void {
    const { groups, keys } = run;
    let keyState: IKeyState | undefined;
    for (let i = 0; i < groups.length; i++) keyState = groups[i]!.takeSlot(keyAt(keys, i));
    // Only a run of one group hands its slot over (see lineToHandOverTo), so only it keeps the state.
    run.keyState = groups.length === 1 ? keyState : undefined;
    run.state = HOLDING;
    if (!requeued) this.activate(run);
  }

  /** With slots taken: ask every shouldExecute, then start the task. */
  private begin(run: ConstrainedRun): void {
    const allowed = this.allowedByShouldExecute(run);
    if (allowed === noShouldExecute) return this.launch(run);
    this.launchIfAllowed(run, allowed);
  }

  // Apart from `begin`: a function with closures gets a context for what they capture at
  // every call, made or not, and `begin` runs for every run.
  private launchIfAllowed(run: ConstrainedRun, allowed: Promise<boolean>): void {
    allowed.then(
      (ok) => {
        if (run.state !== HOLDING || run.active!.taskRun !== undefined) return;
        if (ok) return this.launch(run);
        this.finish(run, false, SKIPPED);
        run.resolve(undefined);
      },
      (error: unknown) => {
        if (run.state !== HOLDING) return;
        this.finish(run, false, DONE);
        rejectRun(run, error);
      },
    );
  }

  /**
   * Starts the task. A plain task's run reports straight back (`settled`); a task with a
   * trigger of its own (buffered, debounced, once) is triggered like any caller would.
   */
  private launch(run: ConstrainedRun): void {
    const { task, extras } = run;
    try {
      if (typeof task.startReportingRun === 'function' && task.startReportingRun(run.input, extras?.signal, extras?.timeoutMs, run.active!)) return;
    } catch (error) {
      return this.settled(run, false, error);
    }
    this.launchThroughTrigger(run);
  }

  private launchThroughTrigger(run: ConstrainedRun): void {
    const extras = run.extras;
    const options: IInternalTriggerOptions = {
      signal: extras?.signal,
      timeoutMs: extras?.timeoutMs,
      priority: run.priority,
      control: run.active,
    };
    let outcome: Promise<unknown>;
    try {
      outcome = run.task.trigger(run.input, options);
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then(
      (result) => this.settled(run, true, result),
      (error: unknown) => this.settled(run, false, error),
    );
  }

  /** Every registered group's `shouldExecute` must agree, also groups whose key is null. */
  private allowedByShouldExecute(run: ConstrainedRun): typeof noShouldExecute | Promise<boolean> {
    const groups = this.currentGroups();
    if (!this.anyShouldExecute(groups)) return noShouldExecute;
    // The first check runs now, and it is user code: a clock reading handed on by the run
    // that just ended (see clock.ts) must not outlive it.
    withdrawTime();
    return (async () => {
      for (const group of groups) {
        if (group.hasShouldExecute && !(await group.checkShouldExecute(run.task, run.input))) return false;
      }
      return true;
    })();
  }

  /** Whether a group of `groups` has a `shouldExecute`; remembered per array, which is replaced on every change. */
  private anyShouldExecute(groups: ReadonlyArray<AnyGroup>): boolean {
    if (groups !== this.shouldExecuteAskedOf) {
      this.shouldExecuteAskedOf = groups;
      this.shouldExecuteFound = groups.some((group) => group.hasShouldExecute);
    }
    return this.shouldExecuteFound;
  }

  /** The run is over: give back what it holds and let others in. */
  private finish(run: ConstrainedRun, ran: boolean, endState: typeof DONE | typeof SKIPPED): void {
    if (isOver(run)) return;
    const held = run.state === HOLDING;
    const heirLine = held ? this.lineToHandOverTo(run) : undefined;
    if (heirLine === undefined) this.giveBackSlots(run, ran);
    this.end(run, endState);
    if (heirLine !== undefined) this.startHeir(heirLine, run.keyState!);
    else if (held) this.wakeKeysOf(run);
  }

  /**
   * The line whose first waiter takes the ending run's slot as it is, where that is
   * exactly what giving the slot back and draining the line would do: the run's only
   * group is local and has no cooldown (a release would start one), nothing is paused,
   * the first waiter is a plain one (its only group is the same), and the key has room
   * once the slot is given back. It saves the release, the checks and the lookups of the
   * key that a drain makes, on the path every queued run of a busy mutex takes.
   */
  private lineToHandOverTo(run: ConstrainedRun): WaitLine | undefined {
    const keyState = run.keyState;
    if (keyState === undefined || run.extras !== undefined || run.groups.length !== 1 || this.anyPaused()) return undefined;
    const group = run.groups[0]!;
    if (group.cooldownMs !== 0 || !group.wouldHaveRoomAfterRelease(keyState)) return undefined;
    const line = this.waitingLineOf(run, group, keyAt(run.keys, 0));
    return line !== undefined && line.startsWithPlainWaiter() ? line : undefined;
  }

  /** The line of `key` in `group` if it has waiters: found through the run when it came from there. */
  private waitingLineOf(run: ConstrainedRun, group: AnyGroup, key: string): WaitLine | undefined {
    const from = run.cameFrom;
    if (from !== undefined && from.waitingCount > 0 && from.group === group && from.key === key) return from;
    return this.lines.get(group)?.get(key);
  }

  /** Starts the first waiter of `line` in the slot the run that just ended held. */
  private startHeir(line: WaitLine, keyState: IKeyState): void {
    const heir = line.take()!;
    if (line.waitingCount === 0) this.removeLine(line);
    heir.cameFrom = line;
    heir.keyState = keyState;
    heir.state = HOLDING;
    this.activate(heir);
    this.begin(heir);
  }

  private end(run: ConstrainedRun, endState: typeof DONE | typeof SKIPPED): void {
    if (run.line !== undefined) this.leaveLine(run);
    run.state = endState;
    const extras = run.extras;
    if (extras?.onAbort !== undefined) extras.signal!.removeEventListener('abort', extras.onAbort);
    if (run.active !== undefined) {
      this.deactivate();
      // The run is old by now (it waited), its ActiveRun young: the collector of young
      // objects counts every reference from old to young as live, so keeping this one
      // would carry the ended run's ActiveRun and task run through collection after
      // collection, until the next full one.
      run.active = undefined;
    }
    if (this.idleWaiters.length > 0) this.notifyIfIdle();
  }

  // ---- the list of active runs ------------------------------------------------------------

  private activate(run: ConstrainedRun): void {
    const active = new ActiveRun(this, run);
    run.active = active;
    this.activeList.push(run);
    this.activeCount++;
  }

  /** Called once per active run, as it ends (its state is over already). */
  private deactivate(): void {
    this.activeCount--;
    const ended = this.activeList.length - this.activeCount;
    if (ended > this.activeCount + 64) this.dropEndedRuns();
  }

  /** Keeps the active runs in the list, in order, and drops the ended ones. */
  private dropEndedRuns(): void {
    const list = this.activeList;
    let kept = 0;
    for (let i = 0; i < list.length; i++) {
      const run = list[i]!;
      if (!isOver(run)) list[kept++] = run;
    }
    list.length = kept;
  }

  /** The runs active now, as a new array (aborting one changes the list). */
  private activeRuns(): ConstrainedRun[] {
    return this.activeList.filter((run) => !isOver(run));
  }

  /**
   * Gives back the run's cluster slots, and its local ones while it holds them (state
   * HOLDING). Callers change the state and then wake the keys: a woken run then sees this
   * one as gone.
   */
  private giveBackSlots(run: ConstrainedRun, ran: boolean): void {
    const extras = run.extras;
    if (extras !== undefined && extras.clusterHeld > 0) this.releaseClusterSlots(run, extras, ran);
    if (run.state !== HOLDING) return;
    const { groups, keys } = run;
    for (let i = 0; i < groups.length; i++) groups[i]!.release(keyAt(keys, i), ran);
  }

  private wakeKeysOf(run: ConstrainedRun): void {
    const { groups, keys } = run;
    for (let i = 0; i < groups.length; i++) this.wake(groups[i]!, keyAt(keys, i));
  }

  private releaseClusterSlots(run: ConstrainedRun, extras: IRunExtras, ran: boolean): void {
    const slots = this.cluster.slots();
    for (let i = 0; i < extras.clusterHeld; i++) {
      const group = extras.clusterGroups[i]!;
      const key = extras.clusterKeys[i]!;
      group.release(key, ran);
      slots?.release(clusterSlotOf(group, key), this.holderOf(run), ran);
    }
    extras.clusterHeld = 0;
  }

  private onAbort(run: ConstrainedRun): void {
    const reason = run.extras!.signal!.reason;
    switch (run.state) {
      case QUEUED:
        this.leaveLine(run);
        this.end(run, DONE);
        rejectRun(run, new AbortError(`${describeTask(run.task.name)} was aborted while it waited: ${messageOf(reason)}`, reason));
        return;
      case REQUEUED:
        // The task's own listener ends the run; this only takes it out of the line.
        this.leaveLine(run);
        run.state = RETRY_WAIT;
        return;
      case HOLDING:
        if (run.active?.taskRun !== undefined) return; // the task's run rejects at once and settles through `settled`
        this.finish(run, false, DONE);
        rejectRun(run, new AbortError(`${describeTask(run.task.name)} was aborted: ${messageOf(reason)}`, reason));
        return;
      default:
        return;
    }
  }

  // ---- lines ----------------------------------------------------------------------------

  private park(run: ConstrainedRun, blocker: number): void {
    const line = this.lineOf(run.groups[blocker]!, keyAt(run.keys, blocker));
    this.enterLine(run, line);
    this.drainOrWatch(line);
  }

  private lineOf(group: AnyGroup, key: string): WaitLine {
    let byKey = this.lines.get(group);
    if (byKey === undefined) this.lines.set(group, (byKey = new Map()));
    let line = byKey.get(key);
    if (line === undefined) byKey.set(key, (line = new WaitLine(group, key, undefined)));
    return line;
  }

  /**
   * After a waiter joined: the key may have room already (a cooldown just passed, or only
   * an earlier waiter blocked it), and draining keeps the line's order and starts whoever
   * is first; else a cooling key needs its timer.
   */
  private drainOrWatch(line: WaitLine): void {
    if (line.group!.canRun(line.key)) this.drainLine(line);
    else this.watchCooldown(line);
  }

  private parkAtGate(run: ConstrainedRun, gate: AnyTask | AnyGroup): void {
    let line = this.pauseLines.get(gate);
    if (line === undefined) this.pauseLines.set(gate, (line = new WaitLine(undefined, '', gate)));
    this.enterLine(run, line);
  }

  private enterLine(run: ConstrainedRun, line: WaitLine): void {
    if (run.state !== REQUEUED) run.state = QUEUED;
    run.line = line;
    line.add(run);
  }

  private leaveLine(run: ConstrainedRun): void {
    const line = run.line;
    if (line === undefined) return;
    run.line = undefined;
    line.remove(run);
    if (line.waitingCount > 0) return;
    if (line.gate !== undefined) this.pauseLines.delete(line.gate);
    else this.removeLine(line);
    this.notifyIfIdle();
  }

  private drainLine(line: WaitLine): void {
    const { group, key } = line;
    while (line.waitingCount > 0 && group!.canRun(key)) {
      const run = line.take()!;
      run.cameFrom = line;
      this.placeWoken(run, group);
    }
    if (line.waitingCount === 0) this.removeLine(line);
    else this.watchCooldown(line);
  }

  private drainPauseLine(gate: AnyTask | AnyGroup): void {
    const line = this.pauseLines.get(gate);
    if (line === undefined) return;
    this.pauseLines.delete(gate);
    for (let run = line.take(); run !== undefined; run = line.take()) this.placeWoken(run);
  }

  private placeWoken(run: ConstrainedRun, checked?: AnyGroup): void {
    run.line = undefined;
    this.startOrPark(run, checked);
  }

  private removeLine(line: WaitLine): void {
    if (this.coolingLines.size > 0) {
      this.coolingLines.delete(line);
      this.clearCooldownTimerIfIdle();
    }
    const byKey = this.lines.get(line.group!);
    if (byKey?.get(line.key) !== line) return;
    byKey.delete(line.key);
    if (byKey.size === 0) this.lines.delete(line.group!);
  }

  private notifyIfIdle(): void {
    if (this.idleWaiters.length === 0 || this.activeCount > 0 || this.waiting > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // ---- cooldowns ---------------------------------------------------------------------------

  /** Lines blocked only by a cooldown (slots are free) need a timer; full lines wait for a release. */
  private watchCooldown(line: WaitLine): void {
    const group = line.group!;
    // A group without a cooldown never has a cooling line: nothing to watch or unwatch.
    if (group.cooldownMs === 0) return;
    if (group.getRunningCount(line.key) >= group.maxConcurrent) {
      // A full key wakes its line when a run releases a slot.
      this.coolingLines.delete(line);
      this.clearCooldownTimerIfIdle();
      return;
    }
    // The caller found the key blocked on an earlier read of the clock; the cooldown may have
    // passed since. Then `remaining` is 0 and the timer fires at once: returning here instead
    // would leave the line with nobody to wake it.
    const remaining = group.getCooldownRemaining(line.key);
    this.coolingLines.add(line);
    this.armCooldownTimer(timeNow() + remaining);
  }

  private armCooldownTimer(at: number): void {
    if (this.cooldownTimer !== undefined && this.cooldownTimerAt <= at) return;
    if (this.cooldownTimer !== undefined) clearTimer(this.cooldownTimer);
    this.cooldownTimerAt = at;
    this.cooldownTimer = setTimer(this.onCooldownTimer, Math.max(0, at - timeNow()));
    setTimerRef(this.cooldownTimer, this.keepAlive);
  }

  /** A timer with nothing left to wake would keep the process alive for nothing. */
  private clearCooldownTimerIfIdle(): void {
    if (this.coolingLines.size > 0 || this.cooldownTimer === undefined) return;
    clearTimer(this.cooldownTimer);
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

/** Whether a trigger has options that a run keeps (in its extras). */
function hasRunOptions(options: IInternalTriggerOptions | undefined): options is IInternalTriggerOptions {
  return options !== undefined && (options.signal !== undefined || options.timeoutMs !== undefined || options.priority !== undefined);
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

/**
 * Takes `group` out of a run whose trigger counted it (the group was removed since). The
 * arrays may be shared with other runs (or be the manager's own), so they are copied, not
 * changed in place.
 */
function dropGroup(run: ConstrainedRun, group: AnyGroup): void {
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

function clusterSlotOf(group: AnyGroup, key: string): IClusterSlot {
  return { groupName: group.name, key, maxConcurrent: group.maxConcurrent, cooldownMs: group.cooldownMs };
}

