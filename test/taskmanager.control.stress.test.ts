/**
 * A randomized stress test of execution control in a TaskManager (fast-check).
 *
 * Each run builds a manager with a mutex group (one run per task.data.key, null for some
 * tasks) and a global cap of 2–3 whose shouldExecute sometimes answers after a timer, and
 * tasks with random default priorities, timeouts and retry policies (small delays). Jobs
 * are triggered at once or a few ms later with random priorities, per-trigger timeouts
 * and AbortSignals aborted at random times; their functions take random short times,
 * fail their first few tries, and either honour their signal or ignore it. Some runs call
 * stop({ drain: true, timeoutMs }) in the middle of it all.
 *
 * Concurrency is counted by slot holders: a try is "live" from the call of its function
 * until it returns or its signal aborts (an abandoned function that ignores its signal may
 * still be executing, but its slot was legitimately given back). Sampled inside every
 * function, on every event and whenever a trigger settles: every key's getRunningCount
 * stays within its cap, and live tries never outnumber the slots held for their key.
 * Checked at the end: every trigger settled exactly once with an outcome its job allows,
 * no function ran more tries than its policy allows, after a draining stop() everything
 * is settled, stop() resolved within its timeout, no function is called after stop()
 * resolved, and no slot is held.
 *
 * Each case runs on a fake clock of its own (fake-clock.ts): delays, durations, timeouts and
 * aborts happen at their exact ms without waiting for them, and a case plays out the same
 * way every time it is run (so fast-check's replay and shrinking see the same case).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { AbortError, ShutdownError, Task, TaskConstraintGroup, TaskManager, TimeoutError } from '../ts/index.js';
import { withFakeClock, type FakeClock } from './fake-clock.js';
import { flush } from './rule-helpers.js';

const DATA_KEYS = ['a', 'b'] as const;

interface ITaskSpec {
  key: string | null;
  priority: number;
  timeoutMs: number | undefined;
  retry: { attempts: number; delayMs: number; backoff: 'fixed' | 'exponential' } | undefined;
}

interface IJob {
  taskIndex: number;
  priority: number | undefined;
  timeoutMs: number | undefined;
  /** ms after the trigger at which its signal aborts; undefined = no signal. */
  abortAfterMs: number | undefined;
  /** undefined = triggered at once, together with the other immediate jobs. */
  delayMs: number | undefined;
  durationMs: number;
  ignoresSignal: boolean;
  /** The first `failTries` tries throw. */
  failTries: number;
  /** 0 = shouldExecute of the global cap answers synchronously, else after this many ms. */
  checkMs: number;
  method: 'triggerTask' | 'triggerTaskByName' | 'triggerTaskConstrained';
}

interface IScenario {
  tasks: ITaskSpec[];
  jobs: IJob[];
  globalCap: number;
  /** When to call stop({ drain: true }) and with which timeout; undefined = after everything settled. */
  stop: { atMs: number; timeoutMs: number } | undefined;
}

interface IJobInput {
  id: number;
  job: IJob;
}

const taskArb: fc.Arbitrary<ITaskSpec> = fc.record({
  key: fc.option(fc.constantFrom(...DATA_KEYS), { nil: null, freq: 4 }),
  priority: fc.integer({ min: -2, max: 2 }),
  timeoutMs: fc.option(fc.integer({ min: 3, max: 25 }), { nil: undefined, freq: 2 }),
  retry: fc.option(
    fc.record({
      attempts: fc.integer({ min: 2, max: 3 }),
      delayMs: fc.integer({ min: 0, max: 4 }),
      backoff: fc.constantFrom<'fixed' | 'exponential'>('fixed', 'exponential'),
    }),
    { nil: undefined, freq: 2 },
  ),
});

const jobArb = (taskCount: number): fc.Arbitrary<IJob> => fc.record({
  taskIndex: fc.integer({ min: 0, max: taskCount - 1 }),
  priority: fc.option(fc.integer({ min: -3, max: 3 }), { nil: undefined, freq: 2 }),
  timeoutMs: fc.option(fc.integer({ min: 2, max: 30 }), { nil: undefined, freq: 3 }),
  abortAfterMs: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined, freq: 2 }),
  delayMs: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined, freq: 2 }),
  durationMs: fc.constantFrom(0, 0, 1, 3, 6, 12, 40),
  ignoresSignal: fc.boolean(),
  failTries: fc.constantFrom(0, 0, 1, 2, 3),
  checkMs: fc.constantFrom(0, 0, 0, 1, 3),
  method: fc.constantFrom<IJob['method']>('triggerTask', 'triggerTaskByName', 'triggerTaskConstrained'),
});

const scenarioArb: fc.Arbitrary<IScenario> = fc
  .array(taskArb, { minLength: 1, maxLength: 4 })
  .chain((tasks) => fc.record({
    tasks: fc.constant(tasks),
    jobs: fc.array(jobArb(tasks.length), { minLength: 1, maxLength: 24 }),
    globalCap: fc.integer({ min: 2, max: 3 }),
    stop: fc.option(
      fc.record({ atMs: fc.integer({ min: 0, max: 40 }), timeoutMs: fc.integer({ min: 0, max: 30 }) }),
      { nil: undefined, freq: 2 },
    ),
  }));

type TOutcome = { state: 'fulfilled'; value: unknown } | { state: 'rejected'; reason: unknown };

async function runScenario(scenario: IScenario): Promise<void> {
  await withFakeClock({}, (clock) => runScenarioOn(clock, scenario));
}

async function runScenarioOn(clock: FakeClock, scenario: IScenario): Promise<void> {
  const { tasks: specs, jobs, globalCap } = scenario;
  const violations: string[] = [];
  const manager = new TaskManager();

  const mutex = new TaskConstraintGroup<{ key: string | null }>({
    name: 'mutex',
    maxConcurrent: 1,
    constraintKeyForExecution: (task) => task.data.key,
  });
  const global = new TaskConstraintGroup({
    name: 'global-cap',
    maxConcurrent: globalCap,
    constraintKeyForExecution: () => 'all',
    shouldExecute: (_task, input?: IJobInput) => (input!.job.checkMs === 0 ? true : clock.sleep(input!.job.checkMs).then(() => true)),
  });
  manager.addConstraintGroup(mutex);
  manager.addConstraintGroup(global);
  const slotKeys: Array<[TaskConstraintGroup<any>, string]> = [[mutex, 'a'], [mutex, 'b'], [global, 'all']];

  // Live tries per `${group}\u0000${key}`: called and neither returned nor abandoned.
  const live = new Map<string, number>();
  const liveId = (group: TaskConstraintGroup<any>, key: string) => `${group.name}\u0000${key}`;
  const sample = (where: string) => {
    for (const [group, key] of slotKeys) {
      const held = group.getRunningCount(key);
      if (held > group.maxConcurrent) violations.push(`${where}: ${group.name}/${key} holds ${held} slots (cap ${group.maxConcurrent})`);
      const liveNow = live.get(liveId(group, key)) ?? 0;
      if (liveNow > held) violations.push(`${where}: ${liveNow} live tries of ${group.name}/${key} but only ${held} slots held`);
    }
  };
  manager.taskSubject.subscribe((event) => sample(`event ${event.type} of ${event.task.name}`));

  const calls = new Array<number>(jobs.length).fill(0);
  let callsAfterStop = 0;
  let stopResolved = false;

  const tasks = specs.map((spec, index) => {
    const task = new Task<undefined, [], { key: string | null }, IJobInput, string>({
      name: `task-${index}`,
      data: { key: spec.key },
      priority: spec.priority,
      timeoutMs: spec.timeoutMs,
      retry: spec.retry,
      taskFunction: async ({ id, job }, _setup, context) => {
        calls[id]!++;
        if (stopResolved) callsAfterStop++;
        const signal = context.signal;
        const keys: Array<[TaskConstraintGroup<any>, string]> = [[global, 'all']];
        if (spec.key !== null) keys.push([mutex, spec.key]);
        let isLive = !signal.aborted;
        if (!isLive) violations.push(`job ${id}: the function was called with an aborted signal`);
        for (const [group, key] of keys) live.set(liveId(group, key), (live.get(liveId(group, key)) ?? 0) + (isLive ? 1 : 0));
        sample(`start of job ${id} try ${context.attempt}`);
        const leave = () => {
          if (!isLive) return;
          isLive = false;
          for (const [group, key] of keys) live.set(liveId(group, key), live.get(liveId(group, key))! - 1);
        };
        signal.addEventListener('abort', leave, { once: true });
        try {
          if (job.durationMs > 0) {
            if (job.ignoresSignal) {
              await clock.sleep(job.durationMs);
            } else {
              await new Promise<void>((resolve, reject) => {
                const timer = clock.setTimeout(resolve, job.durationMs);
                signal.addEventListener('abort', () => {
                  clock.clearTimeout(timer);
                  reject(signal.reason);
                }, { once: true });
              });
            }
          }
          if (context.attempt <= job.failTries) throw new Error(`job ${id} try ${context.attempt} failed`);
          return `result-${id}`;
        } finally {
          leave();
          signal.removeEventListener('abort', leave);
        }
      },
    });
    manager.addTask(task);
    return task;
  });

  const settleCounts = new Array<number>(jobs.length).fill(0);
  const outcomes = new Array<TOutcome | undefined>(jobs.length);
  const aborted = new Array<boolean>(jobs.length).fill(false);
  const reasons = jobs.map((_, id) => new Error(`abort of job ${id}`));
  const firedBeforeStopResolved = new Array<boolean>(jobs.length).fill(false);
  const timers: Array<ReturnType<typeof clock.setTimeout>> = [];
  let stopCalled = false;

  const fire = (job: IJob, id: number): Promise<void> => {
    const task = tasks[job.taskIndex]!;
    const input: IJobInput = { id, job };
    firedBeforeStopResolved[id] = !stopResolved;
    let signal: AbortSignal | undefined;
    if (job.abortAfterMs !== undefined) {
      const controller = new AbortController();
      signal = controller.signal;
      timers.push(clock.setTimeout(() => {
        aborted[id] = true;
        controller.abort(reasons[id]);
      }, job.abortAfterMs));
    }
    const options = { signal, priority: job.priority, timeoutMs: job.timeoutMs };
    let promise: Promise<unknown>;
    if (job.method === 'triggerTaskByName') promise = manager.triggerTaskByName(task.name!, input, options);
    else if (job.method === 'triggerTask') promise = manager.triggerTask(task, input, options);
    else promise = manager.triggerTaskConstrained(task, input, options);
    return promise.then(
      (value) => {
        settleCounts[id]!++;
        outcomes[id] = { state: 'fulfilled', value };
        sample(`settle of job ${id}`);
      },
      (reason: unknown) => {
        settleCounts[id]!++;
        outcomes[id] = { state: 'rejected', reason };
        sample(`settle of job ${id}`);
      },
    );
  };

  let stopTook: number | undefined;
  const doStop = async (timeoutMs: number) => {
    stopCalled = true;
    const begin = clock.now();
    await manager.stop({ drain: true, timeoutMs });
    stopTook = clock.now() - begin;
    stopResolved = true;
    // A timer of 0 ms fires after 1 ms, on the fake clock as in node.
    if (stopTook > Math.max(1, timeoutMs)) violations.push(`stop({ drain: true, timeoutMs: ${timeoutMs} }) took ${stopTook} ms`);
  };

  try {
    await manager.start();
    const settled: Array<Promise<void>> = [];
    jobs.forEach((job, id) => {
      if (job.delayMs === undefined) settled.push(fire(job, id));
      else settled.push(clock.sleep(job.delayMs).then(() => fire(job, id)));
    });
    if (scenario.stop !== undefined) {
      const { atMs, timeoutMs } = scenario.stop;
      await clock.advance(atMs);
      await clock.settle(doStop(timeoutMs), `stop({ drain: true, timeoutMs: ${timeoutMs} })`);
      // Everything triggered before stop() resolved has settled by now.
      jobs.forEach((_, id) => {
        if (firedBeforeStopResolved[id] && settleCounts[id] === 0) {
          violations.push(`job ${id} was not settled when stop({ drain: true }) resolved`);
        }
      });
    }
    await clock.settle(Promise.all(settled), `all ${jobs.length} triggers to settle`);
    if (!stopCalled) await clock.settle(doStop(50), 'stop({ drain: true, timeoutMs: 50 })');
    // Let functions that ignored their signal, and timers they left, run out; nothing may start anew.
    await clock.advance(60_000);
    await flush();

    assert.deepEqual(violations, []);
    assert.equal(callsAfterStop, 0, 'no task function is called after stop() resolved');
    assert.ok(stopTook !== undefined);

    jobs.forEach((job, id) => {
      assert.equal(settleCounts[id], 1, `job ${id} settled ${settleCounts[id]} times`);
      const spec = specs[job.taskIndex]!;
      const attempts = spec.retry?.attempts ?? 1;
      assert.ok(calls[id]! <= attempts, `job ${id}: ${calls[id]} tries, but the policy allows ${attempts}`);
      const outcome = outcomes[id]!;
      if (outcome.state === 'fulfilled') {
        assert.equal(outcome.value, `result-${id}`, `job ${id} resolved with the wrong value`);
        assert.ok(job.failTries < attempts, `job ${id} resolved although every try fails`);
        assert.ok(calls[id]! >= job.failTries + 1, `job ${id}: resolved after ${calls[id]} tries, but the first ${job.failTries} fail`);
        return;
      }
      const error = outcome.reason;
      assert.ok(error instanceof Error, `job ${id} rejected with a non-Error ${String(error)}`);
      const effectiveTimeout = job.timeoutMs ?? spec.timeoutMs;
      if (error instanceof AbortError) {
        const byCaller = aborted[id] && error.cause === reasons[id];
        const byStop = stopCalled && error.cause instanceof ShutdownError;
        assert.ok(byCaller || byStop, `job ${id}: unexpected AbortError ${error.message} (cause ${String(error.cause)})`);
      } else if (error instanceof TimeoutError) {
        assert.notEqual(effectiveTimeout, undefined, `job ${id}: a TimeoutError without a timeout`);
        assert.equal(error.timeoutMs, effectiveTimeout);
        assert.equal(error.taskName, `task-${job.taskIndex}`);
        assert.equal(calls[id], attempts, `job ${id}: the last try timed out after ${calls[id]} of ${attempts} tries`);
      } else if (error instanceof ShutdownError) {
        assert.ok(stopCalled, `job ${id}: a ShutdownError without stop()`);
      } else {
        assert.equal(error.message, `job ${id} try ${attempts} failed`, `job ${id}: unexpected error (${calls[id]} tries)`);
        assert.equal(calls[id], attempts, `job ${id}: failed for good after ${calls[id]} of ${attempts} tries`);
      }
      if (!firedBeforeStopResolved[id]) assert.ok(error instanceof ShutdownError, `job ${id} fired after stop() should be refused`);
    });

    for (const [group, key] of slotKeys) assert.equal(group.getRunningCount(key), 0, `${group.name}/${key} still holds a slot`);
    for (const state of manager.getConstraintGroupStates()) {
      for (const key of state.keys) {
        assert.equal(key.running, 0, `${state.name}/${key.key} still running`);
        assert.equal(key.waiting, 0, `${state.name}/${key.key} still waiting`);
      }
    }
    for (const [id, count] of live) assert.equal(count, 0, `${id} still counted as live`);
    for (const task of tasks) assert.equal(task.running, false, `${task.name} still running`);
  } finally {
    for (const timer of timers) clock.clearTimeout(timer);
    // A failed case may leave runs behind; a stop that hangs must not hide the failure.
    if (!stopResolved) await clock.settle(manager.stop(), 'stop()').catch(() => {});
  }
}

test('randomized aborts, timeouts, retries and priorities: every trigger settles once, no cap is exceeded, stop() drains in time and frees every slot', async () => {
  const details = await fc.check(fc.asyncProperty(scenarioArb, runScenario), {
    numRuns: 50,
    // A failing case is shrunk; bound that so a broken build fails in reasonable time.
    interruptAfterTimeLimit: 12_000,
    markInterruptAsFailure: true,
  });
  if (details.failed) {
    const error = details.errorInstance;
    assert.fail(`${fc.defaultReportMessage(details)}\n\nFailure of the shrunk case:\n${error instanceof Error ? error.message : String(error)}`);
  }
});
