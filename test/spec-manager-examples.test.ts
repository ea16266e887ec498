/**
 * The TaskManager examples of the API contract (the taskbuffer README sections "Task
 * Constraints", "Filtering Tasks by Label", "Aggregated Events", "TaskManager —
 * Centralized Orchestration" and "Distributed Coordination"), run nearly as written.
 * Helpers the README leaves undefined (acme, sendToMonitoringDashboard, the task bodies)
 * are small local fakes that record what happens, so each test can check what the README
 * says about the example. The examples run on a fake clock (fake-clock.ts): work that takes
 * time, cooldowns and cron ticks happen at exact times, without waiting for them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Task,
  TaskConstraintGroup,
  TaskManager,
  distributedCoordination,
  type ITaskEvent,
  type ITaskMetadata,
} from '../ts/index.js';
import { useFakeClock, type FakeClock } from './fake-clock.js';
import { managerFor, RunRecorder, within } from './manager-helpers.js';
import { deferred, flush, track, type Deferred } from './rule-helpers.js';

// ---------------------------------------------------------------------------------------
// Task Constraints
// ---------------------------------------------------------------------------------------

describe('Task Constraints', () => {
  test('Per-Key Mutual Exclusion: task2 waits until task1 finishes because both have the key a.com', async (t) => {
    const clock = useFakeClock(t);
    const recorder = new RunRecorder();
    const updateDns = async (label: string) => {
      const end = recorder.begin(label, 'a.com');
      await clock.sleep(30);
      end();
    };

    const manager = new TaskManager();
    t.after(() => manager.stop());
    // Only one DNS update per domain at a time
    const domainMutex = new TaskConstraintGroup<{ domain: string }>({
      name: 'domain-mutex',
      maxConcurrent: 1,
      constraintKeyForExecution: (task, input?) => task.data.domain,
    });
    manager.addConstraintGroup(domainMutex);
    const task1 = new Task<undefined, [], { domain: string }>({
      name: 'update-a.com',
      data: { domain: 'a.com' },
      taskFunction: async () => { await updateDns('task1'); /* update DNS for a.com */ },
    });
    const task2 = new Task<undefined, [], { domain: string }>({
      name: 'update-a.com-2',
      data: { domain: 'a.com' },
      taskFunction: async () => { await updateDns('task2'); /* another update for a.com */ },
    });
    manager.addTask(task1);
    manager.addTask(task2);
    // task2 waits until task1 finishes (same domain key)
    await clock.settle(Promise.all([
      manager.triggerTask(task1),
      manager.triggerTask(task2),
    ]));

    assert.deepEqual(recorder.startOrder, ['task1', 'task2']);
    assert.equal(recorder.maxConcurrent('a.com'), 1);
    assert.equal(recorder.run('task1').end, 30);
    assert.equal(recorder.run('task2').start, 30, 'task2 starts the moment task1 ends');
    assert.equal(domainMutex.getRunningCount('a.com'), 0);
  });

  test('Group Concurrency Limits: at most 3 dns tasks run at once, and tasks with a null key are not limited', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    // Max 3 DNS updaters running globally at once
    const dnsLimit = new TaskConstraintGroup<{ group: string }>({
      name: 'dns-concurrency',
      maxConcurrent: 3,
      constraintKeyForExecution: (task) =>
        task.data.group === 'dns' ? 'dns' : null, // null = skip constraint
    });
    manager.addConstraintGroup(dnsLimit);

    const makeTask = (name: string, group: string) => new Task<undefined, [], { group: string }>({
      name,
      data: { group },
      taskFunction: async () => {
        const end = recorder.begin(name, group);
        await clock.sleep(60);
        end();
      },
    });
    const dnsTasks = Array.from({ length: 7 }, (_, i) => makeTask(`dns-${i}`, 'dns'));
    const webTasks = Array.from({ length: 5 }, (_, i) => makeTask(`web-${i}`, 'web'));
    const all = [...dnsTasks.map((task) => manager.triggerTask(task)), ...webTasks.map((task) => manager.triggerTask(task))];
    await flush();
    assert.equal(recorder.active('dns'), 3);
    assert.equal(recorder.active('web'), 5, 'tasks outside the group start at once');
    await clock.settle(Promise.all(all), 'all runs');
    assert.equal(recorder.maxConcurrent('dns'), 3);
    assert.equal(recorder.runs.length, 12);
    assert.deepEqual(dnsTasks.map((task) => recorder.run(task.name!).start), [0, 0, 0, 60, 60, 60, 120], 'three at a time, each batch when the last one ends');
  });

  test('Cooldowns: a second call for the same domain waits for the 11 s cooldown while other domains run', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    // No more than one API call per domain every 11 seconds
    const rateLimiter = new TaskConstraintGroup<{ domain: string }>({
      name: 'api-rate-limit',
      maxConcurrent: 1,
      cooldownMs: 11000,
      constraintKeyForExecution: (task) => task.data.domain,
    });
    manager.addConstraintGroup(rateLimiter);

    const apiCall = (domain: string) => new Task<undefined, [], { domain: string }>({
      name: `api-${domain}`,
      data: { domain },
      taskFunction: async () => { recorder.begin(domain)(); return domain; },
    });
    const aCom = apiCall('a.com');
    const bCom = apiCall('b.com');
    assert.equal(await manager.triggerTask(aCom), 'a.com');
    const second = track(manager.triggerTask(aCom));
    assert.equal(await within(manager.triggerTask(bCom), 'another domain'), 'b.com');
    await clock.advance(3000);
    assert.equal(second.current.state, 'pending', 'the second a.com call waits for the cooldown');
    assert.equal(rateLimiter.getCooldownRemaining('a.com'), 8000);
    assert.equal(rateLimiter.canRun('a.com'), false);
    assert.deepEqual(recorder.startOrder, ['a.com', 'b.com']);

    // reset() clears the state, so the waiting call may start now.
    rateLimiter.reset();
    await flush();
    assert.deepEqual(second.current, { state: 'fulfilled', value: 'a.com' });
    assert.equal(recorder.runs[2]!.start, 3000, 'it starts at the reset, not when the cooldown would have ended');
  });

  test('Global Concurrency Cap: at most 10 tasks run at once system-wide', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    const globalCap = new TaskConstraintGroup({
      name: 'global-cap',
      maxConcurrent: 10,
      constraintKeyForExecution: () => 'all', // same key = shared limit
    });
    manager.addConstraintGroup(globalCap);

    const tasks = Array.from({ length: 25 }, (_, i) => new Task({
      name: `job-${i}`,
      taskFunction: async () => {
        const end = recorder.begin(`job-${i}`);
        await clock.sleep(5 + (i % 4) * 5);
        end();
        return i;
      },
    }));
    const results = await clock.settle(Promise.all(tasks.map((task) => manager.triggerTask(task))), 'all jobs');
    assert.deepEqual(results, tasks.map((_, i) => i));
    assert.equal(recorder.maxConcurrent(), 10);
    assert.equal(globalCap.getRunningCount('all'), 0);
  });

  test('Composing Multiple Constraints: a task starts only when the global cap, the domain mutex and the cooldown all allow it', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    const globalCap = new TaskConstraintGroup({
      name: 'global-cap',
      maxConcurrent: 10,
      constraintKeyForExecution: () => 'all',
    });
    const domainMutex = new TaskConstraintGroup<{ domain: string }>({
      name: 'domain-mutex',
      maxConcurrent: 1,
      constraintKeyForExecution: (task, input?) => task.data.domain,
    });
    const rateLimiter = new TaskConstraintGroup<{ domain: string }>({
      name: 'api-rate-limit',
      maxConcurrent: 1,
      cooldownMs: 11000,
      constraintKeyForExecution: (task) => task.data.domain,
    });
    const gates = new Map<string, Deferred<void>>();
    const domainTask = (name: string, domain: string) => new Task<undefined, [], { domain: string }>({
      name,
      data: { domain },
      taskFunction: async () => {
        const end = recorder.begin(name, domain);
        await gates.get(name)?.promise;
        end();
        return name;
      },
    });

    manager.addConstraintGroup(globalCap); // max 10 globally
    manager.addConstraintGroup(domainMutex); // max 1 per domain
    manager.addConstraintGroup(rateLimiter); // 11s cooldown per domain

    // Ten long runs on other domains fill the global cap.
    const fillers = Array.from({ length: 10 }, (_, i) => {
      gates.set(`filler-${i}`, deferred());
      return manager.triggerTask(domainTask(`filler-${i}`, `d${i}.com`));
    });
    await flush();
    assert.equal(recorder.runs.length, 10);

    const dnsTask = domainTask('dns-task', 'example.com');
    // A task must satisfy ALL three constraints before it starts
    const first = track(manager.triggerTask(dnsTask));
    await clock.advance(20);
    assert.equal(recorder.started('dns-task'), false, 'the global cap is full');
    gates.get('filler-0')!.resolve();
    await flush();
    assert.deepEqual(first.current, { state: 'fulfilled', value: 'dns-task' }, 'dns-task runs once a slot of the global cap is free');

    // Now the domain is cooling down: the next run of it waits although the cap has room.
    const again = track(manager.triggerTask(dnsTask));
    const otherDomain = manager.triggerTask(domainTask('other-domain', 'example.org'));
    assert.equal(await within(otherDomain, 'a task for another domain'), 'other-domain');
    await clock.advance(1000);
    assert.equal(again.current.state, 'pending', 'example.com is in its 11 s cooldown');
    assert.equal(rateLimiter.getCooldownRemaining('example.com'), 10_000);

    for (const gate of gates.values()) gate.resolve();
    await within(Promise.all(fillers), 'the filler runs');
    rateLimiter.reset();
    await flush();
    assert.deepEqual(again.current, { state: 'fulfilled', value: 'dns-task' }, 'the second dns-task run starts after reset()');
    assert.ok(recorder.maxConcurrent() <= 10);
  });

  test('Selective Constraints: low-priority tasks share a cap of 2, high-priority tasks are exempt (null key)', async (t) => {
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    const constraint = new TaskConstraintGroup<{ priority: string }>({
      name: 'low-priority-limit',
      maxConcurrent: 2,
      constraintKeyForExecution: (task) =>
        task.data.priority === 'low' ? 'low-priority' : null, // high priority tasks skip this constraint
    });
    manager.addConstraintGroup(constraint);
    assert.equal(constraint.getConstraintKey(new Task<undefined, [], { priority: string }>({ data: { priority: 'high' }, taskFunction: async () => {} })), null);

    const gate = deferred();
    const make = (name: string, priority: string) => new Task<undefined, [], { priority: string }>({
      name,
      data: { priority },
      taskFunction: async () => {
        const end = recorder.begin(name, priority);
        await gate.promise;
        end();
      },
    });
    const runs = [
      ...Array.from({ length: 5 }, (_, i) => manager.triggerTask(make(`low-${i}`, 'low'))),
      ...Array.from({ length: 4 }, (_, i) => manager.triggerTask(make(`high-${i}`, 'high'))),
    ];
    await flush();
    assert.equal(recorder.active('low'), 2);
    assert.equal(recorder.active('high'), 4);
    gate.resolve();
    await within(Promise.all(runs), 'all runs');
    assert.equal(recorder.maxConcurrent('low'), 2);
    assert.equal(recorder.runs.length, 9);
  });

  describe('Input-Aware Constraints', () => {
    const extractTLD = (domain: string) => {
      const parts = domain.split('.');
      return parts.slice(-2).join('.');
    };

    test('the same task with inputs of the same TLD serializes, and an input of another TLD runs in parallel', async (t) => {
      const manager = managerFor(t);
      const recorder = new RunRecorder();
      const gates = new Map<string, Deferred<void>>();
      for (const domain of ['app.example.com', 'api.example.com', 'my.other.org']) gates.set(domain, deferred());
      const getCert = new Task({
        name: 'get-certificate',
        taskFunction: async (domain: string) => {
          const end = recorder.begin(domain, extractTLD(domain));
          await gates.get(domain)!.promise;
          end();
          return `cert for ${domain}`;
        },
      });
      manager.addTask(getCert);

      // Same TLD → serialized. Different TLDs → parallel.
      const tldMutex = new TaskConstraintGroup({
        name: 'tld-mutex',
        maxConcurrent: 1,
        constraintKeyForExecution: (task, input?: string) => {
          if (!input) return null;
          return extractTLD(input); // "example.com", "other.org", etc.
        },
      });
      manager.addConstraintGroup(tldMutex);
      // These two serialize (same TLD "example.com")
      const p1 = manager.triggerTaskConstrained(getCert, 'app.example.com');
      const p2 = manager.triggerTaskConstrained(getCert, 'api.example.com');
      // This runs in parallel (different TLD "other.org")
      const p3 = manager.triggerTaskConstrained(getCert, 'my.other.org');

      await flush();
      assert.deepEqual(recorder.startOrder, ['app.example.com', 'my.other.org']);
      assert.equal(tldMutex.getRunningCount('example.com'), 1);
      assert.equal(tldMutex.getRunningCount('other.org'), 1);
      gates.get('my.other.org')!.resolve();
      assert.equal(await p3, 'cert for my.other.org');
      assert.equal(recorder.started('api.example.com'), false, 'p2 still waits for p1');
      gates.get('app.example.com')!.resolve();
      assert.equal(await p1, 'cert for app.example.com');
      await flush();
      assert.equal(recorder.started('api.example.com'), true, 'p2 starts once p1 is done');
      gates.get('api.example.com')!.resolve();
      assert.equal(await p2, 'cert for api.example.com');
      assert.equal(recorder.maxConcurrent('example.com'), 1);
      assert.ok(recorder.run('api.example.com').start >= recorder.run('app.example.com').end!);
      // Without input the group does not apply.
      assert.equal(tldMutex.getConstraintKey(getCert), null);
    });

    test('a composite key from task.data and input: same provider and input serialize, others run in parallel', async (t) => {
      const manager = managerFor(t);
      const recorder = new RunRecorder();
      const providerDomain = new TaskConstraintGroup<{ provider: string }>({
        name: 'provider-domain',
        maxConcurrent: 1,
        constraintKeyForExecution: (task, input?: string) => {
          return `${task.data.provider}:${input || 'default'}`;
        },
      });
      manager.addConstraintGroup(providerDomain);
      const gate = deferred();
      const make = (provider: string) => new Task<undefined, [], { provider: string }, string | undefined>({
        name: `dns-${provider}`,
        data: { provider },
        taskFunction: async (input?: string) => {
          const key = `${provider}:${input || 'default'}`;
          const end = recorder.begin(key, key);
          await gate.promise;
          end();
        },
      });
      const aws = make('aws');
      const gcp = make('gcp');
      assert.equal(providerDomain.getConstraintKey(aws, 'a.com'), 'aws:a.com');
      assert.equal(providerDomain.getConstraintKey(aws), 'aws:default');
      const runs = [
        manager.triggerTaskConstrained(aws, 'a.com'),
        manager.triggerTaskConstrained(aws, 'a.com'),
        manager.triggerTaskConstrained(aws, 'b.com'),
        manager.triggerTaskConstrained(gcp, 'a.com'),
        manager.triggerTaskConstrained(aws),
      ];
      await flush();
      assert.deepEqual(recorder.startOrder, ['aws:a.com', 'aws:b.com', 'gcp:a.com', 'aws:default']);
      gate.resolve();
      await within(Promise.all(runs), 'all runs');
      assert.equal(recorder.runs.length, 5);
      assert.equal(recorder.maxConcurrent('aws:a.com'), 1);
    });

    test('shouldExecute: the queued call for a TLD already covered by a wildcard is skipped (undefined); the other TLD runs in parallel', async (t) => {
      const clock = useFakeClock(t);
      const manager = managerFor(t);
      const recorder = new RunRecorder();
      const releaseFirst = deferred();
      const acme = {
        calls: [] as string[],
        async getCert(domain: string) {
          this.calls.push(domain);
          const end = recorder.begin(domain);
          if (domain === 'app.example.com') await releaseFirst.promise;
          else await clock.sleep(5);
          end();
          return { domain, isWildcard: domain.endsWith('example.com') };
        },
      };

      const certCache = new Map<string, string>();
      const certConstraint = new TaskConstraintGroup({
        name: 'cert-mutex',
        maxConcurrent: 1,
        constraintKeyForExecution: (task, input?: string) => {
          if (!input) return null;
          return extractTLD(input);
        },
        shouldExecute: (task, input?: string) => {
          if (!input) return true;
          // Skip if a wildcard cert already covers this TLD
          return certCache.get(extractTLD(input)) !== 'wildcard';
        },
      });
      const getCert = new Task({
        name: 'get-certificate',
        taskFunction: async (domain: string) => {
          const cert = await acme.getCert(domain);
          if (cert.isWildcard) certCache.set(extractTLD(domain), 'wildcard');
          return cert;
        },
      });
      manager.addConstraintGroup(certConstraint);
      manager.addTask(getCert);
      const r1 = manager.triggerTaskConstrained(getCert, 'app.example.com'); // runs, gets wildcard
      const r2 = manager.triggerTaskConstrained(getCert, 'api.example.com'); // queued → skipped!
      const r3 = manager.triggerTaskConstrained(getCert, 'my.other.org'); // parallel (different TLD)

      // r3 finishes while r1 is still running: the two run in parallel.
      const third = await clock.settle(r3, 'r3');
      assert.deepEqual(third, { domain: 'my.other.org', isWildcard: false });
      assert.equal(recorder.active(), 1, 'r1 is still running');
      releaseFirst.resolve();

      const [cert1, cert2, cert3] = await Promise.all([r1, r2, r3]);
      // cert2 === undefined (skipped because wildcard already covers example.com)
      assert.equal(cert2, undefined);
      assert.deepEqual(cert1, { domain: 'app.example.com', isWildcard: true });
      assert.deepEqual(cert3, { domain: 'my.other.org', isWildcard: false });
      assert.deepEqual(acme.calls.sort(), ['app.example.com', 'my.other.org'], 'the skipped call never reached acme');
      assert.equal(getCert.runCount, 2);
      assert.equal(certConstraint.getRunningCount('example.com'), 0);
    });
  });
});

// ---------------------------------------------------------------------------------------
// Labels and events
// ---------------------------------------------------------------------------------------

describe('Filtering Tasks by Label in TaskManager', () => {
  test('getTasksByLabel returns orderTask1 and orderTask3 for tenant acme; getTasksMetadataByLabel their metadata', (t) => {
    const orderTask1 = new Task({ name: 'order-1', labels: { tenantId: 'acme' }, taskFunction: async () => {} });
    const orderTask2 = new Task({ name: 'order-2', labels: { tenantId: 'globex' }, taskFunction: async () => {} });
    const orderTask3 = new Task({ name: 'order-3', labels: { tenantId: 'acme' }, taskFunction: async () => {} });

    const manager = new TaskManager();
    t.after(() => manager.stop());
    manager.addTask(orderTask1); // labels: { tenantId: 'acme' }
    manager.addTask(orderTask2); // labels: { tenantId: 'globex' }
    manager.addTask(orderTask3); // labels: { tenantId: 'acme' }
    const acmeTasks = manager.getTasksByLabel('tenantId', 'acme');
    // → [orderTask1, orderTask3]
    const acmeMetadata = manager.getTasksMetadataByLabel('tenantId', 'acme');
    // → [ITaskMetadata, ITaskMetadata]

    assert.deepEqual(acmeTasks, [orderTask1, orderTask3]);
    assert.equal(acmeMetadata.length, 2);
    assert.deepEqual(acmeMetadata.map((m: ITaskMetadata) => [m.name, m.labels]), [
      ['order-1', { tenantId: 'acme' }],
      ['order-3', { tenantId: 'acme' }],
    ]);
  });
});

describe('Aggregated Events on TaskManager', () => {
  function createTasks() {
    const make = (name: string) => new Task({ name, taskFunction: async () => name });
    return { syncTask: make('sync'), reportTask: make('report'), cleanupTask: make('cleanup') };
  }

  test('one subscription gets the events of all added tasks; events stop flowing for a task after removeTask', async (t) => {
    const { syncTask, reportTask, cleanupTask } = createTasks();
    const dashboard: ITaskEvent[] = [];
    const sendToMonitoringDashboard = (event: ITaskEvent) => dashboard.push(event);
    const seen = () => dashboard.map((event) => `${event.task.name}:${event.type}`);

    const manager = new TaskManager();
    t.after(() => manager.stop());
    manager.addTask(syncTask);
    manager.addTask(reportTask);
    manager.addTask(cleanupTask);
    // Single subscription for ALL task events
    manager.taskSubject.subscribe((event) => {
      sendToMonitoringDashboard(event);
    });

    await manager.triggerTask(syncTask);
    await manager.triggerTaskByName('report');
    await cleanupTask.trigger();
    assert.deepEqual(seen(), ['sync:started', 'sync:completed', 'report:started', 'report:completed', 'cleanup:started', 'cleanup:completed']);
    for (const event of dashboard) {
      assert.equal(typeof event.timestamp, 'number');
      assert.equal(typeof event.task.status, 'string');
    }

    // Events stop flowing for a task after removal
    manager.removeTask(syncTask);
    dashboard.length = 0;
    await syncTask.trigger();
    await reportTask.trigger();
    assert.deepEqual(seen(), ['report:started', 'report:completed']);
  });

  test('manager.stop() ends the forwarding of every task’s events', async (t) => {
    const { syncTask, reportTask, cleanupTask } = createTasks();
    const manager = managerFor(t);
    manager.addTask(syncTask);
    manager.addTask(reportTask);
    manager.addTask(cleanupTask);
    const events: ITaskEvent[] = [];
    manager.taskSubject.subscribe((event) => events.push(event));
    await manager.start();
    await syncTask.trigger();
    assert.equal(events.length, 2);
    await manager.stop();
    events.length = 0;
    await syncTask.trigger();
    await reportTask.trigger();
    await cleanupTask.trigger();
    assert.deepEqual(events, []);
  });
});

// ---------------------------------------------------------------------------------------
// TaskManager — Centralized Orchestration
// ---------------------------------------------------------------------------------------

describe('TaskManager — Centralized Orchestration', () => {
  /** The example's tasks; the ones that take time take it on `clock`. */
  function createTasks(clock: FakeClock) {
    const dataProcessor = new Task({ name: 'DataProcessor', taskFunction: async (rows?: number[]) => (rows ?? []).length });
    const deployTask = new Task({
      name: 'Deploy',
      labels: { env: 'production' },
      data: { domain: 'example.com' },
      steps: [
        { name: 'build', description: 'Building', percentage: 40 },
        { name: 'ship', description: 'Shipping', percentage: 60 },
      ] as const,
      taskFunction: async () => {
        deployTask.notifyStep('build');
        await clock.sleep(1);
        deployTask.notifyStep('ship');
        return 'deployed';
      },
    });
    const backupTask = new Task({ name: 'Backup', taskFunction: async () => 'backed up' });
    const healthCheck = new Task({ name: 'HealthCheck', taskFunction: async () => 'healthy' });
    const temporaryTask = new Task({
      name: 'TempTask',
      steps: [
        { name: 'step1', description: 'First', percentage: 50 },
        { name: 'step2', description: 'Second', percentage: 50 },
      ] as const,
      taskFunction: async () => {
        temporaryTask.notifyStep('step1');
        await clock.sleep(5);
        temporaryTask.notifyStep('step2');
        await clock.sleep(5);
        return { answer: 42 };
      },
    });
    const globalCap = new TaskConstraintGroup({ name: 'global-cap', maxConcurrent: 10, constraintKeyForExecution: () => 'all' });
    const perDomainMutex = new TaskConstraintGroup<{ domain?: string }>({
      name: 'domain-mutex',
      maxConcurrent: 1,
      constraintKeyForExecution: (task) => task.data.domain ?? null,
    });
    return { dataProcessor, deployTask, backupTask, healthCheck, temporaryTask, globalCap, perDomainMutex };
  }

  test('the orchestration example: metadata, schedules, trigger by name, the one-shot report, start and stop', async (t) => {
    const clock = useFakeClock(t, { start: 1_700_000_000_000 });
    const { dataProcessor, deployTask, backupTask, healthCheck, temporaryTask, globalCap, perDomainMutex } = createTasks(clock);

    const manager = new TaskManager();
    t.after(() => manager.stop());
    // Add tasks
    manager.addTask(dataProcessor);
    manager.addTask(deployTask);
    // Schedule with cron expressions
    manager.addAndScheduleTask(backupTask, '0 2 * * *'); // Daily at 2 AM
    manager.addAndScheduleTask(healthCheck, '*/5 * * * *'); // Every 5 minutes
    // Register constraint groups
    manager.addConstraintGroup(globalCap);
    manager.addConstraintGroup(perDomainMutex);
    assert.deepEqual(manager.constraintGroups, [globalCap, perDomainMutex]);

    // Three earlier deployments, so the metadata looks like the README's.
    for (let i = 0; i < 3; i++) assert.equal(await clock.settle(manager.triggerTaskByName('Deploy')), 'deployed');

    // Query metadata
    const meta = manager.getTaskMetadata('Deploy');
    assert.ok(meta);
    assert.equal(meta.name, 'Deploy');
    assert.equal(meta.status, 'completed');
    assert.deepEqual(meta.steps.map((step) => [step.name, step.status]), [['build', 'completed'], ['ship', 'completed']]);
    assert.equal(meta.currentProgress, 100);
    assert.equal(meta.runCount, 3);
    assert.deepEqual(meta.labels, { env: 'production' });
    assert.equal(meta.lastError, undefined);
    assert.equal(meta.errorCount, 0);

    // All tasks at once
    const allMeta = manager.getAllTasksMetadata();
    assert.deepEqual(allMeta.map((m) => m.name).sort(), ['Backup', 'DataProcessor', 'Deploy', 'HealthCheck']);

    // Scheduled task info
    const scheduled = manager.getScheduledTasks();
    assert.deepEqual(scheduled.map((s) => [s.name, s.schedule]).sort(), [['Backup', '0 2 * * *'], ['HealthCheck', '*/5 * * * *']]);
    const nextRuns = manager.getNextScheduledRuns(5);
    assert.equal(nextRuns.length, 2);
    assert.ok(nextRuns[0]!.nextRun.getTime() <= nextRuns[1]!.nextRun.getTime());
    for (const run of nextRuns) assert.equal(run.nextRun.getTime() % 1000, 0);

    // Trigger by name (routes through constraints)
    await clock.settle(manager.triggerTaskByName('Deploy'));
    assert.equal(manager.getTaskMetadata('Deploy')!.runCount, 4);

    // One-shot: add, execute, collect report, remove
    const before = clock.now();
    const report = await clock.settle(manager.addExecuteRemoveTask(temporaryTask));
    assert.equal(report.taskName, 'TempTask');
    assert.equal(report.startTime, before);
    assert.equal(report.endTime, before + 10, 'the run sleeps twice 5 ms');
    assert.equal(report.duration, 10);
    assert.deepEqual(report.steps.map((step) => [step.name, step.status]), [['step1', 'completed'], ['step2', 'completed']]);
    assert.deepEqual(report.stepsCompleted, ['step1', 'step2']);
    assert.equal(report.progress, 100);
    assert.deepEqual(report.result, { answer: 42 });
    assert.equal(manager.getTaskByName('TempTask'), undefined, 'the one-shot task is removed again');

    // Lifecycle
    await manager.start(); // Starts cron scheduling + distributed coordinator
    await manager.stop(); // Stops scheduling, cleans up event subscriptions
  });

  test('the metadata of a task that has never run, and of an unknown name', (t) => {
    const { deployTask } = createTasks(useFakeClock(t));
    const manager = managerFor(t);
    manager.addTask(deployTask);
    const meta = manager.getTaskMetadata('Deploy')!;
    assert.equal(meta.status, 'idle');
    assert.equal(meta.runCount, 0);
    assert.equal(meta.errorCount, 0);
    assert.equal(meta.currentProgress, 0);
    assert.deepEqual(meta.steps.map((step) => step.status), ['pending', 'pending']);
    assert.equal(manager.getTaskMetadata('NoSuchTask'), null);
  });

  test('Remove Tasks: removeTask unregisters and unsubscribes; descheduleTaskByName removes only the schedule', async (t) => {
    const { deployTask, backupTask } = createTasks(useFakeClock(t));
    const manager = managerFor(t);
    manager.addAndScheduleTask(deployTask, '0 3 * * *');
    manager.addTask(backupTask);
    const events: ITaskEvent[] = [];
    manager.taskSubject.subscribe((event) => events.push(event));

    manager.removeTask(backupTask); // Removes from map and unsubscribes event forwarding
    assert.equal(manager.getTaskByName('Backup'), undefined);
    assert.equal(manager.taskMap.checkForObject(backupTask), false);
    await backupTask.trigger();
    assert.deepEqual(events, []);

    manager.descheduleTaskByName('Deploy'); // Remove cron schedule only
    assert.deepEqual(manager.getScheduledTasks(), []);
    assert.equal(manager.getTaskByName('Deploy'), deployTask);
  });

  test('Remove Constraint Groups: removeConstraintGroup by name stops the group from applying', async (t) => {
    const { perDomainMutex } = createTasks(useFakeClock(t));
    const manager = managerFor(t);
    manager.addConstraintGroup(perDomainMutex);
    manager.removeConstraintGroup('domain-mutex'); // By name
    assert.deepEqual(manager.constraintGroups, []);
    const recorder = new RunRecorder();
    const gate = deferred();
    const make = (name: string) => new Task<undefined, [], { domain?: string }>({
      name,
      data: { domain: 'same.com' },
      taskFunction: async () => { const end = recorder.begin(name); await gate.promise; end(); },
    });
    const runs = [manager.triggerTask(make('a')), manager.triggerTask(make('b'))];
    await flush();
    assert.equal(recorder.active(), 2, 'both run at once without the mutex');
    gate.resolve();
    await Promise.all(runs);
  });
});

// ---------------------------------------------------------------------------------------
// Distributed Coordination
// ---------------------------------------------------------------------------------------

type IDistributedTaskRequest = distributedCoordination.IDistributedTaskRequest;

// The README's class, word for word. The README leaves the `request` parameters untyped,
// and TypeScript never types a method's parameters from its base class, so under this
// project's `noImplicitAny` each of those two lines reports TS7006 (implicit any); that,
// and nothing else, is what the two @ts-expect-error comments accept. (Compiled without
// noImplicitAny, the README text has no error at all.)
class RedisCoordinator extends distributedCoordination.AbstractDistributedCoordinator {
  // @ts-expect-error TS7006: parameter 'request' implicitly has an 'any' type
  async fireDistributedTaskRequest(request) {
    // Implement leader election / distributed lock via Redis
    return { shouldTrigger: true, considered: true, rank: 1, reason: 'elected', ...request };
  }
  // @ts-expect-error TS7006: parameter 'request' implicitly has an 'any' type
  async updateDistributedTaskRequest(request) {
    /* update status */
  }
  async start() {
    /* connect */
  }
  async stop() {
    /* disconnect */
  }
}

/** The README's coordinator, recording what it is asked and told (in order). */
class RecordingCoordinator extends RedisCoordinator {
  readonly calls: string[] = [];
  readonly requests: IDistributedTaskRequest[] = [];
  readonly updates: IDistributedTaskRequest[] = [];

  override async fireDistributedTaskRequest(request: IDistributedTaskRequest): Promise<distributedCoordination.IDistributedTaskRequestResult> {
    this.calls.push('fire');
    this.requests.push(request);
    return super.fireDistributedTaskRequest(request);
  }
  override async updateDistributedTaskRequest(request: IDistributedTaskRequest) {
    this.calls.push('update');
    this.updates.push(request);
    return super.updateDistributedTaskRequest(request);
  }
  override async start() {
    this.calls.push('start');
    return super.start();
  }
  override async stop() {
    this.calls.push('stop');
    return super.stop();
  }
}

/** A quarter of a second past a whole second, so a per-second schedule first ticks 750 ms after start(). */
const START = Date.UTC(2030, 0, 1, 12, 0, 0, 250);
const FIRST_TICK = START + 750;

describe('Distributed Coordination', () => {
  test('a cron-fired run asks the coordinator, runs when elected, and reports the outcome for the same tick', async (t) => {
    const clock = useFakeClock(t, { start: START });
    const runs: number[] = [];
    const task = new Task({ name: 'report', taskFunction: async () => { runs.push(clock.now()); return 'done'; } });

    const log = new RecordingCoordinator(); // the README's RedisCoordinator, recording
    const manager = new TaskManager({
      distributedCoordinator: log,
    });
    t.after(() => manager.stop());
    manager.addAndScheduleTask(task, '* * * * * *');
    await manager.start();
    assert.deepEqual(log.calls, ['start']);
    await clock.advance(749);
    assert.deepEqual(log.calls, ['start'], 'nothing fires before the first tick');
    await clock.advance(1);
    assert.equal(log.updates.length, 1, 'the first tick ran and its outcome was reported');

    const request = log.requests[0]!;
    assert.equal(request.taskName, 'report');
    assert.equal(request.instanceId, manager.instanceId);
    assert.equal(typeof request.instanceId, 'string');
    assert.ok(request.instanceId.length > 0);
    assert.equal(request.scheduledAt, FIRST_TICK, 'scheduledAt is the tick’s exact second');
    assert.deepEqual(runs, [FIRST_TICK], 'the run happens at its tick');
    assert.equal(manager.getScheduledTasks()[0]!.lastRun!.getTime(), FIRST_TICK, 'scheduledAt is the instant of the tick that fired (lastRun)');
    assert.doesNotThrow(() => JSON.stringify(request));

    assert.deepEqual(log.calls.slice(0, 3), ['start', 'fire', 'update'], 'asked before, told after the run');
    const update = log.updates[0]!;
    assert.equal(update.taskName, 'report');
    assert.equal(update.scheduledAt, request.scheduledAt);
    assert.equal(update.instanceId, request.instanceId);
    assert.equal(update.requestId, request.requestId);
    assert.equal(update.status, 'succeeded');

    await manager.stop();
    assert.equal(log.calls.at(-1), 'stop');
  });

  test('a cron-fired run does not run when the coordinator answers shouldTrigger false', async (t) => {
    const clock = useFakeClock(t, { start: START });
    class NotElected extends RecordingCoordinator {
      override async fireDistributedTaskRequest(request: IDistributedTaskRequest) {
        const answer = await super.fireDistributedTaskRequest(request);
        return { ...answer, shouldTrigger: false, rank: 2, reason: 'another instance holds the tick' };
      }
    }
    let runs = 0;
    const log = new NotElected();
    const manager = managerFor(t, { distributedCoordinator: log });
    manager.addAndScheduleTask(new Task({ name: 'report', taskFunction: async () => { runs++; } }), '* * * * * *');
    await manager.start();
    await clock.advance(750);
    assert.equal(log.requests.length, 1, 'the coordinator is asked at the first tick');
    assert.equal(log.requests[0]!.taskName, 'report');
    await clock.advance(5000);
    assert.equal(runs, 0, 'no tick runs the task');
  });

  test('the outcome of a failed cron run reaches updateDistributedTaskRequest with its error message', async (t) => {
    const clock = useFakeClock(t, { start: START });
    const log = new RecordingCoordinator();
    const manager = managerFor(t, { distributedCoordinator: log });
    manager.addAndScheduleTask(new Task({ name: 'flaky', taskFunction: async () => { throw new Error('disk full'); } }), '* * * * * *');
    await manager.start();
    await clock.advance(750);
    assert.equal(log.updates.length, 1, 'the outcome of the failed run is reported at the first tick');
    const update = log.updates[0]!;
    assert.equal(update.taskName, 'flaky');
    assert.equal(update.scheduledAt, log.requests[0]!.scheduledAt);
    assert.equal(update.status, 'failed');
    assert.match(update.error ?? '', /disk full/);
    assert.equal(manager.getTaskMetadata('flaky')!.lastError, 'disk full');
  });

  test('two instances fire the same tick with the same taskName and scheduledAt, so a coordinator can elect exactly one', async (t) => {
    const clock = useFakeClock(t, { start: START });
    const requests: IDistributedTaskRequest[] = [];
    const winners = new Map<string, string>();
    class ElectingCoordinator extends distributedCoordination.AbstractDistributedCoordinator {
      async fireDistributedTaskRequest(request: IDistributedTaskRequest) {
        requests.push(request);
        const tick = `${request.taskName}@${request.scheduledAt}`;
        if (!winners.has(tick)) winners.set(tick, request.instanceId);
        const shouldTrigger = winners.get(tick) === request.instanceId;
        return { ...request, shouldTrigger, considered: true, rank: shouldTrigger ? 1 : 2, reason: shouldTrigger ? 'elected' : 'taken' };
      }
      async updateDistributedTaskRequest() {}
      async start() {}
      async stop() {}
    }
    const coordinator = new ElectingCoordinator();
    const ranOn: string[] = [];
    const instances = ['node-a', 'node-b'].map((instanceId) => {
      const manager = managerFor(t, { distributedCoordinator: coordinator, instanceId });
      manager.addAndScheduleTask(new Task({ name: 'nightly', taskFunction: async () => { ranOn.push(instanceId); } }), '* * * * * *');
      return manager;
    });
    await Promise.all(instances.map((manager) => manager.start()));
    await clock.advance(750);
    await Promise.all(instances.map((manager) => manager.stop()));
    await clock.advance(5000);

    assert.equal(requests.length, 2, 'one tick, asked about by both instances, and none after stop()');
    const forTick = requests.filter((r) => r.scheduledAt === FIRST_TICK);
    assert.deepEqual(forTick.map((r) => r.instanceId).sort(), ['node-a', 'node-b']);
    assert.ok(forTick.every((r) => r.taskName === 'nightly'));
    assert.notEqual(forTick[0]!.requestId, forTick[1]!.requestId);
    // One run per tick, on the instance the coordinator elected for it.
    const won = (instance: string) => [...winners.values()].filter((winner) => winner === instance).length;
    assert.equal(ranOn.length, winners.size, `runs ${JSON.stringify(ranOn)} for ticks ${JSON.stringify([...winners])}`);
    assert.equal(ranOn.filter((i) => i === 'node-a').length, won('node-a'));
    assert.equal(ranOn.filter((i) => i === 'node-b').length, won('node-b'));
  });

  test('triggers by hand do not consult the coordinator', async (t) => {
    const log = new RecordingCoordinator();
    const manager = managerFor(t, { distributedCoordinator: log });
    manager.addTask(new Task({ name: 'manual', taskFunction: async () => 'ran' }));
    assert.equal(await manager.triggerTaskByName('manual'), 'ran');
    assert.deepEqual(log.calls, []);
  });
});
