import { ConstrainedRun, type AnyGroup } from './constrainedrun.js';
import { before, PriorityQueue } from './priorityqueue.js';
import type { AnyTask } from './task.js';

/** Slots a plain waiter takes in a line: its task, input, resolve function and seq. */
const PLAIN_STRIDE = 4;
/**
 * Plain waiters are kept in a chain of chunks, each an array whose last slot links the
 * next chunk. Chunks start small, so that the many short lines of a per-key mutex stay
 * small, and double up to a size that keeps them ordinary heap objects: one large array
 * would get a memory mapping of its own in V8 once past ~128 KB, at every regrowth.
 */
const FIRST_CHUNK_WAITERS = 8;
const MAX_CHUNK_WAITERS = 1024;

function newChunk(waiters: number): unknown[] {
  return new Array<unknown>(waiters * PLAIN_STRIDE + 1);
}

/** The slot of a chunk that links the next chunk. */
function linkSlot(chunk: unknown[]): number {
  return chunk.length - 1;
}

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
  private headChunk: unknown[] | undefined = undefined;
  private headSlot = 0;
  private tailChunk: unknown[] | undefined = undefined;
  private tailSlot = 0;
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
    const last = this.tailChunk![this.tailSlot - PLAIN_STRIDE] as AnyTask;
    return task.priority <= last.priority;
  }

  /** Adds a plain waiter; the caller checked `takesPlain`. Only constraint lines take them. */
  addPlain(task: AnyTask, input: unknown, resolve: (value: unknown) => void, seq: number): void {
    let chunk = this.tailChunk;
    if (chunk === undefined) {
      chunk = newChunk(FIRST_CHUNK_WAITERS);
      this.headChunk = this.tailChunk = chunk;
      this.headSlot = this.tailSlot = 0;
    } else if (this.tailSlot === linkSlot(chunk)) {
      const next = newChunk(Math.min(MAX_CHUNK_WAITERS, (chunk.length - 1) / 2));
      chunk[linkSlot(chunk)] = next;
      this.tailChunk = chunk = next;
      this.tailSlot = 0;
    }
    const slot = this.tailSlot;
    chunk[slot] = task;
    chunk[slot + 1] = input;
    chunk[slot + 2] = resolve;
    chunk[slot + 3] = seq;
    this.tailSlot = slot + PLAIN_STRIDE;
    this.plainCount++;
  }

  /** Adds a run in its place by priority and trigger order. */
  add(run: ConstrainedRun): void {
    if (this.plainCount > 0 && !this.goesBeforePlain(run)) this.turnPlainIntoRuns();
    this.push(run);
  }

  /** Whether the first waiter is a plain one: no run object waits (they would all go first). */
  startsWithPlainWaiter(): boolean {
    return this.size === 0 && this.plainCount > 0;
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
    const task = this.headChunk![this.headSlot] as AnyTask;
    const seq = this.headChunk![this.headSlot + 3] as number;
    return run.priority !== task.priority ? run.priority > task.priority : run.seq < seq;
  }

  /** Moves every plain waiter into the queue, as runs; they arrived in order, so each goes to the lane. */
  private turnPlainIntoRuns(): void {
    while (this.plainCount > 0) this.push(this.shiftPlain());
  }

  private shiftPlain(): ConstrainedRun {
    const chunk = this.headChunk!;
    const slot = this.headSlot;
    this.soleGroup ??= [this.group!];
    const run = new ConstrainedRun(chunk[slot] as AnyTask, chunk[slot + 1], this.soleGroup, this.key, chunk[slot + 3] as number, undefined);
    run.resolve = chunk[slot + 2] as (value: unknown) => void;
    chunk[slot] = chunk[slot + 1] = chunk[slot + 2] = undefined;
    this.headSlot = slot + PLAIN_STRIDE;
    if (--this.plainCount === 0) {
      this.headChunk = this.tailChunk = undefined;
    } else if (this.headSlot === linkSlot(chunk)) {
      // A spent chunk is let go of, so a line that never empties does not keep every slot it ever had.
      this.headChunk = chunk[linkSlot(chunk)] as unknown[];
      chunk[linkSlot(chunk)] = undefined;
      this.headSlot = 0;
    }
    return run;
  }

  /** Keeps the hidden class of lines alive; see ConstrainedRun's. */
  private static readonly lineKeptForItsClass = new WaitLine(undefined, '', undefined);
}
