import { newPromise, takeResolve } from '../internal/hotpath.js';
import type { AnyTask } from '../task/task.js';
import { abortedBeforeStart } from '../task/triggeroptions.js';
import type { TManagedTrigger } from '../task/taskrun.js';
import type { ITriggerOptions } from '../types.js';
import { ClusterSlotTaker, type IClusterAccess } from './clusterslots.js';
import type { AnyGroup, IKeyState } from './constraintgroup.js';
import {
  DONE, HOLDING, isOver, keyAt, moveTo, rejectRun, REQUEUED, RETRY_WAIT, SKIPPED,
  type ConstrainedRun,
} from './managedrun.js';
import { dropGroup, hasRunOptions, planRun, soleGroupRun } from './runplan.js';
import { executionReport, type IActiveRunInfo, type ITaskExecutionReport } from './manageroptions.js';
import { timeNow } from '../internal/clock.js';
import { RunFinisher } from './runfinisher.js';
import { RunInsight } from './runinsight.js';
import type { IShouldExecuteRefusal } from './waitreasons.js';
import { NO_CHECK, ShouldExecuteCheck } from './shouldexecute.js';
import { WaitingRuns } from './waitingruns.js';

/**
 * Starts the runs of a manager when every group that applies to them has room, and parks
 * the others (WaitingRuns). A key with room still blocks a run while an earlier run waits
 * for it, so nobody overtakes.
 *
 * A run's state changes only through `moveTo` (managedrun.ts), which holds the moves a
 * run may make. The trigger path: `trigger` → `startOrPark` → `begin` → `launch`, which
 * starts the run's ActiveRun (a TaskRun) or the task's own trigger.
 */
export class RunQueue {
  private readonly waiters = new WaitingRuns((run, checked) => this.startOrPark(run, checked), () => this.finisher.notifyIfIdle());
  private readonly finisher: RunFinisher;
  private readonly clusterSlots: ClusterSlotTaker;
  private readonly check: ShouldExecuteCheck;
  private seq = 0;

  constructor(
    /** The groups registered now; the array is replaced when groups change, never changed in place, so runs share it. */
    private readonly currentGroups: () => ReadonlyArray<AnyGroup>,
    cluster: IClusterAccess,
    managedTrigger?: TManagedTrigger,
  ) {
    this.clusterSlots = new ClusterSlotTaker(cluster);
    this.check = new ShouldExecuteCheck(currentGroups);
    this.finisher = new RunFinisher(this.waiters, this.clusterSlots, {
      begin: (run, startedAt) => this.begin(run, startedAt),
      place: (run) => this.startOrPark(run),
    }, managedTrigger);
  }

  /** Runs started and not yet ended (holding slots, or between retries). */
  get active(): number {
    return this.finisher.actives.count;
  }

  /** The started runs (holding slots or between retries), oldest first. */
  activeRunInfos(): IActiveRunInfo[] {
    return this.finisher.actives.current().flatMap((run) => (run.active === undefined ? [] : [{
      runId: run.active.runId,
      taskName: run.task.name!,
      startTime: run.active.startTime,
      state: run.state === HOLDING ? 'running' as const : 'retrying' as const,
    }]));
  }

  /** Aborts the started run whose events carry `runId`; false when there is none. */
  abortStarted(runId: string, reason: unknown): boolean {
    const run = this.finisher.findStarted(runId);
    if (run === undefined) return false;
    this.finisher.abortStarted(run, reason);
    return true;
  }

  /** Runs waiting for a slot or for a paused task or group. */
  get waiting(): number {
    return this.waiters.count;
  }

  waitingByKey(group: AnyGroup): Map<string, number> {
    return this.waiters.keyLines.waitingByKey(group);
  }

  /** Who holds which key and why each run waits, as of now (a walk: for dashboards, not hot paths). */
  insight(): RunInsight {
    return new RunInsight(this.waiters, this.finisher.actives.current());
  }

  /** The last run `group`'s `shouldExecute` said no to, if any. */
  lastRefusalOf(group: AnyGroup): IShouldExecuteRefusal | undefined {
    return this.check.lastRefusalOf(group);
  }

  /**
   * Triggers `task` through the groups. Resolves with the outcome, or `undefined` when a
   * `shouldExecute` said no. A plain trigger (no options, one local group) that has to
   * wait waits as a plain waiter of its line, without a run record (see WaitLine).
   */
  trigger(task: AnyTask, input: unknown, options: ITriggerOptions | undefined): Promise<unknown> {
    const all = this.currentGroups();
    if (all.length !== 1 || all[0]!.scope !== 'local' || hasRunOptions(options) || this.waiters.gates.any) {
      return this.submit(this.createRun(task, input, options));
    }
    const group = all[0]!;
    const key = group.getConstraintKey(task, input);
    const line = key === null ? undefined : this.waiters.lineForPlain(task, group, key);
    if (line !== undefined) return this.waiters.waitPlain(task, input, line, this.seq++);
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
    this.waiters.wake(group, key);
  }

  /** Forgets a group that was just removed: no waiting run counts its key any more. */
  forgetGroup(group: AnyGroup): void {
    const forget = (run: ConstrainedRun) => dropGroup(run, group);
    for (const run of this.finisher.actives.current()) if (run.state === RETRY_WAIT) forget(run);
    this.waiters.forgetGroup(group, forget);
  }

  // ---- pause and resume -------------------------------------------------------------------

  isPaused(gate: AnyTask | AnyGroup): boolean {
    return this.waiters.gates.isPaused(gate);
  }

  pauseTask(task: AnyTask): void {
    this.waiters.gates.pauseTask(task);
  }

  pauseGroup(group: AnyGroup): void {
    this.waiters.gates.pauseGroup(group);
  }

  /** Opens a paused task or group: the runs that waited behind it are placed again, in order. */
  resume(gate: AnyTask | AnyGroup): void {
    this.waiters.open(gate);
  }

  /**
   * For a draining stop: rejects what waits with a ShutdownError, lets running work
   * finish, and aborts what still runs after `timeoutMs`.
   */
  drain(timeoutMs: number): Promise<void> {
    return this.finisher.drain(timeoutMs);
  }

  /** Lets the cooldown timer keep the process alive (while the manager runs) or not. */
  setKeepAlive(keepAlive: boolean): void {
    this.waiters.setKeepAlive(keepAlive);
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
    const gates = this.waiters.gates;
    const gate = requeued || !gates.any ? undefined : gates.gateOf(run);
    if (gate !== undefined) return this.waiters.parkAtGate(run, gate);
    const blocker = this.firstBlocker(run, checked);
    if (blocker >= 0) return this.waiters.park(run, blocker);
    this.takeSlots(run, requeued);
    const extras = run.extras;
    if (extras !== undefined && extras.clusterHeld < extras.clusterGroups.length) return this.takeClusterSlots(run, requeued);
    this.proceed(run, requeued);
  }

  /** With every slot held: a retry goes on with its next try, a new run begins. */
  private proceed(run: ConstrainedRun, requeued: boolean): void {
    if (!requeued) return this.begin(run, undefined);
    run.active!.slotsTaken();
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
    if (run.active!.waitsForSlots) {
      this.finisher.giveBackSlots(run, false);
      moveTo(run, RETRY_WAIT);
      this.finisher.wakeKeysOf(run);
      return run.active!.slotsRefused(error);
    }
    this.finisher.finish(run, false, DONE, undefined);
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
      if (this.waiters.isOvertaking(run, group, key)) return i;
    }
    return -1;
  }

  private takeSlots(run: ConstrainedRun, requeued: boolean): void {
    const { groups, keys } = run;
    let keyState: IKeyState | undefined;
    for (let i = 0; i < groups.length; i++) keyState = groups[i]!.takeSlot(keyAt(keys, i));
    // Only a run of one group hands its slot over (see WaitingRuns' heirLineFor), so only it keeps the state.
    run.keyState = groups.length === 1 ? keyState : undefined;
    moveTo(run, HOLDING);
    if (!requeued) this.finisher.activate(run);
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
        this.finisher.finish(run, false, SKIPPED, undefined);
        run.resolve(undefined);
      },
      (error: unknown) => {
        if (run.state !== HOLDING) return;
        this.finisher.finish(run, false, DONE, undefined);
        rejectRun(run, error);
      },
    );
  }

  /** Starts the task: the manager runs a plain task's run itself; others go through their own trigger. */
  private launch(run: ConstrainedRun, startedAt: number | undefined): void {
    if (run.task.runsDirectly) run.active!.start(startedAt);
    else run.active!.triggerTask();
  }

  /** Apart from `submit`, so that a trigger without a signal makes no context for this closure (see launchIfAllowed). */
  private listenForAbort(run: ConstrainedRun, signal: AbortSignal): void {
    const onAbort = (): void => this.finisher.onAbort(run);
    run.extras!.onAbort = onAbort;
    signal.addEventListener('abort', onAbort, { once: true });
  }
}

/**
 * Runs `task` once through `queue` (for `addExecuteRemoveTask`, which registers it around
 * this) and reports on it; rejects with the task's error.
 */
export async function executeOnce<TResult>(queue: RunQueue, task: AnyTask, input: unknown,
  options: ITriggerOptions): Promise<ITaskExecutionReport<TResult>> {
  const startTime = timeNow();
  const run = queue.createRun(task, input, options);
  const result = (await queue.submit(run)) as TResult | undefined;
  return executionReport(task, startTime, run.skipped, result);
}
