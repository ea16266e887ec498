/**
 * A run's state in its TaskManager: the table of allowed moves is the only way a run's
 * state changes (managedrun.ts `moveTo`), and under random mixes of triggers, signals,
 * timeouts, retries, pauses, shouldExecute checks, group removals and draining stops,
 * every run moves only as the table allows, starts at NEW, and ends exactly once.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { Task, TaskConstraintGroup, TaskManager, TaskbufferError } from '../ts/index.js';
import {
  DONE, HOLDING, isAllowedMove, moveTo, NEW, observeRunMoves, QUEUED, REQUEUED, RETRY_WAIT, RUN_STATE_NAMES, RunStateError, SKIPPED,
  type ConstrainedRun,
} from '../ts/manager/managedrun.js';
import { planRun } from '../ts/manager/runplan.js';
import { withFakeClock } from './fake-clock.js';

const STATES = [NEW, QUEUED, HOLDING, RETRY_WAIT, REQUEUED, DONE, SKIPPED];

/** The moves the manager makes, written out once more by hand: the table must say exactly this. */
const EXPECTED_MOVES = new Set([
  'NEW>QUEUED', 'NEW>HOLDING', 'NEW>DONE',
  'QUEUED>QUEUED', 'QUEUED>HOLDING', 'QUEUED>DONE',
  'HOLDING>RETRY_WAIT', 'HOLDING>DONE', 'HOLDING>SKIPPED',
  'RETRY_WAIT>REQUEUED', 'RETRY_WAIT>DONE',
  'REQUEUED>HOLDING', 'REQUEUED>RETRY_WAIT', 'REQUEUED>DONE',
]);

const moveName = (from: number, next: number): string => `${RUN_STATE_NAMES[from]}>${RUN_STATE_NAMES[next]}`;

afterEach(() => observeRunMoves(undefined));

describe('the moves of a run', () => {
  it('allows exactly the moves of the table, and nothing out of DONE or SKIPPED', () => {
    for (const from of STATES) {
      for (const next of STATES) {
        assert.equal(isAllowedMove(from, next), EXPECTED_MOVES.has(moveName(from, next)), moveName(from, next));
      }
    }
  });

  it('refuses a move the table does not allow with a RunStateError naming the task and both states', () => {
    const task = new Task({ name: 'mover', taskFunction: async () => {} });
    const run = planRun([], task, undefined, undefined, 0);
    moveTo(run, HOLDING);
    moveTo(run, DONE);
    assert.throws(() => moveTo(run, HOLDING), (error: unknown) => {
      assert.ok(error instanceof RunStateError && error instanceof TaskbufferError);
      assert.equal(error.code, 'INTERNAL');
      assert.match(error.message, /"mover".*from DONE to HOLDING/);
      return true;
    });
    assert.equal(run.state, DONE, 'a refused move changes nothing');
  });
});

type TStep =
  | { kind: 'trigger'; task: number; key: number; abortAfter: number | undefined; timeoutMs: number | undefined; priority: number | undefined }
  | { kind: 'advance'; ms: number }
  | { kind: 'pauseTask' | 'resumeTask'; task: number }
  | { kind: 'pauseGroup' | 'resumeGroup' | 'removeGroup'; group: number };

const stepArbitrary: fc.Arbitrary<TStep> = fc.oneof(
  { weight: 6, arbitrary: fc.record({
    kind: fc.constant('trigger' as const),
    task: fc.nat(3),
    key: fc.nat(2),
    abortAfter: fc.option(fc.nat(40), { nil: undefined }),
    timeoutMs: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
    priority: fc.option(fc.integer({ min: -1, max: 1 }), { nil: undefined }),
  }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('pauseTask' as const, 'resumeTask' as const), task: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('pauseGroup' as const, 'resumeGroup' as const, 'removeGroup' as const), group: fc.nat(2) }) },
);

const scenarioArbitrary = fc.record({
  steps: fc.array(stepArbitrary, { minLength: 1, maxLength: 40 }),
  drainTimeoutMs: fc.option(fc.nat(50), { nil: undefined }),
  seed: fc.integer(),
});

/** Four tasks: plain, retrying, failing at random, and buffered (a task with a trigger of its own). */
function tasksFor(random: () => number, sleep: (ms: number) => Promise<void>) {
  const work = async (ms: number) => {
    await sleep(ms);
    if (random() < 0.2) throw new Error('flaky');
  };
  return [
    new Task({ name: 'plain', taskFunction: async () => sleep(1 + Math.floor(random() * 20)) }),
    new Task({ name: 'retrying', retry: { attempts: 3, delayMs: 5 }, taskFunction: async () => work(1 + Math.floor(random() * 10)) }),
    new Task({ name: 'failing', taskFunction: async () => work(1 + Math.floor(random() * 10)) }),
    new Task({ name: 'buffered', buffered: true, bufferMax: 2, taskFunction: async () => work(1 + Math.floor(random() * 10)) }),
  ];
}

function groupsFor(random: () => number) {
  return [
    new TaskConstraintGroup({ name: 'mutex', maxConcurrent: 1, constraintKeyForExecution: (_task, input: { key: number }) => `k${input.key}` }),
    new TaskConstraintGroup({ name: 'cooling', maxConcurrent: 2, cooldownMs: 7, constraintKeyForExecution: (task) => (task.name === 'plain' ? null : 'all') }),
    new TaskConstraintGroup({ name: 'checked', constraintKeyForExecution: () => null, shouldExecute: () => random() > 0.15 }),
  ];
}

/** A small deterministic random source, so a counterexample replays. */
function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/** Checks the property over `numRuns` random scenarios; returns every move that was made. */
async function checkRandomWork(parameters: { numRuns: number; seed?: number }): Promise<Set<string>> {
  const seen = new Set<string>();
  await fc.assert(
    fc.asyncProperty(scenarioArbitrary, async ({ steps, drainTimeoutMs, seed }) => {
      await withFakeClock({}, async (clock) => {
        const moves = new Map<ConstrainedRun, number[]>();
        const refused: string[] = [];
        observeRunMoves((run, from, next) => {
          if (!isAllowedMove(from, next)) refused.push(moveName(from, next));
          seen.add(moveName(from, next));
          const path = moves.get(run) ?? [from];
          path.push(next);
          moves.set(run, path);
        });
        const random = seeded(seed);
        const tasks = tasksFor(random, (ms) => clock.sleep(ms));
        const groups = groupsFor(random);
        const manager = new TaskManager({ onError: () => {} });
        for (const task of tasks) manager.addTask(task);
        for (const group of groups) manager.addConstraintGroup(group);
        await manager.start();
        const settlements: number[] = [];
        const outcomes: Array<Promise<unknown>> = [];
        const trigger = (step: Extract<TStep, { kind: 'trigger' }>) => {
          const index = settlements.push(0) - 1;
          const controller = step.abortAfter === undefined ? undefined : new AbortController();
          if (step.abortAfter === 0) controller!.abort(new Error('cut before'));
          else if (controller !== undefined) clock.setTimeout(() => controller.abort(new Error('cut')), step.abortAfter!);
          const options = controller === undefined && step.timeoutMs === undefined && step.priority === undefined
            ? undefined
            : { signal: controller?.signal, timeoutMs: step.timeoutMs, priority: step.priority };
          const outcome = manager.triggerTask(tasks[step.task]!, { key: step.key }, options);
          outcomes.push(outcome.then(
            () => { settlements[index]!++; },
            (error: unknown) => {
              settlements[index]!++;
              assert.ok(!(error instanceof RunStateError), `a trigger failed with ${String(error)}`);
            },
          ));
        };
        for (const step of steps) {
          switch (step.kind) {
            case 'trigger': trigger(step); break;
            case 'advance': await clock.advance(step.ms); break;
            case 'pauseTask': manager.pauseTask(tasks[step.task]!.name!); break;
            case 'resumeTask': manager.resumeTask(tasks[step.task]!.name!); break;
            case 'pauseGroup': if (groups[step.group] && manager.constraintGroups.includes(groups[step.group]!)) manager.pauseConstraintGroup(groups[step.group]!.name); break;
            case 'resumeGroup': if (groups[step.group] && manager.constraintGroups.includes(groups[step.group]!)) manager.resumeConstraintGroup(groups[step.group]!.name); break;
            case 'removeGroup': manager.removeConstraintGroup(groups[step.group]!.name); break;
          }
        }
        for (const task of tasks) manager.resumeTask(task.name!);
        for (const group of manager.constraintGroups) manager.resumeConstraintGroup(group.name);
        await clock.settle(manager.stop({ drain: true, timeoutMs: drainTimeoutMs ?? Number.POSITIVE_INFINITY }), 'the draining stop');
        await clock.settle(Promise.all(outcomes), 'every trigger');
        assert.deepEqual(refused, [], 'moves outside the table');
        assert.ok(settlements.every((count) => count === 1), `every trigger settles exactly once: ${settlements.join(',')}`);
        for (const [, path] of moves) {
          assert.equal(path[0], NEW, `a run starts at NEW: ${path.map((s) => RUN_STATE_NAMES[s]).join(' > ')}`);
          const ends = path.filter((state) => state === DONE || state === SKIPPED).length;
          assert.equal(ends, 1, `a run ends exactly once: ${path.map((s) => RUN_STATE_NAMES[s]).join(' > ')}`);
          assert.ok(path.at(-1) === DONE || path.at(-1) === SKIPPED, 'a run ends in DONE or SKIPPED');
        }
        observeRunMoves(undefined);
      });
    }),
    parameters,
  );
  return seen;
}

describe('runs under random work', () => {
  it('move only as the table allows, start at NEW and end exactly once, and every trigger settles once', async () => {
    await checkRandomWork({ numRuns: 150 });
  });

  it('reach every move of the table in a fixed set of scenarios, so the property above covers them all', async () => {
    const seen = await checkRandomWork({ numRuns: 500, seed: 2 });
    assert.deepEqual([...EXPECTED_MOVES].filter((move) => !seen.has(move)), [], 'moves no scenario made');
  });
});
