/**
 * A randomized hunt for clock races in the run queue (fast-check).
 *
 * The run queue reads the clock several times in a row to decide whether a key is still
 * cooling down and how long to wait for it. A real clock rarely moves between two adjacent
 * reads, so a race there hides from the other stress tests (one such race once left a run
 * queued behind a cooldown waiting forever, when the cooldown passed between the read
 * that said "blocked" and the read that said "0 ms left"). Here each generated case runs on
 * a fake clock (fake-clock.ts) whose readings move on every read: they follow the time the
 * timers run on (at full or at half speed, so that timers also fire before the clock says
 * the cooldown is over) plus an offset that grows on every read by the next step of a
 * generated cycle; most steps are 0–3 ms, some jump past any cooldown. The readings never
 * go back, so the times read inside the task functions and those the groups record can be
 * compared without slack. Everything of a case that waits (functions, delayed triggers,
 * pauses, aborts, the stop) waits on the fake timers, so a case takes no real time and
 * plays out the same way every time it runs: fast-check's replay and shrinking see the
 * same case. Timers due at the same ms fire in the order they were set, each followed by
 * the promise reactions it caused, as on node's event loop.
 *
 * Each case builds a manager with 1–4 composed groups (caps 1–3, cooldowns of 0 or 1–20
 * ms, one key per job or one key for all, null for some jobs; some groups have a
 * shouldExecute that says no to vetoed jobs, at once, after a microtask or after a timer),
 * 1–3 tasks (some retry failed tries after 0–3 ms) and up to 24 jobs, triggered at once or
 * after a few ms, whose functions return at once, after a microtask or after a short
 * timer, and fail their first few tries when told to. The variants also pause and
 * resume tasks and groups, or remove groups (some while paused), at random moments.
 *
 * Checked: every trigger settles exactly once (a case in which something still waits when
 * no timer is left to fire is stuck, and fails at once; one still going after 5 s of fake
 * time fails too), with the outcome its job calls for; no key runs more functions at once than its cap, and every running function holds
 * a slot of each of its keys (counted from inside the functions); no function of a key
 * of a one-at-a-time group starts before the group's cooldown after the previous one of
 * that key returned; at the end no group, removed ones included, holds a slot or has a
 * waiting run.
 *
 * A fourth property adds what cuts runs short: triggers with an AbortSignal aborted at a
 * random moment (before the trigger, while queued, while running, between retries, from
 * inside the function), per-trigger timeouts of 1–15 ms that functions on longer timers
 * outlast (some stop when their signal is aborted, some run on regardless), and in half the
 * cases a stop({ drain: true, timeoutMs: 0–30 }) at a random moment. Each trigger must settle
 * once, with an outcome that what happened to it allows (its result, its function's error, a
 * TimeoutError, an AbortError caused by its own signal or by the drain, a ShutdownError for
 * those waiting when the stop began or refused after it); caps hold among the functions whose
 * try is still live; the drain signals everything still running once its timeout passes, and
 * resolves by then; and at the end no slot is held, nothing waits and stop() resolves. See
 * runAbortScenario.
 *
 * CLOCK_STRESS_SCALE=<n> in the environment multiplies the number of cases.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { AbortError, ShutdownError, Task, TaskConstraintGroup, TaskManager, TimeoutError } from '../ts/index.js';
import { withFakeClock, type FakeClock, type IFakeClockOptions } from './fake-clock.js';
import { flush, track } from './rule-helpers.js';

const SCALE = Math.max(1, Number(process.env.CLOCK_STRESS_SCALE ?? '1') || 1);

/**
 * A case still going after this much fake time is stuck (a livelock: timers that keep
 * re-arming). No wait in a case is longer than some 40 ms (a 20 ms cooldown on the
 * half-speed clock), and every case is over within a few hundred ms.
 */
const CASE_LIMIT_MS = 5000;

/**
 * What both scenario runners share: waits on the case's clock that the cleanup cancels,
 * the pause, resume and group-removal actions, and the end of a case.
 */
class CaseStage {
  /** Set when the case ends: anything still waiting then does nothing more. */
  over = false;
  readonly timers = new Set<ReturnType<FakeClock['setTimeout']>>();
  /** Groups an action removed from the manager. */
  readonly removed = new Set<TaskConstraintGroup<any>>();
  private readonly pausedTasks = new Set<string>();
  private readonly pausedGroups = new Set<string>();

  constructor(
    private readonly clock: FakeClock,
    private readonly manager: TaskManager,
    private readonly violations: string[],
  ) {}

  /** A wait on the case's clock that the cleanup can cancel (it then never resolves). */
  readonly wait = (ms: number): Promise<void> => new Promise<void>((resolve) => {
    const timer = this.clock.setTimeout(() => {
      this.timers.delete(timer);
      resolve();
    }, ms);
    this.timers.add(timer);
  });

  /** Waits until the action is due, then takes it; a manager call that throws is a violation. */
  async perform(action: IAction, tasks: ReadonlyArray<Task<any, any, any, any, any>>, groups: ReadonlyArray<TaskConstraintGroup<any>>): Promise<void> {
    const { manager } = this;
    await this.wait(action.atMs);
    if (this.over) return;
    try {
      if (action.kind === 'removeGroup') {
        const group = groups[action.target % groups.length]!;
        if (this.removed.has(group)) return;
        // Marked first: runs it held back may start inside the call.
        this.removed.add(group);
        this.pausedGroups.delete(group.name);
        assert.equal(manager.removeConstraintGroup(group.name), true);
      } else if (action.kind === 'pauseTask') {
        const name = tasks[action.target % tasks.length]!.name!;
        manager.pauseTask(name);
        this.pausedTasks.add(name);
        await this.wait(action.forMs);
        if (this.over) return;
            manager.resumeTask(name);
        this.pausedTasks.delete(name);
      } else {
        const group = groups[action.target % groups.length]!;
        if (this.removed.has(group)) return;
        manager.pauseConstraintGroup(group.name);
        this.pausedGroups.add(group.name);
        await this.wait(action.forMs);
        if (this.over || this.removed.has(group)) return;
            manager.resumeConstraintGroup(group.name);
        this.pausedGroups.delete(group.name);
      }
    } catch (error) {
      this.violations.push(`${action.kind} at ${action.atMs} ms threw: ${describeError(error)}`);
    }
  }

  /** Ends the case: cancels its waits, resumes what it paused, and stops the manager (rejecting what a failed case left behind). */
  async end(): Promise<void> {
    this.over = true;
    for (const timer of this.timers) this.clock.clearTimeout(timer);
    for (const name of this.pausedTasks) this.manager.resumeTask(name);
    for (const name of this.pausedGroups) this.manager.resumeConstraintGroup(name);
    await this.clock.settle(this.manager.stop({ drain: true, timeoutMs: 0 }), 'the closing stop()', CASE_LIMIT_MS).catch(() => {});
  }
}

const MAX_GROUPS = 4;
const KEYS = ['k0', 'k1'] as const;
/** The key of a group that puts every job under one key. */
const ALL = 'all';

type TPace = 'sync' | 'microtask' | 'timer';

interface IClockSpec {
  /** Added to the clock's offset on each read, in turn, from the first again after the last. */
  steps: number[];
  /** The readings follow the timers' time at half speed, so a cooldown timer often fires before the clock says it may. */
  halfSpeed: boolean;
}

interface IGroupSpec {
  cap: number;
  cooldownMs: number;
  /** 'input': the job's key for this group; 'constant': one key for all jobs (still null for some). */
  keyedBy: 'input' | 'constant';
  /** How the group's shouldExecute answers (no to vetoed jobs); undefined = the group has none. */
  veto: TPace | undefined;
}

interface ITaskSpec {
  retry: { attempts: number; delayMs: number } | undefined;
}

interface IJob {
  taskIndex: number;
  /** Per group (by index): the key, or null when the group does not apply. */
  keys: Array<string | null>;
  veto: boolean;
  /** How the function returns: at once, after a microtask, or after a timer of `durationMs`. */
  pace: TPace;
  durationMs: number;
  /** The first `failTries` tries throw. */
  failTries: number;
  /** undefined = triggered at once, in the same synchronous loop as the other immediate jobs. */
  delayMs: number | undefined;
  priority: number | undefined;
}

type TActionKind = 'pauseTask' | 'pauseGroup' | 'removeGroup';

interface IAction {
  kind: TActionKind;
  atMs: number;
  /** A task or group index, modulo their number. */
  target: number;
  /** For pauses: how long until the resume. */
  forMs: number;
}

/** What every scenario has: a clock, groups and tasks. */
interface IScenarioBase {
  clock: IClockSpec;
  groups: IGroupSpec[];
  tasks: ITaskSpec[];
}

interface IScenario extends IScenarioBase {
  jobs: IJob[];
  actions: IAction[];
}

interface IJobInput {
  id: number;
  job: IJob;
}

type TOutcome = { state: 'fulfilled'; value: unknown } | { state: 'rejected'; reason: unknown };

// ---- generators ----------------------------------------------------------------------------

const clockArb: fc.Arbitrary<IClockSpec> = fc.record({
  steps: fc.array(
    fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 3 }) },
      // Longer than many cooldowns: the cooldown passes between two reads for sure.
      { weight: 1, arbitrary: fc.integer({ min: 4, max: 40 }) },
    ),
    { minLength: 1, maxLength: 40 },
  ),
  halfSpeed: fc.boolean(),
});

const groupArb: fc.Arbitrary<IGroupSpec> = fc.record({
  cap: fc.integer({ min: 1, max: 3 }),
  cooldownMs: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.integer({ min: 1, max: 20 }) }),
  keyedBy: fc.constantFrom<IGroupSpec['keyedBy']>('input', 'input', 'constant'),
  veto: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom<TPace>('sync', 'microtask', 'timer') },
  ),
});

const taskArb: fc.Arbitrary<ITaskSpec> = fc.record({
  retry: fc.option(fc.record({ attempts: fc.integer({ min: 2, max: 3 }), delayMs: fc.integer({ min: 0, max: 3 }) }), { nil: undefined, freq: 2 }),
});

const jobArb = (taskCount: number): fc.Arbitrary<IJob> => fc.record({
  taskIndex: fc.integer({ min: 0, max: taskCount - 1 }),
  keys: fc.array(fc.option(fc.constantFrom<string>(...KEYS), { nil: null, freq: 5 }), { minLength: MAX_GROUPS, maxLength: MAX_GROUPS }),
  // Shrinks towards no veto.
  veto: fc.integer({ min: 0, max: 4 }).map((n) => n === 4),
  pace: fc.constantFrom<TPace>('sync', 'sync', 'microtask', 'timer'),
  durationMs: fc.integer({ min: 1, max: 4 }),
  failTries: fc.constantFrom(0, 0, 0, 1, 2, 3),
  delayMs: fc.option(fc.integer({ min: 0, max: 25 }), { nil: undefined, freq: 2 }),
  priority: fc.option(fc.integer({ min: -1, max: 1 }), { nil: undefined, freq: 2 }),
});

const actionArb = (kinds: TActionKind[]): fc.Arbitrary<IAction> => fc.record({
  kind: fc.constantFrom(...kinds),
  atMs: fc.integer({ min: 0, max: 30 }),
  target: fc.nat({ max: 11 }),
  forMs: fc.integer({ min: 0, max: 20 }),
});

/** A clock, groups and tasks, and what `rest` draws for that many tasks (jobs pick a task by index). */
function scenarioWith<TRest>(rest: (taskCount: number) => fc.Arbitrary<TRest>): fc.Arbitrary<IScenarioBase & TRest> {
  return fc
    .record({
      clock: clockArb,
      groups: fc.array(groupArb, { minLength: 1, maxLength: MAX_GROUPS }),
      tasks: fc.array(taskArb, { minLength: 1, maxLength: 3 }),
    })
    .chain((base) => rest(base.tasks.length).map((drawn) => ({ ...base, ...drawn })));
}

const scenarioArb = (actionKinds: TActionKind[]): fc.Arbitrary<IScenario> => scenarioWith((taskCount) => fc.record({
  jobs: fc.array(jobArb(taskCount), { minLength: 1, maxLength: 24 }),
  actions: actionKinds.length === 0 ? fc.constant([]) : fc.array(actionArb(actionKinds), { minLength: 1, maxLength: 4 }),
}));

// ---- the clock -------------------------------------------------------------------------------

/** Where the fake clock of every case starts. */
const ORIGIN = 1_700_000_000_000;

/** A fake clock whose readings move on every read, as `spec` says. */
function clockOptions(spec: IClockSpec): IFakeClockOptions {
  let offset = 0;
  let reads = 0;
  let last = ORIGIN;
  const reading = (time: number): number => {
    offset += spec.steps[reads++ % spec.steps.length]!;
    const elapsed = time - ORIGIN;
    // Never back: a clock that steps back would only blur the comparisons below.
    last = Math.max(last, ORIGIN + (spec.halfSpeed ? Math.floor(elapsed / 2) : elapsed) + offset);
    return last;
  };
  return { start: ORIGIN, reading };
}

// ---- one case ----------------------------------------------------------------------------------

/** The key `job` has in the group at `groupIndex`: its own, or ALL for a group that puts every job under one key. */
function jobKey(group: IGroupSpec, groupIndex: number, job: IJob): string | null {
  const key = job.keys[groupIndex] ?? null;
  if (key === null) return null;
  return group.keyedBy === 'constant' ? ALL : key;
}

async function runScenario(scenario: IScenario): Promise<void> {
  await withFakeClock(clockOptions(scenario.clock), (clock) => runScenarioOn(clock, scenario));
}

async function runScenarioOn(clock: FakeClock, scenario: IScenario): Promise<void> {
  const { jobs, actions } = scenario;
  const manager = new TaskManager();
  const violations: string[] = [];
  const stage = new CaseStage(clock, manager, violations);
  const { removed, wait } = stage;

  try {
    const keyOf = (groupIndex: number, job: IJob): string | null => jobKey(scenario.groups[groupIndex]!, groupIndex, job);

    // Jobs a shouldExecute said no to (by the time it answered).
    const saidNo = new Array<boolean>(jobs.length).fill(false);
    const groups = scenario.groups.map((spec, index) => new TaskConstraintGroup({
      name: `g${index}`,
      maxConcurrent: spec.cap,
      cooldownMs: spec.cooldownMs,
      constraintKeyForExecution: (_task, input?: IJobInput) => keyOf(index, input!.job),
      shouldExecute: spec.veto === undefined ? undefined : (_task, input?: IJobInput) => {
        const { id, job } = input!;
        if (job.veto) saidNo[id] = true;
        if (spec.veto === 'sync') return !job.veto;
        if (spec.veto === 'microtask') return Promise.resolve(!job.veto);
        return clock.sleep(1).then(() => !job.veto);
      },
    }));
    for (const group of groups) manager.addConstraintGroup(group);

    // Instrumentation, written from inside the task functions only.
    const calls = new Array<number>(jobs.length).fill(0);
    const inside = new Map<string, number>(); // `${group}/${key}` → functions running now
    const lastReturn = new Map<string, number>(); // `${group}/${key}` → when its last function returned (fake clock)

    const body = ({ id, job }: IJobInput, attempt: number): string | Promise<string> => {
      calls[id]!++;
      const start = clock.now();
      const counted: string[] = [];
      groups.forEach((group, index) => {
        const key = keyOf(index, job);
        // A run started after its group was removed is not held back by it.
        if (key === null || removed.has(group)) return;
        const slot = `${group.name}/${key}`;
        counted.push(slot);
        const running = (inside.get(slot) ?? 0) + 1;
        inside.set(slot, running);
        const where = `job ${id} try ${attempt}`;
        if (running > group.maxConcurrent) violations.push(`${where}: ${running} functions of ${slot} at once (cap ${group.maxConcurrent})`);
        const held = group.getRunningCount(key);
        if (held < running) violations.push(`${where}: ${running} functions of ${slot} running but ${held} slots held`);
        if (held > group.maxConcurrent) violations.push(`${where}: ${slot} holds ${held} slots (cap ${group.maxConcurrent})`);
        // With one slot, the previous function of the key returned before its slot was given
        // back, and that before this run could take the slot: on a clock that never goes back
        // the gap seen here can only be longer than the one the group measured.
        if (group.maxConcurrent === 1 && group.cooldownMs > 0) {
          const previous = lastReturn.get(slot);
          if (previous !== undefined && start < previous + group.cooldownMs) {
            violations.push(`${where}: ${slot} started ${start - previous} ms after the previous function of the key returned (cooldown ${group.cooldownMs} ms)`);
          }
        }
      });
      const end = (): string => {
        const returnedAt = clock.now();
        for (const slot of counted) {
          inside.set(slot, inside.get(slot)! - 1);
          lastReturn.set(slot, returnedAt);
        }
        if (attempt <= job.failTries) throw new Error(`job ${id} try ${attempt} failed`);
        return `result-${id}`;
      };
      if (job.pace === 'sync') return end();
      if (job.pace === 'microtask') return Promise.resolve().then(end);
      return clock.sleep(job.durationMs).then(end);
    };

    const tasks = scenario.tasks.map((spec, index) => {
      const task = new Task<undefined, [], Record<string, unknown>, IJobInput, string>({
        name: `task-${index}`,
        retry: spec.retry,
        taskFunction: (input, _setup, context) => body(input, context.attempt),
      });
      manager.addTask(task);
      return task;
    });

    const settleCounts = new Array<number>(jobs.length).fill(0);
    const outcomes = new Array<TOutcome | undefined>(jobs.length);
    const fire = (job: IJob, id: number): Promise<void> => {
      const options = job.priority === undefined ? undefined : { priority: job.priority };
      return manager.triggerTask(tasks[job.taskIndex]!, { id, job }, options).then(
        (value) => {
            settleCounts[id]!++;
          outcomes[id] = { state: 'fulfilled', value };
        },
        (reason: unknown) => {
            settleCounts[id]!++;
          outcomes[id] = { state: 'rejected', reason };
        },
      );
    };

    const settled: Array<Promise<void>> = [];
    jobs.forEach((job, id) => {
      if (job.delayMs === undefined) settled.push(fire(job, id));
      else settled.push(wait(job.delayMs).then(() => fire(job, id)));
    });
    const performed = actions.map((action) => stage.perform(action, tasks, groups));

    try {
      await clock.settle(Promise.all([...settled, ...performed]), `all ${jobs.length} triggers to settle and ${actions.length} actions to finish`, CASE_LIMIT_MS);
    } catch (error) {
      const pending = jobs.flatMap((_, id) => (settleCounts[id] === 0 ? [id] : []));
      throw new Error(`${error instanceof Error ? error.message : String(error)}; jobs still pending: [${pending.join(', ')}]; ` +
        `functions called: [${calls.join(', ')}]; group states: ${JSON.stringify(manager.getConstraintGroupStates())}`);
    }
    await flush();

    assert.deepEqual(violations, []);
    // A shouldExecute that never went away must have been asked about every vetoed job.
    const vetoStayed = groups.some((group, index) => scenario.groups[index]!.veto !== undefined && !removed.has(group));
    jobs.forEach((job, id) => {
      assert.equal(settleCounts[id], 1, `job ${id} settled ${settleCounts[id]} times`);
      const outcome = outcomes[id]!;
      if (saidNo[id]) {
        assert.deepEqual(outcome, { state: 'fulfilled', value: undefined }, `job ${id}: a skipped run resolves undefined`);
        assert.equal(calls[id], 0, `job ${id}: a skipped run never calls the function`);
        return;
      }
      if (job.veto) assert.equal(vetoStayed, false, `job ${id} was vetoed but no shouldExecute was asked about it`);
      const attempts = scenario.tasks[job.taskIndex]!.retry?.attempts ?? 1;
      if (job.failTries >= attempts) {
        assert.equal(outcome.state, 'rejected', `job ${id} should reject after ${attempts} failed tries`);
        assert.equal((outcome as { reason: Error }).reason.message, `job ${id} try ${attempts} failed`);
        assert.equal(calls[id], attempts, `job ${id}: ${calls[id]} tries, expected ${attempts}`);
      } else {
        assert.deepEqual(outcome, { state: 'fulfilled', value: `result-${id}` }, `job ${id} should resolve with its result`);
        assert.equal(calls[id], job.failTries + 1, `job ${id}: ${calls[id]} tries, expected ${job.failTries + 1}`);
      }
    });
    for (const group of groups) {
      for (const key of [...KEYS, ALL]) assert.equal(group.getRunningCount(key), 0, `${group.name}/${key} still holds a slot${removed.has(group) ? ' (removed group)' : ''}`);
    }
    for (const state of manager.getConstraintGroupStates()) {
      for (const key of state.keys) {
        assert.equal(key.running, 0, `${state.name}/${key.key} still running`);
        assert.equal(key.waiting, 0, `${state.name}/${key.key} still has waiting runs`);
      }
    }
    for (const [slot, count] of inside) assert.equal(count, 0, `${slot} still counts ${count} running functions`);
  } finally {
    // A failed case may leave runs behind: they are rejected, so nothing of this case leaks into the next.
    await stage.end();
  }
}

/**
 * How many cases each property runs. A case on the fake clock costs a few ms, against some
 * 30 ms of real waiting before; three times the cases it ran then make up for the timings
 * that a loaded machine used to mix in by chance.
 */
const CASE_FACTOR = 3;

async function check(actionKinds: TActionKind[], numRuns: number): Promise<void> {
  await checkProperty(scenarioArb(actionKinds), runScenario, numRuns);
}

async function checkProperty<T>(arbitrary: fc.Arbitrary<T>, run: (scenario: T) => Promise<void>, numRuns: number): Promise<void> {
  const details = await fc.check(fc.asyncProperty(arbitrary, run), {
    numRuns: numRuns * CASE_FACTOR * SCALE,
    // A failing case is shrunk; bound that so a broken build fails in reasonable time.
    interruptAfterTimeLimit: 60_000 * SCALE,
    markInterruptAsFailure: true,
  });
  if (details.failed) {
    const error = details.errorInstance;
    assert.fail(`${fc.defaultReportMessage(details)}\n\nFailure of the shrunk case:\n${error instanceof Error ? error.message : String(error)}`);
  }
}

test('runs queued behind cooldowns all start, and no cap or cooldown is broken, however far the clock moves between two reads', async () => {
  await check([], 80);
});

test('runs held back by paused tasks and groups all start once resumed, however far the clock moves between two reads', async () => {
  await check(['pauseTask', 'pauseGroup'], 60);
});

test('removing groups in the middle of a burst, paused ones too, strands no run and leaks no slot, however far the clock moves between two reads', async () => {
  await check(['removeGroup', 'pauseGroup'], 60);
});

// ---- aborts, per-trigger timeouts and a draining stop ------------------------------------------

/**
 * When a trigger's signal is aborted (undefined: the trigger has no signal; 'never': it has
 * one that is never aborted):
 * - before: before the trigger is made (it rejects at once);
 * - sync / microtask: right after the trigger call, in the same synchronous code or a
 *   microtask later (the run is queued, or started and its function may have returned
 *   already without the run having seen it yet);
 * - afterTrigger: `ms` ms after the trigger (queued, running, between retries or over);
 * - afterStart: `ms` ms after its first try began, 0 = synchronously inside that try's
 *   function (the run ends, and releases its slots, while its function is on the stack).
 */
type TAbortAt =
  | { when: 'before' }
  | { when: 'sync' }
  | { when: 'microtask' }
  | { when: 'afterTrigger'; ms: number }
  | { when: 'afterStart'; ms: number };

interface IAbortJob extends IJob {
  abort: TAbortAt | 'never' | undefined;
  /** The trigger's timeoutMs. */
  timeoutMs: number | undefined;
  /** Whether a function that waits on a timer ends early (rejecting) when its signal is aborted, or runs on regardless. */
  heedsSignal: boolean;
}

interface IStopSpec {
  /** ms after the case began. */
  atMs: number;
  /** stop({ drain: true, timeoutMs }). */
  timeoutMs: number;
}

interface IAbortScenario extends IScenarioBase {
  jobs: IAbortJob[];
  actions: IAction[];
  stop: IStopSpec | undefined;
}

interface IAbortJobInput {
  id: number;
  job: IAbortJob;
}

/** One call of a job's function, seen from inside it. */
interface ITry {
  attempt: number;
  /** Event number (see `next` in runAbortScenario) of the call. */
  calledAt: number;
  /**
   * live: called and neither returned nor signalled. A try whose signal is aborted
   * (timeout, the trigger's signal, a draining stop) is abandoned at that moment: its run
   * drops whatever it does later and gives its slots back, whether or not the function
   * heeds the signal and stops.
   */
  state: 'live' | 'returned' | 'threw' | 'abandoned';
  /** What it threw (state threw), or the reason its signal was aborted with (state abandoned). */
  error?: unknown;
  /** Event number (see `next` in runAbortScenario) of its return, throw or abandonment. */
  endedAt?: number;
}

const abortAtArb: fc.Arbitrary<IAbortJob['abort']> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant('never' as const) },
  { weight: 1, arbitrary: fc.constant({ when: 'before' as const }) },
  { weight: 1, arbitrary: fc.constantFrom({ when: 'sync' as const }, { when: 'microtask' as const }) },
  { weight: 2, arbitrary: fc.record({ when: fc.constant('afterTrigger' as const), ms: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ when: fc.constant('afterStart' as const), ms: fc.integer({ min: 0, max: 10 }) }) },
);

/** A job of the other properties, with a signal, a timeout, and functions that may outlast it. */
const abortJobArb = (taskCount: number): fc.Arbitrary<IAbortJob> => fc
  .record({
    base: jobArb(taskCount),
    // A function on a timer longer than most timeouts (1–15 ms) and than many draining
    // stops' timeouts; the base durations (1–4 ms) are shorter than most.
    longMs: fc.option(fc.integer({ min: 5, max: 40 }), { nil: undefined, freq: 2 }),
    abort: abortAtArb,
    timeoutMs: fc.option(fc.integer({ min: 1, max: 15 }), { nil: undefined, freq: 2 }),
    heedsSignal: fc.boolean(),
  })
  .map(({ base, longMs, ...rest }) => ({
    ...base,
    ...(longMs === undefined ? {} : { pace: 'timer' as const, durationMs: longMs }),
    ...rest,
  }));

const abortScenarioArb: fc.Arbitrary<IAbortScenario> = scenarioWith((taskCount) => fc.record({
  jobs: fc.array(abortJobArb(taskCount), { minLength: 1, maxLength: 16 }),
  actions: fc.array(actionArb(['pauseTask', 'pauseGroup']), { maxLength: 2 }),
  stop: fc.option(fc.record({
    atMs: fc.integer({ min: 0, max: 30 }),
    // Mostly shorter than the long functions, so that the drain often has to abort some.
    timeoutMs: fc.oneof({ weight: 2, arbitrary: fc.integer({ min: 0, max: 8 }) }, { weight: 1, arbitrary: fc.integer({ min: 9, max: 30 }) }),
  }), { nil: undefined, freq: 2 }),
}));

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (cause ${error.cause.name}: ${error.cause.message})` : '';
  return `${error.name}: ${error.message}${cause}`;
}

async function runAbortScenario(scenario: IAbortScenario): Promise<void> {
  await withFakeClock(clockOptions(scenario.clock), (clock) => runAbortScenarioOn(clock, scenario));
}

async function runAbortScenarioOn(clock: FakeClock, scenario: IAbortScenario): Promise<void> {
  const { jobs, actions, stop } = scenario;
  const manager = new TaskManager();
  const violations: string[] = [];
  const stage = new CaseStage(clock, manager, violations);
  const { timers, wait } = stage;
  /** Numbers the events of the case in the order they happen, so that "before" can be checked without a clock. */
  let events = 0;
  const next = (): number => ++events;
  // A run queue that settles a trigger twice (rejectRun on a settled trigger) leaves an
  // unhandled rejection. The test runner would fail the whole test on it at once, with no
  // counterexample: for the length of the case it is a violation of the case instead (the
  // runner's own listeners are put back when the case ends).
  const onUnhandled = (reason: unknown): void => {
    violations.push(`unhandled rejection: ${describeError(reason)}`);
  };
  const runnerListeners = process.listeners('unhandledRejection');
  process.removeAllListeners('unhandledRejection');
  process.on('unhandledRejection', onUnhandled);

  try {
    const keyOf = (groupIndex: number, job: IJob): string | null => jobKey(scenario.groups[groupIndex]!, groupIndex, job);

    const saidNo = new Array<boolean>(jobs.length).fill(false);
    /** When a shouldExecute was first asked about the job: its run held its slots by then. */
    const askedAt = new Array<number | undefined>(jobs.length);
    const groups = scenario.groups.map((spec, index) => new TaskConstraintGroup({
      name: `g${index}`,
      maxConcurrent: spec.cap,
      cooldownMs: spec.cooldownMs,
      constraintKeyForExecution: (_task, input?: IAbortJobInput) => keyOf(index, input!.job),
      shouldExecute: spec.veto === undefined ? undefined : (_task, input?: IAbortJobInput) => {
        const { id, job } = input!;
        askedAt[id] ??= next();
        if (job.veto) saidNo[id] = true;
        if (spec.veto === 'sync') return !job.veto;
        if (spec.veto === 'microtask') return Promise.resolve(!job.veto);
        // As long as the job's function would run: an abort or a draining stop often finds the
        // run holding its slots without a task run yet (a path of its own in the run queue).
        return clock.sleep(job.durationMs).then(() => !job.veto);
      },
    }));
    for (const group of groups) manager.addConstraintGroup(group);

    const controllers = jobs.map((job) => (job.abort === undefined ? undefined : new AbortController()));
    const reasons = jobs.map((_, id) => new Error(`abort of job ${id}`));
    const abortedAt = new Array<number | undefined>(jobs.length);
    /** At the abort: whether a try of the job was live, and whether its run had shown any sign of having started. */
    const liveAtAbort = new Array<boolean>(jobs.length).fill(false);
    const startedAtAbort = new Array<boolean>(jobs.length).fill(false);

    const tries = jobs.map((): ITry[] => []);
    const calls = (id: number) => tries[id]!.length;
    const liveTries = () => tries.flatMap((list, id) => list.filter((t) => t.state === 'live').map((t) => `job ${id} try ${t.attempt}`));

    const abortJob = (id: number): void => {
      const controller = controllers[id]!;
      if (stage.over || controller.signal.aborted) return;
      abortedAt[id] = next();
      liveAtAbort[id] = tries[id]!.some((t) => t.state === 'live');
      startedAtAbort[id] = tries[id]!.length > 0 || askedAt[id] !== undefined;
      controller.abort(reasons[id]);
      // "A running one rejects at once too, its function's signal is aborted": the run's
      // listener runs inside abort(), so no try of the job may be live any more.
      const live = tries[id]!.filter((t) => t.state === 'live');
      if (live.length > 0) violations.push(`job ${id}: try ${live[0]!.attempt} still ran unsignalled after the trigger's signal was aborted`);
    };

    // ---- the stop --------------------------------------------------------------------------
    let stopAt: number | undefined;
    let stopResolved = false;
    /** Runs in constraint lines just before the stop began, by the manager's own count. */
    let waitingAtStop = 0;
    /** Set by a timer of the stop's own timeoutMs set just before stop() set its own; see performStop. */
    let drainDue = false;

    // Caps, from inside the functions. A function that ignores its signal runs on after its
    // try was abandoned (timed out, aborted by its trigger's signal or by a draining stop),
    // and by then its run has given its slots back, so that another run of the key may
    // start while it still runs: that is what the readme promises ("the slot is released
    // even if the function ignores the signal"), not a broken cap. So a function counts as
    // running a key only while its try is live: from its call until it returns, throws or
    // its signal is aborted, whichever comes first. Its signal is aborted (and our listener
    // uncounts it) before the run gives its slots back (TaskRun.onTimeout and abort signal
    // the try first, then release), so a live function always holds a slot of each of its
    // keys, and the count of live functions of a key never exceeds its cap. For the
    // cooldown check an abandoned try "returns" when it is abandoned, for the same reason.
    const inside = new Map<string, number>();
    const lastReturn = new Map<string, number>();

    const body = (input: IAbortJobInput, context: { signal: AbortSignal; attempt: number }): string | Promise<string> => {
      const { id, job } = input;
      const attempt = context.attempt;
      const where = `job ${id} try ${attempt}`;
      const list = tries[id]!;
      const previous = list[list.length - 1];
      const record: ITry = { attempt, calledAt: next(), state: 'live' };
      list.push(record);
      if (attempt !== list.length) violations.push(`${where}: try number ${attempt}, but it is call ${list.length} of the job's function`);
      if (previous?.state === 'live') violations.push(`${where} began while try ${previous.attempt} was still live`);
      if (stopResolved) violations.push(`${where} began after stop() resolved`);
      const signal = context.signal;
      if (signal.aborted) violations.push(`${where} began with its signal aborted already`);
      const start = clock.now();
      const counted: string[] = [];
      groups.forEach((group, index) => {
        const key = keyOf(index, job);
        if (key === null) return;
        const slot = `${group.name}/${key}`;
        counted.push(slot);
        const running = (inside.get(slot) ?? 0) + 1;
        inside.set(slot, running);
        if (running > group.maxConcurrent) violations.push(`${where}: ${running} live functions of ${slot} at once (cap ${group.maxConcurrent})`);
        const held = group.getRunningCount(key);
        if (held < running) violations.push(`${where}: ${running} live functions of ${slot} but ${held} slots held`);
        if (held > group.maxConcurrent) violations.push(`${where}: ${slot} holds ${held} slots (cap ${group.maxConcurrent})`);
        if (group.maxConcurrent === 1 && group.cooldownMs > 0) {
          const before = lastReturn.get(slot);
          if (before !== undefined && start < before + group.cooldownMs) {
            violations.push(`${where}: ${slot} started ${start - before} ms after the previous function of the key ended (cooldown ${group.cooldownMs} ms)`);
          }
        }
      });
      /** The try is over for its run: uncount it. */
      const leave = (state: ITry['state'], error: unknown): void => {
        record.state = state;
        record.error = error;
        record.endedAt = next();
        const endedAt = clock.now();
        for (const slot of counted) {
          inside.set(slot, inside.get(slot)! - 1);
          lastReturn.set(slot, endedAt);
        }
      };
      signal.addEventListener('abort', () => {
        if (record.state === 'live') leave('abandoned', signal.reason);
      }, { once: true });

      const end = (): string => {
        const error = attempt <= job.failTries ? new Error(`${where} failed`) : undefined;
        // A function that ran on after it was abandoned returns into the void.
        if (record.state === 'live') leave(error === undefined ? 'returned' : 'threw', error);
        if (error !== undefined) throw error;
        return `result-${id}`;
      };

      if (attempt === 1 && typeof job.abort === 'object' && job.abort.when === 'afterStart') {
        if (job.abort.ms === 0) abortJob(id);
        else void wait(job.abort.ms).then(() => abortJob(id));
      }
      if (job.pace === 'sync') return end();
      if (job.pace === 'microtask') return Promise.resolve().then(end);
      return new Promise<string>((resolve, reject) => {
        const timer = clock.setTimeout(() => {
          timers.delete(timer);
          try {
            resolve(end());
          } catch (error) {
            reject(error);
          }
        }, job.durationMs);
        timers.add(timer);
        if (job.heedsSignal) {
          signal.addEventListener('abort', () => {
            clock.clearTimeout(timer);
            timers.delete(timer);
            reject(signal.reason);
          }, { once: true });
        }
      });
    };

    const tasks = scenario.tasks.map((spec, index) => {
      const task = new Task<undefined, [], Record<string, unknown>, IAbortJobInput, string>({
        name: `task-${index}`,
        retry: spec.retry,
        taskFunction: (input, _setup, context) => body(input, context),
      });
      manager.addTask(task);
      return task;
    });

    // ---- triggers ----------------------------------------------------------------------------
    const triggeredAt = new Array<number | undefined>(jobs.length);
    const settledAt = new Array<number | undefined>(jobs.length);
    /** Whether drainDue was set when the trigger settled. */
    const settledAfterDrainDue = new Array<boolean>(jobs.length).fill(false);
    const settleCounts = new Array<number>(jobs.length).fill(0);
    const outcomes = new Array<TOutcome | undefined>(jobs.length);
    const fire = (job: IAbortJob, id: number): Promise<void> => {
      const options: { signal?: AbortSignal; timeoutMs?: number; priority?: number } = {};
      if (controllers[id] !== undefined) options.signal = controllers[id]!.signal;
      if (job.timeoutMs !== undefined) options.timeoutMs = job.timeoutMs;
      if (job.priority !== undefined) options.priority = job.priority;
      const abort = job.abort;
      if (typeof abort === 'object' && abort.when === 'before') abortJob(id);
      triggeredAt[id] = next();
      const settle = (outcome: TOutcome): void => {
        settledAt[id] = next();
        settledAfterDrainDue[id] = drainDue;
        settleCounts[id]!++;
        outcomes[id] = outcome;
      };
      const settled = manager.triggerTask(tasks[job.taskIndex]!, { id, job }, options).then(
        (value) => settle({ state: 'fulfilled', value }),
        (reason: unknown) => settle({ state: 'rejected', reason }),
      );
      if (typeof abort === 'object') {
        if (abort.when === 'sync') abortJob(id);
        else if (abort.when === 'microtask') queueMicrotask(() => abortJob(id));
        else if (abort.when === 'afterTrigger') void wait(abort.ms).then(() => abortJob(id));
      }
      return settled;
    };

    const performStop = async (spec: IStopSpec): Promise<void> => {
      await wait(spec.atMs);
      if (stage.over) return;
      // Timers of one length fire in the order they were set, and this one is set just
      // before stop() sets its own of the same length: once it fired, and only then, may
      // the drain give up waiting and abort what still runs.
      const marker = clock.setTimeout(() => {
        timers.delete(marker);
        drainDue = true;
      }, spec.timeoutMs);
      timers.add(marker);
      for (const state of manager.getConstraintGroupStates()) for (const key of state.keys) waitingAtStop += key.waiting;
      stopAt = next();
      const startedAt = clock.time;
      const stopping = manager.stop({ drain: true, timeoutMs: spec.timeoutMs });
      // And this one fires just after the stop's own: by then the drain gave up (its timer's
      // callback and the microtasks it started, abortActive among them, ran) unless it was
      // over already. Either way nothing runs any more and no slot is held.
      let afterFired!: () => void;
      const afterChecked = new Promise<void>((resolve) => {
        afterFired = resolve;
      });
      const after = clock.setTimeout(() => {
        timers.delete(after);
        afterFired();
        const live = liveTries();
        if (live.length > 0) violations.push(`the draining stop's timeoutMs (${spec.timeoutMs} ms) passed but these still ran unsignalled: ${live.join(', ')}`);
        for (const group of groups) {
          for (const key of [...KEYS, ALL]) {
            const held = group.getRunningCount(key);
            if (held > 0) violations.push(`the draining stop's timeoutMs (${spec.timeoutMs} ms) passed but ${group.name}/${key} still holds ${held} slots`);
          }
        }
      }, spec.timeoutMs);
      timers.add(after);
      try {
        await stopping;
      } catch (error) {
        violations.push(`stop({ drain: true, timeoutMs: ${spec.timeoutMs} }) rejected: ${describeError(error)}`);
        return;
      }
      stopResolved = true;
      next();
      const took = clock.time - startedAt;
      // A timer of 0 ms fires after 1 ms, on the fake clock as in node.
      if (took > Math.max(1, spec.timeoutMs)) violations.push(`stop({ drain: true, timeoutMs: ${spec.timeoutMs} }) took ${took} ms`);
      // Nothing runs once the drain is over: whatever still ran was aborted, and signalled.
      const live = liveTries();
      if (live.length > 0) violations.push(`stop() resolved while these still ran unsignalled: ${live.join(', ')}`);
      await afterChecked;
    };

    const settled: Array<Promise<void>> = [];
    jobs.forEach((job, id) => {
      if (job.delayMs === undefined) settled.push(fire(job, id));
      else settled.push(wait(job.delayMs).then(() => fire(job, id)));
    });
    const performed = actions.map((action) => stage.perform(action, tasks, groups));
    if (stop !== undefined) performed.push(performStop(stop));

    try {
      await clock.settle(Promise.all([...settled, ...performed]),
        `all ${jobs.length} triggers to settle, ${actions.length} actions to finish${stop === undefined ? '' : ' and stop() to resolve'}`);
    } catch (error) {
      const pending = jobs.flatMap((_, id) => (settleCounts[id] === 0 ? [id] : []));
      throw new Error(`${error instanceof Error ? error.message : String(error)}; jobs still pending: [${pending.join(', ')}]; ` +
        `functions called: [${tries.map((list) => list.length).join(', ')}]; live tries: [${liveTries().join(', ')}]; ` +
        `stop ${stop === undefined ? 'none' : stopResolved ? 'resolved' : stopAt === undefined ? 'not yet called' : 'pending'}; ` +
        `group states: ${JSON.stringify(manager.getConstraintGroupStates())}`);
    }
    await flush();

    assert.deepEqual(violations, []);

    // ---- each trigger's outcome --------------------------------------------------------------
    const vetoAsked = scenario.groups.some((spec) => spec.veto !== undefined);
    jobs.forEach((job, id) => {
      const where = `job ${id}`;
      assert.equal(settleCounts[id], 1, `${where} settled ${settleCounts[id]} times`);
      const outcome = outcomes[id]!;
      const shown = outcome.state === 'fulfilled' ? `resolved ${JSON.stringify(outcome.value)}` : `rejected with ${describeError(outcome.reason)}`;
      const list = tries[id]!;
      const last = list[list.length - 1];
      const attempts = scenario.tasks[job.taskIndex]!.retry?.attempts ?? 1;
      const settledSeq = settledAt[id]!;
      const aborted = abortedAt[id] !== undefined && abortedAt[id]! < settledSeq;
      const stopFirst = stopAt !== undefined && stopAt < settledSeq;

      assert.ok(calls(id) <= attempts, `${where}: ${calls(id)} tries, the task allows ${attempts}`);
      list.forEach((t) => {
        assert.ok(t.calledAt < settledSeq, `${where}: try ${t.attempt} began after its trigger ${shown}`);
        assert.notEqual(t.state, 'live', `${where} try ${t.attempt} is still live though its trigger ${shown}`);
        // A function that returns at once or after a microtask ends before any timer can
        // fire, so it never times out; nor does one on a timer shorter than the limit, which
        // is set at the same instant as the try's timeout timer and comes due first.
        if (t.state === 'abandoned' && t.error instanceof TimeoutError) {
          assert.ok(job.timeoutMs !== undefined && job.pace === 'timer',
            `${where} try ${t.attempt} timed out, though its function (${job.pace}) ends before any timer fires`);
          assert.ok(job.durationMs >= job.timeoutMs,
            `${where} try ${t.attempt} timed out after ${job.timeoutMs} ms, though its function returns after ${job.durationMs} ms`);
        }
      });
      // Tries before the last one failed, by a throw or a timeout, and were retried; any other end ends the run.
      list.slice(0, -1).forEach((t) => {
        assert.ok(t.state === 'threw' || (t.state === 'abandoned' && t.error instanceof TimeoutError),
          `${where} try ${t.attempt} ended ${t.state} (${describeError(t.error)}) but was followed by another try`);
      });

      // Triggered once the stop began: refused.
      if (stopAt !== undefined && triggeredAt[id]! > stopAt) {
        assert.ok(outcome.state === 'rejected' && outcome.reason instanceof ShutdownError, `${where} was triggered after stop() began but ${shown}`);
        assert.equal(calls(id), 0, `${where} was refused but its function ran`);
        return;
      }
      if (typeof job.abort === 'object' && job.abort.when === 'before') {
        assert.ok(outcome.state === 'rejected' && outcome.reason instanceof AbortError && outcome.reason.cause === reasons[id],
          `${where} was triggered with an aborted signal but ${shown}`);
        assert.equal(calls(id), 0, `${where} was triggered with an aborted signal but its function ran`);
        return;
      }
      /** When its run showed the first sign of holding its slots: its function or a shouldExecute was called. */
      const startedAt = Math.min(askedAt[id] ?? Infinity, list[0]?.calledAt ?? Infinity);
      // An abort that found the trigger running, or still waiting (no sign of a start, and
      // no stop that rejected it as waiting first), decides its outcome; a waiting one leaves
      // its line and never starts.
      const abortedWaiting = aborted && !startedAtAbort[id] && !(stopAt !== undefined && stopAt < abortedAt[id]!);
      if (aborted && (liveAtAbort[id] || abortedWaiting)) {
        assert.ok(outcome.state === 'rejected' && outcome.reason instanceof AbortError && outcome.reason.cause === reasons[id],
          `${where} was aborted while it ${liveAtAbort[id] ? 'ran' : 'waited'} but ${shown}`);
      }
      if (abortedWaiting) assert.equal(startedAt, Infinity, `${where} was aborted while it waited, yet started later`);
      // Triggered before the stop began and neither started nor aborted by then: it was
      // waiting (nothing else ends a run that never started), and a draining stop rejects
      // every waiting trigger at once.
      if (stopAt !== undefined && startedAt > stopAt && !(abortedAt[id] !== undefined && abortedAt[id]! < stopAt)) {
        assert.ok(outcome.state === 'rejected' && outcome.reason instanceof ShutdownError, `${where} was waiting when the draining stop began but ${shown}`);
        assert.equal(startedAt, Infinity, `${where} was rejected as waiting by the draining stop, yet started later`);
      }

      if (outcome.state === 'fulfilled') {
        if (outcome.value === undefined) {
          assert.ok(saidNo[id], `${where} resolved undefined but no shouldExecute said no to it`);
          assert.equal(calls(id), 0, `${where}: a skipped run never calls the function`);
        } else {
          assert.equal(outcome.value, `result-${id}`, `${where} resolved with another job's result`);
          assert.ok(last !== undefined && last.state === 'returned' && last.attempt > job.failTries,
            `${where} resolved ${JSON.stringify(outcome.value)} but its last try ${last === undefined ? 'never ran' : `ended ${last.state}`}: ` +
            'a result is only taken from a try that returned before it was abandoned');
        }
      } else {
        const reason = outcome.reason;
        if (reason instanceof TimeoutError) {
          assert.equal(reason.code, 'TIMEOUT');
          assert.equal(reason.timeoutMs, job.timeoutMs, `${where} ${shown}, its timeoutMs is ${job.timeoutMs}`);
          assert.equal(reason.taskName, tasks[job.taskIndex]!.name);
          assert.ok(last?.state === 'abandoned' && last.error === reason, `${where} ${shown} but its last try was not abandoned with that error`);
          assert.equal(calls(id), attempts, `${where} timed out after ${calls(id)} of ${attempts} tries`);
        } else if (reason instanceof AbortError) {
          assert.equal(reason.code, 'ABORTED');
          if (reason.cause === reasons[id]) {
            assert.ok(aborted, `${where} ${shown} before its signal was aborted`);
          } else {
            // Aborted by the drain: only once stop()'s timeoutMs passed, and only a run that
            // had started before the stop began (waiting ones are rejected at once, and no
            // new run starts after that; a retry's try may, within a run that had started).
            assert.ok(reason.cause instanceof ShutdownError && stopFirst, `${where} ${shown}, but neither its signal nor a stop aborted it`);
            assert.ok(settledAfterDrainDue[id], `${where} was aborted by the draining stop before its timeoutMs (${stop!.timeoutMs} ms) passed`);
            assert.ok(startedAt < stopAt!, `${where} was aborted by the draining stop but had not started before the stop began`);
          }
          // Whatever try was cut, it was signalled with the reason of the abort.
          for (const t of list) {
            if (t.state !== 'abandoned' || t.error instanceof TimeoutError) continue;
            assert.equal(t.error, reason.cause, `${where} try ${t.attempt} was abandoned with ${describeError(t.error)} but the trigger ${shown}`);
          }
        } else if (reason instanceof ShutdownError) {
          assert.equal(reason.code, 'MANAGER_STOPPED');
          assert.ok(stopFirst, `${where} ${shown} but no stop had begun`);
          // Rejected while waiting when the stop began: a new run, or a retry waiting for its slots again.
          if (calls(id) === 0) {
            assert.equal(askedAt[id], undefined, `${where} ${shown} though it held its slots (a shouldExecute was asked)`);
          } else {
            assert.ok(calls(id) < attempts, `${where} ${shown} after all ${attempts} tries`);
            assert.ok(last!.endedAt! < stopAt!, `${where} ${shown} but its last try ended only after the stop began`);
          }
        } else {
          assert.ok(reason instanceof Error && last?.state === 'threw' && last.error === reason,
            `${where} ${shown}, which is neither its function's error nor an error of the manager`);
          assert.equal(last!.attempt, attempts, `${where} ${shown}, but the task allows ${attempts} tries`);
          assert.ok(attempts <= job.failTries);
        }
      }

      // Nothing interfered (no abort, no stop, no timeout before it settled): exactly what the job calls for.
      if (!aborted && !stopFirst && job.timeoutMs === undefined) {
        if (job.veto && vetoAsked) {
          assert.deepEqual(outcome, { state: 'fulfilled', value: undefined }, `${where}: a vetoed run resolves undefined`);
          assert.equal(calls(id), 0);
        } else if (job.failTries >= attempts) {
          assert.ok(outcome.state === 'rejected', `${where} should reject after ${attempts} failed tries but ${shown}`);
          assert.equal(calls(id), attempts);
        } else {
          assert.deepEqual(outcome, { state: 'fulfilled', value: `result-${id}` }, `${where} should resolve with its result but ${shown}`);
          assert.equal(calls(id), job.failTries + 1);
        }
      }
    });

    // Every trigger that waited in a constraint line when the draining stop began was
    // rejected with a ShutdownError (retries waiting for their slots again included), by the
    // manager's own count of waiting runs; runs held back by a pause were waiting too.
    if (stopAt !== undefined) {
      const rejectedAsWaiting = jobs.filter((_, id) => triggeredAt[id]! < stopAt! && outcomes[id]!.state === 'rejected' &&
        (outcomes[id] as { reason: unknown }).reason instanceof ShutdownError).length;
      assert.ok(rejectedAsWaiting >= waitingAtStop,
        `${waitingAtStop} runs waited in constraint lines when the draining stop began, but only ${rejectedAsWaiting} triggers rejected with a ShutdownError`);
    }

    // ---- nothing left behind -------------------------------------------------------------------
    for (const group of groups) {
      for (const key of [...KEYS, ALL]) assert.equal(group.getRunningCount(key), 0, `${group.name}/${key} still holds a slot`);
    }
    for (const state of manager.getConstraintGroupStates()) {
      for (const key of state.keys) {
        assert.equal(key.running, 0, `${state.name}/${key.key} still running`);
        assert.equal(key.waiting, 0, `${state.name}/${key.key} still has waiting runs`);
      }
    }
    for (const [slot, count] of inside) assert.equal(count, 0, `${slot} still counts ${count} live functions`);
    // With nothing left to wait for, a draining stop resolves at once (again, when the case stopped already).
    const closingStop = track(manager.stop({ drain: true, timeoutMs: 0 }));
    await flush();
    assert.equal(closingStop.current.state, 'fulfilled', 'a draining stop() once every trigger settled resolves without waiting');
    await flush();
    assert.deepEqual(violations, [], 'violations seen after the outcomes were checked');
  } finally {
    await stage.end();
    process.off('unhandledRejection', onUnhandled);
    for (const listener of runnerListeners) process.on('unhandledRejection', listener);
  }
}

test('aborted, timed-out and drained triggers each settle once with the error that cut them, free their slots, and a draining stop resolves, however far the clock moves between two reads', async () => {
  await checkProperty(abortScenarioArb, runAbortScenario, 60);
});
