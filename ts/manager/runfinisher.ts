import { AbortError, describeTask, messageOf, ShutdownError } from '../errors.js';
import { clearTimer, setTimer, type TTimer } from '../internal/clock.js';
import { ActiveRunList } from './activeruns.js';
import type { ClusterSlotTaker } from './clusterslots.js';
import type { IKeyState } from './constraintgroup.js';
import {
  ActiveRun, DONE, HOLDING, isOver, keyAt, moveTo, QUEUED, rejectRun, REQUEUED, RETRY_WAIT, SKIPPED,
  type ConstrainedRun, type IRunOwner, type RunLine,
} from './managedrun.js';
import type { WaitingRuns } from './waitingruns.js';
import type { TManagedTrigger } from '../task/taskrun.js';

/** What the finisher asks of the run queue: to begin a run in a slot handed over, to place a run again. */
export interface IRunStarter {
  begin(run: ConstrainedRun, startedAt: number | undefined): void;
  place(run: ConstrainedRun): void;
}

/**
 * Everything that happens as a run of a manager ends, is cut short, or waits between
 * tries: its slots are given back (or handed straight to the next waiter of its key), its
 * trigger is settled exactly once, the waiters of its keys are let in, and a draining
 * stop learns when nothing is left. ActiveRuns report here (IRunOwner).
 */
export class RunFinisher implements IRunOwner {
  readonly actives = new ActiveRunList();
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly waiters: WaitingRuns,
    private readonly clusterSlots: ClusterSlotTaker,
    private readonly starter: IRunStarter,
    /** The manager's trigger, handed to the runs it starts (a Taskgraph triggers its nodes with it). */
    readonly managedTrigger: TManagedTrigger | undefined = undefined,
  ) {}

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
    this.starter.place(run);
    return reacquired;
  }

  /** The task's run ended: settle the trigger with its outcome. */
  settled(run: ConstrainedRun, ok: boolean, value: unknown, endedAt: number | undefined): void {
    if (isOver(run)) return;
    this.finish(run, true, DONE, endedAt);
    if (ok) run.resolve(value);
    else rejectRun(run, value);
  }
  /** The run took its slots: from now on it is active, and a draining stop may abort it. */
  activate(run: ConstrainedRun): void {
    run.active = new ActiveRun(this, run);
    this.actives.add(run);
  }

  // ---- shutdown ---------------------------------------------------------------------------

  /** See RunQueue's `drain`. */
  async drain(timeoutMs: number): Promise<void> {
    this.rejectWaiting(new ShutdownError('the TaskManager was stopped before this trigger started'));
    let timer: TTimer | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      if (timeoutMs !== Number.POSITIVE_INFINITY) timer = setTimer(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.whenIdle(), timedOut]);
    if (timer !== undefined) clearTimer(timer);
    if (outcome !== 'timeout') return;
    this.abortActive(new ShutdownError(`stop(): running work did not finish within ${timeoutMs} ms`));
    await this.whenIdle();
  }

  /** Rejects every waiting run with `error` (retries waiting for their slots included). */
  private rejectWaiting(error: Error): void {
    this.waiters.takeEveryRun((run) => {
      if (run.state === REQUEUED) {
        // The task's retry loop ends the run with this error; its promise settles through it.
        moveTo(run, RETRY_WAIT);
        run.active!.slotsRefused(error);
      } else {
        this.end(run, DONE);
        rejectRun(run, error);
      }
    });
  }

  /** Aborts every started run: the function is signalled and the trigger rejects at once. */
  private abortActive(reason: Error): void {
    for (const run of this.actives.current()) {
      if (!isOver(run)) this.abortStarted(run, reason); // else ended meanwhile, by the abort of another
    }
  }

  /** The started run whose events carry `runId`, if it has not ended. */
  findStarted(runId: string): ConstrainedRun | undefined {
    for (const run of this.actives.current()) if (run.active?.runId === runId) return run;
    return undefined;
  }

  /** Aborts a started run: its function is signalled and its trigger rejects at once. */
  abortStarted(run: ConstrainedRun, reason: unknown): void {
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

  /** Resolves once no run is started or waiting. */
  private whenIdle(): Promise<void> {
    if (this.actives.count === 0 && this.waiters.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Called when a line empties or a run ends: resolves `whenIdle` once nothing is left. */
  notifyIfIdle(): void {
    if (this.idleWaiters.length === 0 || this.actives.count > 0 || this.waiters.count > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // ---- the end of a run ----------------------------------------------------------------------

  /** The run is over: give back what it holds and let others in. */
  finish(run: ConstrainedRun, ran: boolean, endState: typeof DONE | typeof SKIPPED, endedAt: number | undefined): void {
    if (isOver(run)) return;
    const held = run.state === HOLDING;
    const heirLine = held ? this.waiters.heirLineFor(run) : undefined;
    if (heirLine === undefined) this.giveBackSlots(run, ran);
    this.end(run, endState);
    if (heirLine !== undefined) this.startHeir(heirLine, run.keyState!, endedAt);
    else if (held) this.wakeKeysOf(run);
  }

  /** Starts the first waiter of `line` in the slot the run that just ended held, at the time it ended. */
  private startHeir(line: RunLine, keyState: IKeyState, endedAt: number | undefined): void {
    const heir = this.waiters.takeHeir(line);
    heir.keyState = keyState;
    moveTo(heir, HOLDING);
    this.activate(heir);
    this.starter.begin(heir, endedAt);
  }

  private end(run: ConstrainedRun, endState: typeof DONE | typeof SKIPPED): void {
    if (run.line !== undefined) this.waiters.leave(run);
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
  giveBackSlots(run: ConstrainedRun, ran: boolean): void {
    const extras = run.extras;
    if (extras !== undefined && extras.clusterHeld > 0) this.clusterSlots.releaseAll(run, extras, ran);
    if (run.state !== HOLDING) return;
    const { groups, keys } = run;
    for (let i = 0; i < groups.length; i++) groups[i]!.release(keyAt(keys, i), ran);
  }

  wakeKeysOf(run: ConstrainedRun): void {
    const { groups, keys } = run;
    for (let i = 0; i < groups.length; i++) this.waiters.wake(groups[i]!, keyAt(keys, i));
  }

  /** The signal of a run's trigger aborted. */
  onAbort(run: ConstrainedRun): void {
    const reason = run.extras!.signal!.reason;
    switch (run.state) {
      case QUEUED:
        this.end(run, DONE);
        rejectRun(run, new AbortError(`${describeTask(run.task.name)} was aborted while it waited: ${messageOf(reason)}`, reason));
        return;
      case REQUEUED:
        // Out of the line, and its wait for slots fails: the task's run then ends with the
        // AbortError (a run of the task's own trigger may not listen to this signal).
        this.waiters.leave(run);
        moveTo(run, RETRY_WAIT);
        run.active!.slotsRefused(new AbortError(`${describeTask(run.task.name)} was aborted while its retry waited: ${messageOf(reason)}`, reason));
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
}
