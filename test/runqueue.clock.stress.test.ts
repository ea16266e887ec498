/**
 * A randomized hunt for clock races in the run queue (fast-check).
 *
 * The run queue reads Date.now several times in a row to decide whether a key is still
 * cooling down and how long to wait for it. A real clock rarely moves between two adjacent
 * reads, so a race there hides from the other stress tests (one such race once left a run
 * queued behind a cooldown waiting forever, when the cooldown passed between the read
 * that said "blocked" and the read that said "0 ms left"). Here Date.now is replaced, for
 * the length of each generated case, by a clock that moves on every read: it follows the
 * real clock (at full or at half speed, so that timers also fire before the clock says
 * the cooldown is over) plus an offset that grows on every read by the next step of a
 * generated cycle; most steps are 0–3 ms, some jump past any cooldown. The clock never
 * goes back, so the times read inside the task functions and those the groups record
 * can be compared without slack. Timers run on real time, as always.
 *
 * Each case builds a manager with 1–4 composed groups (caps 1–3, cooldowns of 0 or 1–20
 * ms, one key per job or one key for all, null for some jobs; some groups have a
 * shouldExecute that says no to vetoed jobs, at once, after a microtask or after a timer),
 * 1–3 tasks (some retry failed tries after 0–3 ms) and up to 24 jobs, triggered at once or
 * after a few real ms, whose functions return at once, after a microtask or after a short
 * real timer, and fail their first few tries when told to. The variants also pause and
 * resume tasks and groups, or remove groups (some while paused), at random moments.
 *
 * Checked: every trigger settles exactly once within 5 s (a case in which nothing at all
 * happens for about a second fails as stuck before that), with the outcome its job calls
 * for; no key runs more functions at once than its cap, and every running function holds
 * a slot of each of its keys (counted from inside the functions); no function of a key
 * of a one-at-a-time group starts before the group's cooldown after the previous one of
 * that key returned; at the end no group, removed ones included, holds a slot or has a
 * waiting run.
 *
 * CLOCK_STRESS_SCALE=<n> in the environment multiplies the number of cases.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Task, TaskConstraintGroup, TaskManager } from '../ts/index.js';
import { within } from './manager-helpers.js';
import { flush, sleep } from './rule-helpers.js';

const REAL_NOW = Date.now;
const SCALE = Math.max(1, Number(process.env.CLOCK_STRESS_SCALE ?? '1') || 1);

/** A case in which nothing happens for this many ticks in a row is stuck. */
const STALL_TICKS = 10;
const STALL_TICK_MS = 100;

const MAX_GROUPS = 4;
const KEYS = ['k0', 'k1'] as const;
/** The key of a group that puts every job under one key. */
const ALL = 'all';

type TPace = 'sync' | 'microtask' | 'timer';

interface IClockSpec {
  /** Added to the clock's offset on each read, in turn, from the first again after the last. */
  steps: number[];
  /** The clock follows real time at half speed, so a cooldown timer often fires before the clock says it may. */
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
  /** How the function returns: at once, after a microtask, or after `durationMs` of real time. */
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

interface IScenario {
  clock: IClockSpec;
  groups: IGroupSpec[];
  tasks: ITaskSpec[];
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

const scenarioArb = (actionKinds: TActionKind[]): fc.Arbitrary<IScenario> => fc
  .record({
    clock: clockArb,
    groups: fc.array(groupArb, { minLength: 1, maxLength: MAX_GROUPS }),
    tasks: fc.array(taskArb, { minLength: 1, maxLength: 3 }),
  })
  .chain((base) => fc.record({
    clock: fc.constant(base.clock),
    groups: fc.constant(base.groups),
    tasks: fc.constant(base.tasks),
    jobs: fc.array(jobArb(base.tasks.length), { minLength: 1, maxLength: 24 }),
    actions: actionKinds.length === 0 ? fc.constant([]) : fc.array(actionArb(actionKinds), { minLength: 1, maxLength: 4 }),
  }));

// ---- the clock -------------------------------------------------------------------------------

/** Replaces Date.now by a clock that moves on every read; returns the function that puts the real one back. */
function installClock(spec: IClockSpec): () => void {
  const origin = REAL_NOW();
  let offset = 0;
  let reads = 0;
  let last = origin;
  Date.now = () => {
    offset += spec.steps[reads++ % spec.steps.length]!;
    const elapsed = REAL_NOW() - origin;
    // Never back: a real clock that steps back would only blur the comparisons below.
    last = Math.max(last, origin + (spec.halfSpeed ? Math.floor(elapsed / 2) : elapsed) + offset);
    return last;
  };
  return () => {
    Date.now = REAL_NOW;
  };
}

// ---- one case ----------------------------------------------------------------------------------

async function runScenario(scenario: IScenario): Promise<void> {
  const { jobs, actions } = scenario;
  const restoreClock = installClock(scenario.clock);
  const manager = new TaskManager();
  const violations: string[] = [];
  const removed = new Set<TaskConstraintGroup<any>>();
  const pausedTasks = new Set<string>();
  const pausedGroups = new Set<string>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let stallTicker: ReturnType<typeof setInterval> | undefined;
  /** Counts everything that happens in the case, for the stall detector. */
  let progress = 0;
  let over = false;

  try {
    const keyOf = (groupIndex: number, job: IJob): string | null => {
      const key = job.keys[groupIndex] ?? null;
      if (key === null) return null;
      return scenario.groups[groupIndex]!.keyedBy === 'constant' ? ALL : key;
    };

    // Jobs a shouldExecute said no to (by the time it answered).
    const saidNo = new Array<boolean>(jobs.length).fill(false);
    const groups = scenario.groups.map((spec, index) => new TaskConstraintGroup({
      name: `g${index}`,
      maxConcurrent: spec.cap,
      cooldownMs: spec.cooldownMs,
      constraintKeyForExecution: (_task, input?: IJobInput) => keyOf(index, input!.job),
      shouldExecute: spec.veto === undefined ? undefined : (_task, input?: IJobInput) => {
        const { id, job } = input!;
        progress++;
        if (job.veto) saidNo[id] = true;
        if (spec.veto === 'sync') return !job.veto;
        if (spec.veto === 'microtask') return Promise.resolve(!job.veto);
        return sleep(1).then(() => !job.veto);
      },
    }));
    for (const group of groups) manager.addConstraintGroup(group);

    // Instrumentation, written from inside the task functions only.
    const calls = new Array<number>(jobs.length).fill(0);
    const inside = new Map<string, number>(); // `${group}/${key}` → functions running now
    const lastReturn = new Map<string, number>(); // `${group}/${key}` → when its last function returned (fake clock)

    const body = ({ id, job }: IJobInput, attempt: number): string | Promise<string> => {
      calls[id]!++;
      progress++;
      const start = Date.now();
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
        const returnedAt = Date.now();
        progress++;
        for (const slot of counted) {
          inside.set(slot, inside.get(slot)! - 1);
          lastReturn.set(slot, returnedAt);
        }
        if (attempt <= job.failTries) throw new Error(`job ${id} try ${attempt} failed`);
        return `result-${id}`;
      };
      if (job.pace === 'sync') return end();
      if (job.pace === 'microtask') return Promise.resolve().then(end);
      return sleep(job.durationMs).then(end);
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
      progress++;
      const options = job.priority === undefined ? undefined : { priority: job.priority };
      return manager.triggerTask(tasks[job.taskIndex]!, { id, job }, options).then(
        (value) => {
          progress++;
          settleCounts[id]!++;
          outcomes[id] = { state: 'fulfilled', value };
        },
        (reason: unknown) => {
          progress++;
          settleCounts[id]!++;
          outcomes[id] = { state: 'rejected', reason };
        },
      );
    };

    /** A real-time wait that the cleanup can cancel (it then never resolves). */
    const wait = (ms: number) => new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

    const perform = async (action: IAction): Promise<void> => {
      await wait(action.atMs);
      if (over) return;
      progress++;
      try {
        if (action.kind === 'removeGroup') {
          const group = groups[action.target % groups.length]!;
          if (removed.has(group)) return;
          // Marked first: runs it held back may start inside the call.
          removed.add(group);
          pausedGroups.delete(group.name);
          assert.equal(manager.removeConstraintGroup(group.name), true);
        } else if (action.kind === 'pauseTask') {
          const name = tasks[action.target % tasks.length]!.name!;
          manager.pauseTask(name);
          pausedTasks.add(name);
          await wait(action.forMs);
          if (over) return;
          progress++;
          manager.resumeTask(name);
          pausedTasks.delete(name);
        } else {
          const group = groups[action.target % groups.length]!;
          if (removed.has(group)) return;
          manager.pauseConstraintGroup(group.name);
          pausedGroups.add(group.name);
          await wait(action.forMs);
          if (over || removed.has(group)) return;
          progress++;
          manager.resumeConstraintGroup(group.name);
          pausedGroups.delete(group.name);
        }
      } catch (error) {
        violations.push(`${action.kind} at ${action.atMs} ms threw: ${error instanceof Error ? error.message : String(error)}`);
      }
    };

    /**
     * Rejects once nothing happened (no function called or returned, no trigger settled, no
     * action taken) for STALL_TICKS ticks in a row, so that a stuck case fails in about a
     * second instead of 5 s and shrinks quickly. No wait in a case is longer than some 40 ms
     * (a 20 ms cooldown on the half-speed clock); counting ticks rather than time keeps a
     * machine that stalls the whole process from looking stuck.
     */
    const stall = () => new Promise<never>((_, reject) => {
      let seen = -1;
      let quietTicks = 0;
      const ticker = setInterval(() => {
        if (over) return clearInterval(ticker);
        quietTicks = progress === seen ? quietTicks + 1 : 0;
        seen = progress;
        if (quietTicks < STALL_TICKS) return;
        clearInterval(ticker);
        reject(new Error(`nothing happened for ${STALL_TICKS} ticks of ${STALL_TICK_MS} ms`));
      }, STALL_TICK_MS);
      stallTicker = ticker;
    });

    const settled: Array<Promise<void>> = [];
    jobs.forEach((job, id) => {
      if (job.delayMs === undefined) settled.push(fire(job, id));
      else settled.push(wait(job.delayMs).then(() => fire(job, id)));
    });
    const performed = actions.map(perform);

    try {
      await within(Promise.race([Promise.all([...settled, ...performed]), stall()]), `all ${jobs.length} triggers to settle and ${actions.length} actions to finish`);
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
    over = true;
    restoreClock();
    clearInterval(stallTicker);
    for (const timer of timers) clearTimeout(timer);
    for (const name of pausedTasks) manager.resumeTask(name);
    for (const name of pausedGroups) manager.resumeConstraintGroup(name);
    // A failed case may leave runs behind: reject them so nothing of this case leaks into the next.
    await Promise.race([manager.stop({ drain: true, timeoutMs: 0 }).catch(() => {}), sleep(200)]);
  }
}

async function check(actionKinds: TActionKind[], numRuns: number): Promise<void> {
  const details = await fc.check(fc.asyncProperty(scenarioArb(actionKinds), runScenario), {
    numRuns: numRuns * SCALE,
    // A failing case is shrunk (each stuck candidate costs about a second); bound that so a
    // broken build fails in reasonable time.
    interruptAfterTimeLimit: 60_000 * SCALE,
    markInterruptAsFailure: true,
  });
  if (details.failed) {
    const error = details.errorInstance;
    assert.fail(`${fc.defaultReportMessage(details)}\n\nFailure of the shrunk case:\n${error instanceof Error ? error.message : String(error)}`);
  }
}

test('runs queued behind cooldowns all start, and no cap or cooldown is broken, however far the clock moves between two reads', async (t) => {
  t.after(() => {
    Date.now = REAL_NOW;
  });
  await check([], 80);
});

test('runs held back by paused tasks and groups all start once resumed, however far the clock moves between two reads', async (t) => {
  t.after(() => {
    Date.now = REAL_NOW;
  });
  await check(['pauseTask', 'pauseGroup'], 60);
});

test('removing groups in the middle of a burst, paused ones too, strands no run and leaks no slot, however far the clock moves between two reads', async (t) => {
  t.after(() => {
    Date.now = REAL_NOW;
  });
  await check(['removeGroup', 'pauseGroup'], 60);
});
