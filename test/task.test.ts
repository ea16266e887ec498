import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { filter } from 'rxjs';
import {
  InvalidOptionError,
  SubscriberError,
  Task,
  TaskbufferError,
  UnknownStepError,
  type ITaskMetadata,
} from '../ts/index.js';
import { useFakeClock } from './fake-clock.js';
import { collectEvents, deferred, flush, sleep } from './rule-helpers.js';
import { catchStrayErrors } from './stray-error-helpers.js';

/** Whether `message` contains `value` as a number of its own (so `0` is not found inside `10`). */
function mentionsNumber(message: string, value: number): boolean {
  const escaped = String(value).replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
  return new RegExp(`(^|[^\\d.])${escaped}($|[^\\d.]|\\.(?!\\d))`).test(message);
}

/** Runs `fn`, expecting it to throw an InvalidOptionError, and hands the error back. */
function expectInvalidOption(fn: () => unknown): InvalidOptionError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, 'expected the call to throw');
  assert.ok(caught instanceof InvalidOptionError, `expected an InvalidOptionError, got ${String(caught)}`);
  assert.ok(caught instanceof TaskbufferError);
  assert.ok(caught instanceof Error);
  assert.equal(caught.name, 'InvalidOptionError');
  return caught;
}

describe('Task trigger', () => {
  it('resolves with what the task function returns and passes the input through', async () => {
    const seen: unknown[] = [];
    const task = new Task({
      name: 'double',
      taskFunction: async (input: number) => {
        seen.push(input);
        return input * 2;
      },
    });
    assert.equal(await task.trigger(21), 42);
    assert.deepEqual(seen, [21]);
  });

  it('accepts a task function that returns a plain value instead of a promise', async () => {
    const task = new Task({ name: 'sync', taskFunction: (input: string) => `${input}!` });
    assert.equal(await task.trigger('hi'), 'hi!');
  });

  it('calls the task function with undefined when triggered without input', async () => {
    const seen: unknown[] = [];
    const task = new Task({
      taskFunction: async (input: unknown) => {
        seen.push(input);
        return 'ok';
      },
    });
    assert.equal(await task.trigger(), 'ok');
    assert.deepEqual(seen, [undefined]);
  });

  it('each trigger runs the function again', async () => {
    let calls = 0;
    const task = new Task({ taskFunction: async () => ++calls });
    assert.equal(await task.trigger(), 1);
    assert.equal(await task.trigger(), 2);
    assert.equal(task.runCount, 2);
  });
});

describe('Task data bag', () => {
  it('is an empty object when no data is given', () => {
    const task = new Task({ taskFunction: async () => undefined });
    assert.deepEqual(task.data, {});
  });

  it('is a separate empty object for every task without data', () => {
    const a = new Task({ taskFunction: async () => undefined });
    const b = new Task({ taskFunction: async () => undefined });
    (a.data as Record<string, unknown>).touched = true;
    assert.deepEqual(b.data, {});
  });

  it('is the object given as data, readable from inside the task function', async () => {
    const data = { domain: 'example.com', priority: 1 };
    const task: Task<undefined, [], { domain: string; priority: number }> = new Task<
      undefined,
      [],
      { domain: string; priority: number }
    >({
      name: 'update-dns',
      data,
      taskFunction: async () => `${task.data.domain}/${task.data.priority}`,
    });
    assert.equal(task.data, data);
    assert.equal(await task.trigger(), 'example.com/1');
  });
});

describe('Task steps and progress', () => {
  const deploySteps = [
    { name: 'build', description: 'Building app', percentage: 30 },
    { name: 'test', description: 'Running tests', percentage: 20 },
    { name: 'deploy', description: 'Deploying', percentage: 40 },
    { name: 'verify', description: 'Verifying', percentage: 10 },
  ] as const;

  it('lists every declared step as pending with progress 0 before the first run', () => {
    const task = new Task({ name: 'Deploy', steps: deploySteps, taskFunction: async () => undefined });
    assert.equal(task.getProgress(), 0);
    const steps = task.getStepsMetadata();
    assert.deepEqual(
      steps.map((s) => [s.name, s.description, s.percentage, s.status]),
      [
        ['build', 'Building app', 30, 'pending'],
        ['test', 'Running tests', 20, 'pending'],
        ['deploy', 'Deploying', 40, 'pending'],
        ['verify', 'Verifying', 10, 'pending'],
      ],
    );
  });

  it('marks the notified step active and the previous one completed, with progress the sum of completed percentages', async (t) => {
    const clock = useFakeClock(t);
    const observed: Array<{ progress: number; statuses: string[] }> = [];
    const look = () =>
      observed.push({ progress: task.getProgress(), statuses: task.getStepsMetadata().map((s) => s.status) });
    const task = new Task({
      name: 'Deploy',
      steps: deploySteps,
      taskFunction: async () => {
        look();
        task.notifyStep('build');
        look();
        await clock.sleep(1);
        task.notifyStep('test');
        look();
        task.notifyStep('deploy');
        look();
        task.notifyStep('verify');
        look();
        return 'deployed';
      },
    });
    assert.equal(await clock.settle(task.trigger()), 'deployed');
    assert.deepEqual(observed, [
      { progress: 0, statuses: ['pending', 'pending', 'pending', 'pending'] },
      { progress: 0, statuses: ['active', 'pending', 'pending', 'pending'] },
      { progress: 30, statuses: ['completed', 'active', 'pending', 'pending'] },
      { progress: 50, statuses: ['completed', 'completed', 'active', 'pending'] },
      { progress: 90, statuses: ['completed', 'completed', 'completed', 'active'] },
    ]);
  });

  it('ends a successful run with every step completed and progress 100', async () => {
    const task = new Task({
      name: 'Deploy',
      steps: deploySteps,
      taskFunction: async () => {
        task.notifyStep('build');
        task.notifyStep('test');
        task.notifyStep('deploy');
        task.notifyStep('verify');
      },
    });
    await task.trigger();
    assert.equal(task.getProgress(), 100);
    assert.ok(task.getStepsMetadata().every((s) => s.status === 'completed'));
    const meta = task.getMetadata();
    assert.equal(meta.currentProgress, 100);
    assert.ok(meta.steps.every((s) => s.status === 'completed'));
  });

  it('ends a successful run at progress 100 with all steps completed even when steps were skipped and percentages sum below 100', async () => {
    const task = new Task({
      steps: [
        { name: 'a', description: 'A', percentage: 30 },
        { name: 'b', description: 'B', percentage: 20 },
      ] as const,
      taskFunction: async () => {
        task.notifyStep('a');
      },
    });
    await task.trigger();
    assert.equal(task.getProgress(), 100);
    assert.deepEqual(
      task.getStepsMetadata().map((s) => s.status),
      ['completed', 'completed'],
    );
  });

  it('resets steps to pending and progress to 0 when the next run starts', async () => {
    const atStart: Array<{ progress: number; statuses: string[] }> = [];
    const task = new Task({
      steps: [
        { name: 'one', description: '1', percentage: 50 },
        { name: 'two', description: '2', percentage: 50 },
      ] as const,
      taskFunction: async () => {
        atStart.push({ progress: task.getProgress(), statuses: task.getStepsMetadata().map((s) => s.status) });
        task.notifyStep('one');
        task.notifyStep('two');
      },
    });
    await task.trigger();
    assert.equal(task.getProgress(), 100);
    await task.trigger();
    assert.deepEqual(atStart, [
      { progress: 0, statuses: ['pending', 'pending'] },
      { progress: 0, statuses: ['pending', 'pending'] },
    ]);
    assert.equal(task.getProgress(), 100);
  });

  it('leaves progress at the completed steps after a failed run', async () => {
    const task = new Task({
      steps: [
        { name: 'a', description: 'A', percentage: 40 },
        { name: 'b', description: 'B', percentage: 60 },
      ] as const,
      taskFunction: async () => {
        task.notifyStep('a');
        task.notifyStep('b');
        throw new Error('b broke');
      },
    });
    await assert.rejects(task.trigger(), /b broke/);
    assert.equal(task.getProgress(), 40);
    assert.deepEqual(
      task.getStepsMetadata().map((s) => s.status),
      ['completed', 'active'],
    );
  });

  it('reports progress 0 for a task without steps until a run succeeds, then 100', async () => {
    const task = new Task({ taskFunction: async () => 'x' });
    assert.equal(task.getProgress(), 0);
    assert.deepEqual(task.getStepsMetadata(), []);
    await task.trigger();
    assert.equal(task.getProgress(), 100);
  });

  it('hands out step metadata as copies that the caller may change freely', async () => {
    const task = new Task({
      steps: [{ name: 'only', description: 'the one', percentage: 100 }] as const,
      taskFunction: async () => {
        task.notifyStep('only');
      },
    });
    const before = task.getStepsMetadata();
    before[0]!.status = 'completed';
    before.push({ name: 'fake', description: '', percentage: 0, status: 'pending' });
    assert.deepEqual(
      task.getStepsMetadata().map((s) => [s.name, s.status]),
      [['only', 'pending']],
    );
    await task.trigger();
    assert.equal(before.length, 2, 'the earlier copy is not touched by the run');
  });
});

describe('Task with overlapping runs', () => {
  it('stays running until the last of two overlapping runs ends and counts only ended runs', async () => {
    const gates = [deferred<string>(), deferred<string>()];
    let call = 0;
    const task = new Task({ name: 'overlap', taskFunction: () => gates[call++]!.promise });
    assert.equal(task.status, 'idle');
    assert.equal(task.running, false);
    assert.equal(task.idle, true);

    const first = task.trigger();
    const second = task.trigger();
    await flush();
    assert.equal(task.running, true);
    assert.equal(task.idle, false);
    assert.equal(task.runCount, 0);
    assert.equal(task.status, 'running');
    assert.equal(task.getMetadata().activeRuns, 2);

    gates[0]!.resolve('first');
    assert.equal(await first, 'first');
    assert.equal(task.running, true, 'still running while the second run goes on');
    assert.equal(task.idle, false);
    assert.equal(task.runCount, 1);
    assert.equal(task.status, 'running');
    assert.equal(task.getMetadata().status, 'running');
    assert.equal(task.getMetadata().activeRuns, 1);

    gates[1]!.resolve('second');
    assert.equal(await second, 'second');
    assert.equal(task.running, false);
    assert.equal(task.idle, true);
    assert.equal(task.runCount, 2);
    assert.equal(task.status, 'completed');
    assert.equal(task.getMetadata().activeRuns, 0);
  });

  it('takes its status from the run that ends last: a failure ending after a success leaves it failed', async () => {
    const failing = deferred<string>();
    const succeeding = deferred<string>();
    const gates = [failing, succeeding];
    let call = 0;
    const task = new Task({ name: 'overlap', taskFunction: () => gates[call++]!.promise });
    const a = task.trigger();
    const b = task.trigger();
    succeeding.resolve('ok');
    assert.equal(await b, 'ok');
    assert.equal(task.status, 'running');
    failing.reject(new Error('late failure'));
    await assert.rejects(a, /late failure/);
    assert.equal(task.status, 'failed');
    assert.equal(task.runCount, 2);
    assert.equal(task.errorCount, 1);
    assert.equal(task.lastError?.message, 'late failure');
  });

  it('takes its status from the run that ends last: a success ending after a failure leaves it completed', async () => {
    const failing = deferred<string>();
    const succeeding = deferred<string>();
    const gates = [failing, succeeding];
    let call = 0;
    const task = new Task({ name: 'overlap', taskFunction: () => gates[call++]!.promise });
    const a = task.trigger();
    const b = task.trigger();
    failing.reject(new Error('early failure'));
    await assert.rejects(a, /early failure/);
    assert.equal(task.status, 'running');
    assert.equal(task.running, true);
    succeeding.resolve('ok');
    assert.equal(await b, 'ok');
    assert.equal(task.status, 'completed');
    assert.equal(task.runCount, 2);
    assert.equal(task.errorCount, 1);
    assert.equal(task.lastError, undefined);
  });
});

describe('Task metadata', () => {
  it('describes a task that has never run as idle with zero counts', () => {
    const task = new Task({ name: 'fresh', labels: { env: 'test' }, taskFunction: async () => undefined });
    const meta = task.getMetadata();
    assert.equal(meta.name, 'fresh');
    assert.equal(meta.status, 'idle');
    assert.equal(meta.runCount, 0);
    assert.equal(meta.errorCount, 0);
    assert.equal(meta.activeRuns, 0);
    assert.equal(meta.currentProgress, 0);
    assert.equal(meta.buffered, false);
    assert.equal(meta.lastError, undefined);
    assert.equal(meta.lastRun, undefined);
    assert.deepEqual(meta.labels, { env: 'test' });
    assert.deepEqual(meta.steps, []);
  });

  it('records runCount, status, lastRun and lastError after runs', async (t) => {
    const clock = useFakeClock(t, { start: 1_700_000_000_000 });
    let fail = false;
    const task = new Task({
      name: 'counted',
      taskFunction: async () => {
        if (fail) throw new Error('nope');
        return 1;
      },
    });
    await task.trigger();
    let meta = task.getMetadata();
    assert.equal(meta.status, 'completed');
    assert.equal(meta.runCount, 1);
    assert.equal(meta.lastRun, 1_700_000_000_000, 'lastRun is when the run started, in epoch ms');
    assert.deepEqual(task.lastRun, new Date(1_700_000_000_000));
    await clock.advance(500);
    fail = true;
    await assert.rejects(task.trigger(), /nope/);
    meta = task.getMetadata();
    assert.equal(meta.status, 'failed');
    assert.equal(meta.runCount, 2);
    assert.equal(meta.errorCount, 1);
    assert.equal(meta.lastError, 'nope');
    assert.equal(meta.lastRun, 1_700_000_000_500, 'a failed run is a run too');
  });

  it('keeps an earlier snapshot unchanged when the task runs again later', async () => {
    let fail = false;
    const task = new Task({
      name: 'snap',
      steps: [
        { name: 's1', description: 'one', percentage: 50 },
        { name: 's2', description: 'two', percentage: 50 },
      ] as const,
      taskFunction: async () => {
        task.notifyStep('s1');
        if (fail) throw new Error('second run fails');
        task.notifyStep('s2');
      },
    });
    await task.trigger();
    const snapshot = task.getMetadata();
    const frozenCopy = JSON.parse(JSON.stringify(snapshot)) as ITaskMetadata;

    fail = true;
    task.setLabel('added', 'later');
    await assert.rejects(task.trigger(), /second run fails/);

    assert.deepEqual(snapshot, frozenCopy);
    assert.equal(snapshot.status, 'completed');
    assert.equal(snapshot.runCount, 1);
    assert.equal(snapshot.errorCount, 0);
    assert.equal(snapshot.currentProgress, 100);
    assert.deepEqual(snapshot.steps.map((s) => s.status), ['completed', 'completed']);
    assert.deepEqual(snapshot.labels, {});
    assert.equal(task.getMetadata().status, 'failed');
  });

  it('is unaffected by changes the caller makes to a snapshot', async () => {
    const task = new Task({
      name: 'owned',
      steps: [{ name: 'only', description: 'one', percentage: 100 }] as const,
      taskFunction: async () => {
        task.notifyStep('only');
      },
    });
    await task.trigger();
    const snapshot = task.getMetadata();
    snapshot.status = 'failed';
    snapshot.runCount = 99;
    snapshot.errorCount = 7;
    snapshot.currentProgress = 3;
    snapshot.steps[0]!.status = 'pending';
    snapshot.steps.push({ name: 'ghost', description: '', percentage: 0, status: 'pending' });

    const fresh = task.getMetadata();
    assert.equal(fresh.status, 'completed');
    assert.equal(fresh.runCount, 1);
    assert.equal(fresh.errorCount, 0);
    assert.equal(fresh.currentProgress, 100);
    assert.deepEqual(fresh.steps.map((s) => [s.name, s.status]), [['only', 'completed']]);
    assert.equal(task.runCount, 1);
  });

  it("lets the caller change a snapshot's labels without touching the task's labels", () => {
    const task = new Task({ name: 'labelled', labels: { env: 'prod' }, taskFunction: async () => undefined });
    const snapshot = task.getMetadata();
    // ITaskMetadata.labels is a plain Record<string, string>: the caller owns this copy.
    snapshot.labels.env = 'changed';
    snapshot.labels.extra = 'added';
    assert.deepEqual(task.getMetadata().labels, { env: 'prod' });
    assert.equal(task.getLabel('env'), 'prod');
    assert.equal(task.hasLabel('extra'), false);
  });

  it('round-trips through JSON.stringify before, during and after runs, failures included', async () => {
    const gate = deferred<void>();
    let fail = false;
    const task = new Task({
      name: 'json',
      labels: { team: 'core' },
      steps: [
        { name: 'fetch', description: 'Fetching', percentage: 60 },
        { name: 'save', description: 'Saving', percentage: 40 },
      ] as const,
      taskFunction: async (input: { circular?: unknown }) => {
        task.notifyStep('fetch');
        await gate.promise;
        if (fail) throw Object.assign(new Error('disk full'), { extra: input });
        task.notifyStep('save');
        return input;
      },
    });
    const roundTrips = (meta: ITaskMetadata) => assert.deepEqual(JSON.parse(JSON.stringify(meta)), meta);

    roundTrips(task.getMetadata());
    const circular: { circular?: unknown } = {};
    circular.circular = circular;
    const run = task.trigger(circular);
    await flush();
    roundTrips(task.getMetadata());
    gate.resolve();
    await run;
    roundTrips(task.getMetadata());
    fail = true;
    await assert.rejects(task.trigger(circular), /disk full/);
    const failed = task.getMetadata();
    roundTrips(failed);
    assert.equal(failed.lastError, 'disk full');
  });

  it('treats labels named __proto__, constructor and toString as ordinary keys', () => {
    const initial: Record<string, string> = JSON.parse('{"__proto__":"p","constructor":"c"}');
    assert.deepEqual(Object.keys(initial), ['__proto__', 'constructor']);
    const task = new Task({ name: 'keys', labels: initial, taskFunction: async () => undefined });

    assert.equal(task.getLabel('__proto__'), 'p');
    assert.equal(task.getLabel('constructor'), 'c');
    assert.equal(task.hasLabel('__proto__'), true);
    assert.equal(task.hasLabel('__proto__', 'p'), true);
    assert.equal(task.hasLabel('toString'), false);
    assert.equal(task.getLabel('toString'), undefined);
    assert.equal(task.getLabel('hasOwnProperty'), undefined);

    task.setLabel('toString', 't');
    assert.equal(task.getLabel('toString'), 't');
    assert.equal(task.hasLabel('toString', 't'), true);

    const labels = task.getMetadata().labels;
    assert.deepEqual(Object.keys(labels).sort(), ['__proto__', 'constructor', 'toString']);
    assert.equal(Object.getPrototypeOf(labels), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(labels, '__proto__')?.value, 'p');
    assert.equal(labels.constructor, 'c');
    assert.equal(labels.toString, 't');

    const json = JSON.stringify(task.getMetadata());
    const parsedLabels = JSON.parse(json).labels as Record<string, string>;
    assert.equal(Object.getOwnPropertyDescriptor(parsedLabels, '__proto__')?.value, 'p');
    assert.equal(parsedLabels.constructor, 'c');
    assert.equal(parsedLabels.toString, 't');

    assert.equal(task.removeLabel('__proto__'), true);
    assert.equal(task.removeLabel('__proto__'), false);
    assert.equal(task.removeLabel('valueOf'), false);
    assert.equal(task.hasLabel('__proto__'), false);
    assert.deepEqual(Object.keys(task.getMetadata().labels).sort(), ['constructor', 'toString']);
    assert.equal(Object.getPrototypeOf({}), Object.prototype, 'Object.prototype was not polluted');
    assert.equal(({} as Record<string, unknown>).p, undefined);
  });

  it('sets, reads, checks and removes labels', () => {
    const task = new Task({
      name: 'ProcessOrder',
      labels: { userId: 'u-42', tenantId: 'acme-corp', priority: 'high' },
      taskFunction: async () => undefined,
    });
    task.setLabel('region', 'eu-west');
    assert.equal(task.getLabel('userId'), 'u-42');
    assert.equal(task.hasLabel('tenantId'), true);
    assert.equal(task.hasLabel('tenantId', 'acme-corp'), true);
    assert.equal(task.hasLabel('tenantId', 'globex'), false);
    assert.equal(task.removeLabel('priority'), true);
    assert.equal(task.removeLabel('priority'), false);
    assert.deepEqual(task.getMetadata().labels, { userId: 'u-42', tenantId: 'acme-corp', region: 'eu-west' });
  });
});

describe('Task errors', () => {
  it('rejects the trigger with the error the task function threw', async () => {
    const error = new Error('something broke');
    const task = new Task({
      name: 'RiskyOp',
      taskFunction: async () => {
        throw error;
      },
    });
    await assert.rejects(task.trigger(), (thrown) => thrown === error);
  });

  it('rejects instead of throwing when the task function throws synchronously', async () => {
    const task = new Task({
      taskFunction: () => {
        throw new Error('sync throw');
      },
    });
    let promise: Promise<unknown> | undefined;
    assert.doesNotThrow(() => {
      promise = task.trigger();
    });
    await assert.rejects(promise!, /sync throw/);
    assert.equal(task.errorCount, 1);
  });

  it('with catchErrors resolves undefined but still records the failure', async () => {
    const task = new Task({
      name: 'BestEffort',
      catchErrors: true,
      taskFunction: async () => {
        throw new Error('non-critical');
      },
    });
    assert.equal(await task.trigger(), undefined);
    assert.equal(task.errorCount, 1);
    assert.equal(task.runCount, 1);
    assert.equal(task.lastError?.message, 'non-critical');
    assert.equal(task.status, 'failed');
    assert.equal(task.getMetadata().lastError, 'non-critical');
  });

  it('counts failures across runs, and clearError forgets lastError but keeps errorCount and status', async () => {
    let n = 0;
    const task = new Task({
      name: 'flaky',
      taskFunction: async () => {
        throw new Error(`failure ${++n}`);
      },
    });
    await assert.rejects(task.trigger(), /failure 1/);
    await assert.rejects(task.trigger(), /failure 2/);
    assert.equal(task.errorCount, 2);
    assert.ok(task.lastError instanceof Error);
    assert.equal(task.lastError.message, 'failure 2');

    task.clearError();
    assert.equal(task.lastError, undefined);
    assert.equal(task.errorCount, 2);
    assert.equal(task.status, 'failed');
    const meta = task.getMetadata();
    assert.equal(meta.lastError, undefined);
    assert.equal(meta.errorCount, 2);
    assert.equal(meta.status, 'failed');
  });

  it('clears lastError on a later successful run but keeps errorCount', async () => {
    let fail = true;
    const task = new Task({
      taskFunction: async () => {
        if (fail) throw new Error('first time fails');
        return 'fine';
      },
    });
    await assert.rejects(task.trigger(), /first time fails/);
    assert.equal(task.lastError?.message, 'first time fails');
    fail = false;
    assert.equal(await task.trigger(), 'fine');
    assert.equal(task.lastError, undefined);
    assert.equal(task.getMetadata().lastError, undefined);
    assert.equal(task.errorCount, 1);
    assert.equal(task.runCount, 2);
    assert.equal(task.status, 'completed');
  });

  it('rejects with a thrown non-Error value as it is, while lastError becomes an Error with its message', async () => {
    const task = new Task({
      name: 'throws-string',
      taskFunction: async () => {
        throw 'plain string failure';
      },
    });
    const events = collectEvents(task);
    await assert.rejects(task.trigger(), (thrown) => thrown === 'plain string failure');
    assert.ok(task.lastError instanceof Error);
    assert.equal(task.lastError.message, 'plain string failure');
    assert.equal(task.getMetadata().lastError, 'plain string failure');
    const failed = events.find((e) => e.type === 'failed');
    assert.ok(failed && failed.type === 'failed');
    assert.equal(failed.error, 'plain string failure');
  });

  it('keeps metadata and events JSON-safe whatever is thrown', async () => {
    const circular: Record<string, unknown> = { code: 42 };
    circular.self = circular;
    const thrownValues: unknown[] = [undefined, null, 42, circular, Object.create(null), Symbol('sym'), 10n];
    for (const value of thrownValues) {
      const task = new Task({
        name: 'weird-throw',
        catchErrors: true,
        taskFunction: async () => {
          throw value;
        },
      });
      const events = collectEvents(task);
      assert.equal(await task.trigger(), undefined);
      assert.ok(task.lastError instanceof Error, `lastError is an Error for ${String(typeof value)}`);
      const meta = task.getMetadata();
      assert.equal(typeof meta.lastError, 'string');
      assert.doesNotThrow(() => JSON.stringify(meta));
      for (const event of events) assert.doesNotThrow(() => JSON.stringify(event));
      const failed = events.find((e) => e.type === 'failed');
      assert.ok(failed && failed.type === 'failed');
      assert.equal(typeof failed.error, 'string');
    }
  });
});

describe('Task preTask and afterTask', () => {
  it('runs preTask with the input before the function and afterTask with the result after it, resolving with the function result', async () => {
    const log: string[] = [];
    const mainTask = new Task({
      name: 'MainWork',
      preTask: new Task({
        name: 'Setup',
        taskFunction: async (input: string) => {
          log.push(`pre:${input}`);
          return 'pre-result';
        },
      }),
      afterTask: new Task({
        name: 'Cleanup',
        taskFunction: async (result: string) => {
          log.push(`after:${result}`);
          return 'after-result';
        },
      }),
      taskFunction: async (input: string) => {
        log.push(`main:${input}`);
        return `done(${input})`;
      },
    });
    assert.equal(await mainTask.trigger('job'), 'done(job)');
    assert.deepEqual(log, ['pre:job', 'main:job', 'after:done(job)']);
  });

  it('waits for an asynchronous preTask to finish before starting the function', async () => {
    const log: string[] = [];
    const gate = deferred<void>();
    const task = new Task({
      preTask: new Task({
        taskFunction: async () => {
          log.push('pre start');
          await gate.promise;
          log.push('pre end');
        },
      }),
      taskFunction: async () => {
        log.push('main');
      },
    });
    const run = task.trigger();
    await flush();
    assert.deepEqual(log, ['pre start']);
    gate.resolve();
    await run;
    assert.deepEqual(log, ['pre start', 'pre end', 'main']);
  });

  it('accepts functions returning the hook tasks and resolves them when the run happens', async () => {
    const log: string[] = [];
    // The hooks are defined after the task that refers to them.
    let before: Task | undefined;
    let after: Task | undefined;
    const task = new Task({
      name: 'refs',
      preTask: () => before!,
      afterTask: () => after!,
      taskFunction: async (input: number) => {
        log.push(`main:${input}`);
        return input + 1;
      },
    });
    before = new Task({ taskFunction: async (input: number) => void log.push(`pre:${input}`) });
    after = new Task({ taskFunction: async (result: number) => void log.push(`after:${result}`) });
    assert.equal(await task.trigger(1), 2);
    assert.deepEqual(log, ['pre:1', 'main:1', 'after:2']);
  });

  it('rejects the run when a hook function does not return a Task', async () => {
    const task = new Task({
      name: 'bad-hook',
      preTask: (() => 'not a task') as unknown as () => Task,
      taskFunction: async () => 'never',
    });
    await assert.rejects(task.trigger(), (error: unknown) => error instanceof InvalidOptionError);
  });
});

describe('Task taskSetup', () => {
  it('runs once and passes its value to every run as the second argument', async () => {
    let setups = 0;
    const seen: Array<[string, string]> = [];
    const task = new Task({
      name: 'DBQuery',
      taskSetup: async () => {
        setups++;
        return 'pool';
      },
      taskFunction: async (input: string, pool: string) => {
        seen.push([input, pool]);
        return input.length;
      },
    });
    assert.equal(await task.trigger('a'), 1);
    assert.equal(await task.trigger('bb'), 2);
    assert.equal(setups, 1);
    assert.deepEqual(seen, [
      ['a', 'pool'],
      ['bb', 'pool'],
    ]);
  });

  it('runs once even when the first two triggers arrive together', async () => {
    let setups = 0;
    const setupGate = deferred<void>();
    const task = new Task({
      taskSetup: async () => {
        setups++;
        await setupGate.promise;
        return { id: setups };
      },
      taskFunction: async (input: number, setup: { id: number }) => `${input}:${setup.id}`,
    });
    const a = task.trigger(1);
    const b = task.trigger(2);
    await flush();
    setupGate.resolve();
    assert.deepEqual(await Promise.all([a, b]), ['1:1', '2:1']);
    assert.equal(setups, 1);
    await task.trigger(3);
    assert.equal(setups, 1);
  });

  it('fails the run when the setup fails and tries the setup again on the next run', async () => {
    let setups = 0;
    let functionCalls = 0;
    const task = new Task({
      taskSetup: async () => {
        setups++;
        if (setups === 1) throw new Error('setup failed');
        return 'ready';
      },
      taskFunction: async (_input: unknown, value: string) => {
        functionCalls++;
        return value;
      },
    });
    await assert.rejects(task.trigger(), /setup failed/);
    assert.equal(functionCalls, 0);
    assert.equal(task.errorCount, 1);
    assert.equal(task.status, 'failed');
    assert.equal(await task.trigger(), 'ready');
    assert.equal(setups, 2);
    assert.equal(functionCalls, 1);
    assert.equal(await task.trigger(), 'ready');
    assert.equal(setups, 2);
  });

  it('fails both concurrent first runs when the shared setup fails, then retries it once', async (t) => {
    const clock = useFakeClock(t);
    let setups = 0;
    const task = new Task({
      taskSetup: async () => {
        setups++;
        await clock.sleep(1);
        if (setups === 1) throw new Error('setup down');
        return setups;
      },
      taskFunction: async (_input: unknown, value: number) => value,
    });
    const results = await clock.settle(Promise.allSettled([task.trigger(), task.trigger()]));
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    assert.equal(setups, 1);
    assert.deepEqual(await clock.settle(Promise.all([task.trigger(), task.trigger()])), [2, 2]);
    assert.equal(setups, 2);
  });
});

describe('Task events', () => {
  it('emits started, step and completed, each with a metadata snapshot and the time it happened as its timestamp', async (t) => {
    const clock = useFakeClock(t, { start: 1_700_000_000_000 });
    const task = new Task({
      name: 'DataSync',
      labels: { tenant: 'acme' },
      steps: [
        { name: 'fetch', description: 'Fetching data', percentage: 50 },
        { name: 'save', description: 'Saving data', percentage: 50 },
      ] as const,
      taskFunction: async () => {
        task.notifyStep('fetch');
        await clock.sleep(40);
        task.notifyStep('save');
        await clock.sleep(2);
        return 'synced';
      },
    });
    const events = collectEvents(task);
    assert.equal(await clock.settle(task.trigger()), 'synced');

    assert.deepEqual(events.map((e) => e.type), ['started', 'step', 'step', 'completed']);
    assert.deepEqual(events.map((e) => e.timestamp - 1_700_000_000_000), [0, 0, 40, 42]);
    for (const event of events) {
      assert.equal(event.task.name, 'DataSync');
      assert.deepEqual(event.task.labels, { tenant: 'acme' });
      assert.equal(event.task.steps.length, 2);
    }
    const [started, fetch, save, completed] = events;
    assert.equal(started!.task.status, 'running');
    assert.equal(started!.task.runCount, 0);
    assert.ok(fetch!.type === 'step' && fetch!.stepName === 'fetch');
    assert.equal(fetch!.task.currentStep, 'fetch');
    assert.deepEqual(fetch!.task.steps.map((s) => s.status), ['active', 'pending']);
    assert.ok(save!.type === 'step' && save!.stepName === 'save');
    assert.deepEqual(save!.task.steps.map((s) => s.status), ['completed', 'active']);
    assert.equal(save!.task.currentProgress, 50);
    assert.equal(completed!.task.status, 'completed');
    assert.equal(completed!.task.runCount, 1);
    assert.equal(completed!.task.currentProgress, 100);
    assert.deepEqual(completed!.task.steps.map((s) => s.status), ['completed', 'completed']);
  });

  it('emits failed with the error message as a string and a snapshot showing the failure', async () => {
    const task = new Task({
      name: 'Breaks',
      taskFunction: async () => {
        throw new Error('kaboom');
      },
    });
    const events = collectEvents(task);
    await assert.rejects(task.trigger(), /kaboom/);
    assert.deepEqual(events.map((e) => e.type), ['started', 'failed']);
    const failed = events[1]!;
    assert.ok(failed.type === 'failed');
    assert.equal(failed.error, 'kaboom');
    assert.equal(typeof failed.timestamp, 'number');
    assert.equal(failed.task.status, 'failed');
    assert.equal(failed.task.errorCount, 1);
    assert.equal(failed.task.lastError, 'kaboom');
  });

  it('gives every event its own snapshot that later changes do not alter', async () => {
    const task = new Task({ name: 'snapshots', taskFunction: async () => 'x' });
    const events = collectEvents(task);
    await task.trigger();
    await task.trigger();
    assert.deepEqual(events.map((e) => [e.type, e.task.status, e.task.runCount]), [
      ['started', 'running', 0],
      ['completed', 'completed', 1],
      ['started', 'running', 1],
      ['completed', 'completed', 2],
    ]);
  });

  it('never puts the run input or result into events, so they stay JSON-safe', async () => {
    const input: Record<string, unknown> = { secret: 'INPUT-MARKER' };
    input.self = input;
    const result: Record<string, unknown> = { secret: 'RESULT-MARKER' };
    result.self = result;
    const task = new Task({
      name: 'private',
      steps: [{ name: 'work', description: 'working', percentage: 100 }] as const,
      taskFunction: async (_input: unknown) => {
        task.notifyStep('work');
        return result;
      },
    });
    const events = collectEvents(task);
    assert.equal(await task.trigger(input), result);
    assert.equal(events.length, 3);
    for (const event of events) {
      const json = JSON.stringify(event);
      assert.ok(!json.includes('INPUT-MARKER'));
      assert.ok(!json.includes('RESULT-MARKER'));
    }
    const metaJson = JSON.stringify(task.getMetadata());
    assert.ok(!metaJson.includes('INPUT-MARKER') && !metaJson.includes('RESULT-MARKER'));
  });

  it('keeps the run outcome and delivers every event to other subscribers when a subscriber throws, and reports it once', async (t) => {
    const strays = catchStrayErrors(t);
    const reported: SubscriberError[] = [];
    let fail = false;
    const task = new Task({
      name: 'noisy',
      steps: [{ name: 'only', description: 'the step', percentage: 100 }] as const,
      onSubscriberError: (error) => reported.push(error),
      taskFunction: async () => {
        task.notifyStep('only');
        if (fail) throw new Error('real failure');
        return 'real result';
      },
    });
    const thrower = new Error('subscriber bug');
    const before: string[] = [];
    const after: string[] = [];
    task.eventSubject.subscribe((event) => before.push(event.type));
    task.eventSubject.subscribe(() => {
      throw thrower;
    });
    task.eventSubject.subscribe((event) => after.push(event.type));

    assert.equal(await task.trigger(), 'real result');
    assert.equal(task.status, 'completed');
    fail = true;
    await assert.rejects(task.trigger(), (error: unknown) => error instanceof Error && error.message === 'real failure');
    assert.equal(task.status, 'failed');
    assert.equal(task.runCount, 2);
    assert.equal(task.errorCount, 1);

    const expected = ['started', 'step', 'completed', 'started', 'step', 'failed'];
    assert.deepEqual(before, expected);
    assert.deepEqual(after, expected);
    await strays.assertNone();
    assert.equal(reported.length, 1, 'the first error of the subscriber only');
    assert.ok(reported[0] instanceof SubscriberError);
    assert.equal(reported[0].code, 'SUBSCRIBER_FAILED');
    assert.equal(reported[0].subjectName, 'Task.eventSubject');
    assert.equal(reported[0].eventType, 'started');
    assert.equal(reported[0].cause, thrower);
    assert.match(reported[0].message, /"started" event of task "noisy": subscriber bug/);
  });

  it('logs a subscriber\'s error with console.error when no onSubscriberError is given', async (t) => {
    const strays = catchStrayErrors(t);
    const logged = t.mock.method(console, 'error', () => undefined);
    const task = new Task({ name: 'quiet', taskFunction: async () => 'done' });
    task.eventSubject.pipe(filter((event) => event.type === 'completed')).subscribe(() => {
      throw new Error('log shipper bug');
    });
    assert.equal(await task.trigger(), 'done');
    assert.equal(await task.trigger(), 'done');
    await strays.assertNone();
    assert.equal(logged.mock.callCount(), 1);
    const [text, error] = logged.mock.calls[0]!.arguments as [string, unknown];
    assert.match(text, /Task "quiet".*"completed".*log shipper bug/);
    assert.ok(error instanceof SubscriberError);
  });
});

describe('Task option checks', () => {
  it('refuses a Task without taskFunction, naming the option', () => {
    const error = expectInvalidOption(() => new Task({ name: 'empty' } as unknown as ConstructorParameters<typeof Task>[0]));
    assert.equal(error.option, 'taskFunction');
    assert.match(error.message, /taskFunction/);
    assert.match(error.message, /undefined/);
  });

  it('refuses an onSubscriberError that is not a function, naming the option and the value', () => {
    const error = expectInvalidOption(
      () => new Task({ name: 'hooked', onSubscriberError: 'log it' as unknown as () => void, taskFunction: async () => undefined }),
    );
    assert.equal(error.option, 'onSubscriberError');
    assert.match(error.message, /log it/);
  });

  it('refuses a taskFunction that is not a function, naming the value it got', () => {
    const error = expectInvalidOption(
      () => new Task({ taskFunction: 'run-me' } as unknown as ConstructorParameters<typeof Task>[0]),
    );
    assert.match(error.message, /taskFunction/);
    assert.match(error.message, /run-me/);
  });

  for (const bad of [0, -1, 1.5]) {
    it(`refuses bufferMax ${bad}, naming the option and the value`, () => {
      const error = expectInvalidOption(
        () => new Task({ name: 'buf', buffered: true, bufferMax: bad, taskFunction: async () => undefined }),
      );
      assert.equal(error.option, 'bufferMax');
      assert.equal(error.value, bad);
      assert.match(error.message, /bufferMax/);
      assert.ok(mentionsNumber(error.message, bad), `message should name ${bad}: ${error.message}`);
    });
  }

  it('accepts a positive integer bufferMax and reports it in metadata', () => {
    const task = new Task({ buffered: true, bufferMax: 3, taskFunction: async () => undefined });
    const meta = task.getMetadata();
    assert.equal(meta.buffered, true);
    assert.equal(meta.bufferMax, 3);
  });

  for (const bad of [-1, 101]) {
    it(`refuses a step percentage of ${bad}, naming the value`, () => {
      const error = expectInvalidOption(
        () =>
          new Task({
            name: 'stepped',
            steps: [
              { name: 'ok', description: 'fine', percentage: 0 },
              { name: 'bad', description: 'out of range', percentage: bad },
            ],
            taskFunction: async () => undefined,
          }),
      );
      assert.match(error.option, /percentage/);
      assert.equal(error.value, bad);
      assert.ok(mentionsNumber(error.message, bad), `message should name ${bad}: ${error.message}`);
    });
  }

  it('refuses steps whose percentages sum past 100, naming the total', () => {
    const error = expectInvalidOption(
      () =>
        new Task({
          name: 'overfull',
          steps: [
            { name: 'a', description: 'A', percentage: 60 },
            { name: 'b', description: 'B', percentage: 50 },
          ],
          taskFunction: async () => undefined,
        }),
    );
    assert.ok(mentionsNumber(error.message, 110), `message should name the total 110: ${error.message}`);
  });

  it('accepts steps summing to exactly 100, also with fractional percentages', () => {
    assert.doesNotThrow(
      () =>
        new Task({
          steps: [
            { name: 'a', description: 'A', percentage: 33.3 },
            { name: 'b', description: 'B', percentage: 33.3 },
            { name: 'c', description: 'C', percentage: 33.4 },
          ],
          taskFunction: async () => undefined,
        }),
    );
  });

  it('refuses duplicate step names, naming the duplicate', () => {
    const error = expectInvalidOption(
      () =>
        new Task({
          name: 'dupes',
          steps: [
            { name: 'same-step', description: 'first', percentage: 10 },
            { name: 'same-step', description: 'second', percentage: 10 },
          ],
          taskFunction: async () => undefined,
        }),
    );
    assert.match(error.message, /same-step/);
  });

  it('refuses a label value that is not a string, naming the label', () => {
    const error = expectInvalidOption(
      () => new Task({ name: 'labels', labels: { tenant: 42 as unknown as string }, taskFunction: async () => undefined }),
    );
    assert.match(error.message, /tenant/);
    assert.ok(mentionsNumber(error.message, 42), `message should name 42: ${error.message}`);
    const task = new Task({ taskFunction: async () => undefined });
    assert.throws(() => task.setLabel('region', null as unknown as string), InvalidOptionError);
    assert.equal(task.hasLabel('region'), false);
  });

  it('fails the run with UnknownStepError naming the step when notifyStep gets an undeclared name', async () => {
    const task = new Task({
      name: 'stepper',
      steps: [{ name: 'known', description: 'declared', percentage: 100 }] as const,
      taskFunction: async () => {
        task.notifyStep('known');
        (task as any).notifyStep('no-such-step');
        return 'unreachable';
      },
    });
    let caught: unknown;
    await task.trigger().catch((error: unknown) => {
      caught = error;
    });
    assert.ok(caught instanceof UnknownStepError);
    assert.ok(caught instanceof TaskbufferError);
    assert.equal(caught.name, 'UnknownStepError');
    assert.equal(caught.stepName, 'no-such-step');
    assert.match(caught.message, /no-such-step/);
    assert.equal(task.status, 'failed');
    assert.equal(task.errorCount, 1);
  });

  it('throws UnknownStepError at once when notifyStep gets an undeclared name outside a run', () => {
    const task = new Task({ name: 'nosteps', taskFunction: async () => undefined });
    assert.throws(
      () => (task as any).notifyStep('phantom'),
      (error: unknown) =>
        error instanceof UnknownStepError && error.name === 'UnknownStepError' && /phantom/.test(error.message),
    );
  });
});
