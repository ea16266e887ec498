import { AbortError, describeTask, messageOf } from '../errors.js';
import { newPromise, takeResolve } from '../internal/hotpath.js';
import type { AnyTask } from '../task/task.js';
import { abortedBeforeStart } from '../task/triggeroptions.js';
import type { ITriggerOptions } from '../types.js';
import { ActiveRunList } from './activeruns.js';
import { ClusterSlotTaker, type IClusterAccess } from './clusterslots.js';
import type { AnyGroup, IKeyState } from './constraintgroup.js';
import { CooldownWatch } from './cooldownwatch.js';
import { KeyLines } from './keylines.js';
import {
  ActiveRun, DONE, HOLDING, isOver, keyAt, moveTo, QUEUED, rejectRun, REQUEUED, RETRY_WAIT, SKIPPED,
  type ConstrainedRun, type IRunOwner, type RunLine,
} from './managedrun.js';
import { PauseGates } from './pausegates.js';
import { dropGroup, hasRunOptions, planRun, soleGroupRun } from './runplan.js';
import { NO_CHECK, ShouldExecuteCheck } from './shouldexecute.js';

/**
 * Starts the runs of a manager when every group that applies to them has room, and parks
 * the others: in the line of the first key that blocks them (KeyLines), behind a paused
 * task or group (PauseGates), or until a cooldown passes (CooldownWatch). Lines are
 * ordered by priority, then trigger order, and a key with room still blocks a run while
 * an earlier run waits for it, so nobody overtakes.
 *
 * A run's state changes only through `moveTo` (managedrun.ts), which holds the moves a
 * run may make. The trigger path: `trigger` → `startOrPark` → `begin` → `launch`, which
 * starts the run's ActiveRun (a TaskRun) or the task's own trigger.
 */
export class RunQueue implements IRunOwner {
  private readonly keyLines = new KeyLines();
  private readonly gates = new PauseGates();
  private readonly cooldowns = new CooldownWatch((line) => this.drainLine(line));
  private readonly actives = new ActiveRunList();
  private readonly clusterSlots: ClusterSlotTaker;
  private readonly check: ShouldExecuteCheck;
  private seq = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    /** The groups registered now; the array is replaced when groups change, never changed in place, so runs share it. */
    private readonly currentGroups: () => ReadonlyArray<AnyGroup>,
    cluster: IClusterAccess,
  ) {
    this.clusterSlots = new ClusterSlotTaker(cluster);
    this.check = new ShouldExecuteCheck(currentGroups);
  }

  /** Runs started and not yet ended (holding slots, or between retries). */
  get active(): number {
    return this.actives.count;
  }

  /** Runs waiting for a slot or for a paused task or group. */
  get waiting(): number {
    return this.keyLines.waiting + this.gates.waiting;
  }

  waitingByKey(group: AnyGroup): Map<string, number> {
    return this.keyLines.waitingByKey(group);
  }

  /**
   * Triggers `task` through the groups. Resolves with the outcome, or `undefined` when a
   * `shouldExecute` said no. A plain trigger (no options, one local group) that has to
   * wait waits as a plain waiter of its line, without a run record (see WaitLine).
   */
  trigger(task: AnyTask, input: unknown, options: ITriggerOptions | undefined): Promise<unknown> {
    const all = this.currentGroups();
    if (all.length !== 1 || all[0]!.scope !== 'local' || hasRunOptions(options) || this.gates.any) {
      return this.submit(this.createRun(task, input, options));
    }
    const group = all[0]!;
    const key = group.getConstraintKey(task, input);
    if (key !== null) {
      const line = this.keyLines.get(group, key);
      if (line !== undefined ? line.takesPlain(task) : !group.canRun(key)) return this.waitPlain(task, input, line ?? this.keyLines.lineOf(group, key));
    }
    return this.submit(soleGroupRun(task, input, all, key, undefined, this.seq++));
  }

  /** The run record of a trigger (see planRun). */
  createRun(task: AnyTask, input: unknown, options: ITriggerOptions | undefined): ConstrainedRun {
    return planRun(this.currentGroups(), task, input, options, this.seq++);
  }

  /** Starts the run now if nothing stands in its way, else queues it. Resolves with its outcome. */
  submit(run: ConstrainedRun): Promise<unknown> {
    const signal = run.extras?.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        moveTo(run, DONE);
        return Promise.reject(abortedBeforeStart(run.task.name, signal));
      }
      this.listenForAbort(run, signal);
    }
    const promise = newPromise();
    run.resolve = takeResolve();
    this.startOrPark(run);
    return promise;
  }

  /** Wakes the waiting line of `key` (all lines of `group` when `key` is undefined). */
  wake(group: AnyGroup, key: string | undefined): void {
    for (const line of this.keyLines.linesOf(group, key)) this.drainLine(line);
  }

  /** Forgets a group that was just removed: no waiting run counts its key any more. */
  forgetGroup(group: AnyGroup): void {
    const ownLines = this.keyLines.takeGroup(group);
    const forget = (run: ConstrainedRun) => dropGroup(run, group);
    for (const run of this.actives.current()) if (run.state === RETRY_WAIT) forget(run);
    // forEach visits run records only: a plain waiter counts just its line's group, and the lines of `group` are drained below.
    this.keyLines.forEachLine((line) => line.forEach(forget));
    this.gates.forEachLine((line) => line.forEach(forget));
    this.placeAll(this.gates.open(group));
    for (const line of ownLines) {
      this.cooldowns.forget(line);
      for (const run of line.takeAll()) {
        forget(run);
        this.placeWoken(run);
      }
    }
  }

  // ---- pause and resume -------------------------------------------------------------------

  isPaused(gate: AnyTask | AnyGroup): boolean {
    return this.gates.isPaused(gate);
  }

  pauseTask(task: AnyTask): void {
    this.gates.pauseTask(task);
  }

  pauseGroup(group: AnyGroup): void {
    this.gates.pauseGroup(group);
  }

  /** Opens a paused task or group: the runs that waited behind it are placed again, in order. */
  resume(gate: AnyTask | AnyGroup): void {
    this.placeAll(this.gates.open(gate));
  }

  // ---- shutdown ---------------------------------------------------------------------------

  /** Rejects every waiting run with `error` (retries waiting for their slots included). */
  rejectWaiting(error: Error): void {
    const lines = [...this.gates.takeAll(), ...this.keyLines.takeAll()];
    this.cooldowns.forgetAll();
    for (const line of lines) {
      for (const run of line.takeAll()) {
        run.line = undefined;
        if (run.state === REQUEUED) {
          // The task's retry loop ends the run with this error; its promise settles through it.
          moveTo(run, RETRY_WAIT);
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
    for (const run of this.actives.current()) {
      if (isOver(run)) continue; // ended meanwhile, by the abort of another
      const active = run.active!; // taken before `finish` below lets go of it
      if (active.taskRun !== undefined) {
        active.taskRun.abort(reason);
      } else {
        // Not (yet) a run of the task itself, e.g. waiting inside a buffered task's own
        // line or for its shouldExecute: give its slots back, reject it here, and take it
        // out of the task's line so that it never starts.
        this.finish(run, false, DONE, undefined);
        rejectRun(run, new AbortError(`${describeTask(run.task.name)} was aborted: ${messageOf(reason)}`, reason));
        active.cancelWaiter?.(reason);
      }
    }
  }

  /** Resolves once no run is started or waiting. */
  whenIdle(): Promise<void> {
    if (this.actives.count === 0 && this.waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Lets the cooldown timer keep the process alive (while the manager runs) or not. */
  setKeepAlive(keepAlive: boolean): void {
    this.cooldowns.setKeepAlive(keepAlive);
  }

  // ---- reported by a run's ActiveRun (IRunOwner) --------------------------------------------

  releaseForRetry(run: ConstrainedRun): void {
    if (run.state !== HOLDING) return;
    this.giveBackSlots(run, true);
    moveTo(run, RETRY_WAIT);
    this.wakeKeysOf(run);
  }

  reacquireForRetry(run: ConstrainedRun): Promise<void> {
    if (run.state !== RETRY_WAIT) return Promise.resolve();
    const reacquired = run.active!.waitForSlots();
    moveTo(run, REQUEUED);
    this.startOrPark(run);
    return reacquired;
  }

  /** The task's run ended: settle the trigger with its outcome. */
  settled(run: ConstrainedRun, ok: boolean, value: unknown, endedAt: number | undefined): void {
    if (isOver(run)) return;
    this.finish(run, true, DONE, endedAt);
    if (ok) run.resolve(value);
    else rejectRun(run, value);
  }

  // ---- start or park --------------------------------------------------------------------------

  /**
   * `checked` is a group whose line the run just left as its head while the key had room
   * (see drainLine): there is no need to ask that group again.
   */
  private startOrPark(run: ConstrainedRun, checked?: AnyGroup): void {
    if (isOver(run)) return;
    const requeued = run.state === REQUEUED;
    // A retry belongs to a run that started before any pause: only new runs wait at a pause.
    const gate = requeued || !this.gates.any ? undefined : this.gates.gateOf(run);
    if (gate !== undefined) return this.enterLine(run, this.gates.lineOf(gate));
    const blocker = this.firstBlocker(run, checked);
    if (blocker >= 0) return this.park(run, blocker);
    this.takeSlots(run, requeued);
    const extras = run.extras;
    if (extras !== undefined && extras.clusterHeld < extras.clusterGroups.length) return this.takeClusterSlots(run, requeued);
    this.proceed(run, requeued);
  }

  /** With every slot held: a retry goes on with its next try, a new run begins. */
  private proceed(run: ConstrainedRun, requeued: boolean): void {
    if (!requeued) return this.begin(run, undefined);
    const active = run.active!;
    const reacquired = active.reacquired!;
    active.reacquired = undefined;
    reacquired.resolve();
  }

  /** Takes the run's cluster slots one by one, then proceeds; meanwhile it holds its local slots. */
  private takeClusterSlots(run: ConstrainedRun, requeued: boolean): void {
    const extras = run.extras!;
    if (extras.clusterHeld === extras.clusterGroups.length) return this.proceed(run, requeued);
    this.clusterSlots.takeNext(run).then(
      (held) => {
        if (held) this.takeClusterSlots(run, requeued);
      },
      (error: unknown) => this.clusterSlotRefused(run, error),
    );
  }

  /** A retry that cannot have its cluster slots back fails its run; a new run fails at once. */
  private clusterSlotRefused(run: ConstrainedRun, error: unknown): void {
    if (run.state !== HOLDING) return;
    const reacquired = run.active!.reacquired;
    if (reacquired !== undefined) {
      this.giveBackSlots(run, false);
      moveTo(run, RETRY_WAIT);
      this.wakeKeysOf(run);
      return reacquired.reject(error);
    }
    this.finish(run, false, DONE, undefined);
    rejectRun(run, error);
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
      if (this.keyLines.get(group, key)?.headGoesBefore(run) === true) return i;
    }
    return -1;
  }

  private takeSlots(run: ConstrainedRun, requeued: boolean): void {
    const { groups, keys } = run;
    let keyState: IKeyState | undefined;
    for (let i = 0; i < groups.length; i++) keyState = groups[i]!.takeSlot(keyAt(keys, i));
    // Only a run of one group hands its slot over (see lineToHandOverTo), so only it keeps the state.
    run.keyState = groups.length === 1 ? keyState : undefined;
    moveTo(run, HOLDING);
    if (!requeued) this.activate(run);
  }

  private activate(run: ConstrainedRun): void {
    run.active = new ActiveRun(this, run);
    this.actives.add(run);
  }

  // ---- begin: shouldExecute, then the task --------------------------------------------------

  /** With slots taken: ask every shouldExecute, then start the task. `startedAt` is a fresh clock reading, if any. */
  private begin(run: ConstrainedRun, startedAt: number | undefined): void {
    const allowed = this.check.allows(run);
    if (allowed === NO_CHECK) return this.launch(run, startedAt);
    this.launchIfAllowed(run, allowed);
  }

  // Apart from `begin`: a function with closures gets a context for what they capture at
  // every call, made or not, and `begin` runs for every run.
  private launchIfAllowed(run: ConstrainedRun, allowed: Promise<boolean>): void {
    allowed.then(
      (ok) => {
        if (run.state !== HOLDING || run.active!.taskRun !== undefined) return;
        if (ok) return this.launch(run, undefined);
        this.finish(run, false, SKIPPED, undefined);
        run.resolve(undefined);
      },
      (error: unknown) => {
        if (run.state !== HOLDING) return;
        this.finish(run, false, DONE, undefined);
        rejectRun(run, error);
      },
    );
  }

  /** Starts the task: the manager runs a plain task's run itself; others go through their own trigger. */
  private launch(run: ConstrainedRun, startedAt: number | undefined): void {
    const active = run.active!;
    if (run.task.runsDirectly) return active.start(startedAt);
    let outcome: Promise<unknown>;
    try {
      outcome = run.task.triggerUnder(active, run.input, { signal: run.extras?.signal, timeoutMs: run.extras?.timeoutMs, priority: run.priority });
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then(
      (result) => this.settled(run, true, result, undefined),
      (error: unknown) => this.settled(run, false, error, undefined),
    );
  }

  // ---- the end of a run ----------------------------------------------------------------------

  /** The run is over: give back what it holds and let others in. */
  private finish(run: ConstrainedRun, ran: boolean, endState: typeof DONE | typeof SKIPPED, endedAt: number | undefined): void {
    if (isOver(run)) return;
    const held = run.state === HOLDING;
    const heirLine = held ? this.lineToHandOverTo(run) : undefined;
    if (heirLine === undefined) this.giveBackSlots(run, ran);
    this.end(run, endState);
    if (heirLine !== undefined) this.startHeir(heirLine, run.keyState!, endedAt);
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
  private lineToHandOverTo(run: ConstrainedRun): RunLine | undefined {
    const keyState = run.keyState;
    if (keyState === undefined || run.extras !== undefined || run.groups.length !== 1 || this.gates.any) return undefined;
    const group = run.groups[0]!;
    if (group.cooldownMs !== 0 || !group.wouldHaveRoomAfterRelease(keyState)) return undefined;
    const line = this.keyLines.waitingLineOf(run, group, keyAt(run.keys, 0));
    return line !== undefined && line.startsWithPlainWaiter() ? line : undefined;
  }

  /** Starts the first waiter of `line` in the slot the run that just ended held, at the time it ended. */
  private startHeir(line: RunLine, keyState: IKeyState, endedAt: number | undefined): void {
    const heir = line.take()!;
    if (line.waitingCount === 0) this.removeLine(line);
    heir.cameFrom = line;
    heir.keyState = keyState;
    moveTo(heir, HOLDING);
    this.activate(heir);
    this.begin(heir, endedAt);
  }

  private end(run: ConstrainedRun, endState: typeof DONE | typeof SKIPPED): void {
    if (run.line !== undefined) this.leaveLine(run);
    moveTo(run, endState);
    const extras = run.extras;
    if (extras?.onAbort !== undefined) extras.signal!.removeEventListener('abort', extras.onAbort);
    if (run.active !== undefined) {
      this.actives.ended();
      run.active = undefined; // internal/hotpath.ts, trick 5
    }
    if (this.idleWaiters.length > 0) this.notifyIfIdle();
  }

  /**
   * Gives back the run's cluster slots, and its local ones while it holds them (state
   * HOLDING). Callers change the state and then wake the keys: a woken run then sees this
   * one as gone.
   */
  private giveBackSlots(run: ConstrainedRun, ran: boolean): void {
    const extras = run.extras;
    if (extras !== undefined && extras.clusterHeld > 0) this.clusterSlots.releaseAll(run, extras, ran);
    if (run.state !== HOLDING) return;
    const { groups, keys } = run;
    for (let i = 0; i < groups.length; i++) groups[i]!.release(keyAt(keys, i), ran);
  }

  private wakeKeysOf(run: ConstrainedRun): void {
    const { groups, keys } = run;
    for (let i = 0; i < groups.length; i++) this.wake(groups[i]!, keyAt(keys, i));
  }

  /** Apart from `submit`, so that a trigger without a signal makes no context for this closure (see launchIfAllowed). */
  private listenForAbort(run: ConstrainedRun, signal: AbortSignal): void {
    const onAbort = (): void => this.onAbort(run);
    run.extras!.onAbort = onAbort;
    signal.addEventListener('abort', onAbort, { once: true });
  }

  private onAbort(run: ConstrainedRun): void {
    const reason = run.extras!.signal!.reason;
    switch (run.state) {
      case QUEUED:
        this.end(run, DONE);
        rejectRun(run, new AbortError(`${describeTask(run.task.name)} was aborted while it waited: ${messageOf(reason)}`, reason));
        return;
      case REQUEUED:
        // The task's own listener ends the run; this only takes it out of the line.
        this.leaveLine(run);
        moveTo(run, RETRY_WAIT);
        return;
      case HOLDING:
        if (run.active?.taskRun !== undefined) return; // the task's run rejects at once and settles through `settled`
        this.finish(run, false, DONE, undefined);
        rejectRun(run, new AbortError(`${describeTask(run.task.name)} was aborted: ${messageOf(reason)}`, reason));
        return;
      default:
        return;
    }
  }

  // ---- lines ----------------------------------------------------------------------------------

  /** Queues a plain trigger in `line`. */
  private waitPlain(task: AnyTask, input: unknown, line: RunLine): Promise<unknown> {
    const promise = newPromise();
    line.addPlain(task, input, takeResolve(), this.seq++);
    this.drainOrWatch(line);
    return promise;
  }

  private park(run: ConstrainedRun, blocker: number): void {
    const line = this.keyLines.lineOf(run.groups[blocker]!, keyAt(run.keys, blocker));
    this.enterLine(run, line);
    this.drainOrWatch(line);
  }

  /**
   * After a waiter joined: the key may have room already (a cooldown just passed, or only
   * an earlier waiter blocked it), and draining keeps the line's order and starts whoever
   * is first; else a cooling key needs its timer.
   */
  private drainOrWatch(line: RunLine): void {
    if (line.group!.canRun(line.key)) this.drainLine(line);
    else this.cooldowns.watch(line);
  }

  private enterLine(run: ConstrainedRun, line: RunLine): void {
    if (run.state !== REQUEUED) moveTo(run, QUEUED);
    run.line = line;
    line.add(run);
  }

  private leaveLine(run: ConstrainedRun): void {
    const line = run.line;
    if (line === undefined) return;
    run.line = undefined;
    line.remove(run);
    if (line.waitingCount > 0) return;
    if (line.gate !== undefined) this.gates.remove(line);
    else this.removeLine(line);
    this.notifyIfIdle();
  }

  private drainLine(line: RunLine): void {
    const { group, key } = line;
    while (line.waitingCount > 0 && group!.canRun(key)) {
      const run = line.take()!;
      run.cameFrom = line;
      this.placeWoken(run, group);
    }
    if (line.waitingCount === 0) this.removeLine(line);
    else this.cooldowns.watch(line);
  }

  private placeAll(line: RunLine | undefined): void {
    if (line === undefined) return;
    for (let run = line.take(); run !== undefined; run = line.take()) this.placeWoken(run);
  }

  private placeWoken(run: ConstrainedRun, checked?: AnyGroup): void {
    run.line = undefined;
    this.startOrPark(run, checked);
  }

  private removeLine(line: RunLine): void {
    this.cooldowns.forget(line);
    this.keyLines.remove(line);
  }

  private notifyIfIdle(): void {
    if (this.idleWaiters.length === 0 || this.actives.count > 0 || this.waiting > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
