/**
 * A Taskgraph over random DAGs (fast-check, on the fake clock): random edges, definition
 * orders, durations, failures, optional nodes, failure policies, `maxConcurrent`, a
 * TaskManager with a cap or none, and aborts. Whatever the case: every node runs at most
 * once, never before all its prerequisites completed, never more at once than the caps
 * allow, and the report (or the events, when the run was aborted) matches what ran.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { AbortError, Task, TaskConstraintGroup, TaskManager, Taskgraph, TaskgraphError, type ITaskEvent, type ITaskgraphReport } from '../ts/index.js';
import { withFakeClock, type FakeClock } from './fake-clock.js';

interface INodeSpec {
  /** Prerequisites, as indexes of earlier nodes in topological order. */
  after: number[];
  /** 0: ends in the same turn; else that many ms of fake time. */
  durationMs: number;
  fails: boolean;
  optional: boolean;
}

interface IScenario {
  nodes: INodeSpec[];
  /** Definition order: a permutation of the topological indexes. */
  order: number[];
  onFailure: 'stop' | 'continue';
  maxConcurrent: number;
  /** Run through a TaskManager whose group lets this many node runs go at once (Infinity: no group). */
  managerCap: number | undefined;
  /** Abort the trigger after this many ms, if set. */
  abortAtMs: number | undefined;
}

const nodeArb = (index: number): fc.Arbitrary<INodeSpec> => fc.record({
  after: index === 0 ? fc.constant([]) : fc.uniqueArray(fc.nat({ max: index - 1 }), { maxLength: Math.min(index, 3) }),
  durationMs: fc.integer({ min: 0, max: 5 }),
  fails: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
  optional: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
});

const scenarioArb: fc.Arbitrary<IScenario> = fc.integer({ min: 1, max: 10 }).chain((count) => fc.record({
  nodes: fc.tuple(...Array.from({ length: count }, (_, index) => nodeArb(index))),
  order: fc.shuffledSubarray(Array.from({ length: count }, (_, index) => index), { minLength: count, maxLength: count }),
  onFailure: fc.constantFrom<'stop' | 'continue'>('stop', 'continue'),
  maxConcurrent: fc.oneof(fc.constant(Number.POSITIVE_INFINITY), fc.integer({ min: 1, max: 3 })),
  managerCap: fc.option(fc.oneof(fc.constant(Number.POSITIVE_INFINITY), fc.integer({ min: 1, max: 2 })), { nil: undefined }),
  abortAtMs: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined, freq: 4 }),
}));

const nameOf = (index: number): string => `n${index}`;

/** What the task functions saw, in one sequence of moments. */
interface IRecord {
  startedAt: number[];
  endedAt: number[];
  calls: number[];
  maxRunning: number;
}

async function runCase(scenario: IScenario, clock: FakeClock): Promise<void> {
  const { nodes } = scenario;
  let moment = 0;
  let running = 0;
  const record: IRecord = { startedAt: nodes.map(() => -1), endedAt: nodes.map(() => -1), calls: nodes.map(() => 0), maxRunning: 0 };
  const tasks = nodes.map((spec, index) => new Task({
    name: nameOf(index),
    data: { node: true },
    taskFunction: async (input: unknown, _setup: undefined, context) => {
      record.calls[index]!++;
      record.startedAt[index] = ++moment;
      record.maxRunning = Math.max(record.maxRunning, ++running);
      // A run counts against the caps until it ends or is abandoned (aborted: its slot is free at once).
      let counted = true;
      const release = (): void => {
        if (counted) running--;
        counted = false;
      };
      context.signal.addEventListener('abort', release);
      try {
        if (spec.durationMs > 0) await clock.sleep(spec.durationMs);
        if (spec.fails) throw new Error(`${nameOf(index)} broke`);
        return { node: index, input };
      } finally {
        release();
        record.endedAt[index] = ++moment;
      }
    },
  }));
  const definition: Record<string, { task: Task<any, any, any, any, any>; after: string[]; optional: boolean }> = {};
  for (const index of scenario.order) {
    definition[nameOf(index)] = { task: tasks[index]!, after: nodes[index]!.after.map(nameOf), optional: nodes[index]!.optional };
  }
  const graph = new Taskgraph({ name: 'random', nodes: definition, onFailure: scenario.onFailure, maxConcurrent: scenario.maxConcurrent });
  const events: ITaskEvent[] = [];
  graph.eventSubject.subscribe((event) => events.push(event));

  let manager: TaskManager | undefined;
  let trigger: (options: { signal?: AbortSignal }) => Promise<unknown> = (options) => graph.trigger('in', options);
  if (scenario.managerCap !== undefined) {
    manager = new TaskManager();
    manager.addConstraintGroup(new TaskConstraintGroup<{ node?: boolean }>({
      name: 'nodes', maxConcurrent: scenario.managerCap, constraintKeyForExecution: (task) => (task.data.node === true ? 'all' : null),
    }));
    manager.addTask(graph);
    await manager.start();
    trigger = (options) => manager!.triggerTaskByName('random', 'in', options);
  }
  try {
    const controller = new AbortController();
    if (scenario.abortAtMs !== undefined) clock.setTimeout(() => controller.abort(new Error('enough')), scenario.abortAtMs);
    const outcome = await clock.settle(trigger({ signal: controller.signal }).then(
      (report) => ({ report: report as ITaskgraphReport, error: undefined }),
      (error: unknown) => ({ report: error instanceof TaskgraphError ? error.report : undefined, error }),
    ));
    // Let abandoned task functions run out, so that every start has its end.
    await clock.advance(20);
    checkRuns(scenario, record);
    if (outcome.error instanceof AbortError) return checkAbortedEvents(scenario, record, events);
    assert.ok(outcome.report !== undefined, `unexpected error ${String(outcome.error)}`);
    checkReport(scenario, record, outcome.report, outcome.error);
  } finally {
    await manager?.stop();
  }
}

/** At most once, never before the prerequisites ended, never over a cap. */
function checkRuns(scenario: IScenario, record: IRecord): void {
  scenario.nodes.forEach((spec, index) => {
    assert.ok(record.calls[index]! <= 1, `${nameOf(index)} ran ${record.calls[index]} times`);
    if (record.calls[index] === 0) return;
    for (const prerequisite of spec.after) {
      const ended = record.endedAt[prerequisite]!;
      assert.ok(ended > 0 && ended < record.startedAt[index]!, `${nameOf(index)} started before its prerequisite ${nameOf(prerequisite)} ended`);
      assert.ok(!scenario.nodes[prerequisite]!.fails, `${nameOf(index)} ran after ${nameOf(prerequisite)}, which failed`);
    }
  });
  const cap = Math.min(scenario.maxConcurrent, scenario.managerCap ?? Number.POSITIVE_INFINITY);
  assert.ok(record.maxRunning <= cap, `${record.maxRunning} nodes ran at once, over the cap of ${cap}`);
}

function checkReport(scenario: IScenario, record: IRecord, report: ITaskgraphReport, error: unknown): void {
  let anyFailed = false;
  let stopped = false;
  scenario.nodes.forEach((spec, index) => {
    const node = report.nodes[nameOf(index)]!;
    const ran = record.calls[index] === 1;
    // A node the graph started may wait in a manager's constraint queue and be cancelled there, unrun.
    if (ran) assert.ok(node.status !== 'skipped' && node.status !== 'pending' && node.status !== 'running', `${nameOf(index)} ran but is ${node.status}`);
    else assert.ok(node.status === 'skipped' || node.status === 'cancelled', `${nameOf(index)} did not run but is ${node.status}`);
    if (node.status === 'completed') assert.deepEqual(node.result, { node: index, input: expectedInput(spec, report) }, `${nameOf(index)}'s input`);
    if (node.status === 'failed') {
      assert.ok(spec.fails, `${nameOf(index)} is reported failed but did not fail`);
      if (!spec.optional) anyFailed = true;
    }
    if (node.status === 'completed') assert.ok(!spec.fails);
    if (node.status === 'cancelled') stopped = true;
    if (ran) assert.ok(node.startedAt !== undefined && node.endedAt !== undefined && node.endedAt >= node.startedAt);
  });
  assert.equal(report.status, anyFailed ? 'failed' : 'completed');
  assert.equal(error instanceof TaskgraphError, anyFailed, 'the graph rejects exactly when a node that is not optional failed');
  if (stopped) assert.ok(anyFailed && scenario.onFailure === 'stop', 'nodes are cancelled only when the graph stops');
  // Nothing was left out: without a stop, every node whose prerequisites all completed ran.
  if (!(anyFailed && scenario.onFailure === 'stop')) {
    scenario.nodes.forEach((spec, index) => {
      const ready = spec.after.every((prerequisite) => report.nodes[nameOf(prerequisite)]!.status === 'completed');
      assert.equal(record.calls[index] === 1, ready, `${nameOf(index)}: ran=${record.calls[index] === 1}, prerequisites completed=${ready}`);
    });
  }
}

/** The graph's input for a first node, its one prerequisite's result, or an object of several. */
function expectedInput(spec: INodeSpec, report: ITaskgraphReport): unknown {
  if (spec.after.length === 0) return 'in';
  const resultOf = (prerequisite: number): unknown => report.nodes[nameOf(prerequisite)]!.result;
  if (spec.after.length === 1) return resultOf(spec.after[0]!);
  return Object.fromEntries(spec.after.map((prerequisite) => [nameOf(prerequisite), resultOf(prerequisite)]));
}

/** An aborted run has no report: its events say what happened, one end per node. */
function checkAbortedEvents(scenario: IScenario, record: IRecord, events: ITaskEvent[]): void {
  scenario.nodes.forEach((_spec, index) => {
    const mine = events.filter((event) => 'node' in event && event.node === nameOf(index)).map((event) => event.type);
    const ran = record.calls[index] === 1;
    const cancelledUnrun = mine.length === 2 && mine[0] === 'node-started' && mine[1] === 'node-failed';
    if (!ran) assert.ok(mine.length === 0 || (mine.length === 1 && mine[0] === 'node-skipped') || cancelledUnrun, `${nameOf(index)}: ${mine.join(', ')}`);
    else {
      assert.equal(mine[0], 'node-started');
      assert.ok(mine.length === 2 && (mine[1] === 'node-completed' || mine[1] === 'node-failed'), `${nameOf(index)}: ${mine.join(', ')}`);
    }
  });
}

test('over random DAGs, every node runs at most once and never before its prerequisites, and the report matches what ran', async () => {
  const details = await fc.check(
    fc.asyncProperty(scenarioArb, (scenario) => withFakeClock({ start: 1_700_000_000_000 }, (clock) => runCase(scenario, clock))),
    { numRuns: 300, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: true },
  );
  if (details.failed) {
    const error = details.errorInstance;
    assert.fail(`${fc.defaultReportMessage(details)}\n\nFailure of the shrunk case:\n${error instanceof Error ? error.message : String(error)}`);
  }
});
