/**
 * Compile-time checks of the public types. `tsc --noEmit -p tsconfig.json` verifies them:
 * a wrong type makes an `Expect<Equal<...>>` fail to compile, and every `@ts-expect-error`
 * must sit on a line that really is an error. The runtime tests at the end run the same
 * fixtures so the test runner counts this file and the fixtures are known to work.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Subject } from 'rxjs';
import {
  Task,
  Taskchain,
  Taskparallel,
  TaskDebounced,
  TaskOnce,
  Taskgraph,
  type ITaskgraphNodeReport,
  type ITaskgraphReport,
  type IConstraintGroupEvent,
  type ITaskbufferEvent,
  type ITaskEvent,
  type IRetryOptions,
  type ITaskMetadata,
  type ITriggerOptions,
  type RetryPolicy,
  type StepNames,
  type TTaskEventType,
  type TTaskStatus,
  type TStepStatus,
} from '../ts/index.js';

// ---------------------------------------------------------------------------------------
// Type assertion helpers
// ---------------------------------------------------------------------------------------

/** `true` only when X and Y are the same type (not merely assignable either way). */
type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
/** Compiles only when given `true`. */
type Expect<T extends true> = T;

/** Compiles only when `value` is assignable to `T`; with an explicit T it pins a value's type. */
function expectType<T>(value: T): T {
  return value;
}

// The helpers themselves must be able to fail, or the checks below prove nothing.
// @ts-expect-error string is not number
type _helperRejectsDifferentTypes = Expect<Equal<string, number>>;
// @ts-expect-error any is not string
type _helperRejectsAny = Expect<Equal<any, string>>;
// @ts-expect-error a number is not a string
expectType<string>(1 as number);

// ---------------------------------------------------------------------------------------
// notifyStep only accepts declared step names when the steps are declared `as const`
// ---------------------------------------------------------------------------------------

const deployTask = new Task({
  name: 'Deploy',
  steps: [
    { name: 'build', description: 'Building app', percentage: 30 },
    { name: 'test', description: 'Running tests', percentage: 20 },
    { name: 'deploy', description: 'Deploying to server', percentage: 40 },
    { name: 'verify', description: 'Verifying deployment', percentage: 10 },
  ] as const,
  taskFunction: async () => {
    deployTask.notifyStep('build');
    deployTask.notifyStep('test');
    deployTask.notifyStep('deploy');
    deployTask.notifyStep('verify');
    return 'Deployment successful!';
  },
});

type DeployStepArg = Parameters<typeof deployTask.notifyStep>[0];
type _deployStepNames = Expect<Equal<DeployStepArg, 'build' | 'test' | 'deploy' | 'verify'>>;

/** Never called: an undeclared name would throw at runtime; here only the compiler looks at it. */
function undeclaredStepNamesDoNotCompile(): void {
  // @ts-expect-error 'publish' is not one of the declared steps
  deployTask.notifyStep('publish');
  // @ts-expect-error step names are case-sensitive
  deployTask.notifyStep('Build');
  // @ts-expect-error any string is not enough
  deployTask.notifyStep('build' as string);
}
void undeclaredStepNamesDoNotCompile;

type _stepNamesHelper = Expect<
  Equal<StepNames<readonly [{ name: 'a'; description: ''; percentage: 50 }, { name: 'b'; description: ''; percentage: 50 }]>, 'a' | 'b'>
>;

/** A task without steps has no step names at all. */
function noStepsNoNames(): void {
  const plain = new Task({ name: 'plain', taskFunction: async () => 1 });
  // @ts-expect-error a task without declared steps accepts no step name
  plain.notifyStep('anything');
}
void noStepsNoNames;

// ---------------------------------------------------------------------------------------
// Typed data
// ---------------------------------------------------------------------------------------

const dnsTask = new Task<undefined, [], { domain: string }>({
  name: 'update-a.com',
  data: { domain: 'a.com' },
  taskFunction: async () => {
    expectType<string>(dnsTask.data.domain);
  },
});
type _dataDomainIsString = Expect<Equal<typeof dnsTask.data.domain, string>>;
type _dataIsTheDeclaredBag = Expect<Equal<typeof dnsTask.data, { domain: string }>>;

function dataIsChecked(): void {
  new Task<undefined, [], { domain: string }>({
    name: 'bad',
    // @ts-expect-error domain must be a string
    data: { domain: 42 },
    taskFunction: async () => undefined,
  });
  // @ts-expect-error the data bag has no `port`
  dnsTask.data.port;
}
void dataIsChecked;

const twoFieldTask = new Task<undefined, [], { domain: string; priority: number }>({
  name: 'update-dns',
  data: { domain: 'example.com', priority: 1 },
  taskFunction: async () => `Updating DNS for ${twoFieldTask.data.domain}`,
});
type _priorityIsNumber = Expect<Equal<typeof twoFieldTask.data.priority, number>>;

// ---------------------------------------------------------------------------------------
// trigger infers its result (and input) from the task function
// ---------------------------------------------------------------------------------------

const stringTask = new Task({ name: 'str', taskFunction: async () => 'hello' });
type _stringResult = Expect<Equal<ReturnType<typeof stringTask.trigger>, Promise<string>>>;

const syncNumberTask = new Task({ name: 'sync', taskFunction: () => 42 });
type _syncResultIsPromised = Expect<Equal<ReturnType<typeof syncNumberTask.trigger>, Promise<number>>>;

const doubleTask = new Task({ name: 'double', taskFunction: async (n: number) => n * 2 });
type _numberResult = Expect<Equal<ReturnType<typeof doubleTask.trigger>, Promise<number>>>;
type _numberInput = Expect<Equal<Parameters<typeof doubleTask.trigger>[0], number | undefined>>;

// A trigger's own retry: a policy object, or false for exactly one try.
type _triggerRetry = Expect<Equal<ITriggerOptions['retry'], IRetryOptions | false | undefined>>;
// What a caller that retries on its own reads from a task.
type _taskRetryPolicy = Expect<Equal<typeof doubleTask.retryPolicy, RetryPolicy | undefined>>;
type _policyAnswers = Expect<Equal<[RetryPolicy['attempts'], ReturnType<RetryPolicy['shouldRetry']>, ReturnType<RetryPolicy['delayBefore']>], [number, boolean, number]>>;

function triggerRetryIsChecked(): void {
  void doubleTask.trigger(2, { retry: false });
  void doubleTask.trigger(2, { retry: { attempts: 3, backoff: 'exponential' } });
  // @ts-expect-error retry: true is not an option (false or a policy object)
  void doubleTask.trigger(2, { retry: true });
}
void triggerRetryIsChecked;

const objectTask = new Task({
  name: 'object',
  taskFunction: async (id: string) => ({ id, ok: true as const }),
});
type _objectResult = Expect<Equal<Awaited<ReturnType<typeof objectTask.trigger>>, { id: string; ok: true }>>;

function inputIsChecked(): void {
  // @ts-expect-error doubleTask takes a number
  void doubleTask.trigger('2');
}
void inputIsChecked;

// The subclasses infer the same way.
const onceTask = new TaskOnce({ name: 'once', taskFunction: async () => 'ready' });
type _onceResult = Expect<Equal<ReturnType<typeof onceTask.trigger>, Promise<string>>>;

const debouncedTask = new TaskDebounced({
  name: 'search',
  debounceTimeInMillis: 1,
  taskFunction: async (query: string) => [query],
});
type _debouncedResult = Expect<Equal<ReturnType<typeof debouncedTask.trigger>, Promise<string[]>>>;

// ---------------------------------------------------------------------------------------
// taskSetup's value types the task function's second argument
// ---------------------------------------------------------------------------------------

class ConnectionPool {
  async query(sql: string): Promise<string[]> {
    return [`rows of ${sql}`];
  }
}

const dbQueryTask = new Task({
  name: 'DBQuery',
  taskSetup: async () => new ConnectionPool(),
  taskFunction: async (input: string, pool) => {
    expectType<ConnectionPool>(pool);
    type _poolType = Expect<Equal<typeof pool, ConnectionPool>>;
    return await pool.query(input);
  },
});
type _dbQueryResult = Expect<Equal<ReturnType<typeof dbQueryTask.trigger>, Promise<string[]>>>;

const syncSetupTask = new Task({
  name: 'sync-setup',
  taskSetup: () => ({ retries: 3 }),
  taskFunction: async (_input: undefined, config) => {
    type _configType = Expect<Equal<typeof config, { retries: number }>>;
    return config.retries;
  },
});

function setupValueIsChecked(): void {
  new Task({
    name: 'wrong-use',
    taskSetup: async () => new ConnectionPool(),
    taskFunction: async (input: string, pool) => {
      // @ts-expect-error the pool has no `execute`
      return pool.execute(input);
    },
  });
}
void setupValueIsChecked;

// ---------------------------------------------------------------------------------------
// ITaskEvent narrows on `type`
// ---------------------------------------------------------------------------------------

function describeEvent(event: ITaskEvent): string {
  expectType<ITaskMetadata>(event.task);
  expectType<number>(event.timestamp);
  type _eventTypes = Expect<Equal<typeof event.type, 'started' | 'step' | 'update' | 'completed' | 'failed' | 'retrying' | 'paused' | 'resumed' | 'node-started' | 'node-completed' | 'node-failed' | 'node-skipped'>>;
  // Run events name their run; pausing is about the task.
  type _runId = Expect<Equal<typeof event.runId, string | undefined>>;

  // @ts-expect-error stepName only exists on 'step' events
  void event.stepName;
  // @ts-expect-error error only exists on 'failed' and 'retrying' events
  void event.error;

  switch (event.type) {
    case 'started':
      type _startedRunId = Expect<Equal<typeof event.runId, string>>;
      return 'started';
    case 'update':
      type _payload = Expect<Equal<typeof event.payload, unknown>>;
      return `update of run ${event.runId}`;
    case 'step': {
      type _stepName = Expect<Equal<typeof event.stepName, string>>;
      // @ts-expect-error a step event has no error
      void event.error;
      return `step ${event.stepName}`;
    }
    case 'completed':
      expectType<number>(event.duration);
      return `completed in ${event.duration} ms`;
    case 'failed': {
      type _error = Expect<Equal<typeof event.error, string>>;
      // @ts-expect-error a failed event has no stepName
      void event.stepName;
      return `failed: ${event.error}`;
    }
    case 'retrying':
      expectType<number>(event.attempt);
      expectType<number>(event.delayMs);
      return `retrying (try ${event.attempt}) in ${event.delayMs} ms: ${event.error}`;
    case 'paused':
    case 'resumed':
      return event.type;
    case 'node-started':
    case 'node-completed':
    case 'node-failed':
    case 'node-skipped': {
      // A Taskgraph's node events name the node; the run is the graph's.
      type _node = Expect<Equal<typeof event.node, string>>;
      type _graphRunId = Expect<Equal<typeof event.runId, string>>;
      if (event.type === 'node-failed') {
        type _nodeError = Expect<Equal<[typeof event.error, typeof event.cancelled], [string, boolean]>>;
        return `node ${event.node} failed: ${event.error}`;
      }
      if (event.type === 'node-skipped') return `node ${event.node} skipped: ${event.reason}`;
      return `node ${event.node} (run ${event.nodeRunId}) ${event.type}`;
    }
    default: {
      // Every event type is handled above.
      const unreachable: never = event;
      return unreachable;
    }
  }
}

type _eventTypeUnion = Expect<Equal<TTaskEventType, 'started' | 'step' | 'update' | 'completed' | 'failed' | 'retrying' | 'paused' | 'resumed' | 'node-started' | 'node-completed' | 'node-failed' | 'node-skipped'>>;
type _statusUnion = Expect<Equal<TTaskStatus, 'idle' | 'running' | 'completed' | 'failed'>>;
type _stepStatusUnion = Expect<Equal<TStepStatus, 'pending' | 'active' | 'completed'>>;
type _metadataStatus = Expect<Equal<ITaskMetadata['status'], TTaskStatus>>;
type _subjectCarriesEvents = Expect<Equal<typeof deployTask.eventSubject, Subject<ITaskEvent>>>;

// ---------------------------------------------------------------------------------------
// ITaskbufferEvent narrows on `scope`, then on `type`
// ---------------------------------------------------------------------------------------

function describeAnyEvent(event: ITaskbufferEvent): string {
  // @ts-expect-error groupName only exists on group events
  void event.groupName;
  switch (event.scope) {
    case 'group': {
      type _group = Expect<Equal<typeof event, IConstraintGroupEvent>>;
      type _groupTypes = Expect<Equal<typeof event.type, 'paused' | 'resumed'>>;
      return `group ${event.groupName} ${event.type}`;
    }
    case undefined: {
      type _task = Expect<Equal<typeof event, ITaskEvent>>;
      return event.type === 'failed' ? `${event.task.name} failed: ${event.error}` : `${event.task.name} ${event.type}`;
    }
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}
void describeAnyEvent;

// ---------------------------------------------------------------------------------------
// Chains and parallel groups accept any task, including one whose function only throws
// ---------------------------------------------------------------------------------------

const alwaysFails = new Task({
  name: 'explode',
  taskFunction: async () => {
    throw new Error('boom');
  },
});
type _throwingTaskResult = Expect<Equal<ReturnType<typeof alwaysFails.trigger>, Promise<never>>>;

const chainWithThrowingTask = new Taskchain({ name: 'math', taskArray: [doubleTask, alwaysFails] });
const parallelWithThrowingTask = new Taskparallel({ taskArray: [stringTask, alwaysFails] });
chainWithThrowingTask.addTask(alwaysFails);

// ---------------------------------------------------------------------------------------
// Taskgraph: inputs and the report are typed from node names and task result types
// ---------------------------------------------------------------------------------------

const buildTask = new Task({ name: 'build', taskFunction: async (srcDir: string) => ({ files: srcDir.length }) });
const testTask = new Task({ name: 'test', taskFunction: async (build: { files: number }) => build.files * 10 });
const lintTask = new Task({ name: 'lint', taskFunction: async (_build: { files: number }) => ['no warnings'] });
const publishTask = new Task({ name: 'publish', taskFunction: async (input: { tests: number; warnings: string[] }) => `v1 (${input.tests} tests)` });

const ciGraph = new Taskgraph({
  name: 'ci',
  nodes: {
    build: { task: buildTask, input: (_results, srcDir: string) => srcDir },
    test: { task: testTask, after: ['build'] },
    lint: { task: lintTask, after: ['build'] },
    publish: {
      task: publishTask,
      after: ['test', 'lint'],
      input: (results, srcDir) => {
        // Each result has its task's result type; the graph's input type comes from the annotation above.
        type _testResult = Expect<Equal<typeof results.test, number>>;
        type _lintResult = Expect<Equal<typeof results.lint, string[]>>;
        type _graphInput = Expect<Equal<typeof srcDir, string>>;
        // @ts-expect-error no node is called 'deploy'
        void results.deploy;
        return { tests: results.test, warnings: results.lint };
      },
    },
  },
});

type CiReport = Awaited<ReturnType<typeof ciGraph.trigger>>;
type _ciReportIsTyped = Expect<Equal<CiReport, ITaskgraphReport<{ build: typeof buildTask; test: typeof testTask; lint: typeof lintTask; publish: typeof publishTask }>>>;
type _ciNodeNames = Expect<Equal<keyof CiReport['nodes'], 'build' | 'test' | 'lint' | 'publish'>>;
type _ciPublishReport = Expect<Equal<CiReport['nodes']['publish'], ITaskgraphNodeReport<string>>>;
type _ciTestResult = Expect<Equal<CiReport['nodes']['test']['result'], number | undefined>>;
type _ciInput = Expect<Equal<Parameters<typeof ciGraph.trigger>[0], string | undefined>>;

/** Never called: only the compiler looks at these definitions. */
function wrongGraphDefinitionsDoNotCompile(): void {
  void new Taskgraph({
    nodes: {
      build: { task: buildTask },
      // @ts-expect-error 'biuld' is not a node of this graph
      test: { task: testTask, after: ['biuld'] },
    },
  });
  void new Taskgraph({
    nodes: {
      build: { task: buildTask },
      // @ts-expect-error the input function must return what the node's task takes ({ files: number })
      test: { task: testTask, after: ['build'], input: (results) => results.build.files },
    },
  });
  // @ts-expect-error the graph's input is a string (from the annotated graphInput)
  void ciGraph.trigger(42);
}
void wrongGraphDefinitionsDoNotCompile;

// ---------------------------------------------------------------------------------------
// Runtime: the fixtures above behave as their types say
// ---------------------------------------------------------------------------------------

test('the type-checked fixtures run and produce values of the types the compiler gave them', async () => {
  assert.equal(await deployTask.trigger(), 'Deployment successful!');
  assert.equal(deployTask.getProgress(), 100);

  assert.equal(dnsTask.data.domain, 'a.com');
  await dnsTask.trigger();
  assert.equal(await twoFieldTask.trigger(), 'Updating DNS for example.com');

  assert.equal(await stringTask.trigger(), 'hello');
  assert.equal(await syncNumberTask.trigger(), 42);
  assert.equal(await doubleTask.trigger(21), 42);
  assert.deepEqual(await objectTask.trigger('x'), { id: 'x', ok: true });
  assert.equal(await onceTask.trigger(), 'ready');
  assert.deepEqual(await debouncedTask.trigger('q'), ['q']);

  assert.deepEqual(await dbQueryTask.trigger('SELECT 1'), ['rows of SELECT 1']);
  assert.equal(await syncSetupTask.trigger(), 3);

  const ciReport = await ciGraph.trigger('src/');
  assert.equal(ciReport.nodes.publish.result, 'v1 (40 tests)');
  assert.deepEqual(ciReport.nodes.lint.result, ['no warnings']);

  await assert.rejects(chainWithThrowingTask.trigger(1), { message: /boom/ });
  await assert.rejects(parallelWithThrowingTask.trigger(), { message: 'boom' });
});

test('notifyStep with a step name that was not declared throws at runtime too', async () => {
  const task = new Task({
    name: 'Deploy',
    steps: [{ name: 'build', description: 'Building app', percentage: 100 }] as const,
    taskFunction: async (stepName: string) => {
      task.notifyStep(stepName as 'build');
    },
  });
  await task.trigger('build');
  await assert.rejects(task.trigger('publish'), { message: /publish/ });
});

test('describeEvent handles every event type of a run', async () => {
  const described: string[] = [];
  const task = new Task({
    name: 'DataSync',
    steps: [{ name: 'fetch', description: 'Fetching data', percentage: 100 }] as const,
    taskFunction: async (fail: boolean) => {
      task.notifyStep('fetch');
      if (fail) throw new Error('offline');
      return 'synced';
    },
  });
  task.eventSubject.subscribe((event) => described.push(describeEvent(event)));
  await task.trigger(false);
  await assert.rejects(task.trigger(true));
  assert.equal(described.length, 6);
  assert.deepEqual(
    described.map((d) => d.replace(/\d+ ms/, 'N ms')),
    ['started', 'step fetch', 'completed in N ms', 'started', 'step fetch', 'failed: offline'],
  );
});
