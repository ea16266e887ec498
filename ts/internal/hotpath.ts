/**
 * The performance tricks of the hot paths (trigger, queue drain, run end), explained once.
 * `npm run bench` measures each in a fresh process; take one out only with a run of it
 * before and after.
 *
 * 1. Shapes kept alive (`keepShapeAlive`). V8 holds the hidden class of a fully built
 *    object only weakly: once every run has ended and a full garbage collection runs, the
 *    class is dropped, all code optimised for it is thrown away, and the next burst of
 *    triggers starts slow, in the interpreter. One instance per hot class, held here for
 *    the life of the module, keeps each class.
 *
 * 2. Doubles from the start (`NO_TIME`). A time in epoch ms is not a small integer: a
 *    field that starts as NaN holds doubles from the first write, so setting a time does
 *    not change the hidden class of runs (which would make every run site polymorphic).
 *
 * 3. One executor for every trigger promise (`newPromise` / `takeResolve`). A
 *    `new Promise((resolve) => ...)` makes a closure per trigger; a module-level executor
 *    that parks the resolve function for the caller to take right away makes none. The
 *    resolve is taken at once, in the same synchronous stretch, and `takeResolve` clears
 *    the slot so it never keeps a settled promise alive.
 *
 * 4. Plain waiters as object literals (`newPlainWaiter`). V8 tracks the objects made at a
 *    literal, and once most of them outlive a young-generation collection (as waiters
 *    behind a busy key do) it makes the rest straight in the old generation, where no
 *    young collection copies them again. A class instance, or slots of an array, would be
 *    copied once or twice each; behind a busy per-key mutex that copying costs about a
 *    fifth of the whole run. V8 decides once per literal, from the first collections that
 *    meet many waiters; in a process whose first bursts drained within a collection or
 *    two it decides against it for good, and waiters then cost about a tenth more.
 *
 * 5. No old-to-young references left behind. A run that waited is old by the time it
 *    starts, the objects of its start are young; the young collector treats every
 *    reference from an old object to a young one as live. So ended runs drop their
 *    active part (`ConstrainedRun.active`), and the manager's list of active runs holds
 *    the old run records, not their young active parts.
 *
 * 6. No run object for a run that only its try can end (`runOneTry` in task/taskrun.ts).
 *    Most `task.trigger()` calls have no signal, timeout, retry or manager: the run's
 *    state (its start and its id) lives in the context of its one try, which the try's
 *    reactions reach through their closure, and the caller gets the try's own promise. A
 *    run object and a promise of its own would cost a fifth more per awaited trigger and
 *    half again per trigger of a burst held at once.
 */

const keptAlive: object[] = [];

/** Keeps one instance of a hot class alive for good (trick 1). */
export function keepShapeAlive(instance: object): void {
  keptAlive.push(instance);
}

/** The start value of a time field that will hold epoch ms (trick 2). */
export const NO_TIME = Number.NaN;

export type TResolve = (value: unknown) => void;

function noop(): void {}

let parkedResolve: TResolve = noop;

function parkResolve(resolve: TResolve): void {
  parkedResolve = resolve;
}

/** A new pending promise; take its resolve function with `takeResolve()` right after (trick 3). */
export function newPromise(): Promise<unknown> {
  return new Promise(parkResolve);
}

/** The resolve function of the promise `newPromise` just made. */
export function takeResolve(): TResolve {
  const resolve = parkedResolve;
  parkedResolve = noop;
  return resolve;
}

/** A trigger that waits without a run object (trick 4). */
export interface IPlainWaiter<TTask> {
  readonly task: TTask;
  readonly input: unknown;
  readonly resolve: TResolve;
  readonly seq: number;
}

/** Made by this one literal on purpose (trick 4). */
export function newPlainWaiter<TTask>(task: TTask, input: unknown, resolve: TResolve, seq: number): IPlainWaiter<TTask> {
  return { task, input, resolve, seq };
}
