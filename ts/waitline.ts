import { ConstrainedRun, type AnyGroup } from './constrainedrun.js';
import { before, PriorityQueue } from './priorityqueue.js';
import type { AnyTask } from './task.js';

/** Slots a plain waiter takes in a line: its task, input, resolve function and seq. */
const PLAIN_STRIDE = 4;
/** Spent slots at the front of the plain waiters that make the line copy the rest to a new array. */
const PLAIN_SHED_AT = 4096;
/** The empty array lines share until they hold a plain waiter; never written to. */
const NO_SLOTS: unknown[] = [];

/**
 * The runs waiting behind one gate, in the order they start: a (group, key) without room,
 * a paused task or a paused group. A line is its own priority queue, so that a manager
 * with many busy keys keeps one object per line, not two.
 *
 * Most triggers that wait are plain: no signal, timeout or priority of their own, and the
 * line's group as their only group. Such a trigger waits as four slots of the line (task,
 * input, resolve function, seq), and its run object is made only when it leaves the line.
 * A burst of 100,000 triggers then waits without 100,000 run objects, which would each
 * outlive several young-generation collections and be copied by each of them.
 *
 * Order: every run in the queue (lane and heap) goes before every plain waiter. A plain
 * waiter joins only behind plain waiters it does not overtake, or an empty line; a run
 * that does not go before every plain waiter first turns them into runs, in order. A
 * waiter is turned into a run at most once, so over time that costs O(1) per trigger.
 */
export class WaitLine extends PriorityQueue<ConstrainedRun> {
  private plain: unknown[] = NO_SLOTS;
  private plainHead = 0;
  private plainCount = 0;
  /** The line's group as the array of groups a run holds; made once, when first needed. */
  private soleGroup: AnyGroup[] | undefined = undefined;

  constructor(
    /** Set for a constraint line: the group and key it waits for. */
    readonly group: AnyGroup | undefined,
    readonly key: string,
    /** Set for a pause line: the paused task or group. */
    readonly gate: AnyTask | AnyGroup | undefined,
  ) {
    super();
  }

  /** Runs and plain waiters in the line. */
  get waitingCount(): number {
    return this.size + this.plainCount;
  }

  /** Whether a plain trigger of `task`, triggered now, may wait as a plain waiter: it goes after every waiter. */
  takesPlain(task: AnyTask): boolean {
    if (this.plainCount === 0) return this.size === 0;
    const last = this.plain[this.plain.length - PLAIN_STRIDE] as AnyTask;
    return task.priority <= last.priority;
  }

  /** Adds a plain waiter; the caller checked `takesPlain`. Only constraint lines take them. */
  addPlain(task: AnyTask, input: unknown, resolve: (value: unknown) => void, seq: number): void {
    if (this.plain === NO_SLOTS) this.plain = [];
    this.plain.push(task, input, resolve, seq);
    this.plainCount++;
  }

  /** Adds a run in its place by priority and trigger order. */
  add(run: ConstrainedRun): void {
    if (this.plainCount > 0 && !this.goesBeforePlain(run)) this.turnPlainIntoRuns();
    this.push(run);
  }

  /** Whether the line's first waiter goes before `run`, which would then have to wait behind it. */
  headGoesBefore(run: ConstrainedRun): boolean {
    if (this.size > 0) return before(this.peek()!, run);
    return this.plainCount > 0 && !this.goesBeforePlain(run);
  }

  /** Takes the first waiter out of the line, as a run. */
  take(): ConstrainedRun | undefined {
    if (this.size > 0) return this.pop();
    return this.plainCount > 0 ? this.shiftPlain() : undefined;
  }

  /** Empties the line and returns its waiters as runs, first first. */
  takeAll(): ConstrainedRun[] {
    const runs: ConstrainedRun[] = [];
    for (let run = this.take(); run !== undefined; run = this.take()) runs.push(run);
    return runs;
  }

  /** Whether `run` goes before the first plain waiter, and so before all of them. */
  private goesBeforePlain(run: ConstrainedRun): boolean {
    const task = this.plain[this.plainHead] as AnyTask;
    const seq = this.plain[this.plainHead + 3] as number;
    return run.priority !== task.priority ? run.priority > task.priority : run.seq < seq;
  }

  /** Moves every plain waiter into the queue, as runs; they arrived in order, so each goes to the lane. */
  private turnPlainIntoRuns(): void {
    while (this.plainCount > 0) this.push(this.shiftPlain());
  }

  private shiftPlain(): ConstrainedRun {
    const slots = this.plain;
    const head = this.plainHead;
    this.soleGroup ??= [this.group!];
    const run = new ConstrainedRun(slots[head] as AnyTask, slots[head + 1], this.soleGroup, this.key, slots[head + 3] as number, undefined);
    run.resolve = slots[head + 2] as (value: unknown) => void;
    slots[head] = slots[head + 1] = slots[head + 2] = undefined;
    this.plainHead = head + PLAIN_STRIDE;
    if (--this.plainCount === 0) {
      this.plain = NO_SLOTS;
      this.plainHead = 0;
    } else if (this.plainHead >= PLAIN_SHED_AT && this.plainHead * 2 >= slots.length) {
      // A long-lived line lets go of its spent front instead of keeping every slot it ever had.
      this.plain = slots.slice(this.plainHead);
      this.plainHead = 0;
    }
    return run;
  }

  /** Keeps the hidden class of lines alive; see ConstrainedRun's. */
  private static readonly lineKeptForItsClass = new WaitLine(undefined, '', undefined);
}
