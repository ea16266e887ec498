/**
 * A randomized stress test of TaskManager with composed constraint groups (fast-check).
 *
 * Each run builds a manager with a random non-empty subset of four groups, in a random
 * order (a manager with one group lets plain triggers wait without run objects, and hands
 * slots straight from one run to the next):
 * - `mutex`: one run per task.data.key (null for some tasks); its shouldExecute says no
 *   to vetoed inputs (sync, after a microtask or after a timer) and sometimes throws
 * - `tenant-cap`: 2–3 runs per task.data.tenant
 * - `global-cap`: 2–4 runs in all
 * - `cooldown`: one run per input.cdKey (null for some inputs), with a 0–15 ms cooldown
 * and triggers jobs (random task, input, trigger method, immediate or a few ms later)
 * whose functions take random short times and sometimes throw.
 *
 * The task function records, from inside, how many runs of each key overlap and when runs
 * start and end. Checked: no key of any group ever runs more than its cap (also per the
 * group's own getRunningCount); no run starts before the cooldown after the previous run
 * of its cooldown key has passed; every trigger settles exactly once with the expected
 * outcome; skipped runs resolve undefined and never call the function; at the end no
 * group holds a slot.
 *
 * Each case runs on a fake clock of its own (fake-clock.ts): the few ms that functions,
 * checks and delayed triggers take pass without waiting, a case plays out the same way
 * every time it is run (so fast-check's replay and shrinking see the same case), and the
 * cooldown is checked to the millisecond.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Task, TaskConstraintGroup, TaskManager } from '../ts/index.js';
import { withFakeClock, type FakeClock } from './fake-clock.js';
import { flush } from './rule-helpers.js';

const DATA_KEYS = ['a', 'b', '__proto__'] as const;
const TENANTS = ['t1', 't2', 'constructor'] as const;
const CD_KEYS = ['x', 'y', 'toString'] as const;

interface ITaskData {
  key: string | null;
  tenant: string;
}

interface IJob {
  taskIndex: number;
  cdKey: string | null;
  veto: boolean;
  /** How the shouldExecute of `mutex` answers: 0 sync, 1 after a microtask, 2 after a timer. */
  checkMode: 0 | 1 | 2;
  checkThrows: boolean;
  throws: boolean;
  /** 0 = the function returns without awaiting anything. */
  durationMs: number;
  /** undefined = triggered at once, in the same synchronous loop as the other immediate jobs. */
  delayMs: number | undefined;
  method: 'triggerTask' | 'triggerTaskByName' | 'triggerTaskConstrained';
}

interface IJobInput {
  id: number;
  cdKey: string | null;
  veto: boolean;
  checkMode: 0 | 1 | 2;
  checkThrows: boolean;
  throws: boolean;
  durationMs: number;
}

interface IScenario {
  tasks: ITaskData[];
  jobs: IJob[];
  groupOrder: number[];
  tenantCap: number;
  globalCap: number;
  cooldownMs: number;
}

const taskDataArb: fc.Arbitrary<ITaskData> = fc.record({
  key: fc.option(fc.constantFrom(...DATA_KEYS), { nil: null, freq: 4 }),
  tenant: fc.constantFrom(...TENANTS),
});

const jobArb = (taskCount: number): fc.Arbitrary<IJob> => fc.record({
  taskIndex: fc.integer({ min: 0, max: taskCount - 1 }),
  cdKey: fc.option(fc.constantFrom(...CD_KEYS), { nil: null, freq: 4 }),
  veto: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
  checkMode: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
  checkThrows: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
  throws: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  durationMs: fc.constantFrom(0, 0, 1, 2, 3, 4),
  delayMs: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined, freq: 2 }),
  method: fc.constantFrom<IJob['method']>('triggerTask', 'triggerTaskByName', 'triggerTaskConstrained'),
});

const scenarioArb: fc.Arbitrary<IScenario> = fc
  .array(taskDataArb, { minLength: 1, maxLength: 6 })
  .chain((tasks) => fc.record({
    tasks: fc.constant(tasks),
    jobs: fc.array(jobArb(tasks.length), { minLength: 1, maxLength: 32 }),
    groupOrder: fc.shuffledSubarray([0, 1, 2, 3], { minLength: 1, maxLength: 4 }),
    tenantCap: fc.integer({ min: 2, max: 3 }),
    globalCap: fc.integer({ min: 2, max: 4 }),
    cooldownMs: fc.integer({ min: 0, max: 15 }),
  }));

type TOutcome = { state: 'fulfilled'; value: unknown } | { state: 'rejected'; reason: unknown };

async function runScenario(scenario: IScenario): Promise<void> {
  await withFakeClock({}, (clock) => runScenarioOn(clock, scenario));
}

async function runScenarioOn(clock: FakeClock, scenario: IScenario): Promise<void> {
  const { tasks: taskData, jobs, tenantCap, globalCap, cooldownMs } = scenario;
  const violations: string[] = [];
  const manager = new TaskManager();

  const mutex = new TaskConstraintGroup<ITaskData>({
    name: 'mutex',
    maxConcurrent: 1,
    constraintKeyForExecution: (task) => task.data.key,
    shouldExecute: (_task, input?: IJobInput) => {
      const answer = !input!.veto;
      if (input!.checkThrows) {
        if (input!.checkMode === 0) throw new Error(`check ${input!.id} threw`);
        return (input!.checkMode === 1 ? Promise.resolve() : clock.sleep(1)).then(() => {
          throw new Error(`check ${input!.id} threw`);
        });
      }
      if (input!.checkMode === 0) return answer;
      if (input!.checkMode === 1) return Promise.resolve(answer);
      return clock.sleep(1).then(() => answer);
    },
  });
  const tenant = new TaskConstraintGroup<ITaskData>({
    name: 'tenant-cap',
    maxConcurrent: tenantCap,
    constraintKeyForExecution: (task) => task.data.tenant,
  });
  const global = new TaskConstraintGroup({
    name: 'global-cap',
    maxConcurrent: globalCap,
    constraintKeyForExecution: () => 'all',
  });
  const cooldown = new TaskConstraintGroup({
    name: 'cooldown',
    maxConcurrent: 1,
    cooldownMs,
    constraintKeyForExecution: (_task, input?: IJobInput) => input?.cdKey ?? null,
  });
  const groups = [mutex, tenant, global, cooldown];
  for (const index of scenario.groupOrder) manager.addConstraintGroup(groups[index]!);
  const registered = new Set<TaskConstraintGroup<any>>(scenario.groupOrder.map((index) => groups[index]!));
  // Only a registered mutex asks its shouldExecute.
  const checked = registered.has(mutex);

  // Instrumentation, written only from inside the task functions.
  const calls = new Array<number>(jobs.length).fill(0);
  const active = new Map<string, number>(); // `${group}\u0000${key}` → runs inside their function
  const lastEndByCdKey = new Map<string, { id: number; end: number }>();

  const keysOf = (data: ITaskData, input: IJobInput): Array<[TaskConstraintGroup<any>, string]> => {
    const keys: Array<[TaskConstraintGroup<any>, string]> = [[tenant, data.tenant], [global, 'all']];
    if (data.key !== null) keys.push([mutex, data.key]);
    if (input.cdKey !== null) keys.push([cooldown, input.cdKey]);
    return keys.filter(([group]) => registered.has(group));
  };

  const tasks = taskData.map((data, index) => {
    const task: Task<undefined, [], ITaskData, IJobInput, string> = new Task({
      name: `task-${index}`,
      data,
      taskFunction: async (input: IJobInput) => {
        const start = clock.now();
        calls[input.id]!++;
        if (checked && input.veto) violations.push(`job ${input.id}: the function ran although shouldExecute said no`);
        if (checked && input.checkThrows) violations.push(`job ${input.id}: the function ran although shouldExecute threw`);
        const keys = keysOf(task.data, input);
        for (const [group, key] of keys) {
          const id = `${group.name}\u0000${key}`;
          const now = (active.get(id) ?? 0) + 1;
          active.set(id, now);
          if (now > group.maxConcurrent) {
            violations.push(`job ${input.id}: ${now} runs of ${group.name}/${key} at once (cap ${group.maxConcurrent})`);
          }
          const held = group.getRunningCount(key);
          if (held > group.maxConcurrent) violations.push(`job ${input.id}: ${group.name}.getRunningCount(${key}) = ${held} > cap`);
          if (held < now) violations.push(`job ${input.id}: ${group.name}.getRunningCount(${key}) = ${held} < ${now} runs inside their function`);
        }
        if (input.cdKey !== null && registered.has(cooldown)) {
          // The group records the end when it releases the slot, right after the function
          // returned and at the same fake instant, so the gap seen here is the group's own.
          const previous = lastEndByCdKey.get(input.cdKey);
          if (previous !== undefined && start < previous.end + cooldownMs) {
            violations.push(`job ${input.id}: cooldown key ${input.cdKey} started ${start - previous.end} ms after job ${previous.id} ended (cooldown ${cooldownMs} ms)`);
          }
        }
        try {
          if (input.durationMs > 0) await clock.sleep(input.durationMs);
          if (input.throws) throw new Error(`job ${input.id} failed`);
          return `result-${input.id}`;
        } finally {
          for (const [group, key] of keys) {
            const id = `${group.name}\u0000${key}`;
            active.set(id, active.get(id)! - 1);
          }
          if (input.cdKey !== null) lastEndByCdKey.set(input.cdKey, { id: input.id, end: clock.now() });
        }
      },
    });
    manager.addTask(task);
    return task;
  });

  const settleCounts = new Array<number>(jobs.length).fill(0);
  const outcomes = new Array<TOutcome | undefined>(jobs.length);

  const fire = (job: IJob, id: number): Promise<void> => {
    const input: IJobInput = {
      id,
      cdKey: job.cdKey,
      veto: job.veto,
      checkMode: job.checkMode,
      checkThrows: job.checkThrows,
      throws: job.throws,
      durationMs: job.durationMs,
    };
    const task = tasks[job.taskIndex]!;
    let promise: Promise<unknown>;
    if (job.method === 'triggerTaskByName') promise = manager.triggerTaskByName(task.name!, input);
    else if (job.method === 'triggerTask') promise = manager.triggerTask(task, input);
    else promise = manager.triggerTaskConstrained(task, input);
    return promise.then(
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

  try {
    const settled: Array<Promise<void>> = [];
    jobs.forEach((job, id) => {
      if (job.delayMs === undefined) settled.push(fire(job, id));
      else settled.push(clock.sleep(job.delayMs).then(() => fire(job, id)));
    });
    await clock.settle(Promise.all(settled), `all ${jobs.length} triggers to settle`);
    await flush();

    assert.deepEqual(violations, []);
    jobs.forEach((job, id) => {
      assert.equal(settleCounts[id], 1, `job ${id} settled ${settleCounts[id]} times`);
      const outcome = outcomes[id]!;
      if (checked && job.checkThrows) {
        assert.equal(outcome.state, 'rejected', `job ${id}: a throwing shouldExecute rejects the trigger`);
        assert.equal((outcome as { reason: Error }).reason.message, `check ${id} threw`);
        assert.equal(calls[id], 0);
      } else if (checked && job.veto) {
        assert.deepEqual(outcome, { state: 'fulfilled', value: undefined }, `job ${id}: a skipped run resolves undefined`);
        assert.equal(calls[id], 0, `job ${id}: a skipped run never calls the function`);
      } else if (job.throws) {
        assert.equal(outcome.state, 'rejected', `job ${id} should reject`);
        assert.equal((outcome as { reason: Error }).reason.message, `job ${id} failed`);
        assert.equal(calls[id], 1);
      } else {
        assert.deepEqual(outcome, { state: 'fulfilled', value: `result-${id}` }, `job ${id} should resolve with its result`);
        assert.equal(calls[id], 1);
      }
    });
    for (const [group, keys] of [
      [mutex, DATA_KEYS],
      [tenant, TENANTS],
      [global, ['all']],
      [cooldown, CD_KEYS],
    ] as const) {
      for (const key of keys) assert.equal(group.getRunningCount(key), 0, `${group.name}/${key} still holds a slot`);
    }
    for (const [id, count] of active) assert.equal(count, 0, `${id} still counted as active`);
  } finally {
    await manager.stop();
  }
}

test('randomized composed constraints: caps hold, cooldowns are never cut short, and every trigger settles once with the right outcome', async () => {
  const details = await fc.check(fc.asyncProperty(scenarioArb, runScenario), {
    numRuns: 60,
    // A failing case is shrunk; bound that so a broken build fails in reasonable time.
    interruptAfterTimeLimit: 90_000,
    markInterruptAsFailure: true,
  });
  if (details.failed) {
    const error = details.errorInstance;
    assert.fail(`${fc.defaultReportMessage(details)}\n\nFailure of the shrunk case:\n${error instanceof Error ? error.message : String(error)}`);
  }
});
