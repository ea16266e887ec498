/**
 * Execution control in a TaskManager: priority among triggers waiting for the same slot,
 * cancellation while queued, running, waiting for shouldExecute or between retries,
 * timeouts that give the slot back, pause and resume of tasks and constraint groups, and
 * the draining stop(). Slot accounting is checked through the groups' getRunningCount.
 * Timeouts, retry delays and drains run on a fake clock (fake-clock.ts) and are checked to
 * the millisecond; a run that a release lets in is checked right after the release.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import {
  AbortError,
  InvalidOptionError,
  ShutdownError,
  Task,
  Taskchain,
  TaskConstraintGroup,
  TaskManager,
  Taskparallel,
  TimeoutError,
  type IConstraintGroupEvent,
  type ITaskEvent,
} from '../ts/index.js';
import { useFakeClock } from './fake-clock.js';
import { managerFor, rejectionOf, within } from './manager-helpers.js';
import { deferred, flush, track, type Deferred } from './rule-helpers.js';

interface IData {
  key: string | null;
}

/**
 * Task functions that record when they start and wait until the test releases them by
 * label (or forever, ignoring their signal, when never released).
 */
class Harness {
  readonly started: string[] = [];
  readonly signals = new Map<string, AbortSignal>();
  private readonly holds = new Map<string, Deferred<string>>();

  hold(label: string): Deferred<string> {
    let hold = this.holds.get(label);
    if (hold === undefined) this.holds.set(label, (hold = deferred<string>()));
    return hold;
  }

  release(label: string): void {
    this.hold(label).resolve(`done ${label}`);
  }

  fail(label: string, error: Error): void {
    this.hold(label).reject(error);
  }

  task(name: string, key: string | null = 'k', extra: { priority?: number; timeoutMs?: number } = {}): Task<undefined, [], IData, string, string> {
    return new Task<undefined, [], IData, string, string>({
      name,
      data: { key },
      ...extra,
      taskFunction: (label, _setup, context) => {
        this.started.push(label);
        this.signals.set(label, context.signal);
        return this.hold(label).promise;
      },
    });
  }
}

function mutexGroup(): TaskConstraintGroup<IData> {
  return new TaskConstraintGroup<IData>({
    name: 'mutex',
    maxConcurrent: 1,
    constraintKeyForExecution: (task) => task.data.key,
  });
}

const errorOf = (settlement: { current: unknown }): Error => (settlement.current as { reason: Error }).reason;

describe('priority in the TaskManager', () => {
  it('starts the larger priority first under a mutex and keeps trigger order among equal priorities', async (t) => {
    const manager = managerFor(t);
    manager.addConstraintGroup(mutexGroup());
    const h = new Harness();
    const task = h.task('job');
    manager.addTask(task);
    const all: Array<Promise<unknown>> = [manager.triggerTask(task, 'holder')];
    const queued: Array<[string, number]> = [['a', 0], ['b', 5], ['c', 0], ['d', 5], ['e', -1], ['f', 10], ['g', 5]];
    for (const [label, priority] of queued) all.push(manager.triggerTask(task, label, { priority }));
    const expected = ['holder', 'f', 'b', 'd', 'g', 'a', 'c', 'e'];
    for (let i = 0; i < expected.length; i++) {
      await flush();
      assert.deepEqual(h.started, expected.slice(0, i + 1), 'the next one starts as soon as the slot is free');
      h.release(expected[i]!);
    }
    await within(Promise.all(all), 'all triggers');
  });

  it('uses the Task priority when the trigger gives none, and lets a trigger priority override it', async (t) => {
    const manager = managerFor(t);
    manager.addConstraintGroup(mutexGroup());
    const h = new Harness();
    const plain = h.task('plain');
    const urgent = h.task('urgent', 'k', { priority: 3 });
    manager.addTask(plain);
    manager.addTask(urgent);
    assert.equal(plain.priority, 0, 'the default priority is 0');
    assert.equal(urgent.priority, 3);
    const all = [
      manager.triggerTask(plain, 'holder'),
      manager.triggerTask(plain, 'plain-0'),
      manager.triggerTask(urgent, 'urgent-3'),
      manager.triggerTask(plain, 'plain-4', { priority: 4 }),
      manager.triggerTask(urgent, 'urgent-as-0', { priority: 0 }),
      manager.triggerTaskByName('urgent', 'urgent-by-name'),
    ];
    const expected = ['holder', 'plain-4', 'urgent-3', 'urgent-by-name', 'plain-0', 'urgent-as-0'];
    for (let i = 0; i < expected.length; i++) {
      await flush();
      assert.deepEqual(h.started, expected.slice(0, i + 1), 'the next one starts as soon as the slot is free');
      h.release(expected[i]!);
    }
    await within(Promise.all(all), 'all triggers');
  });

  it('does not let a higher priority on a free key wait for a busy one', async (t) => {
    const manager = managerFor(t);
    manager.addConstraintGroup(mutexGroup());
    const h = new Harness();
    const onA = h.task('on-a', 'a');
    const onB = h.task('on-b', 'b');
    manager.addTask(onA);
    manager.addTask(onB);
    const first = manager.triggerTask(onA, 'a1');
    const second = manager.triggerTask(onA, 'a2', { priority: 100 });
    const third = manager.triggerTask(onB, 'b1', { priority: -100 });
    await flush();
    assert.deepEqual(h.started, ['a1', 'b1']);
    h.release('a1');
    h.release('b1');
    await flush();
    assert.deepEqual(h.started, ['a1', 'b1', 'a2']);
    h.release('a2');
    await within(Promise.all([first, second, third]), 'all triggers');
  });
});

describe('aborting a trigger in the TaskManager', () => {
  it('removes a queued trigger at once: it never runs, rejects with the reason as cause, and slot accounting stays right', async (t) => {
    const manager = managerFor(t);
    const group = mutexGroup();
    manager.addConstraintGroup(group);
    const h = new Harness();
    const task = h.task('job');
    manager.addTask(task);
    const holder = manager.triggerTask(task, 'holder');
    const controller = new AbortController();
    const aborted = track(manager.triggerTask(task, 'aborted', { signal: controller.signal }));
    const later = manager.triggerTask(task, 'later');
    await flush();
    assert.equal(manager.getConstraintGroupStates()[0]!.keys[0]!.waiting, 2);
    const reason = new Error('no longer needed');
    controller.abort(reason);
    await flush(1);
    assert.equal(aborted.current.state, 'rejected', 'rejects without waiting for the slot');
    const error = errorOf(aborted);
    assert.equal(error.name, 'AbortError');
    assert.ok(error instanceof AbortError);
    assert.equal(error.cause, reason);
    assert.equal(group.getRunningCount('k'), 1, 'only the holder holds the slot');
    assert.equal(manager.getConstraintGroupStates()[0]!.keys[0]!.waiting, 1);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0, 'no listener is left on the signal');
    h.release('holder');
    await flush();
    assert.deepEqual(h.started, ['holder', 'later'], 'later starts once the holder is done');
    assert.equal(group.getRunningCount('k'), 1);
    h.release('later');
    assert.equal(await within(later, 'later'), 'done later');
    await holder;
    assert.deepEqual(h.started, ['holder', 'later'], 'the aborted trigger never ran');
    assert.equal(group.getRunningCount('k'), 0);
    assert.equal(task.runCount, 2);
  });

  it('keeps a line working when its head aborts, and lets a new trigger start at once once the line is empty', async (t) => {
    const manager = managerFor(t);
    const group = mutexGroup();
    manager.addConstraintGroup(group);
    const h = new Harness();
    const task = h.task('job');
    manager.addTask(task);
    const holder = manager.triggerTask(task, 'holder');
    const controllers = [new AbortController(), new AbortController()];
    const waiting = controllers.map((c, i) => track(manager.triggerTask(task, `w${i}`, { signal: c.signal, priority: 1 - i })));
    const last = manager.triggerTask(task, 'last');
    await flush();
    controllers[0]!.abort('head leaves');
    h.release('holder');
    await flush();
    assert.deepEqual(h.started, ['holder', 'w1'], 'w1 starts once the holder is done');
    controllers[1]!.abort('running one leaves');
    await flush();
    assert.equal(errorOf(waiting[1]!).name, 'AbortError');
    assert.deepEqual(h.started, ['holder', 'w1', 'last'], 'last starts once the running run was aborted');
    h.release('last');
    await within(last, 'last');
    await holder;
    assert.equal(group.getRunningCount('k'), 0);
    const fresh = manager.triggerTask(task, 'fresh');
    await flush();
    assert.deepEqual(h.started, ['holder', 'w1', 'last', 'fresh']);
    h.release('fresh');
    await fresh;
    h.release('w1');
  });

  it('rejects a trigger whose signal is already aborted without queueing or running it', async (t) => {
    const manager = managerFor(t);
    const group = mutexGroup();
    manager.addConstraintGroup(group);
    const h = new Harness();
    const task = h.task('job');
    manager.addTask(task);
    const reason = new Error('before');
    const error = await rejectionOf(manager.triggerTask(task, 'x', { signal: AbortSignal.abort(reason) }));
    assert.equal(error.name, 'AbortError');
    assert.equal(error.cause, reason);
    assert.deepEqual(h.started, []);
    assert.equal(group.getRunningCount('k'), 0);
    assert.deepEqual(manager.getConstraintGroupStates()[0]!.keys, []);
  });

  it('rejects a running trigger at once, signals the function and frees the slot although the function ignores the signal', async (t) => {
    const manager = managerFor(t);
    const group = mutexGroup();
    manager.addConstraintGroup(group);
    const h = new Harness();
    const task = h.task('job');
    manager.addTask(task);
    const events: ITaskEvent[] = [];
    manager.taskSubject.subscribe((event) => events.push(event));
    const controller = new AbortController();
    const running = track(manager.triggerTask(task, 'running', { signal: controller.signal }));
    const next = manager.triggerTask(task, 'next');
    await flush();
    assert.deepEqual(h.started, ['running']);
    const reason = new Error('user pressed cancel');
    controller.abort(reason);
    await flush();
    assert.equal(running.current.state, 'rejected');
    const error = errorOf(running);
    assert.equal(error.name, 'AbortError');
    assert.equal(error.cause, reason);
    assert.equal(h.signals.get('running')?.aborted, true);
    assert.equal(h.signals.get('running')?.reason, reason);
    assert.deepEqual(h.started, ['running', 'next'], 'the next run starts at once');
    assert.equal(group.getRunningCount('k'), 1);
    // The ignored function finishes late: its result is dropped.
    h.release('running');
    await flush();
    const metadata = manager.getTaskMetadata('job')!;
    assert.equal(metadata.status, 'running', 'only "next" is running');
    assert.equal(metadata.activeRuns, 1);
    assert.equal(events.filter((e) => e.type === 'completed').length, 0, 'the aborted run is never reported as completed');
    assert.equal(events.filter((e) => e.type === 'failed').length, 1);
    h.release('next');
    await next;
    assert.equal(task.runCount, 2);
    assert.equal(group.getRunningCount('k'), 0);
  });

  it('stops a trigger aborted while its shouldExecute checks are pending: the function is not called and the slot is freed', async (t) => {
    const manager = managerFor(t);
    const check = deferred<boolean>();
    let checks = 0;
    const group = new TaskConstraintGroup<IData>({
      name: 'guarded',
      maxConcurrent: 1,
      constraintKeyForExecution: (task) => task.data.key,
      shouldExecute: () => (checks++ === 0 ? check.promise : true),
    });
    manager.addConstraintGroup(group);
    const h = new Harness();
    const task = h.task('job');
    manager.addTask(task);
    const controller = new AbortController();
    const pending = track(manager.triggerTask(task, 'checked', { signal: controller.signal }));
    const next = manager.triggerTask(task, 'next');
    await flush();
    assert.equal(checks, 1);
    assert.equal(group.getRunningCount('k'), 1);
    const reason = new Error('abort during check');
    controller.abort(reason);
    await flush();
    assert.equal(pending.current.state, 'rejected');
    assert.equal(errorOf(pending).name, 'AbortError');
    assert.equal(errorOf(pending).cause, reason);
    assert.deepEqual(h.started, ['next'], 'next starts once the aborted run gave the slot back');
    check.resolve(true);
    await flush();
    assert.deepEqual(h.started, ['next'], 'the aborted run never calls the function, even when the check says yes later');
    h.release('next');
    await next;
    assert.equal(group.getRunningCount('k'), 0);
  });

  it('passes the trigger signal through a Taskchain and a Taskparallel run by the manager', async (t) => {
    const manager = managerFor(t);
    const h = new Harness();
    const chain = new Taskchain({ name: 'chain', taskArray: [h.task('c1', null)] });
    const parallel = new Taskparallel({ name: 'parallel', taskArray: [h.task('p1', null), h.task('p2', null)] });
    manager.addTask(chain);
    manager.addTask(parallel);
    const controller = new AbortController();
    const chained = manager.triggerTask(chain, 'chain-input', { signal: controller.signal });
    const both = manager.triggerTaskByName('parallel', 'parallel-input', { signal: controller.signal });
    await flush();
    assert.equal(h.started.length, 3);
    controller.abort('all of it');
    await assert.rejects(chained, { name: 'AbortError' });
    await assert.rejects(both, { name: 'AbortError' });
    assert.equal(h.signals.get('chain-input')?.aborted, true);
    assert.equal(h.signals.get('parallel-input')?.aborted, true);
  });
});

describe('timeouts in the TaskManager', () => {
  it('gives the slot back when a function that ignores its signal times out, so the next queued run starts right then', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const group = mutexGroup();
    manager.addConstraintGroup(group);
    const h = new Harness();
    const hanging = h.task('hanging', 'k', { timeoutMs: 100 });
    const next = h.task('next', 'k');
    manager.addTask(hanging);
    manager.addTask(next);
    const timedOut = track(manager.triggerTask(hanging, 'hang'));
    const queued = track(manager.triggerTask(next, 'queued'));
    await flush();
    assert.deepEqual(h.started, ['hang']);
    await clock.advance(99);
    assert.deepEqual(h.started, ['hang']);
    await clock.advance(1);
    assert.equal(timedOut.current.state, 'rejected');
    const error = errorOf(timedOut);
    assert.equal(error.name, 'TimeoutError');
    assert.ok(error instanceof TimeoutError);
    assert.ok(error.message.includes('hanging'), error.message);
    assert.match(error.message, /\b100 ?ms\b/);
    assert.equal(h.signals.get('hang')?.aborted, true);
    assert.deepEqual(h.started, ['hang', 'queued'], 'the queued run started right after the timeout');
    assert.equal(group.getRunningCount('k'), 1, 'the timed-out run holds no slot');
    h.release('queued');
    await flush();
    assert.deepEqual(queued.current, { state: 'fulfilled', value: 'done queued' });
    assert.equal(group.getRunningCount('k'), 0);
    assert.equal(manager.getTaskMetadata('hanging')!.status, 'failed');
  });

  it('measures the timeout from the start of running, not from the trigger', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    manager.addConstraintGroup(mutexGroup());
    const h = new Harness();
    const task = h.task('job');
    manager.addTask(task);
    const holder = track(manager.triggerTask(task, 'holder'));
    const limited = track(manager.triggerTask(task, 'limited', { timeoutMs: 50 }));
    const limitedToo = track(manager.triggerTask(task, 'limited-too', { timeoutMs: 50 }));
    await clock.advance(500); // far longer than the limit, while queued
    assert.equal(limited.current.state, 'pending');
    assert.equal(limitedToo.current.state, 'pending');
    h.release('holder');
    await flush();
    assert.equal(holder.current.state, 'fulfilled');
    assert.deepEqual(h.started, ['holder', 'limited']);
    await clock.advance(49);
    h.release('limited');
    await flush();
    assert.deepEqual(limited.current, { state: 'fulfilled', value: 'done limited' });
    assert.deepEqual(h.started, ['holder', 'limited', 'limited-too']);
    await clock.advance(49);
    assert.equal(limitedToo.current.state, 'pending');
    await clock.advance(1);
    assert.equal(limitedToo.current.state, 'rejected');
    assert.equal(errorOf(limitedToo).name, 'TimeoutError');
  });

  it('uses the task timeoutMs for manager triggers and lets the trigger override it', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const h = new Harness();
    const task = h.task('limited', null, { timeoutMs: 30 });
    manager.addTask(task);
    const byTask = track(manager.triggerTaskByName('limited', 'one'));
    const byTrigger = track(manager.triggerTask(task, 'two', { timeoutMs: 80 }));
    await clock.advance(30);
    assert.equal(byTask.current.state, 'rejected');
    assert.equal((errorOf(byTask) as TimeoutError).timeoutMs, 30);
    assert.equal(byTrigger.current.state, 'pending');
    await clock.advance(50);
    assert.equal((errorOf(byTrigger) as TimeoutError).timeoutMs, 80);
  });
});

describe('retries in the TaskManager', () => {
  it('holds no constraint slot during the retry delay: another run of the same key runs meanwhile', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const group = mutexGroup();
    manager.addConstraintGroup(group);
    const calls: Array<[string, number, number]> = [];
    const flaky = new Task<undefined, [], IData, string, string>({
      name: 'flaky',
      data: { key: 'k' },
      retry: { attempts: 2, delayMs: 100 },
      taskFunction: async (label, _s, context) => {
        calls.push([label, context.attempt, clock.now()]);
        if (context.attempt === 1) throw new Error('first try fails');
        return 'flaky ok';
      },
    });
    const h = new Harness();
    const other = h.task('other');
    manager.addTask(flaky);
    manager.addTask(other);
    const events: ITaskEvent[] = [];
    manager.taskSubject.subscribe((event) => events.push(event));
    const retried = track(manager.triggerTask(flaky, 'f'));
    await flush();
    assert.equal(group.getRunningCount('k'), 0, 'the waiting retry holds no slot');
    const meanwhile = track(manager.triggerTask(other, 'meanwhile'));
    await flush();
    assert.deepEqual(h.started, ['meanwhile'], 'a run of the same key starts during the delay');
    assert.equal(group.getRunningCount('k'), 1);
    await clock.advance(100);
    assert.equal(calls.length, 1, 'the retry waits for the slot it needs');
    h.release('meanwhile');
    await flush();
    assert.deepEqual(meanwhile.current, { state: 'fulfilled', value: 'done meanwhile' });
    assert.deepEqual(calls, [['f', 1, 0], ['f', 2, 100]], 'the retry starts when the slot is free, at the end of its delay here');
    assert.deepEqual(retried.current, { state: 'fulfilled', value: 'flaky ok' });
    assert.equal(group.getRunningCount('k'), 0);
    const retrying = events.filter((e) => e.type === 'retrying');
    assert.equal(retrying.length, 1);
    assert.equal(retrying[0]!.type === 'retrying' && retrying[0]!.attempt, 2);
    assert.equal(retrying[0]!.type === 'retrying' && retrying[0]!.delayMs, 100);
    assert.equal(flaky.errorCount, 1);
    assert.equal(flaky.runCount, 1);
  });

  it('stops the retries of a trigger aborted during the delay and leaves no slot held', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const group = mutexGroup();
    manager.addConstraintGroup(group);
    let calls = 0;
    const flaky = new Task<undefined, [], IData, string, string>({
      name: 'flaky',
      data: { key: 'k' },
      retry: { attempts: 5, delayMs: 1000 },
      taskFunction: async () => {
        calls++;
        throw new Error('fails');
      },
    });
    manager.addTask(flaky);
    const controller = new AbortController();
    const outcome = track(manager.triggerTask(flaky, 'f', { signal: controller.signal }));
    await clock.advance(300);
    assert.equal(calls, 1);
    const reason = new Error('stop retrying');
    controller.abort(reason);
    await flush();
    assert.equal(outcome.current.state, 'rejected');
    assert.equal(errorOf(outcome).name, 'AbortError');
    assert.equal(errorOf(outcome).cause, reason);
    await clock.advance(10_000);
    assert.equal(calls, 1);
    assert.equal(group.getRunningCount('k'), 0);
    assert.equal(flaky.running, false);
  });

  it('takes a retry that waits for its slot out of the line when it is aborted, so it never runs again', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const group = mutexGroup();
    manager.addConstraintGroup(group);
    const h = new Harness();
    let flakyCalls = 0;
    const flaky = new Task<undefined, [], IData, string, string>({
      name: 'flaky',
      data: { key: 'k' },
      retry: { attempts: 3, delayMs: 50 },
      taskFunction: async () => {
        flakyCalls++;
        throw new Error('fails');
      },
    });
    const other = h.task('other');
    manager.addTask(flaky);
    manager.addTask(other);
    const controller = new AbortController();
    const outcome = track(manager.triggerTask(flaky, 'f', { signal: controller.signal }));
    await flush();
    const holder = manager.triggerTask(other, 'holder');
    const after = manager.triggerTask(other, 'after');
    await clock.advance(50); // the delay is over; the retry now waits for the slot
    assert.equal(flakyCalls, 1);
    assert.equal(manager.getConstraintGroupStates()[0]!.keys[0]!.waiting, 2);
    controller.abort('give up');
    await flush();
    assert.equal(outcome.current.state, 'rejected');
    assert.equal(errorOf(outcome).name, 'AbortError');
    assert.equal(manager.getConstraintGroupStates()[0]!.keys[0]!.waiting, 1);
    h.release('holder');
    await flush();
    assert.deepEqual(h.started, ['holder', 'after']);
    h.release('after');
    await flush();
    await Promise.all([holder, after]);
    await clock.advance(1000);
    assert.equal(flakyCalls, 1, 'the aborted retry never ran');
    assert.equal(group.getRunningCount('k'), 0);
  });
});

describe('pause and resume', () => {
  it('holds back a paused task: running work finishes, new triggers wait and run in order after resume', async (t) => {
    const manager = managerFor(t);
    const h = new Harness();
    const task = h.task('pausable', null);
    manager.addTask(task);
    const taskEvents: ITaskEvent[] = [];
    const managerEvents: ITaskEvent[] = [];
    task.eventSubject.subscribe((event) => taskEvents.push(event));
    manager.taskSubject.subscribe((event) => managerEvents.push(event));
    const running = manager.triggerTask(task, 'running');
    await flush();
    manager.pauseTask('pausable');
    assert.equal(task.paused, true);
    assert.equal(manager.getTaskMetadata('pausable')!.paused, true);
    const waiting = ['w1', 'w2', 'w3'].map((label) => track(manager.triggerTask(task, label)));
    const urgent = track(manager.triggerTask(task, 'urgent', { priority: 9 }));
    await flush();
    assert.deepEqual(h.started, ['running'], 'nothing new starts while paused');
    h.release('running');
    assert.equal(await running, 'done running', 'running work finishes while paused');
    await flush();
    assert.deepEqual(h.started, ['running']);
    for (const w of [...waiting, urgent]) assert.equal(w.current.state, 'pending');
    manager.resumeTask('pausable');
    assert.equal(task.paused, false);
    assert.equal(manager.getTaskMetadata('pausable')!.paused, false);
    await flush();
    assert.deepEqual(h.started, ['running', 'urgent', 'w1', 'w2', 'w3']);
    for (const label of ['urgent', 'w1', 'w2', 'w3']) h.release(label);
    await flush();
    for (const w of waiting) assert.equal(w.current.state, 'fulfilled');
    const pauseTypes = (events: ITaskEvent[]) => events.filter((e) => e.type === 'paused' || e.type === 'resumed');
    assert.deepEqual(pauseTypes(taskEvents).map((e) => [e.type, e.task.paused]), [['paused', true], ['resumed', false]]);
    assert.deepEqual(pauseTypes(managerEvents).map((e) => e.type), ['paused', 'resumed']);
  });

  it('runs the queued triggers of a paused task one by one under a mutex after resume', async (t) => {
    const manager = managerFor(t);
    manager.addConstraintGroup(mutexGroup());
    const h = new Harness();
    const task = h.task('serial');
    manager.addTask(task);
    manager.pauseTask('serial');
    const all = ['a', 'b', 'c'].map((label) => manager.triggerTask(task, label));
    await flush();
    assert.deepEqual(h.started, []);
    manager.resumeTask('serial');
    const expected = ['a', 'b', 'c'];
    for (let i = 0; i < expected.length; i++) {
      await flush();
      assert.deepEqual(h.started, expected.slice(0, i + 1), 'one at a time, in trigger order');
      h.release(expected[i]!);
    }
    await within(Promise.all(all), 'all');
  });

  it('lets a run that started before the pause finish its retries: only new triggers wait', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const tries: number[] = [];
    const flaky = new Task({
      name: 'flaky',
      retry: { attempts: 2, delayMs: 30 },
      taskFunction: async (_input: undefined, _s, context) => {
        tries.push(context.attempt);
        if (context.attempt === 1) throw new Error('first try fails');
        return 'ok';
      },
    });
    manager.addTask(flaky);
    const started = track(manager.triggerTask(flaky));
    await flush();
    assert.deepEqual(tries, [1]);
    manager.pauseTask('flaky');
    const fresh = track(manager.triggerTask(flaky));
    await clock.advance(30);
    assert.deepEqual(tries, [1, 2], 'the retry of running work goes ahead while paused');
    assert.deepEqual(started.current, { state: 'fulfilled', value: 'ok' });
    assert.equal(fresh.current.state, 'pending', 'a new trigger waits');
    manager.resumeTask('flaky');
    await flush();
    assert.deepEqual(tries, [1, 2, 1], 'the waiting trigger starts on resume');
    await clock.advance(30);
    assert.deepEqual(fresh.current, { state: 'fulfilled', value: 'ok' });
  });

  it('emits one event per change and ignores pausing a paused task or resuming a running one', async (t) => {
    const manager = managerFor(t);
    const h = new Harness();
    manager.addTask(h.task('idem', null));
    const events: ITaskEvent[] = [];
    manager.taskSubject.subscribe((event) => events.push(event));
    manager.resumeTask('idem');
    manager.pauseTask('idem');
    manager.pauseTask('idem');
    manager.resumeTask('idem');
    manager.resumeTask('idem');
    assert.deepEqual(events.map((e) => e.type), ['paused', 'resumed']);
    assert.throws(() => manager.pauseTask('missing'), { name: 'UnknownTaskError' });
  });

  it('rejects a trigger aborted while it waits for a paused task, and it never runs', async (t) => {
    const manager = managerFor(t);
    const h = new Harness();
    const task = h.task('paused', null);
    manager.addTask(task);
    manager.pauseTask('paused');
    const controller = new AbortController();
    const aborted = track(manager.triggerTask(task, 'aborted', { signal: controller.signal }));
    const kept = track(manager.triggerTask(task, 'kept'));
    await flush();
    controller.abort('not any more');
    await flush();
    assert.equal(aborted.current.state, 'rejected');
    assert.equal(errorOf(aborted).name, 'AbortError');
    manager.resumeTask('paused');
    await flush();
    assert.deepEqual(h.started, ['kept']);
    h.release('kept');
    await flush();
    assert.equal(kept.current.state, 'fulfilled');
  });

  it('holds back only the runs a paused constraint group applies to', async (t) => {
    const manager = managerFor(t);
    const group = new TaskConstraintGroup<IData>({
      name: 'tenant',
      maxConcurrent: 5,
      constraintKeyForExecution: (task) => task.data.key,
    });
    manager.addConstraintGroup(group);
    const groupEvents: IConstraintGroupEvent[] = [];
    manager.constraintGroupSubject.subscribe((event) => groupEvents.push(event));
    const h = new Harness();
    const covered = h.task('covered', 'acme');
    const exempt = h.task('exempt', null);
    manager.addTask(covered);
    manager.addTask(exempt);
    manager.pauseConstraintGroup('tenant');
    assert.equal(manager.getConstraintGroupStates()[0]!.paused, true);
    const c1 = track(manager.triggerTask(covered, 'c1'));
    const e1 = track(manager.triggerTask(exempt, 'e1'));
    const c2 = track(manager.triggerTask(covered, 'c2'));
    await flush();
    assert.deepEqual(h.started, ['e1'], 'a run the group does not apply to starts');
    assert.equal(group.getRunningCount('acme'), 0);
    manager.pauseConstraintGroup('tenant'); // no second event
    manager.resumeConstraintGroup('tenant');
    assert.equal(manager.getConstraintGroupStates()[0]!.paused, false);
    await flush();
    assert.deepEqual(h.started, ['e1', 'c1', 'c2']);
    for (const label of ['e1', 'c1', 'c2']) h.release(label);
    await flush();
    for (const s of [c1, e1, c2]) assert.equal(s.current.state, 'fulfilled');
    assert.deepEqual(groupEvents.map((e) => [e.type, e.groupName]), [['paused', 'tenant'], ['resumed', 'tenant']]);
    assert.throws(() => manager.pauseConstraintGroup('nope'), InvalidOptionError);
  });
});

describe('stopping the TaskManager', () => {
  it('resolves stop({ drain: true, timeoutMs: 100 }) exactly 100 ms later with a never-ending task, rejecting what runs and what waits', async (t) => {
    const clock = useFakeClock(t);
    const manager = new TaskManager();
    manager.addConstraintGroup(mutexGroup());
    const h = new Harness();
    const endless = h.task('endless');
    manager.addTask(endless);
    await manager.start();
    const running = track(manager.triggerTask(endless, 'forever'));
    const queued = track(manager.triggerTask(endless, 'queued'));
    await flush();
    assert.deepEqual(h.started, ['forever']);
    const stopping = track(manager.stop({ drain: true, timeoutMs: 100 }));
    await clock.advance(99);
    assert.equal(stopping.current.state, 'pending', 'stop waits for running work until its timeout');
    assert.equal(running.current.state, 'pending');
    await clock.advance(1);
    assert.equal(stopping.current.state, 'fulfilled', 'and resolves when it is over');
    assert.equal(queued.current.state, 'rejected');
    assert.ok(errorOf(queued) instanceof ShutdownError);
    assert.equal(errorOf(queued).name, 'ShutdownError');
    assert.equal(running.current.state, 'rejected', 'the never-ending trigger rejects');
    assert.equal(errorOf(running).name, 'AbortError');
    assert.ok(errorOf(running).cause instanceof ShutdownError, 'the abort names the shutdown as its cause');
    assert.equal(h.signals.get('forever')?.aborted, true, 'the never-ending function is signalled');
    assert.deepEqual(h.started, ['forever'], 'queued work never starts');
    const refused = await rejectionOf(manager.triggerTask(endless, 'after stop'));
    assert.ok(refused instanceof ShutdownError);
    assert.equal(refused.name, 'ShutdownError');
    await assert.rejects(manager.triggerTaskByName('endless', 'by name'), ShutdownError);
    await assert.rejects(manager.addExecuteRemoveTask(h.task('extra', null)), ShutdownError);
    await manager.start();
    const again = manager.triggerTask(endless, 'again');
    await flush();
    h.release('again');
    assert.equal(await within(again, 'trigger after start()'), 'done again');
    await manager.stop();
  });

  it('refuses new triggers while a drain is under way', async () => {
    const manager = new TaskManager();
    const h = new Harness();
    const task = h.task('slow', null);
    manager.addTask(task);
    const running = manager.triggerTask(task, 'running');
    await flush();
    const stopping = manager.stop({ drain: true });
    await assert.rejects(manager.triggerTask(task, 'during drain'), ShutdownError);
    h.release('running');
    assert.equal(await running, 'done running', 'running work finishes');
    await within(stopping, 'stop after running work finished');
    assert.deepEqual(h.started, ['running']);
  });

  it('waits for running work within its timeout and resolves the moment it finished', async (t) => {
    const clock = useFakeClock(t);
    const manager = new TaskManager();
    const task = new Task({ name: 'short', taskFunction: async () => (await clock.sleep(60), 'finished') });
    manager.addTask(task);
    const run = track(manager.triggerTask(task));
    await flush();
    await clock.settle(manager.stop({ drain: true, timeoutMs: 10_000 }), 'drain');
    assert.equal(clock.now(), 60, 'stop resolves when the run ends, not at its timeout');
    assert.deepEqual(run.current, { state: 'fulfilled', value: 'finished' });
  });

  it('without drain refuses new triggers but lets accepted work run', async () => {
    const manager = new TaskManager();
    const h = new Harness();
    const task = h.task('job', null);
    manager.addTask(task);
    const accepted = manager.triggerTask(task, 'accepted');
    await flush();
    await manager.stop();
    await assert.rejects(manager.triggerTask(task, 'refused'), ShutdownError);
    h.release('accepted');
    assert.equal(await accepted, 'done accepted');
  });

  it('aborts a run that waits for its shouldExecute when the drain times out', async (t) => {
    const clock = useFakeClock(t);
    const manager = new TaskManager();
    manager.addConstraintGroup(new TaskConstraintGroup<IData>({
      name: 'slow-check',
      maxConcurrent: 1,
      constraintKeyForExecution: (task) => task.data.key,
      shouldExecute: () => new Promise<boolean>(() => {}),
    }));
    const h = new Harness();
    const task = h.task('checked');
    manager.addTask(task);
    const pending = track(manager.triggerTask(task, 'x'));
    await flush();
    await clock.settle(manager.stop({ drain: true, timeoutMs: 50 }), 'stop');
    assert.equal(clock.now(), 50, 'stop resolves at its timeout');
    assert.equal(pending.current.state, 'rejected');
    assert.deepEqual(h.started, []);
    assert.equal(manager.constraintGroups[0]!.getRunningCount('k'), 0);
  });

  it('resolves at the drain timeout when a retry becomes due during the drain and must wait for a never-ending run', async (t) => {
    const clock = useFakeClock(t);
    const manager = new TaskManager();
    const group = mutexGroup();
    manager.addConstraintGroup(group);
    const h = new Harness();
    let flakyCalls = 0;
    const flaky = new Task<undefined, [], IData, string, string>({
      name: 'flaky',
      data: { key: 'k' },
      retry: { attempts: 3, delayMs: 60 },
      taskFunction: async (_label, _s, context) => {
        flakyCalls++;
        if (context.attempt === 1) throw new Error('first try fails');
        return new Promise<string>(() => {}); // later tries never end
      },
    });
    const endless = h.task('endless');
    manager.addTask(flaky);
    manager.addTask(endless);
    await manager.start();
    const retried = track(manager.triggerTask(flaky, 'f'));
    await flush();
    assert.equal(flakyCalls, 1);
    const holder = track(manager.triggerTask(endless, 'holder')); // takes the slot during the delay
    await flush();
    assert.deepEqual(h.started, ['holder']);
    // The retry's delay ends during the drain (at 60 ms); it then waits in line for the slot "holder" keeps.
    await clock.settle(manager.stop({ drain: true, timeoutMs: 200 }), 'stop({ drain: true, timeoutMs: 200 })');
    assert.equal(clock.now(), 200, 'stop resolves at its timeout');
    assert.equal(retried.current.state, 'rejected');
    assert.equal(holder.current.state, 'rejected');
    assert.equal(flakyCalls, 1, 'the retry never ran after the drain gave up');
    assert.equal(group.getRunningCount('k'), 0, 'no slot is held after stop');
  });

  it('withdraws a call waiting in a buffered task queue when the drain times out, so its function never runs after stop()', async (t) => {
    const clock = useFakeClock(t);
    const manager = new TaskManager();
    const group = new TaskConstraintGroup<IData>({
      name: 'cap',
      maxConcurrent: 5,
      constraintKeyForExecution: (task) => task.data.key,
    });
    manager.addConstraintGroup(group);
    const h = new Harness();
    const buffered = new Task<undefined, [], IData, string, string>({
      name: 'buffered',
      data: { key: 'k' },
      buffered: true,
      bufferMax: 1,
      taskFunction: (label, _s, context) => {
        h.started.push(label);
        h.signals.set(label, context.signal);
        return h.hold(label).promise;
      },
    });
    manager.addTask(buffered);
    await manager.start();
    const running = track(manager.triggerTask(buffered, 'running'));
    const waiting = track(manager.triggerTask(buffered, 'waiting-in-buffer'));
    await flush();
    assert.deepEqual(h.started, ['running']);
    await clock.settle(manager.stop({ drain: true, timeoutMs: 50 }), 'stop');
    await clock.advance(60_000);
    assert.equal(running.current.state, 'rejected');
    assert.equal(waiting.current.state, 'rejected');
    assert.deepEqual(h.started, ['running'], 'the withdrawn call never runs');
    assert.equal(buffered.running, false, 'nothing of the task runs after stop()');
    assert.equal(group.getRunningCount('k'), 0);
  });

  it('refuses bad stop options', async () => {
    const manager = new TaskManager();
    await assert.rejects(manager.stop({ drain: true, timeoutMs: -1 }), (error: unknown) =>
      error instanceof InvalidOptionError && /-1/.test(error.message));
    await assert.rejects(manager.stop({ drain: 'yes' as unknown as boolean }), InvalidOptionError);
  });
});

describe('execution-control options of manager triggers', () => {
  it('rejects timeoutMs -1, priority NaN and a signal that is not an AbortSignal with an InvalidOptionError naming the value', async (t) => {
    const manager = managerFor(t);
    const h = new Harness();
    const task = h.task('guarded', null);
    manager.addTask(task);
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ timeoutMs: -1 }, /-1/],
      [{ priority: Number.NaN }, /NaN/],
      [{ signal: {} }, /signal/],
      [{ signal: 'abort' }, /abort/],
    ];
    for (const [options, pattern] of cases) {
      for (const trigger of [
        () => manager.triggerTask(task, 'x', options),
        () => manager.triggerTaskByName('guarded', 'x', options),
        () => manager.triggerTaskConstrained(task, 'x', options),
      ]) {
        let returned: Promise<unknown> | undefined;
        assert.doesNotThrow(() => {
          returned = trigger();
        }, 'a manager trigger reports bad options as a rejection');
        const error = await rejectionOf(returned!);
        assert.ok(error instanceof InvalidOptionError, `${JSON.stringify(options)}: got ${error.name}`);
        assert.match(error.message, pattern);
      }
    }
    const report = await rejectionOf(manager.addExecuteRemoveTask(h.task('one-off', null), { timeoutMs: -1 }));
    assert.ok(report instanceof InvalidOptionError);
    assert.deepEqual(h.started, []);
  });
});

describe('the runs going on, by id', () => {
  it('lists each started run with its id, task and start, and forgets it once it ended', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const hold = deferred();
    const task = new Task({ name: 'long', taskFunction: () => hold.promise });
    manager.addTask(task);
    const run = manager.triggerTaskByName('long', undefined, { runId: 'run-1' });
    await flush();
    assert.deepEqual(manager.getActiveRuns(), [{ runId: 'run-1', taskName: 'long', startTime: clock.now(), state: 'running' }]);
    hold.resolve();
    await run;
    assert.deepEqual(manager.getActiveRuns(), []);
  });

  it('aborts a running run by its id: its signal fires and its trigger rejects with an AbortError', async (t) => {
    const manager = managerFor(t);
    let signal: AbortSignal | undefined;
    const task = new Task({
      name: 'abortable',
      taskFunction: (_input: undefined, _setup, context) => {
        signal = context.signal;
        return new Promise(() => {});
      },
    });
    manager.addTask(task);
    const run = manager.triggerTaskByName('abortable');
    await flush();
    const [info] = manager.getActiveRuns();
    assert.equal(manager.abortRun('no-such-run'), false);
    assert.equal(manager.abortRun(info!.runId, new Error('operator said so')), true);
    const error = await rejectionOf(run);
    assert.ok(error instanceof AbortError);
    assert.match(error.message, /operator said so/);
    assert.equal(signal?.aborted, true);
    assert.equal(manager.abortRun(info!.runId), false, 'a run that ended cannot be aborted again');
  });

  it('aborts a run between retries so that no further try is made, and gives its slot to the next run', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    let tries = 0;
    const task = new Task({ name: 'flaky', retry: { attempts: 5, delayMs: 1000 }, taskFunction: () => { tries++; throw new Error('down'); } });
    manager.addTask(task);
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'one', maxConcurrent: 1, constraintKeyForExecution: () => 'k' }));
    const run = manager.triggerTaskByName('flaky', undefined, { runId: 'r' });
    await flush();
    assert.deepEqual(manager.getActiveRuns().map((info) => info.state), ['retrying']);
    assert.equal(manager.abortRun('r'), true);
    await assert.rejects(run, AbortError);
    await clock.advance(5000);
    assert.equal(tries, 1);
    assert.equal(await within(manager.triggerTaskByName('flaky', undefined, { retry: false }).catch(() => 'second ran'), 'the next run'), 'second ran');
    assert.equal(tries, 2);
  });

  it('aborts a run of a buffered task started through the manager by the id its events carry', async (t) => {
    const manager = managerFor(t);
    const task = new Task({ name: 'buffered', buffered: true, bufferMax: 1, taskFunction: (_input: undefined, _setup, context) => new Promise((_resolve, reject) => {
      context.signal.addEventListener('abort', () => reject(new Error('stopped')));
    }) });
    manager.addTask(task);
    const events: ITaskEvent[] = [];
    manager.taskSubject.subscribe((event) => events.push(event));
    const run = manager.triggerTaskByName('buffered');
    await flush();
    const started = events.find((event) => event.type === 'started');
    assert.equal(manager.getActiveRuns()[0]?.runId, started?.runId);
    assert.equal(manager.abortRun(started!.runId!), true);
    await assert.rejects(run, AbortError);
  });
});
