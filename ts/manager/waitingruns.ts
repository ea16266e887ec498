import { newPromise, takeResolve } from '../internal/hotpath.js';
import type { AnyTask } from '../task/task.js';
import type { AnyGroup } from './constraintgroup.js';
import { CooldownWatch } from './cooldownwatch.js';
import { KeyLines } from './keylines.js';
import { keyAt, moveTo, QUEUED, REQUEUED, type ConstrainedRun, type RunLine } from './managedrun.js';
import { PauseGates } from './pausegates.js';

/** Where WaitingRuns sends a run that may start now: the run queue places it again. */
export type TPlaceRun = (run: ConstrainedRun, checked?: AnyGroup) => void;

/**
 * Every run of a manager that waits: in the line of the first key that blocks it
 * (KeyLines), behind a paused task or group (PauseGates), or in a line whose key cools
 * down (CooldownWatch). A line is ordered by priority, then trigger order; when its key
 * has room, its head goes back to the run queue to be placed.
 */
export class WaitingRuns {
  readonly keyLines = new KeyLines();
  readonly gates = new PauseGates();
  private readonly cooldowns = new CooldownWatch((line) => this.drainLine(line));

  constructor(
    private readonly place: TPlaceRun,
    /** A line emptied: the manager may have gone idle. */
    private readonly onLineEmptied: () => void,
  ) {}

  /** Runs waiting for a slot or for a paused task or group. */
  get count(): number {
    return this.keyLines.waiting + this.gates.waiting;
  }

  /** A plain trigger of `key` that has to wait, if it does: the line it waits in, else undefined. */
  lineForPlain(task: AnyTask, group: AnyGroup, key: string): RunLine | undefined {
    const line = this.keyLines.get(group, key);
    if (line !== undefined) return line.takesPlain(task) ? line : undefined;
    return group.canRun(key) ? undefined : this.keyLines.lineOf(group, key);
  }

  /** Queues a plain trigger in `line`; resolves with its outcome. */
  waitPlain(task: AnyTask, input: unknown, line: RunLine, seq: number): Promise<unknown> {
    const promise = newPromise();
    line.addPlain(task, input, takeResolve(), seq);
    this.drainOrWatch(line);
    return promise;
  }

  /** Whether an earlier (or more urgent) waiter of `key` goes before `run`. */
  isOvertaking(run: ConstrainedRun, group: AnyGroup, key: string): boolean {
    return this.keyLines.get(group, key)?.headGoesBefore(run) === true;
  }

  /** Queues `run` in the line of its key number `blocker`. */
  park(run: ConstrainedRun, blocker: number): void {
    const line = this.keyLines.lineOf(run.groups[blocker]!, keyAt(run.keys, blocker));
    this.enter(run, line);
    this.drainOrWatch(line);
  }

  /** Queues `run` behind the paused task or group that holds it back. */
  parkAtGate(run: ConstrainedRun, gate: AnyTask | AnyGroup): void {
    this.enter(run, this.gates.lineOf(gate));
  }

  /** Takes `run` out of the line it waits in. */
  leave(run: ConstrainedRun): void {
    const line = run.line;
    if (line === undefined) return;
    run.line = undefined;
    line.remove(run);
    if (line.waitingCount > 0) return;
    if (line.gate !== undefined) this.gates.remove(line);
    else this.removeLine(line);
    this.onLineEmptied();
  }

  /** Starts as many of `line` as its key has room for, in order. */
  drainLine(line: RunLine): void {
    const { group, key } = line;
    while (line.waitingCount > 0 && group!.canRun(key)) {
      const run = line.take()!;
      run.cameFrom = line;
      this.placeWoken(run, group);
    }
    if (line.waitingCount === 0) this.removeLine(line);
    else this.cooldowns.watch(line);
  }

  /** Wakes the line of `key` (every line of `group` when `key` is undefined). */
  wake(group: AnyGroup, key: string | undefined): void {
    for (const line of this.keyLines.linesOf(group, key)) this.drainLine(line);
  }

  /** Opens a paused task or group: the runs behind it are placed again, in order. */
  open(gate: AnyTask | AnyGroup): void {
    const line = this.gates.open(gate);
    if (line === undefined) return;
    for (let run = line.take(); run !== undefined; run = line.take()) this.placeWoken(run);
  }

  /**
   * The line whose first waiter takes the ending run's slot as it is, where that is
   * exactly what giving the slot back and draining the line would do: the run's only
   * group is local and has no cooldown (a release would start one), nothing is paused,
   * the first waiter is a plain one (its only group is the same), and the key has room
   * once the slot is given back. It saves the release, the checks and the lookups of the
   * key that a drain makes, on the path every queued run of a busy mutex takes.
   */
  heirLineFor(run: ConstrainedRun): RunLine | undefined {
    const keyState = run.keyState;
    if (keyState === undefined || run.extras !== undefined || run.groups.length !== 1 || this.gates.any) return undefined;
    const group = run.groups[0]!;
    if (group.cooldownMs !== 0 || !group.wouldHaveRoomAfterRelease(keyState)) return undefined;
    const line = this.keyLines.waitingLineOf(run, group, keyAt(run.keys, 0));
    return line !== undefined && line.startsWithPlainWaiter() ? line : undefined;
  }

  /** The first waiter of `line`, as a run, to start in a slot handed over to it. */
  takeHeir(line: RunLine): ConstrainedRun {
    const heir = line.take()!;
    if (line.waitingCount === 0) this.removeLine(line);
    heir.cameFrom = line;
    return heir;
  }

  /**
   * Forgets the lines of a removed group: `forget` takes it out of every run still
   * waiting elsewhere, and the runs of its own lines are placed again.
   */
  forgetGroup(group: AnyGroup, forget: (run: ConstrainedRun) => void): void {
    const ownLines = this.keyLines.takeGroup(group);
    // forEach visits run records only: a plain waiter counts just its line's group, and the lines of `group` are placed below.
    this.keyLines.forEachLine((line) => line.forEach(forget));
    this.gates.forEachLine((line) => line.forEach(forget));
    this.open(group);
    for (const line of ownLines) {
      this.cooldowns.forget(line);
      for (const run of line.takeAll()) {
        forget(run);
        this.placeWoken(run);
      }
    }
  }

  /** Empties every line and hands each waiting run to `visit`, out of any line. */
  takeEveryRun(visit: (run: ConstrainedRun) => void): void {
    const lines = [...this.gates.takeAll(), ...this.keyLines.takeAll()];
    this.cooldowns.forgetAll();
    for (const line of lines) {
      for (const run of line.takeAll()) {
        run.line = undefined;
        visit(run);
      }
    }
  }

  setKeepAlive(keepAlive: boolean): void {
    this.cooldowns.setKeepAlive(keepAlive);
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

  private enter(run: ConstrainedRun, line: RunLine): void {
    if (run.state !== REQUEUED) moveTo(run, QUEUED);
    run.line = line;
    line.add(run);
  }

  private placeWoken(run: ConstrainedRun, checked?: AnyGroup): void {
    run.line = undefined;
    this.place(run, checked);
  }

  private removeLine(line: RunLine): void {
    this.cooldowns.forget(line);
    this.keyLines.remove(line);
  }
}
