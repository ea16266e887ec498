import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AbortError, InvalidOptionError, Task, TaskConstraintGroup, Taskchain, Taskgraph, TaskgraphDefinitionError, TaskgraphError,
  TimeoutError, type ITaskEvent, type ITaskgraphReport,
} from '../ts/index.js';
import { useFakeClock, type FakeClock } from './fake-clock.js';
import { managerFor, rejectionOf } from './manager-helpers.js';
import { collectEvents } from './rule-helpers.js';

/** Start and end of each node's run on the fake clock, by task name. */
type TTimeline = Map<string, { start: number; end?: number }>;

/** A task that takes `ms` of fake time and returns `value` (or throws `fails`). */
function timed<TInput = unknown, TResult = string>(clock: FakeClock, timeline: TTimeline, name: string, ms: number,
  value?: (input: TInput) => TResult, fails?: string): Task<undefined, [], Record<string, unknown>, TInput, TResult> {
  return new Task({
    name,
    taskFunction: async (input: TInput) => {
      const entry: { start: number; end?: number } = { start: clock.now() };
      timeline.set(name, entry);
      await clock.sleep(ms);
      entry.end = clock.now();
      if (fails !== undefined) throw new Error(fails);
      return value === undefined ? (name as TResult) : value(input);
    },
  });
}

function statuses(report: ITaskgraphReport): Record<string, string> {
  return Object.fromEntries(Object.entries(report.nodes).map(([name, node]) => [name, node.status]));
}

async function graphError(promise: Promise<unknown>): Promise<TaskgraphError> {
  const error = await rejectionOf(promise);
  assert.ok(error instanceof TaskgraphError, `expected a TaskgraphError, got ${error.name}: ${error.message}`);
  return error;
}

function definitionError(build: () => unknown): TaskgraphDefinitionError {
  try {
    build();
  } catch (error) {
    assert.ok(error instanceof TaskgraphDefinitionError, `expected a TaskgraphDefinitionError, got ${String(error)}`);
    assert.equal(error.code, 'INVALID_GRAPH');
    return error;
  }
  assert.fail('expected the definition to be refused');
}

/** build (10 ms) → test (30 ms) and lint (20 ms) → publish (5 ms). */
function ciGraph(clock: FakeClock, timeline: TTimeline, fail: { test?: string; lint?: string } = {}, options: { onFailure?: 'stop' | 'continue'; lintOptional?: boolean } = {}) {
  return new Taskgraph({
    name: 'ci',
    onFailure: options.onFailure,
    nodes: {
      build: { task: timed(clock, timeline, 'build', 10, (src: string) => `built ${src}`) },
      test: { task: timed(clock, timeline, 'test', 30, (built: string) => `tested ${built}`, fail.test), after: ['build'] },
      lint: { task: timed(clock, timeline, 'lint', 20, (built: string) => `linted ${built}`, fail.lint), after: ['build'], optional: options.lintOptional },
      publish: { task: timed(clock, timeline, 'publish', 5, (results: { test: string; lint: string }) => `published (${results.test}; ${results.lint})`), after: ['test', 'lint'] },
    },
  });
}

describe('Taskgraph', () => {
  describe('order and parallelism', () => {
    it('starts no node before all its prerequisites have ended, and runs independent nodes side by side', async (t) => {
      const clock = useFakeClock(t);
      const timeline: TTimeline = new Map();
      const report = await clock.settle(ciGraph(clock, timeline).trigger('src'));
      assert.equal(report.status, 'completed');
      assert.deepEqual(Object.fromEntries(timeline), {
        build: { start: 0, end: 10 },
        test: { start: 10, end: 40 },
        lint: { start: 10, end: 30 },
        publish: { start: 40, end: 45 },
      });
      assert.equal(clock.now(), 45, 'the graph takes as long as its longest path');
    });

    it('runs at most maxConcurrent nodes of a run at once, the ready ones in definition order', async (t) => {
      const clock = useFakeClock(t);
      const timeline: TTimeline = new Map();
      const nodes = Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((name) => [name, { task: timed(clock, timeline, name, 10) }]));
      const graph = new Taskgraph({ name: 'fan', maxConcurrent: 2, nodes });
      await clock.settle(graph.trigger());
      assert.deepEqual([...timeline].map(([name, { start }]) => `${name}@${start}`), ['a@0', 'b@0', 'c@10', 'd@10', 'e@20']);
    });
  });

  describe('data flow', () => {
    it('gives a first node the graph input, a node after one node its result, and a node after several an object of their results', async (t) => {
      const clock = useFakeClock(t);
      const report = await clock.settle(ciGraph(clock, new Map()).trigger('src'));
      assert.deepEqual(Object.fromEntries(Object.entries(report.nodes).map(([name, node]) => [name, node.result])), {
        build: 'built src',
        test: 'tested built src',
        lint: 'linted built src',
        publish: 'published (tested built src; linted built src)',
      });
    });

    it('calls a node’s input function with its prerequisites’ results and the graph input', async () => {
      const seen: unknown[] = [];
      const fetchA = new Task({ name: 'fetchA', taskFunction: async (day: string) => [`a1 ${day}`, `a2 ${day}`] });
      const fetchB = new Task({ name: 'fetchB', taskFunction: async (day: string) => [`b1 ${day}`] });
      const merge = new Task({ name: 'merge', taskFunction: async (input: { rows: string[]; day: string }) => `${input.day}: ${input.rows.join(', ')}` });
      const graph = new Taskgraph({
        name: 'etl',
        nodes: {
          fetchA: { task: fetchA },
          fetchB: { task: fetchB },
          merge: {
            task: merge,
            after: ['fetchA', 'fetchB'],
            input: (results, day: string) => {
              seen.push({ ...results });
              return { rows: [...results.fetchA, ...results.fetchB], day };
            },
          },
        },
      });
      const report = await graph.trigger('monday');
      assert.equal(report.nodes.merge.result, 'monday: a1 monday, a2 monday, b1 monday');
      assert.deepEqual(seen, [{ fetchA: ['a1 monday', 'a2 monday'], fetchB: ['b1 monday'] }]);
    });

    it('fails a node whose input function throws, without calling its task', async () => {
      let called = false;
      const graph = new Taskgraph({
        name: 'shape',
        nodes: {
          read: { task: new Task({ name: 'read', taskFunction: async () => 'raw' }) },
          parse: { task: new Task({ name: 'parse', taskFunction: async () => { called = true; } }), after: ['read'], input: () => { throw new Error('bad shape'); } },
        },
      });
      const error = await graphError(graph.trigger());
      assert.equal(called, false);
      assert.deepEqual(statuses(error.report), { read: 'completed', parse: 'failed' });
      assert.equal(error.report.nodes.parse!.error, 'bad shape');
    });
  });

  describe('failure policies', () => {
    it('stops by default: rejects with a TaskgraphError carrying the report, cancels running nodes and skips the rest', async (t) => {
      const clock = useFakeClock(t);
      const timeline: TTimeline = new Map();
      const error = await graphError(clock.settle(ciGraph(clock, timeline, { lint: 'lint errors' }).trigger('src')));
      assert.equal(error.code, 'GRAPH_FAILED');
      assert.match(error.message, /Taskgraph "ci" failed at node "lint": lint errors \(1 completed, 1 cancelled, 1 failed, 1 skipped\)/);
      assert.deepEqual(error.failedNodes, ['lint']);
      assert.equal((error.cause as Error).message, 'lint errors');
      assert.equal(error.report.status, 'failed');
      assert.deepEqual(statuses(error.report), { build: 'completed', test: 'cancelled', lint: 'failed', publish: 'skipped' });
      assert.equal(error.report.nodes.test!.endedAt, 30, 'test was cut short when lint failed');
      assert.equal(clock.now(), 30, 'the graph ends when its last running node is cancelled');
      assert.doesNotThrow(() => JSON.stringify(error.report));
    });

    it('with onFailure continue, lets independent branches finish and skips only what comes after the failed node', async (t) => {
      const clock = useFakeClock(t);
      const timeline: TTimeline = new Map();
      const mail = timed(clock, timeline, 'mail', 50);
      const graph = new Taskgraph({
        name: 'nightly',
        onFailure: 'continue',
        nodes: {
          build: { task: timed(clock, timeline, 'build', 10, undefined, 'compile error') },
          test: { task: timed(clock, timeline, 'test', 10), after: ['build'] },
          mail: { task: mail },
          report: { task: timed(clock, timeline, 'report', 5), after: ['mail'] },
        },
      });
      const error = await graphError(clock.settle(graph.trigger()));
      assert.deepEqual(statuses(error.report), { build: 'failed', test: 'skipped', mail: 'completed', report: 'completed' });
      assert.equal(clock.now(), 55, 'the graph rejects once the independent branch ended');
    });

    it('never fails the graph for an optional node, and skips the nodes after it', async (t) => {
      const clock = useFakeClock(t);
      const report = await clock.settle(ciGraph(clock, new Map(), { lint: 'lint errors' }, { lintOptional: true }).trigger('src'));
      assert.equal(report.status, 'completed');
      assert.deepEqual(statuses(report), { build: 'completed', test: 'completed', lint: 'failed', publish: 'skipped' });
      assert.equal(report.nodes.lint.error, 'lint errors');
    });
  });

  describe('abort and timeout', () => {
    it('aborting the trigger rejects with an AbortError at once, aborts the running nodes and starts no more', async (t) => {
      const clock = useFakeClock(t);
      const timeline: TTimeline = new Map();
      const graph = ciGraph(clock, timeline);
      const events = collectEvents(graph);
      const controller = new AbortController();
      const run = graph.trigger('src', { signal: controller.signal });
      await clock.advance(15);
      controller.abort(new Error('deploy window closed'));
      const error = await rejectionOf(run);
      assert.ok(error instanceof AbortError);
      assert.equal((error.cause as Error).message, 'deploy window closed');
      await clock.advance(100);
      assert.deepEqual([...timeline.keys()], ['build', 'test', 'lint'], 'publish never started');
      const failed = events.filter((event) => event.type === 'node-failed').map((event) => event.type === 'node-failed' && `${event.node} cancelled=${event.cancelled}`);
      assert.deepEqual(failed.sort(), ['lint cancelled=true', 'test cancelled=true']);
      assert.ok(events.some((event) => event.type === 'node-skipped' && event.node === 'publish'));
    });

    it('times out as a whole after timeoutMs: the trigger rejects with a TimeoutError and running nodes are aborted', async (t) => {
      const clock = useFakeClock(t);
      let sawAbort: unknown;
      const slow = new Task({
        name: 'slow',
        taskFunction: async (_input: unknown, _setup: undefined, context) => {
          context.signal.addEventListener('abort', () => { sawAbort = context.signal.reason; });
          await clock.sleep(1000);
        },
      });
      const graph = new Taskgraph({ name: 'limited', timeoutMs: 100, nodes: { first: { task: timed(clock, new Map(), 'first', 10) }, slow: { task: slow, after: ['first'] } } });
      const error = await rejectionOf(clock.settle(graph.trigger()));
      assert.ok(error instanceof TimeoutError);
      assert.match(error.message, /Task "limited" timed out after 100 ms/);
      assert.equal(clock.now(), 100);
      assert.ok(sawAbort instanceof TimeoutError, 'the running node was signalled with the graph’s timeout');
    });
  });

  describe('nodes with a trigger of their own', () => {
    it('withdraws a node waiting in its buffered task’s queue when the graph stops, and aborts the one running', async (t) => {
      const clock = useFakeClock(t);
      let calls = 0;
      const upload = new Task({ name: 'upload', buffered: true, bufferMax: 1, taskFunction: async (file: string) => {
        calls++;
        await clock.sleep(100);
        return file;
      } });
      const graph = new Taskgraph({
        name: 'uploads',
        nodes: {
          first: { task: upload, input: () => 'a.txt' },
          second: { task: upload, input: () => 'b.txt' },
          check: { task: timed(clock, new Map(), 'check', 10, undefined, 'quota exceeded') },
        },
      });
      const error = await graphError(clock.settle(graph.trigger()));
      assert.deepEqual(statuses(error.report), { first: 'cancelled', second: 'cancelled', check: 'failed' });
      assert.equal(clock.now(), 10, 'the graph did not wait for the upload');
      await clock.advance(200);
      assert.equal(calls, 1, 'the queued upload never ran');
    });
  });

  describe('definitions', () => {
    const noop = new Task({ name: 'noop', taskFunction: async () => undefined });

    it('refuses a cycle and names it', () => {
      const error = definitionError(() => new Taskgraph({
        name: 'loop',
        nodes: { start: { task: noop }, a: { task: noop, after: ['start', 'c'] }, b: { task: noop, after: ['a'] }, c: { task: noop, after: ['b'] } },
      }));
      assert.equal(error.message, 'Taskgraph "loop": its nodes form a cycle: a → b → c → a');
      assert.deepEqual(error.cycle, ['a', 'b', 'c', 'a']);
      const self = definitionError(() => new Taskgraph({ nodes: { a: { task: noop, after: ['a'] } } }));
      assert.deepEqual(self.cycle, ['a', 'a']);
    });

    it('refuses an unknown prerequisite, a repeated one, an empty name, a node without a task and an empty graph', () => {
      const unknown = definitionError(() => new Taskgraph({ name: 'g', nodes: { a: { task: noop }, b: { task: noop, after: ['x' as 'a'] } } }));
      assert.equal(unknown.message, 'Taskgraph "g": node "b" runs after "x" (string), which is not a node of the graph (nodes: "a", "b")');
      assert.equal(unknown.nodeName, 'b');
      assert.match(definitionError(() => new Taskgraph({ nodes: { a: { task: noop }, b: { task: noop, after: ['a', 'a'] } } })).message, /node "b" names "a" twice/);
      assert.match(definitionError(() => new Taskgraph({ nodes: { '': { task: noop } } })).message, /a node name must not be empty/);
      assert.match(definitionError(() => new Taskgraph({ nodes: { a: {} as { task: typeof noop } } })).message, /node "a" has no task: expected `task` to be a Task, got undefined/);
      assert.match(definitionError(() => new Taskgraph({ nodes: {} })).message, /at least one node/);
    });

    it('refuses a bad maxConcurrent or onFailure with an InvalidOptionError naming the value', () => {
      assert.throws(() => new Taskgraph({ name: 'g', maxConcurrent: 0, nodes: { a: { task: noop } } }),
        (error: unknown) => error instanceof InvalidOptionError && /`maxConcurrent` to be a positive integer or Infinity, got 0/.test(error.message));
      assert.throws(() => new Taskgraph({ name: 'g', onFailure: 'retry' as 'stop', nodes: { a: { task: noop } } }),
        (error: unknown) => error instanceof InvalidOptionError && /got "retry"/.test(error.message));
    });

    it('takes names such as constructor, toString and __proto__ as ordinary node names', async () => {
      const echo = new Task({ name: 'echo', taskFunction: async (input: string) => `${input}!` });
      const graph = new Taskgraph({ nodes: { constructor: { task: echo }, toString: { task: echo, after: ['constructor'] }, ['__proto__']: { task: echo, after: ['toString'] } } });
      const report = await graph.trigger('hi');
      assert.deepEqual(Object.keys(report.nodes), ['constructor', 'toString', '__proto__']);
      assert.equal(report.nodes['__proto__'].result, 'hi!!!');
    });
  });

  describe('events, steps and metadata', () => {
    it('emits node events with the node name and the graph run’s runId, and gives each node run an id of its own', async (t) => {
      const clock = useFakeClock(t);
      const timeline: TTimeline = new Map();
      const graph = ciGraph(clock, timeline, { test: 'flaky' }, { onFailure: 'continue' });
      const events = collectEvents(graph);
      const build = (graph as unknown as { topology: { nodes: Array<{ task: Task }> } }).topology.nodes[0]!.task;
      const buildEvents = collectEvents(build);
      await rejectionOf(clock.settle(graph.trigger('src', { runId: 'release-7' })));
      assert.deepEqual(events.map((event) => `${event.type}${'node' in event ? ` ${event.node}` : ''}`), [
        'started', 'node-started build', 'node-completed build', 'node-started test', 'node-started lint',
        'node-completed lint', 'node-failed test', 'node-skipped publish', 'failed',
      ]);
      assert.ok(events.every((event) => event.runId === 'release-7'));
      const started = events.find((event): event is Extract<ITaskEvent, { type: 'node-started' }> => event.type === 'node-started')!;
      assert.equal(started.nodeRunId, 'release-7/build');
      assert.equal(buildEvents[0]!.runId, 'release-7/build', 'the node task’s own events carry the node run id');
      const skipped = events.find((event) => event.type === 'node-skipped');
      assert.equal(skipped?.type === 'node-skipped' && skipped.reason, '"test" failed');
      assert.doesNotThrow(() => JSON.stringify(events));
    });

    it('has one step per node, active while the node runs and completed when it ends', async (t) => {
      const clock = useFakeClock(t);
      const graph = ciGraph(clock, new Map());
      assert.deepEqual(graph.getStepsMetadata().map((step) => [step.name, step.percentage, step.description]), [
        ['build', 25, 'first'], ['test', 25, 'after build'], ['lint', 25, 'after build'], ['publish', 25, 'after test, lint'],
      ]);
      const run = graph.trigger('src');
      await clock.advance(35);
      const steps = Object.fromEntries(graph.getStepsMetadata().map((step) => [step.name, step.status]));
      assert.deepEqual(steps, { build: 'completed', test: 'active', lint: 'completed', publish: 'pending' });
      assert.equal(graph.getProgress(), 50);
      await clock.settle(run);
      assert.equal(graph.getProgress(), 100);
      assert.deepEqual(graph.nodeNames, ['build', 'test', 'lint', 'publish']);
      assert.deepEqual(graph.prerequisitesOf('publish'), ['test', 'lint']);
    });

    it('has labels like any task', () => {
      const graph = new Taskgraph({ name: 'g', labels: { team: 'infra' }, nodes: { a: { task: new Task({ taskFunction: async () => 1 }) } } });
      assert.equal(graph.getLabel('team'), 'infra');
      assert.deepEqual(graph.getMetadata().labels, { team: 'infra' });
    });
  });

  describe('with a TaskManager and other tasks', () => {
    it('runs each node through the manager, so a per-key mutex shared with other tasks holds across the graph', async (t) => {
      const clock = useFakeClock(t);
      const manager = managerFor(t);
      // The graph itself has no key (null): it must not hold the slot its nodes need.
      manager.addConstraintGroup(new TaskConstraintGroup<{ db?: string }>({ name: 'db', maxConcurrent: 1, constraintKeyForExecution: (task) => task.data.db ?? null }));
      const timeline: TTimeline = new Map();
      const onDb = (name: string, ms: number) => new Task({
        name,
        data: { db: 'main' },
        taskFunction: async () => {
          timeline.set(name, { start: clock.now() });
          await clock.sleep(ms);
          timeline.get(name)!.end = clock.now();
          return name;
        },
      });
      const graph = new Taskgraph({
        name: 'migrate',
        nodes: { users: { task: onDb('users', 10) }, orders: { task: onDb('orders', 10) }, index: { task: onDb('index', 10), after: ['users', 'orders'] } },
      });
      manager.addTask(graph);
      const backup = onDb('backup', 10);
      manager.addTask(backup);
      await manager.start();
      const graphRun = manager.triggerTaskByName('migrate');
      const backupRun = manager.triggerTask(backup);
      await clock.settle(Promise.all([graphRun, backupRun]));
      const runs = [...timeline].sort((a, b) => a[1].start - b[1].start).map(([name, { start, end }]) => `${name} ${start}-${end}`);
      // The graph starts at once and triggers users and orders before backup is triggered.
      assert.deepEqual(runs, ['users 0-10', 'orders 10-20', 'backup 20-30', 'index 30-40'], 'one at a time on db "main", in trigger order');
    });

    it('holds its runs while the manager pauses it, and runs them when resumed', async (t) => {
      const clock = useFakeClock(t);
      const manager = managerFor(t);
      const graph = new Taskgraph({ name: 'g', nodes: { a: { task: timed(clock, new Map(), 'a', 5) } } });
      manager.addTask(graph);
      await manager.start();
      manager.pauseTask('g');
      let done = false;
      const run = manager.triggerTaskByName('g').then((report) => { done = true; return report; });
      await clock.advance(50);
      assert.equal(done, false);
      assert.equal(graph.getMetadata().paused, true);
      manager.resumeTask('g');
      assert.equal((await clock.settle(run)).status, 'completed');
    });

    it('applies each node task’s retries per node through the manager', async (t) => {
      const clock = useFakeClock(t);
      const manager = managerFor(t);
      let tries = 0;
      const flaky = new Task({ name: 'flaky', retry: { attempts: 3, delayMs: 5 }, taskFunction: async () => {
        if (++tries < 3) throw new Error(`try ${tries}`);
        return 'ok';
      } });
      const graph = new Taskgraph({ name: 'g', nodes: { flaky: { task: flaky } } });
      manager.addTask(graph);
      await manager.start();
      const report = await clock.settle(manager.triggerTaskByName('g'));
      assert.equal(report.nodes.flaky.result, 'ok');
      assert.equal(tries, 3);
    });

    it('runs on its cron schedule, its nodes through the manager', async (t) => {
      const start = Date.UTC(2030, 0, 1, 12, 0, 0, 250);
      const clock = useFakeClock(t, { start });
      const manager = managerFor(t);
      const keyed: string[] = [];
      manager.addConstraintGroup(new TaskConstraintGroup({ name: 'watch', constraintKeyForExecution: (task) => { keyed.push(task.name!); return null; } }));
      const ran: number[] = [];
      const graph = new Taskgraph({
        name: 'hourly-report',
        nodes: {
          collect: { task: new Task({ name: 'collect', taskFunction: async () => 3 }) },
          send: { task: new Task({ name: 'send', taskFunction: async (count: number) => { ran.push(clock.now()); return count; } }), after: ['collect'] },
        },
      });
      manager.addAndScheduleTask(graph, '* * * * * *');
      await manager.start();
      await clock.advance(750);
      assert.deepEqual(ran, [start + 750]);
      assert.deepEqual(keyed, ['hourly-report', 'collect', 'send']);
      assert.equal(manager.getTaskMetadata('hourly-report')!.status, 'completed');
    });

    it('runs inside a Taskchain, taking the previous task’s result and handing its report on', async () => {
      const prepare = new Task({ name: 'prepare', taskFunction: async (n: number) => n + 1 });
      const graph = new Taskgraph({
        name: 'square-and-double',
        nodes: {
          square: { task: new Task({ name: 'square', taskFunction: async (n: number) => n * n }) },
          double: { task: new Task({ name: 'double', taskFunction: async (n: number) => n * 2 }) },
        },
      });
      const summarize = new Task({ name: 'summarize', taskFunction: async (report: ITaskgraphReport) => `${report.nodes.square!.result} ${report.nodes.double!.result}` });
      const chain = new Taskchain({ name: 'math', taskArray: [prepare, graph, summarize] });
      assert.equal(await chain.trigger(2), '9 6');
    });
  });
});
