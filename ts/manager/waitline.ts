import { keepShapeAlive, newPlainWaiter, type IPlainWaiter as IPlainWaiterOf, type TResolve } from '../internal/hotpath.js';
import type { AnyGroup } from './constraintgroup.js';
import { before, PriorityQueue, type IPrioritized } from './priorityqueue.js';
import type { AnyTask } from '../task/task.js';

/** A trigger that waits without a run object: what its run is made from when it leaves the line. */
export type IPlainWaiter = IPlainWaiterOf<AnyTask>;

/**
 * Makes the run of a plain waiter as it leaves its line, with the line's group as its only
 * group. Given by the owner of the line, so that lines need not know how runs are made.
 */
export type TPlainRunMaker<TRun> = (task: AnyTask, input: unknown, groups: AnyGroup[], key: string, seq: number, resolve: TResolve) => TRun;

/**
 * Plain waiters are kept in a chain of chunks, each an array whose last slot links the
 * next chunk. Chunks start small, so that the many short lines of a per-key mutex stay
 * small, and double up to a size that keeps them ordinary heap objects: one large array
 * would get a memory mapping of its own in V8 once past ~128 KB, at every regrowth.
 */
const FIRST_CHUNK_WAITERS = 8;
const MAX_CHUNK_WAITERS = 4096;

type Chunk = Array<IPlainWaiter | Chunk | undefined>;

function newChunk(waiters: number): Chunk {
  return new Array<IPlainWaiter | Chunk | undefined>(waiters + 1);
}

/** The slot of a chunk that links the next chunk. */
function linkSlot(chunk: Chunk): number {
  return chunk.length - 1;
}

/**
 * The runs waiting behind one gate, in the order they start: a (group, key) without room,
 * a paused task or a paused group. A line is its own priority queue, so that a manager
 * with many busy keys keeps one object per line, not two.
 *
 * Most triggers that wait are plain: no signal, timeout or priority of their own, and the
 * line's group as their only group. Such a trigger waits as a small plain waiter (task,
 * input, resolve function, seq; see `newPlainWaiter` in internal/hotpath.ts), and its run object is made only
 * when it leaves the line. A burst of 100,000 triggers then waits without 100,000 run
 * objects, which would each be twice the size and be copied by young collections.
 *
 * Order: every run in the queue (lane and heap) goes before every plain waiter. A plain
 * waiter joins only behind plain waiters it does not overtake, or an empty line; a run
 * that does not go before every plain waiter first turns them into runs, in order. A
 * waiter is turned into a run at most once, so over time that costs O(1) per trigger.
 */
export class WaitLine<TRun extends IPrioritized> extends PriorityQueue<TRun> {
  private headChunk: Chunk | undefined = undefined;
  private headSlot = 0;
  private tailChunk: Chunk | undefined = undefined;
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
    private readonly makeRun: TPlainRunMaker<TRun>,
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
    const last = this.tailChunk![this.tailSlot - 1] as IPlainWaiter;
    return task.priority <= last.task.priority;
  }

  /** Adds a plain waiter; the caller checked `takesPlain`. Only constraint lines take them. */
  addPlain(task: AnyTask, input: unknown, resolve: TResolve, seq: number): void {
    let chunk = this.tailChunk;
    if (chunk === undefined) {
      chunk = newChunk(FIRST_CHUNK_WAITERS);
      this.headChunk = this.tailChunk = chunk;
      this.headSlot = this.tailSlot = 0;
    } else if (this.tailSlot === linkSlot(chunk)) {
      const next = newChunk(Math.min(MAX_CHUNK_WAITERS, (chunk.length - 1) * 2));
      chunk[linkSlot(chunk)] = next;
      this.tailChunk = chunk = next;
      this.tailSlot = 0;
    }
    chunk[this.tailSlot++] = newPlainWaiter(task, input, resolve, seq);
    this.plainCount++;
  }

  /** Adds a run in its place by priority and trigger order. */
  add(run: TRun): void {
    if (this.plainCount > 0 && !this.goesBeforePlain(run)) this.turnPlainIntoRuns();
    this.push(run);
  }

  /** Whether the first waiter is a plain one: no run object waits (they would all go first). */
  startsWithPlainWaiter(): boolean {
    return this.size === 0 && this.plainCount > 0;
  }

  /** Whether the line's first waiter goes before `run`, which would then have to wait behind it. */
  headGoesBefore(run: TRun): boolean {
    if (this.size > 0) return before(this.peek()!, run);
    return this.plainCount > 0 && !this.goesBeforePlain(run);
  }

  /** Takes the first waiter out of the line, as a run. */
  take(): TRun | undefined {
    if (this.size > 0) return this.pop();
    return this.plainCount > 0 ? this.shiftPlain() : undefined;
  }

  /** Empties the line and returns its waiters as runs, first first. */
  takeAll(): TRun[] {
    const runs: TRun[] = [];
    for (let run = this.take(); run !== undefined; run = this.take()) runs.push(run);
    return runs;
  }

  /**
   * The first `limit` waiters in the order they would start: runs first (sorted), then
   * plain waiters. For dashboards (`getWaitingRuns`): it copies and sorts, so it stays off
   * the hot paths.
   */
  inOrder(limit = Number.POSITIVE_INFINITY): Array<TRun | IPlainWaiter> {
    const runs: TRun[] = [];
    this.forEach((run) => runs.push(run));
    runs.sort((a, b) => (before(a, b) ? -1 : 1));
    if (runs.length > limit) runs.length = limit;
    const waiters: Array<TRun | IPlainWaiter> = runs;
    let chunk = this.headChunk;
    let slot = this.headSlot;
    for (let left = Math.min(this.plainCount, limit - runs.length); left > 0; left--) {
      if (slot === linkSlot(chunk!)) {
        chunk = chunk![slot] as Chunk;
        slot = 0;
      }
      waiters.push(chunk![slot++] as IPlainWaiter);
    }
    return waiters;
  }

  /** Whether `run` goes before the first plain waiter, and so before all of them. */
  private goesBeforePlain(run: TRun): boolean {
    const first = this.headChunk![this.headSlot] as IPlainWaiter;
    const priority = first.task.priority;
    return run.priority !== priority ? run.priority > priority : run.seq < first.seq;
  }

  /** Moves every plain waiter into the queue, as runs; they arrived in order, so each goes to the lane. */
  private turnPlainIntoRuns(): void {
    while (this.plainCount > 0) this.push(this.shiftPlain());
  }

  private shiftPlain(): TRun {
    const chunk = this.headChunk!;
    const slot = this.headSlot;
    const waiter = chunk[slot] as IPlainWaiter;
    this.soleGroup ??= [this.group!];
    const run = this.makeRun(waiter.task, waiter.input, this.soleGroup, this.key, waiter.seq, waiter.resolve);
    chunk[slot] = undefined;
    this.headSlot = slot + 1;
    if (--this.plainCount === 0) {
      this.headChunk = this.tailChunk = undefined;
    } else if (this.headSlot === linkSlot(chunk)) {
      // A spent chunk is let go of, so a line that never empties does not keep every slot it ever had.
      this.headChunk = chunk[linkSlot(chunk)] as Chunk;
      chunk[linkSlot(chunk)] = undefined;
      this.headSlot = 0;
    }
    return run;
  }
}

keepShapeAlive(new WaitLine(undefined, '', undefined, () => undefined as never));
