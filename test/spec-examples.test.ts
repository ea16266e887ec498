/**
 * The examples of the API contract (the taskbuffer README), run as written. Helpers the
 * README leaves undefined (buildApp, fetch, database, searchAPI, ...) are small local fakes
 * that record what they were asked to do, and `console` is a local capture so each test
 * can check what the example prints and in which order. Examples that wait (a debounce)
 * or print times run on a fake clock (fake-clock.ts), so the times are exact.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { format } from 'node:util';
import { Task, Taskchain, Taskparallel, TaskDebounced, TaskOnce, type ITaskEvent } from '../ts/index.js';
import { useFakeClock } from './fake-clock.js';

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/** A stand-in for `console` whose output is collected, one string per call. */
function captureConsole() {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    lines,
    errors,
    console: {
      log: (...args: unknown[]) => void lines.push(format(...args)),
      error: (...args: unknown[]) => void errors.push(format(...args)),
    },
  };
}

interface Gate<T = void> {
  promise: Promise<T>;
  open: (value: T) => void;
}

function gate<T = void>(): Gate<T> {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Rejects when `promise` has not settled after a generous `ms`, so a broken test fails instead of hanging. */
async function within<T>(promise: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Captures the rejection of `promise` so its fields can be checked one by one. */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the promise to reject, but it resolved');
}

// ---------------------------------------------------------------------------------------
// Quick Start
// ---------------------------------------------------------------------------------------

describe('Quick Start', () => {
  describe('Basic Task', () => {
    test('trigger resolves with what the task function returns for the given input', async () => {
      const { console, lines } = captureConsole();

      const greetTask = new Task({
        name: 'Greet',
        taskFunction: async (name) => {
          return `Hello, ${name}!`;
        },
      });
      const result = await greetTask.trigger('World');
      console.log(result); // "Hello, World!"

      assert.equal(result, 'Hello, World!');
      assert.deepEqual(lines, ['Hello, World!']);
    });
  });

  describe('Task with Typed Data', () => {
    test('the data bag is available to the task function and on the task', async () => {
      const { console, lines } = captureConsole();

      const task = new Task<undefined, [], { domain: string; priority: number }>({
        name: 'update-dns',
        data: { domain: 'example.com', priority: 1 },
        taskFunction: async () => {
          // task.data is fully typed here
          console.log(`Updating DNS for ${task.data.domain}`);
        },
      });
      const domain: string = task.data.domain; // string — fully typed
      const priority: number = task.data.priority; // number — fully typed

      assert.equal(domain, 'example.com');
      assert.equal(priority, 1);
      await task.trigger();
      assert.deepEqual(lines, ['Updating DNS for example.com']);
    });

    test('a task without data has an empty data bag', () => {
      const task = new Task({ name: 'no-data', taskFunction: async () => 'ok' });
      assert.deepEqual(task.data, {});
    });
  });

  describe('Task with Steps & Progress', () => {
    function createDeployTask() {
      // What the fakes see while they run: the active step and the progress so far.
      const seen: Array<{ work: string; progress: number; statuses: string[] }> = [];
      const record = (work: string) => async () => {
        await tick();
        seen.push({
          work,
          progress: deployTask.getProgress(),
          statuses: deployTask.getStepsMetadata().map((s) => `${s.name}:${s.status}`),
        });
      };
      const buildApp = record('buildApp');
      const runTests = record('runTests');
      const deployToServer = record('deployToServer');
      const verifyDeployment = record('verifyDeployment');

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
          await buildApp();
          deployTask.notifyStep('test');
          await runTests();
          deployTask.notifyStep('deploy');
          await deployToServer();
          deployTask.notifyStep('verify');
          await verifyDeployment();
          return 'Deployment successful!';
        },
      });
      return { deployTask, seen };
    }

    test('a successful run ends with progress 100 and every step completed', async () => {
      const { console, lines } = captureConsole();
      const { deployTask } = createDeployTask();

      const result = await deployTask.trigger();
      console.log(deployTask.getProgress()); // 100
      console.log(deployTask.getStepsMetadata()); // Step details with status

      assert.equal(result, 'Deployment successful!');
      assert.equal(deployTask.getProgress(), 100);
      assert.equal(lines[0], '100');
      const steps = deployTask.getStepsMetadata();
      assert.deepEqual(
        steps.map(({ name, description, percentage, status }) => ({ name, description, percentage, status })),
        [
          { name: 'build', description: 'Building app', percentage: 30, status: 'completed' },
          { name: 'test', description: 'Running tests', percentage: 20, status: 'completed' },
          { name: 'deploy', description: 'Deploying to server', percentage: 40, status: 'completed' },
          { name: 'verify', description: 'Verifying deployment', percentage: 10, status: 'completed' },
        ],
      );
    });

    test('before the first run every step is pending and progress is 0', () => {
      const { deployTask } = createDeployTask();
      assert.equal(deployTask.getProgress(), 0);
      assert.deepEqual(
        deployTask.getStepsMetadata().map((s) => s.status),
        ['pending', 'pending', 'pending', 'pending'],
      );
    });

    test('during a run, notifyStep makes a step active and progress sums the completed steps', async () => {
      const { deployTask, seen } = createDeployTask();
      await deployTask.trigger();

      assert.deepEqual(seen, [
        {
          work: 'buildApp',
          progress: 0,
          statuses: ['build:active', 'test:pending', 'deploy:pending', 'verify:pending'],
        },
        {
          work: 'runTests',
          progress: 30,
          statuses: ['build:completed', 'test:active', 'deploy:pending', 'verify:pending'],
        },
        {
          work: 'deployToServer',
          progress: 50,
          statuses: ['build:completed', 'test:completed', 'deploy:active', 'verify:pending'],
        },
        {
          work: 'verifyDeployment',
          progress: 90,
          statuses: ['build:completed', 'test:completed', 'deploy:completed', 'verify:active'],
        },
      ]);
    });

    test('the metadata of a finished run reports status completed, progress 100 and one run', async () => {
      const { deployTask } = createDeployTask();
      await deployTask.trigger();
      const meta = deployTask.getMetadata();
      assert.equal(meta.name, 'Deploy');
      assert.equal(meta.status, 'completed');
      assert.equal(meta.currentProgress, 100);
      assert.equal(meta.runCount, 1);
      assert.equal(meta.errorCount, 0);
      assert.equal(meta.lastError, undefined);
      assert.deepEqual(meta.steps.map((s) => s.status), ['completed', 'completed', 'completed', 'completed']);
    });
  });
});

// ---------------------------------------------------------------------------------------
// Task Buffering
// ---------------------------------------------------------------------------------------

describe('Task Buffering', () => {
  test('100 rapid calls with bufferMax 5 never run more than 5 at once, and the newest call replaces the last queued one', async () => {
    const started: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const release = gate();
    // A fake `fetch`: holds every request until the test opens the gate.
    const fetch = async (endpoint: string) => {
      started.push(endpoint);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await release.promise;
      await tick();
      inFlight--;
      return { json: async () => ({ endpoint }) };
    };

    const apiTask = new Task({
      name: 'APIRequest',
      buffered: true,
      bufferMax: 5, // Maximum 5 concurrent executions
      taskFunction: async (endpoint) => {
        return await fetch(endpoint).then((r) => r.json());
      },
    });

    // Rapid fire 100 calls — only bufferMax execute concurrently
    const calls: Array<Promise<{ endpoint: string }>> = [];
    for (let i = 0; i < 100; i++) {
      calls.push(apiTask.trigger(`/api/data/${i}`));
    }

    await tick();
    // First `bufferMax` calls execute immediately, in call order.
    assert.deepEqual(started, ['/api/data/0', '/api/data/1', '/api/data/2', '/api/data/3', '/api/data/4']);

    release.open();
    const results = await within(Promise.all(calls), 'the 100 buffered calls');

    assert.equal(maxInFlight, 5, 'at most bufferMax runs at once');
    // Additional calls are queued (at most bufferMax of them); when the queue is full a new
    // call overwrites the newest queued one, so the last call is the one that runs.
    assert.deepEqual(started, [
      '/api/data/0', '/api/data/1', '/api/data/2', '/api/data/3', '/api/data/4',
      '/api/data/5', '/api/data/6', '/api/data/7', '/api/data/8', '/api/data/99',
    ]);
    // Every caller is answered: calls that ran get their own result; replaced calls get the
    // result of the call that replaced them.
    for (let i = 0; i < 100; i++) {
      const expected = i <= 8 ? `/api/data/${i}` : '/api/data/99';
      assert.deepEqual(results[i], { endpoint: expected }, `result of call ${i}`);
    }
  });

  test('a buffered task reports buffered and bufferMax in its metadata', () => {
    const apiTask = new Task({
      name: 'APIRequest',
      buffered: true,
      bufferMax: 5,
      taskFunction: async (endpoint: string) => endpoint,
    });
    const meta = apiTask.getMetadata();
    assert.equal(meta.buffered, true);
    assert.equal(meta.bufferMax, 5);
  });
});

// ---------------------------------------------------------------------------------------
// Task Chains
// ---------------------------------------------------------------------------------------

describe('Task Chains', () => {
  type Item = { id: number };

  function createDataPipeline(apiResponse: unknown) {
    const requested: string[] = [];
    const fetch = async (url: string) => {
      requested.push(url);
      return { json: async () => structuredClone(apiResponse) };
    };
    const database = {
      saved: [] as unknown[][],
      async save(items: unknown[]) {
        this.saved.push(items);
      },
    };

    const fetchTask = new Task({
      name: 'Fetch',
      taskFunction: async () => {
        const res = await fetch('/api/data');
        return res.json();
      },
    });
    const transformTask = new Task({
      name: 'Transform',
      taskFunction: async (data: Item[]) => {
        return data.map((item) => ({ ...item, transformed: true }));
      },
    });
    const saveTask = new Task({
      name: 'Save',
      taskFunction: async (transformedData: Array<Item & { transformed: boolean }>) => {
        await database.save(transformedData);
        return transformedData.length;
      },
    });
    const pipeline = new Taskchain({
      name: 'DataPipeline',
      taskArray: [fetchTask, transformTask, saveTask],
    });
    return { pipeline, fetchTask, transformTask, saveTask, database, requested };
  }

  test('each task gets the previous task’s result and the chain resolves with the last result', async () => {
    const { console, lines } = captureConsole();
    const { pipeline, database, requested } = createDataPipeline([{ id: 1 }, { id: 2 }, { id: 3 }]);

    const savedCount = await pipeline.trigger();
    console.log(`Saved ${savedCount} items`);

    assert.equal(savedCount, 3);
    assert.deepEqual(lines, ['Saved 3 items']);
    assert.deepEqual(requested, ['/api/data']);
    assert.deepEqual(database.saved, [
      [
        { id: 1, transformed: true },
        { id: 2, transformed: true },
        { id: 3, transformed: true },
      ],
    ]);
  });

  test('addTask appends, removeTask removes by reference and tells whether it did, shiftTask removes and returns the first task', async () => {
    const ran: string[] = [];
    const letter = (name: string) =>
      new Task({
        name,
        taskFunction: async (soFar: string) => {
          ran.push(name);
          return soFar + name;
        },
      });
    const a = letter('a');
    const b = letter('b');
    const c = letter('c');
    const pipeline = new Taskchain({ name: 'letters', taskArray: [a, b, c] });
    assert.equal(await pipeline.trigger(''), 'abc');

    const newTask = letter('d');
    pipeline.addTask(newTask); // Append to chain
    assert.equal(await pipeline.trigger(''), 'abcd');

    const oldTask = b;
    assert.equal(pipeline.removeTask(oldTask), true); // Remove by reference (returns boolean)
    assert.equal(pipeline.removeTask(oldTask), false, 'a task that is not in the chain is not removed');
    assert.equal(await pipeline.trigger(''), 'acd');

    const first = pipeline.shiftTask(); // Remove & return first task
    assert.equal(first, a);
    ran.length = 0;
    assert.equal(await pipeline.trigger(''), 'cd');
    assert.deepEqual(ran, ['c', 'd']);
  });

  test('a chain failure names the chain, the failing task and its index, and keeps the cause', async () => {
    // The API changed shape: it now wraps the list, so `Transform` (index 1) cannot map it.
    const { pipeline, database } = createDataPipeline({ items: [{ id: 1 }] });

    const error = await rejectionOf(pipeline.trigger());

    assert.match(error.message, /DataPipeline/, 'names the chain');
    assert.match(error.message, /Transform/, 'names the failing task');
    assert.match(error.message, /index\D{0,3}1\b/i, 'gives the failing task’s index');
    assert.ok(error.cause instanceof TypeError, `cause is the original error, got ${String(error.cause)}`);
    assert.match((error.cause as TypeError).message, /map/);
    assert.deepEqual(database.saved, [], 'tasks after the failing one do not run');
  });

  test('the cause of a chain failure is the very error the task threw', async () => {
    const original = new Error('disk full');
    const saveTask = new Task({
      name: 'Save',
      taskFunction: async (items: number[]) => {
        if (items.length > 2) throw original;
        return items.length;
      },
    });
    const pipeline = new Taskchain({
      name: 'DataPipeline',
      taskArray: [new Task({ name: 'Fetch', taskFunction: async () => [1, 2, 3] }), saveTask],
    });

    const error = await rejectionOf(pipeline.trigger());
    assert.equal(error.cause, original);
    assert.match(error.message, /DataPipeline/);
    assert.match(error.message, /Save/);
    assert.match(error.message, /index\D{0,3}1\b/i);
  });
});

// ---------------------------------------------------------------------------------------
// Parallel Execution
// ---------------------------------------------------------------------------------------

describe('Parallel Execution', () => {
  test('all tasks run at the same time with the same input, and trigger resolves once all are done', async () => {
    interface Notification {
      userId: string;
      message: string;
    }
    const received: Array<{ channel: string; data: Notification }> = [];
    const allStarted = gate();
    const channel = (name: string) =>
      new Task({
        name,
        taskFunction: async (data: Notification) => {
          received.push({ channel: name, data });
          if (received.length === 4) allStarted.open();
          // Only finishes once all four have started, i.e. when they really run concurrently.
          await allStarted.promise;
          return `${name} sent to ${data.userId}`;
        },
      });
    const emailTask = channel('email');
    const smsTask = channel('sms');
    const pushNotificationTask = channel('push');
    const webhookTask = channel('webhook');
    const notificationData: Notification = { userId: 'u-42', message: 'Your order shipped' };

    const parallel = new Taskparallel({
      taskArray: [emailTask, smsTask, pushNotificationTask, webhookTask],
    });
    const results = await within(parallel.trigger(notificationData), 'the parallel tasks (do they run concurrently?)');

    assert.deepEqual(received.map((r) => r.channel).sort(), ['email', 'push', 'sms', 'webhook']);
    for (const r of received) assert.equal(r.data, notificationData, `${r.channel} got the same input`);
    assert.deepEqual(results, ['email sent to u-42', 'sms sent to u-42', 'push sent to u-42', 'webhook sent to u-42']);
  });

  test('a failing task makes the parallel trigger reject with its error', async () => {
    const boom = new Error('webhook endpoint unreachable');
    const ok = new Task({ name: 'email', taskFunction: async (data: string) => data });
    const failing = new Task({
      name: 'webhook',
      taskFunction: async (data: string) => {
        if (data) throw boom;
        return data;
      },
    });
    const parallel = new Taskparallel({ taskArray: [ok, failing] });
    await assert.rejects(parallel.trigger('payload'), (error) => error === boom);
  });
});

// ---------------------------------------------------------------------------------------
// Debounced Tasks
// ---------------------------------------------------------------------------------------

describe('Debounced Tasks', () => {
  test('rapid triggers collapse into one run with the last input, 300 ms after it, and every caller gets its result', async (t) => {
    const clock = useFakeClock(t);
    const queries: string[] = [];
    const searchAPI = async (query: string) => {
      queries.push(query);
      return [`${query} world`, `${query} kitty`];
    };

    const searchTask = new TaskDebounced({
      name: 'Search',
      debounceTimeInMillis: 300,
      taskFunction: async (query) => {
        return await searchAPI(query);
      },
    });

    // Rapid calls — only the last triggers after 300ms of quiet
    const p1 = searchTask.trigger('h');
    const p2 = searchTask.trigger('he');
    const p3 = searchTask.trigger('hel');
    const p4 = searchTask.trigger('hello'); // ← this one fires

    await clock.advance(299);
    assert.deepEqual(queries, [], 'nothing runs before 300 ms of quiet');
    await clock.advance(1);
    const results = await within(Promise.all([p1, p2, p3, p4]), 'the four debounced triggers');

    assert.deepEqual(queries, ['hello'], 'the function ran once, with the last input');
    for (const result of results) assert.deepEqual(result, ['hello world', 'hello kitty']);

    // Nothing else fires later: wait well past another quiet period and look again.
    await clock.advance(60_000);
    assert.deepEqual(queries, ['hello'], 'no further run after the quiet period');
    assert.equal(searchTask.runCount, 1);
  });
});

// ---------------------------------------------------------------------------------------
// TaskOnce
// ---------------------------------------------------------------------------------------

describe('TaskOnce', () => {
  test('the function runs on the first trigger only; later triggers are no-ops', async () => {
    const { console, lines } = captureConsole();
    let databaseSetups = 0;
    const setupDatabase = async () => {
      await tick();
      databaseSetups++;
    };

    const initTask = new TaskOnce({
      name: 'Init',
      taskFunction: async () => {
        await setupDatabase();
        console.log('Initialized!');
      },
    });
    assert.equal(initTask.hasTriggered, false);

    await initTask.trigger(); // Runs
    await initTask.trigger(); // No-op
    await initTask.trigger(); // No-op
    console.log(initTask.hasTriggered); // true

    assert.equal(databaseSetups, 1);
    assert.deepEqual(lines, ['Initialized!', 'true']);
    assert.equal(initTask.hasTriggered, true);
  });

  test('concurrent first triggers share the one run', async () => {
    let runs = 0;
    const initTask = new TaskOnce({
      name: 'Init',
      taskFunction: async () => {
        runs++;
        await tick();
        return 'ready';
      },
    });
    const results = await Promise.all([initTask.trigger(), initTask.trigger(), initTask.trigger()]);
    assert.equal(runs, 1);
    assert.deepEqual(results, ['ready', 'ready', 'ready']);
  });
});

// ---------------------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------------------

describe('Labels', () => {
  test('labels can be set, read, checked and removed at runtime, and show in metadata snapshots', () => {
    const { console, lines } = captureConsole();

    const task = new Task({
      name: 'ProcessOrder',
      labels: { userId: 'u-42', tenantId: 'acme-corp', priority: 'high' },
      taskFunction: async (order) => {
        return order;
      },
    });

    // Manipulate labels at runtime
    task.setLabel('region', 'eu-west');
    assert.equal(task.getLabel('userId'), 'u-42');
    assert.equal(task.hasLabel('tenantId', 'acme-corp'), true);
    assert.equal(task.removeLabel('priority'), true);

    // Labels are included in metadata snapshots
    const meta = task.getMetadata();
    console.log(meta.labels); // { userId: 'u-42', tenantId: 'acme-corp', region: 'eu-west' }

    assert.deepEqual({ ...meta.labels }, { userId: 'u-42', tenantId: 'acme-corp', region: 'eu-west' });
    assert.deepEqual(lines, [format({ userId: 'u-42', tenantId: 'acme-corp', region: 'eu-west' })]);
    assert.deepEqual({ ...task.labels }, { userId: 'u-42', tenantId: 'acme-corp', region: 'eu-west' });
  });

  test('label lookups of absent keys and values give undefined and false', () => {
    const task = new Task({
      name: 'ProcessOrder',
      labels: { tenantId: 'acme-corp' },
      taskFunction: async () => undefined,
    });
    assert.equal(task.getLabel('userId'), undefined);
    assert.equal(task.hasLabel('userId'), false);
    assert.equal(task.hasLabel('tenantId'), true);
    assert.equal(task.hasLabel('tenantId', 'globex'), false);
    assert.equal(task.removeLabel('userId'), false);
  });

  test('a task without labels has empty labels', () => {
    const task = new Task({ name: 'plain', taskFunction: async () => undefined });
    assert.deepEqual({ ...task.getMetadata().labels }, {});
  });
});

// ---------------------------------------------------------------------------------------
// Push-Based Events
// ---------------------------------------------------------------------------------------

describe('Push-Based Events', () => {
  test('a run emits started, one step event per notifyStep, then completed, in order, each stamped with the time it happened', async (t) => {
    const clock = useFakeClock(t, { start: Date.UTC(2030, 0, 2, 3, 4, 5, 600) });
    const { console, lines } = captureConsole();
    const stored: unknown[] = [];
    const fetchData = async () => {
      await clock.sleep(250);
      return [{ id: 1 }];
    };
    const saveData = async (data: unknown) => {
      await clock.sleep(150);
      stored.push(data);
    };

    const task = new Task({
      name: 'DataSync',
      steps: [
        { name: 'fetch', description: 'Fetching data', percentage: 50 },
        { name: 'save', description: 'Saving data', percentage: 50 },
      ] as const,
      taskFunction: async () => {
        task.notifyStep('fetch');
        const data = await fetchData();
        task.notifyStep('save');
        await saveData(data);
      },
    });

    const events: ITaskEvent[] = [];
    // Subscribe to individual task events
    task.eventSubject.subscribe((event: ITaskEvent) => {
      events.push(event);
      console.log(`[${event.type}] ${event.task.name} @ ${new Date(event.timestamp).toISOString()}`);
      if (event.type === 'step') console.log(` Step: ${event.stepName}`);
      if (event.type === 'failed') console.log(` Error: ${event.error}`);
    });

    await clock.settle(task.trigger());

    assert.deepEqual(lines, [
      '[started] DataSync @ 2030-01-02T03:04:05.600Z',
      '[step] DataSync @ 2030-01-02T03:04:05.600Z',
      ' Step: fetch',
      '[step] DataSync @ 2030-01-02T03:04:05.850Z',
      ' Step: save',
      '[completed] DataSync @ 2030-01-02T03:04:06.000Z',
    ]);
    assert.deepEqual(events.map((e) => e.type), ['started', 'step', 'step', 'completed']);
    assert.deepEqual(stored, [[{ id: 1 }]]);
  });

  test('every event carries a metadata snapshot of the task at that moment, labels included', async () => {
    const task = new Task({
      name: 'DataSync',
      labels: { tenantId: 'acme' },
      steps: [
        { name: 'fetch', description: 'Fetching data', percentage: 50 },
        { name: 'save', description: 'Saving data', percentage: 50 },
      ] as const,
      taskFunction: async () => {
        task.notifyStep('fetch');
        await tick();
        task.notifyStep('save');
        await tick();
      },
    });
    const events: ITaskEvent[] = [];
    task.eventSubject.subscribe((event) => events.push(event));
    await task.trigger();

    for (const event of events) {
      assert.equal(event.task.name, 'DataSync');
      assert.deepEqual({ ...event.task.labels }, { tenantId: 'acme' });
      assert.doesNotThrow(() => JSON.stringify(event), 'events are JSON-safe');
    }
    const [started, fetchStep, saveStep, completed] = events;
    assert.equal(started!.task.status, 'running');
    assert.equal(fetchStep!.type === 'step' && fetchStep.stepName, 'fetch');
    assert.deepEqual(fetchStep!.task.steps.map((s) => s.status), ['active', 'pending']);
    assert.equal(saveStep!.type === 'step' && saveStep.stepName, 'save');
    assert.deepEqual(saveStep!.task.steps.map((s) => s.status), ['completed', 'active']);
    assert.equal(saveStep!.task.currentProgress, 50);
    assert.equal(completed!.type, 'completed');
    assert.equal(completed!.task.status, 'completed');
    assert.equal(completed!.task.currentProgress, 100);
  });

  test('a failing run emits started then failed, with the error message', async () => {
    const { console, lines } = captureConsole();
    const task = new Task({
      name: 'DataSync',
      taskFunction: async (shouldFail: boolean) => {
        if (shouldFail) throw new Error('upstream timed out');
        return 'synced';
      },
    });
    const events: ITaskEvent[] = [];
    task.eventSubject.subscribe((event: ITaskEvent) => {
      events.push(event);
      if (event.type === 'failed') console.log(` Error: ${event.error}`);
    });

    await assert.rejects(task.trigger(true), { message: 'upstream timed out' });

    assert.deepEqual(events.map((e) => e.type), ['started', 'failed']);
    const failed = events[1]!;
    assert.ok(failed.type === 'failed');
    assert.equal(failed.error, 'upstream timed out');
    assert.equal(failed.task.status, 'failed');
    assert.deepEqual(lines, [' Error: upstream timed out']);
  });
});

// ---------------------------------------------------------------------------------------
// Error Handling
// ---------------------------------------------------------------------------------------

describe('Error Handling', () => {
  describe('Default: errors propagate', () => {
    test('trigger rejects with the error the task function threw', async () => {
      const { console, errors } = captureConsole();

      const task = new Task({
        name: 'RiskyOp',
        taskFunction: async () => {
          throw new Error('something broke');
        },
      });

      let caught: unknown;
      try {
        await task.trigger();
      } catch (err) {
        caught = err;
        console.error((err as Error).message); // "something broke"
      }

      assert.ok(caught instanceof Error);
      assert.equal(caught.message, 'something broke');
      assert.deepEqual(errors, ['something broke']);
    });
  });

  describe('Swallowing Errors with catchErrors', () => {
    test('with catchErrors, a failing run resolves with undefined instead of rejecting', async () => {
      const task = new Task({
        name: 'BestEffort',
        catchErrors: true,
        taskFunction: async () => {
          throw new Error('non-critical');
        },
      });

      const result = await task.trigger(); // undefined (no throw)
      assert.equal(result, undefined);
    });
  });

  describe('Error State Tracking', () => {
    const variants = [
      { catchErrors: true, name: 'BestEffort' },
      { catchErrors: false, name: 'RiskyOp' },
    ];
    for (const { catchErrors, name } of variants) {
      test(`with catchErrors ${catchErrors}, a failure sets lastError, counts in errorCount and makes the status failed`, async () => {
        const { console, lines } = captureConsole();
        const task = new Task({
          name,
          catchErrors,
          taskFunction: async () => {
            throw new Error('non-critical');
          },
        });

        await task.trigger().catch(() => undefined);

        console.log(task.lastError); // Error object (or undefined)
        console.log(task.errorCount); // Number of failures across all runs
        console.log(task.getMetadata().status); // 'failed'

        assert.ok(task.lastError instanceof Error);
        assert.equal(task.lastError.message, 'non-critical');
        assert.equal(task.errorCount, 1);
        assert.equal(task.getMetadata().status, 'failed');
        assert.equal(task.getMetadata().lastError, 'non-critical', 'metadata holds the message string');
        assert.deepEqual(lines.slice(1), ['1', 'failed']);
      });
    }

    test('errorCount counts failures across all runs', async () => {
      const task = new Task({
        name: 'BestEffort',
        catchErrors: true,
        taskFunction: async () => {
          throw new Error('non-critical');
        },
      });
      await task.trigger();
      await task.trigger();
      await task.trigger();
      assert.equal(task.errorCount, 3);
      assert.equal(task.runCount, 3);
    });

    test('clearError resets lastError to undefined and leaves errorCount alone', async () => {
      const task = new Task({
        name: 'BestEffort',
        catchErrors: true,
        taskFunction: async () => {
          throw new Error('non-critical');
        },
      });
      await task.trigger();
      await task.trigger();

      task.clearError(); // Resets lastError to undefined (errorCount stays)

      assert.equal(task.lastError, undefined);
      assert.equal(task.getMetadata().lastError, undefined);
      assert.equal(task.errorCount, 2);
    });

    test('a later successful run clears lastError automatically', async () => {
      let fail = true;
      const task = new Task({
        name: 'Flaky',
        taskFunction: async () => {
          if (fail) throw new Error('flaky');
          return 'ok';
        },
      });
      await assert.rejects(task.trigger(), { message: 'flaky' });
      assert.equal(task.lastError?.message, 'flaky');

      fail = false;
      assert.equal(await task.trigger(), 'ok');

      assert.equal(task.lastError, undefined);
      assert.equal(task.getMetadata().lastError, undefined);
      assert.equal(task.getMetadata().status, 'completed');
      assert.equal(task.errorCount, 1, 'earlier failures stay counted');
    });
  });
});

// ---------------------------------------------------------------------------------------
// Advanced Patterns
// ---------------------------------------------------------------------------------------

describe('Advanced Patterns', () => {
  describe('Pre-Task & After-Task Hooks', () => {
    test('preTask runs before the task function and afterTask after it', async () => {
      const { console, lines } = captureConsole();

      const mainTask = new Task({
        name: 'MainWork',
        preTask: new Task({
          name: 'Setup',
          taskFunction: async () => {
            console.log('Setting up...');
          },
        }),
        afterTask: new Task({
          name: 'Cleanup',
          taskFunction: async () => {
            console.log('Cleaning up...');
          },
        }),
        taskFunction: async () => {
          console.log('Doing work...');
          return 'done';
        },
      });

      const result = await mainTask.trigger();
      // Setting up... → Doing work... → Cleaning up...

      assert.equal(result, 'done');
      assert.deepEqual(lines, ['Setting up...', 'Doing work...', 'Cleaning up...']);
    });
  });

  describe('One-Time Setup Functions', () => {
    test('taskSetup runs once, before the first run, and its value is the task function’s second argument', async () => {
      const queries: string[] = [];
      let poolsCreated = 0;
      class ConnectionPool {
        async query(sql: string) {
          queries.push(sql);
          return [`rows of ${sql}`];
        }
      }
      const createConnectionPool = async () => {
        await tick();
        poolsCreated++;
        return new ConnectionPool();
      };
      const poolsSeen: ConnectionPool[] = [];

      const task = new Task({
        name: 'DBQuery',
        taskSetup: async () => {
          const pool = await createConnectionPool();
          return pool; // This becomes `setupValue`
        },
        taskFunction: async (input, pool) => {
          poolsSeen.push(pool);
          return await pool.query(input);
        },
      });

      assert.equal(poolsCreated, 0, 'setup does not run before the first trigger');
      const users = await task.trigger('SELECT * FROM users'); // Setup runs here
      assert.equal(poolsCreated, 1);
      const orders = await task.trigger('SELECT * FROM orders'); // Setup skipped, pool reused

      assert.equal(poolsCreated, 1, 'setup ran once');
      assert.equal(poolsSeen.length, 2);
      assert.ok(poolsSeen[0] instanceof ConnectionPool);
      assert.equal(poolsSeen[0], poolsSeen[1], 'the same pool is reused');
      assert.deepEqual(queries, ['SELECT * FROM users', 'SELECT * FROM orders']);
      assert.deepEqual(users, ['rows of SELECT * FROM users']);
      assert.deepEqual(orders, ['rows of SELECT * FROM orders']);
    });
  });

  describe('Database Migration Pipeline', () => {
    function createMigration(options: { migrationError?: Error }) {
      const steps: string[] = [];
      const step = (name: string, fail?: Error) =>
        new Task({
          name,
          taskFunction: async () => {
            await tick();
            steps.push(name);
            if (fail) throw fail;
          },
        });
      const backupTask = step('Backup');
      const validateSchemaTask = step('ValidateSchema');
      const runMigrationsTask = step('RunMigrations', options.migrationError);
      const verifyIntegrityTask = step('VerifyIntegrity');
      const rollbackTask = step('Rollback');

      const migration = new Taskchain({
        name: 'DatabaseMigration',
        taskArray: [backupTask, validateSchemaTask, runMigrationsTask, verifyIntegrityTask],
      });
      return { migration, rollbackTask, steps };
    }

    async function runMigration(migration: Taskchain, rollbackTask: Task, console: Pick<Console, 'log' | 'error'>) {
      try {
        await migration.trigger();
        console.log('Migration successful!');
      } catch (error) {
        // error includes chain name, failing task name, index, and original cause
        console.error((error as Error).message);
        await rollbackTask.trigger();
        return error;
      }
      return undefined;
    }

    test('a migration whose tasks all succeed runs them in order and does not roll back', async () => {
      const { console, lines, errors } = captureConsole();
      const { migration, rollbackTask, steps } = createMigration({});

      const error = await runMigration(migration, rollbackTask, console);

      assert.equal(error, undefined);
      assert.deepEqual(steps, ['Backup', 'ValidateSchema', 'RunMigrations', 'VerifyIntegrity']);
      assert.deepEqual(lines, ['Migration successful!']);
      assert.deepEqual(errors, []);
    });

    test('a failing migration stops the chain, reports chain, task, index and cause, and the rollback runs', async () => {
      const { console, lines, errors } = captureConsole();
      const original = new Error('column "email" already exists');
      const { migration, rollbackTask, steps } = createMigration({ migrationError: original });

      const error = await runMigration(migration, rollbackTask, console);

      assert.ok(error instanceof Error);
      assert.equal(error.cause, original, 'the original error is the cause');
      assert.deepEqual(steps, ['Backup', 'ValidateSchema', 'RunMigrations', 'Rollback']);
      assert.deepEqual(lines, [], 'success is not reported');
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /DatabaseMigration/, 'names the chain');
      assert.match(errors[0]!, /RunMigrations/, 'names the failing task');
      assert.match(errors[0]!, /index\D{0,3}2\b/i, 'gives the failing task’s index');
    });
  });
});
