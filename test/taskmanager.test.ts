/**
 * TaskManager rules: the registry, label and metadata queries, triggers (all routed
 * through the constraint groups), aggregated events, addExecuteRemoveTask and the
 * start/stop lifecycle.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import {
  CoordinatorError,
  distributedCoordination,
  DuplicateTaskError,
  InvalidOptionError,
  ShutdownError,
  SubscriberError,
  Task,
  TaskbufferError,
  TaskConstraintGroup,
  TaskDebounced,
  TaskOnce,
  UnknownTaskError,
  type IDistributedTaskRequest,
  type IRetryOptions,
  type ITriggerOptions,
  type ITaskbufferEvent,
  type ITaskEvent,
} from '../ts/index.js';
import { useClock, type TTimer } from '../ts/internal/clock.js';
import { useFakeClock } from './fake-clock.js';
import { managerFor, rejectionOf, waitFor, within } from './manager-helpers.js';
import { flush, track } from './rule-helpers.js';
import { catchStrayErrors } from './stray-error-helpers.js';

function named(name: string, labels?: Record<string, string>) {
  return new Task({ name, labels, taskFunction: async (input?: unknown) => ({ name, input }) });
}

describe('TaskManager registry', () => {
  test('addTask registers a task under its name, in the registry and in taskMap', (t) => {
    const manager = managerFor(t);
    const a = named('a');
    const b = named('b');
    manager.addTask(a);
    manager.addTask(b);
    assert.equal(manager.getTaskByName('a'), a);
    assert.equal(manager.getTaskByName('b'), b);
    assert.equal(manager.getTaskByName('c'), undefined);
    assert.equal(manager.taskMap.checkForObject(a), true);
    assert.deepEqual(new Set(manager.taskMap.getArray()), new Set([a, b]));
  });

  test('adding a second task with a name already registered throws a DuplicateTaskError naming it, and keeps the first', (t) => {
    const manager = managerFor(t);
    const first = named('dup');
    manager.addTask(first);
    assert.throws(() => manager.addTask(named('dup')), (error: unknown) => {
      assert.ok(error instanceof DuplicateTaskError);
      assert.ok(error instanceof TaskbufferError);
      assert.equal(error.taskName, 'dup');
      assert.match(error.message, /"dup"/);
      return true;
    });
    assert.equal(manager.getTaskByName('dup'), first);
    assert.equal(manager.taskMap.getArray().length, 1);
  });

  test('a task without a name cannot be added', (t) => {
    const manager = managerFor(t);
    assert.throws(() => manager.addTask(new Task({ taskFunction: async () => {} })), (error: unknown) => {
      assert.ok(error instanceof InvalidOptionError);
      assert.match(error.message, /name/);
      return true;
    });
    assert.equal(manager.taskMap.getArray().length, 0);
  });

  test('removeTask unregisters the task so its name is free again', (t) => {
    const manager = managerFor(t);
    const a = named('a');
    manager.addTask(a);
    manager.removeTask(a);
    assert.equal(manager.getTaskByName('a'), undefined);
    assert.equal(manager.taskMap.checkForObject(a), false);
    assert.equal(manager.getTaskMetadata('a'), null);
    manager.addTask(named('a'));
    assert.notEqual(manager.getTaskByName('a'), a);
  });

  test('removeTask also removes the task’s cron schedule', (t) => {
    const manager = managerFor(t);
    const a = named('a');
    manager.addAndScheduleTask(a, '0 2 * * *');
    assert.equal(manager.getScheduledTasks().length, 1);
    manager.removeTask(a);
    assert.deepEqual(manager.getScheduledTasks(), []);
  });

  test('task names such as __proto__, constructor and toString are ordinary names', async (t) => {
    const manager = managerFor(t);
    assert.equal(manager.getTaskByName('toString'), undefined);
    assert.equal(manager.getTaskByName('__proto__'), undefined);
    assert.equal(manager.getTaskMetadata('constructor'), null);
    const unknown = await rejectionOf(manager.triggerTaskByName('hasOwnProperty'));
    assert.ok(unknown instanceof UnknownTaskError);

    for (const name of ['__proto__', 'constructor', 'toString']) manager.addTask(named(name, { ['__proto__']: 'p', constructor: 'c' }));
    for (const name of ['__proto__', 'constructor', 'toString']) {
      assert.equal(manager.getTaskByName(name)?.name, name);
      assert.deepEqual(await manager.triggerTaskByName(name, 1), { name, input: 1 });
      const meta = manager.getTaskMetadata(name);
      assert.equal(meta?.name, name);
      assert.equal(meta?.runCount, 1);
      assert.equal(meta?.labels['__proto__'], 'p');
    }
    assert.throws(() => manager.addTask(named('constructor')), DuplicateTaskError);
    assert.deepEqual(manager.getTasksByLabel('__proto__', 'p').map((task) => task.name).sort(), ['__proto__', 'constructor', 'toString']);
    assert.equal(manager.getTasksMetadataByLabel('constructor', 'c').length, 3);
    assert.equal(manager.getAllTasksMetadata().length, 3);
  });
});

describe('TaskManager queries', () => {
  test('getTasksByLabel returns exactly the tasks whose label has that value, and [] when none match', (t) => {
    const manager = managerFor(t);
    const one = named('one', { tenantId: 'acme', tier: 'gold' });
    const two = named('two', { tenantId: 'globex' });
    const three = named('three', { tenantId: 'acme' });
    for (const task of [one, two, three]) manager.addTask(task);
    assert.deepEqual(manager.getTasksByLabel('tenantId', 'acme'), [one, three]);
    assert.deepEqual(manager.getTasksByLabel('tenantId', 'initech'), []);
    assert.deepEqual(manager.getTasksByLabel('tier', 'gold'), [one]);
    assert.deepEqual(manager.getTasksByLabel('missing', 'acme'), []);
    // Labels changed at runtime are seen by the query.
    two.setLabel('tenantId', 'acme');
    assert.deepEqual(manager.getTasksByLabel('tenantId', 'acme').map((task) => task.name), ['one', 'two', 'three']);
  });

  test('getTasksMetadataByLabel returns metadata snapshots of the matching tasks', (t) => {
    const manager = managerFor(t);
    manager.addTask(named('one', { tenantId: 'acme' }));
    manager.addTask(named('two', { tenantId: 'globex' }));
    const metadata = manager.getTasksMetadataByLabel('tenantId', 'acme');
    assert.equal(metadata.length, 1);
    assert.equal(metadata[0]!.name, 'one');
    assert.deepEqual(metadata[0]!.labels, { tenantId: 'acme' });
    assert.equal(metadata[0]!.status, 'idle');
  });

  test('getTaskMetadata is null for an unknown name; getAllTasksMetadata lists every task', async (t) => {
    const manager = managerFor(t);
    assert.equal(manager.getTaskMetadata('nope'), null);
    manager.addTask(named('a'));
    manager.addTask(new Task({ name: 'b', taskFunction: async () => { throw new Error('b broke'); } }));
    await manager.triggerTaskByName('a');
    await rejectionOf(manager.triggerTaskByName('b'));
    const all = manager.getAllTasksMetadata();
    assert.deepEqual(all.map((m) => [m.name, m.status, m.runCount, m.errorCount]), [
      ['a', 'completed', 1, 0],
      ['b', 'failed', 1, 1],
    ]);
    assert.equal(all[1]!.lastError, 'b broke');
    // Metadata is plain data.
    assert.doesNotThrow(() => JSON.stringify(all));
  });
});

describe('TaskManager triggers', () => {
  test('triggerTaskByName runs the named task with the input and resolves with its result', async (t) => {
    const manager = managerFor(t);
    manager.addTask(new Task({ name: 'double', taskFunction: async (n: number) => n * 2 }));
    assert.equal(await manager.triggerTaskByName('double', 21), 42);
  });

  test('triggerTaskByName with an unknown name rejects with an UnknownTaskError naming it', async (t) => {
    const manager = managerFor(t);
    manager.addTask(named('known'));
    let promise: Promise<unknown> | undefined;
    assert.doesNotThrow(() => { promise = manager.triggerTaskByName('no-such-task'); }, 'it rejects instead of throwing');
    const error = await rejectionOf(promise!);
    assert.ok(error instanceof UnknownTaskError);
    assert.equal(error.taskName, 'no-such-task');
    assert.match(error.message, /"no-such-task"/);
  });

  test('triggerTask and triggerTaskConstrained resolve with the result and reject with the task’s error', async (t) => {
    const manager = managerFor(t);
    const ok = new Task({ name: 'ok', taskFunction: async (s: string) => s.toUpperCase() });
    const boom = new Error('boom');
    const bad = new Task({ name: 'bad', taskFunction: async () => { throw boom; } });
    assert.equal(await manager.triggerTask(ok, 'x'), 'X');
    assert.equal(await manager.triggerTaskConstrained(ok, 'y'), 'Y');
    assert.equal(await rejectionOf(manager.triggerTask(bad)), boom);
    assert.equal(await rejectionOf(manager.triggerTaskConstrained(bad)), boom);
  });

  test('every trigger method waits for the constraint groups', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const mutex = new TaskConstraintGroup({ name: 'mutex', maxConcurrent: 1, constraintKeyForExecution: () => 'only' });
    manager.addConstraintGroup(mutex);
    const calls: string[] = [];
    const make = (name: string) => new Task({ name, taskFunction: async () => { calls.push(name); return name; } });
    const byName = make('by-name');
    manager.addTask(byName);

    mutex.acquireSlot('only'); // the key is busy
    const pending = [
      track(manager.triggerTaskByName('by-name')),
      track(manager.triggerTask(make('trigger-task'))),
      track(manager.triggerTaskConstrained(make('constrained'))),
      track(manager.addExecuteRemoveTask(make('execute-remove'))),
    ];
    await clock.advance(60_000);
    assert.deepEqual(calls, [], 'nothing runs while the key is busy, however long');
    mutex.releaseSlot('only');
    await flush();
    assert.deepEqual(pending.map((p) => p.current.state), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'], 'all triggers settle once the key is free');
    assert.deepEqual(calls, ['by-name', 'trigger-task', 'constrained', 'execute-remove']);
  });

  test('task.trigger() called directly does not pass through the manager’s constraint groups', async (t) => {
    const manager = managerFor(t);
    const mutex = new TaskConstraintGroup({ name: 'mutex', maxConcurrent: 1, constraintKeyForExecution: () => 'only', shouldExecute: () => false });
    manager.addConstraintGroup(mutex);
    const task = named('direct');
    manager.addTask(task);
    mutex.acquireSlot('only');
    assert.deepEqual(await within(task.trigger('in'), 'a direct trigger'), { name: 'direct', input: 'in' });
    mutex.releaseSlot('only');
  });

  test('addExecuteRemoveTask passes opts.input, reports the result and removes the task again', async (t) => {
    const manager = managerFor(t);
    const task = new Task({ name: 'temp', taskFunction: async (n: number) => n + 1 });
    const report = await manager.addExecuteRemoveTask(task, { input: 41 });
    assert.equal(report.taskName, 'temp');
    assert.equal(report.result, 42);
    assert.equal(manager.getTaskByName('temp'), undefined);
  });

  test('addExecuteRemoveTask rejects with the task’s error and still removes the task', async (t) => {
    const manager = managerFor(t);
    const boom = new Error('temporary failure');
    const task = new Task({ name: 'temp', taskFunction: async () => { throw boom; } });
    assert.equal(await rejectionOf(manager.addExecuteRemoveTask(task)), boom);
    assert.equal(manager.getTaskByName('temp'), undefined);
  });

  test('addExecuteRemoveTask of a run that shouldExecute skips reports an undefined result', async (t) => {
    const manager = managerFor(t);
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'veto', constraintKeyForExecution: () => null, shouldExecute: () => false }));
    let calls = 0;
    const report = await manager.addExecuteRemoveTask(new Task({ name: 'temp', taskFunction: async () => ++calls }));
    assert.equal(report.result, undefined);
    assert.equal(calls, 0);
    assert.equal(manager.getTaskByName('temp'), undefined);
  });

  test('addExecuteRemoveTask with a name that is already registered rejects with DuplicateTaskError and leaves the registered task alone', async (t) => {
    const manager = managerFor(t);
    const registered = named('same');
    manager.addTask(registered);
    const error = await rejectionOf(manager.addExecuteRemoveTask(named('same')));
    assert.ok(error instanceof DuplicateTaskError);
    assert.equal(manager.getTaskByName('same'), registered);
  });
});

describe('TaskManager aggregated events', () => {
  test('taskSubject receives started, step, completed and failed events of every added task', async (t) => {
    const manager = managerFor(t);
    const events: string[] = [];
    manager.taskSubject.subscribe((event: ITaskEvent) => events.push(`${event.task.name}:${event.type}${event.type === 'step' ? `:${event.stepName}` : ''}`));
    const stepped = new Task({
      name: 'stepped',
      steps: [{ name: 'only', description: 'the only step', percentage: 100 }] as const,
      taskFunction: async () => { stepped.notifyStep('only'); },
    });
    const failing = new Task({ name: 'failing', taskFunction: async () => { throw new Error('nope'); } });
    manager.addTask(stepped);
    manager.addTask(failing);
    await manager.triggerTask(stepped);
    await rejectionOf(manager.triggerTask(failing));
    // Runs started outside the manager are forwarded too: the events belong to the task.
    await stepped.trigger();
    assert.deepEqual(events, [
      'stepped:started', 'stepped:step:only', 'stepped:completed',
      'failing:started', 'failing:failed',
      'stepped:started', 'stepped:step:only', 'stepped:completed',
    ]);
  });

  test('after stop() no events are forwarded, and new triggers are refused with ShutdownError until start()', async (t) => {
    const manager = managerFor(t);
    const task = named('t');
    manager.addTask(task);
    const events: ITaskEvent[] = [];
    manager.taskSubject.subscribe((event) => events.push(event));
    await manager.start();
    await manager.stop();
    await task.trigger();
    assert.deepEqual(events, []);

    for (const attempt of [
      () => manager.triggerTaskByName('t'),
      () => manager.triggerTask(task),
      () => manager.triggerTaskConstrained(task),
      () => manager.addExecuteRemoveTask(named('other')),
    ]) {
      const error = await rejectionOf(attempt());
      assert.ok(error instanceof ShutdownError, `expected ShutdownError, got ${error.name}`);
      assert.match(error.message, /stop|start/);
    }
    assert.equal(manager.getTaskByName('other'), undefined);

    await manager.start();
    assert.deepEqual(await manager.triggerTaskByName('t', 1), { name: 't', input: 1 });
  });

  test('stop() before start() also refuses triggers; a manager that was never started accepts them', async (t) => {
    const manager = managerFor(t);
    const task = named('t');
    manager.addTask(task);
    assert.deepEqual(await manager.triggerTask(task, 0), { name: 't', input: 0 });
    await manager.stop();
    assert.ok((await rejectionOf(manager.triggerTask(task))) instanceof ShutdownError);
  });
});

describe("TaskManager and a trigger's own retry option", () => {
  /** A task of key `k` whose tries fail (until try `succeedOn`, if given), recording the time of each try. */
  function flakyTask(name: string, retry: IRetryOptions | undefined, clock: { now(): number }, succeedOn = Number.POSITIVE_INFINITY) {
    const tries: Array<[number, number]> = [];
    const task = new Task({
      name,
      retry,
      data: { key: 'k' },
      taskFunction: async (_input: unknown, _setup, { attempt }) => {
        tries.push([attempt, clock.now()]);
        if (attempt < succeedOn) throw new Error(`try ${attempt}`);
        return `ok on try ${attempt}`;
      },
    });
    return { task, tries };
  }

  function mutexFor(manager: ReturnType<typeof managerFor>): TaskConstraintGroup<{ key: string }> {
    const mutex = new TaskConstraintGroup<{ key: string }>({ name: 'mutex', maxConcurrent: 1, constraintKeyForExecution: (task) => task.data.key });
    manager.addConstraintGroup(mutex);
    return mutex;
  }

  test('triggerTaskByName with retry: false runs one try of a task that retries, as a job queue that retries on its own does', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const mutex = mutexFor(manager);
    const { task, tries } = flakyTask('job', { attempts: 4, delayMs: 10 }, clock);
    manager.addTask(task);
    const controller = new AbortController();
    const options = { signal: controller.signal, timeoutMs: 1_000, priority: 5, retry: false } as const;
    const error = await rejectionOf(clock.settle(manager.triggerTaskByName('job', 'payload', options)));
    assert.equal(error.message, 'try 1');
    assert.deepEqual(tries, [[1, 0]]);
    assert.equal(mutex.getRunningCount('k'), 0, 'the slot is given back');
    assert.equal(task.errorCount, 1);
    const policy = task.retryPolicy!;
    assert.equal(policy.attempts, 4, 'the caller reads the task’s policy to retry on its own');
    assert.equal(policy.shouldRetry(error, 1), true);
    assert.equal(policy.delayBefore(2), 10);
    await rejectionOf(clock.settle(manager.triggerTaskByName('job')));
    assert.deepEqual(tries.slice(1).map(([attempt]) => attempt), [1, 2, 3, 4], 'a plain trigger still follows the task’s retry');
  });

  test('triggerTask with a retry object follows its attempts and delays and gives the slot back between tries', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const mutex = mutexFor(manager);
    const { task, tries } = flakyTask('flaky', undefined, clock, 3);
    const other = new Task({ name: 'other', data: { key: 'k' }, taskFunction: async () => clock.now() });
    manager.addTask(task);
    manager.addTask(other);
    const outcome = track(manager.triggerTask(task, undefined, { retry: { attempts: 3, backoff: 'exponential', delayMs: 100 } }));
    await flush();
    assert.deepEqual(tries, [[1, 0]]);
    assert.equal(mutex.getRunningCount('k'), 0, 'the waiting retry holds no slot');
    assert.equal(await manager.triggerTask(other), 0, 'a run of the same key runs during the delay');
    await clock.advance(300);
    assert.deepEqual(tries, [[1, 0], [2, 100], [3, 300]]);
    assert.deepEqual(outcome.current, { state: 'fulfilled', value: 'ok on try 3' });
    assert.equal(mutex.getRunningCount('k'), 0);
  });

  test('passes the retry option to tasks with a trigger of their own: buffered, TaskOnce and TaskDebounced', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    mutexFor(manager);
    const counted = (counts: Record<string, number>, name: string) => async () => {
      counts[name] = (counts[name] ?? 0) + 1;
      throw new Error(`${name} fails`);
    };
    const counts: Record<string, number> = {};
    const buffered = new Task({ name: 'buffered', buffered: true, data: { key: 'k' }, retry: { attempts: 3 }, taskFunction: counted(counts, 'buffered') });
    const once = new TaskOnce({ name: 'once', data: { key: 'k' }, taskFunction: counted(counts, 'once') });
    const debounced = new TaskDebounced({ name: 'debounced', data: { key: 'k' }, debounceTimeInMillis: 20, retry: { attempts: 5 }, taskFunction: counted(counts, 'debounced') });
    for (const task of [buffered, once, debounced]) manager.addTask(task);
    await rejectionOf(clock.settle(manager.triggerTaskByName('buffered', undefined, { retry: false })));
    await rejectionOf(clock.settle(manager.triggerTask(once, undefined, { retry: { attempts: 2, delayMs: 30 } })));
    await rejectionOf(clock.settle(manager.triggerTask(debounced, undefined, { retry: { attempts: 2 } })));
    assert.deepEqual(counts, { buffered: 1, once: 2, debounced: 2 });
  });

  test('rejects a bad retry option with code INVALID_OPTION from every trigger method, without running the task', async (t) => {
    const manager = managerFor(t);
    let calls = 0;
    const task = new Task({ name: 'guarded', taskFunction: async () => ++calls });
    manager.addTask(task);
    const bad = { retry: { attempts: 0 } } as ITriggerOptions;
    const refusals = [
      manager.triggerTask(task, undefined, bad),
      manager.triggerTaskByName('guarded', undefined, bad),
      manager.triggerTaskConstrained(task, undefined, { retry: 'twice' } as unknown as ITriggerOptions),
      manager.addExecuteRemoveTask(new Task({ name: 'temp', taskFunction: async () => ++calls }), { retry: { attempts: 2, delayMs: -1 } }),
    ];
    const errors = await Promise.all(refusals.map((refusal) => rejectionOf(refusal)));
    assert.deepEqual(errors.map((error) => error instanceof InvalidOptionError && [error.code, error.option]), [
      ['INVALID_OPTION', 'retry.attempts'],
      ['INVALID_OPTION', 'retry.attempts'],
      ['INVALID_OPTION', 'retry'],
      ['INVALID_OPTION', 'retry.delayMs'],
    ]);
    assert.match(errors[2]!.message, /"twice"/);
    assert.equal(calls, 0);
  });
});

describe('TaskManager options', () => {
  test('instanceId can be given and otherwise is a unique non-empty string', (t) => {
    assert.equal(managerFor(t, { instanceId: 'node-1' }).instanceId, 'node-1');
    const a = managerFor(t).instanceId;
    const b = managerFor(t).instanceId;
    assert.equal(typeof a, 'string');
    assert.ok(a.length > 0);
    assert.notEqual(a, b);
  });
});

describe('TaskManager subscribers', () => {
  test('subscribers of taskSubject and constraintGroupSubject that throw are reported to onError once each, and runs and other subscribers go on', async (t) => {
    const strays = catchStrayErrors(t);
    const reported: TaskbufferError[] = [];
    const manager = managerFor(t, { onError: (error) => reported.push(error) });
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'tenant', maxConcurrent: 1, constraintKeyForExecution: () => 'acme' }));
    const task = named('sync');
    manager.addTask(task);
    const seen: string[] = [];
    manager.taskSubject.subscribe(() => {
      throw new Error('dashboard bug');
    });
    manager.constraintGroupSubject.subscribe(() => {
      throw new Error('group widget bug');
    });
    manager.taskSubject.subscribe((event) => seen.push(event.type));
    manager.constraintGroupSubject.subscribe((event) => seen.push(`group ${event.type}`));

    manager.pauseConstraintGroup('tenant');
    const run = manager.triggerTask(task, 1);
    manager.resumeConstraintGroup('tenant');
    assert.deepEqual(await run, { name: 'sync', input: 1 });
    assert.deepEqual(await manager.triggerTask(task, 2), { name: 'sync', input: 2 });

    assert.deepEqual(seen.filter((line) => line.startsWith('group')), ['group paused', 'group resumed']);
    assert.deepEqual(seen.filter((line) => !line.startsWith('group')), ['started', 'completed', 'started', 'completed']);
    await strays.assertNone();
    assert.deepEqual(reported.map((error) => [error.code, (error as SubscriberError).subjectName, (error as SubscriberError).eventType]), [
      ['SUBSCRIBER_FAILED', 'TaskManager.constraintGroupSubject', 'paused'],
      ['SUBSCRIBER_FAILED', 'TaskManager.taskSubject', 'started'],
    ]);
    assert.ok(reported.every((error) => error instanceof SubscriberError));
    assert.match(reported[0]!.message, /"paused" event of group "tenant": group widget bug/);
    assert.match(reported[1]!.message, /"started" event of task "sync": dashboard bug/);
  });

  test('without onError a throwing subscriber of taskSubject is logged with console.error', async (t) => {
    const strays = catchStrayErrors(t);
    const logged = t.mock.method(console, 'error', () => undefined);
    const manager = managerFor(t);
    const task = named('sync');
    manager.addTask(task);
    manager.taskSubject.subscribe(() => {
      throw new Error('dashboard bug');
    });
    await manager.triggerTask(task);
    await strays.assertNone();
    assert.equal(logged.mock.callCount(), 1);
    assert.match(String(logged.mock.calls[0]!.arguments[0]), /TaskManager.*taskSubject.*dashboard bug/);
  });

  test('group events carry scope "group" and task events none, so one handler tells them apart', async (t) => {
    const manager = managerFor(t);
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'tenant', maxConcurrent: 1, constraintKeyForExecution: () => 'acme' }));
    const task = named('sync');
    manager.addTask(task);
    const lines: string[] = [];
    const events: ITaskbufferEvent[] = [];
    const onEvent = (event: ITaskbufferEvent) => {
      events.push(event);
      lines.push(event.scope === 'group' ? `group ${event.groupName} ${event.type}` : `task ${event.task.name} ${event.type}`);
    };
    manager.taskSubject.subscribe(onEvent);
    manager.constraintGroupSubject.subscribe(onEvent);
    manager.pauseTask('sync');
    manager.pauseConstraintGroup('tenant');
    manager.resumeConstraintGroup('tenant');
    manager.resumeTask('sync');
    await manager.triggerTask(task);
    assert.deepEqual(lines, [
      'task sync paused', 'group tenant paused', 'group tenant resumed', 'task sync resumed', 'task sync started', 'task sync completed',
    ]);
    const groupEvent = events[1]!;
    assert.deepEqual(Object.keys(groupEvent).sort(), ['groupName', 'scope', 'timestamp', 'type']);
    assert.ok(events.filter((event) => event.scope !== 'group').every((event) => !('scope' in event)));
  });
});

/** A clock the test moves by hand: `fireNext()` jumps to the earliest timer and runs it. */
function manualClock(t: TestContext, start: number): { fireNext(): void } {
  let now = start;
  const timers = new Set<{ at: number; callback: () => void }>();
  useClock({
    now: () => now,
    setTimeout: (callback, ms) => {
      const timer = { at: now + ms, callback };
      timers.add(timer);
      return timer as unknown as TTimer;
    },
    clearTimeout: (timer) => void timers.delete(timer as unknown as { at: number; callback: () => void }),
  });
  t.after(() => useClock(undefined));
  return {
    fireNext() {
      const next = [...timers].sort((a, b) => a.at - b.at)[0];
      assert.ok(next, 'a timer is armed');
      timers.delete(next);
      now = Math.max(now, next.at);
      next.callback();
    },
  };
}

describe('TaskManager and its coordinator', () => {
  test('a coordinator that cannot be asked or told about a cron tick is reported to onError as a CoordinatorError naming the task', async (t) => {
    const clock = manualClock(t, Date.UTC(2030, 0, 1, 0, 0, 0, 500));
    const calls: string[] = [];
    class Failing extends distributedCoordination.AbstractDistributedCoordinator {
      async fireDistributedTaskRequest(request: IDistributedTaskRequest) {
        calls.push('ask');
        if (calls.length === 1) throw new Error('connection refused');
        return { ...request, shouldTrigger: true, considered: true, rank: 1, reason: 'elected' };
      }
      async updateDistributedTaskRequest(): Promise<void> {
        calls.push('tell');
        throw new Error('connection reset');
      }
      async start() {}
      async stop() {}
    }
    const reported: TaskbufferError[] = [];
    const manager = managerFor(t, { distributedCoordinator: new Failing(), onError: (error) => reported.push(error) });
    let runs = 0;
    manager.addAndScheduleTask(new Task({ name: 'nightly', taskFunction: async () => ++runs }), '* * * * * *');
    await manager.start();

    clock.fireNext();
    await waitFor(() => reported.length === 1, 'the failed ask is reported');
    assert.equal(runs, 0, 'a tick the coordinator could not be asked about is not run here');
    clock.fireNext();
    await waitFor(() => reported.length === 2, 'the failed report back is reported');
    assert.equal(runs, 1);

    assert.deepEqual(calls, ['ask', 'ask', 'tell']);
    for (const error of reported) {
      assert.ok(error instanceof CoordinatorError, `expected a CoordinatorError, got ${error.name}`);
      assert.equal(error.code, 'COORDINATOR_FAILED');
      assert.equal(error.taskName, 'nightly');
      assert.match(error.message, /"nightly".*2030-01-01T00:00:0\d/);
    }
    assert.match(reported[0]!.message, /could not ask.*connection refused/);
    assert.equal((reported[0]!.cause as Error).message, 'connection refused');
    assert.match(reported[1]!.message, /could not tell.*succeeded.*connection reset/);
  });
});
