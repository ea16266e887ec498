/**
 * The end of a manager's runs (manager/runfinisher.ts) and of the runs the manager starts
 * through a task's own trigger: whatever ends a run (its try, an abort while a retry
 * waits for its slots, a subscriber that aborts, a draining stop), its trigger settles
 * once, its slots come back, and nothing is left waiting or armed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AbortError, Task, TaskConstraintGroup, TaskDebounced, TaskManager } from '../ts/index.js';
import { useFakeClock } from './fake-clock.js';
import { deferred, flush, track } from './rule-helpers.js';

/** A subclass with a trigger of its own that hands every call on to Task's. */
class Wrapped extends Task<undefined, [], Record<string, unknown>, unknown, unknown> {
  override trigger(input?: unknown, options?: Parameters<Task['trigger']>[1]) {
    return super.trigger(input, options);
  }
}

function managerWithGroup(maxConcurrent: number): TaskManager {
  const manager = new TaskManager();
  manager.addConstraintGroup(new TaskConstraintGroup({ name: 'k', maxConcurrent, constraintKeyForExecution: () => 'k' }));
  return manager;
}

/** A task whose first try fails and whose second succeeds, logging each try's start time. */
function failingOnce(name: string, log: string[], now: () => number, sleep: (ms: number) => Promise<void>) {
  let tries = 0;
  return {
    retry: { attempts: 2, delayMs: 100 },
    taskFunction: async () => {
      log.push(`${name}@${now()}`);
      await sleep(10);
      if (++tries === 1) throw new Error(`${name} fails once`);
      return name;
    },
  };
}

describe('a task with a trigger of its own, under a manager', () => {
  it('a subclass that overrides trigger and calls super.trigger gives its slot back while its retry waits', async (t) => {
    const clock = useFakeClock(t);
    const log: string[] = [];
    const manager = managerWithGroup(1);
    const wrapped = new Wrapped({ name: 'wrapped', ...failingOnce('wrapped', log, () => clock.now(), (ms) => clock.sleep(ms)) });
    const plain = new Task({ name: 'plain', taskFunction: async () => { log.push(`plain@${clock.now()}`); await clock.sleep(10); } });
    const first = manager.triggerTask(wrapped);
    await clock.advance(5);
    const second = manager.triggerTask(plain);
    await clock.settle(Promise.all([first, second]));
    assert.deepEqual(log, ['wrapped@0', 'plain@10', 'wrapped@110'], 'the plain run took the slot while the retry waited');
    await manager.stop();
  });

  it('a subclass that overrides trigger is aborted by a draining stop that gives up: its function is signalled', async (t) => {
    const clock = useFakeClock(t);
    const signals: AbortSignal[] = [];
    const endless = new Wrapped({ name: 'endless', taskFunction: (_input, _setup, ctx) => { signals.push(ctx.signal); return new Promise(() => {}); } });
    const manager = managerWithGroup(1);
    await manager.start();
    const run = track(manager.triggerTask(endless));
    await flush();
    await clock.settle(manager.stop({ drain: true, timeoutMs: 50 }), 'the draining stop');
    await flush();
    assert.equal(signals.length, 1);
    assert.equal(signals[0]!.aborted, true, 'the function was signalled');
    assert.equal(run.current.state, 'rejected');
    assert.equal(endless.status, 'failed');
  });

  it('a trigger replaced on the instance after it was made is what the manager calls', async (t) => {
    useFakeClock(t);
    const task = new Task({ name: 'watched', taskFunction: async (input: number) => input * 2 });
    let calls = 0;
    const original = task.trigger.bind(task);
    task.trigger = (input, options) => {
      calls++;
      return original(input, options);
    };
    const manager = managerWithGroup(1);
    assert.equal(await manager.triggerTask(task, 21), 42);
    assert.equal(calls, 1);
  });

  it('a debounced run started by a manager gives its slot back while its retry waits', async (t) => {
    const clock = useFakeClock(t);
    const log: string[] = [];
    const manager = managerWithGroup(1);
    const debounced = new TaskDebounced({
      name: 'debounced', debounceTimeInMillis: 0, ...failingOnce('debounced', log, () => clock.now(), (ms) => clock.sleep(ms)),
    });
    const plain = new Task({ name: 'plain', taskFunction: async () => { log.push(`plain@${clock.now()}`); await clock.sleep(10); } });
    const first = manager.triggerTask(debounced);
    await clock.advance(5);
    const second = manager.triggerTask(plain);
    await clock.settle(Promise.all([first, second]));
    assert.deepEqual(log, ['debounced@1', 'plain@11', 'debounced@111'], 'the plain run took the slot while the retry waited');
  });

  it('a buffered call shared by two manager callers settles and frees the buffer when the newest caller aborts while its retry waits in line', async (t) => {
    const clock = useFakeClock(t);
    const gate = deferred();
    let tries = 0;
    const buffered = new Task({
      name: 'buffered',
      buffered: true,
      bufferMax: 1,
      retry: { attempts: 2, delayMs: 50 },
      taskFunction: async (input: string) => {
        if (input === 'first') return gate.promise.then(() => 'first');
        if (++tries === 1) throw new Error('fails once');
        return input;
      },
    });
    const hog = deferred();
    const holder = new Task({ name: 'holder', taskFunction: () => hog.promise });
    const manager = managerWithGroup(2);
    const first = buffered.trigger('first'); // outside the manager: holds the buffer's one run
    const a = track(manager.triggerTask(buffered, 'a'));
    const controller = new AbortController();
    const b = track(manager.triggerTask(buffered, 'b', { signal: controller.signal }));
    await flush();
    gate.resolve();
    await first;
    await flush(); // the shared call of a and b runs and fails its first try: b's slot goes back
    const held = track(manager.triggerTask(holder)); // takes that slot
    await clock.advance(60); // the retry comes back and waits in the line of the full key
    controller.abort(new Error('b gives up'));
    await flush(10);
    assert.equal(b.current.state, 'rejected');
    assert.ok((b.current as { reason: unknown }).reason instanceof AbortError);
    assert.equal(a.current.state, 'rejected', 'the shared call ended with the abort, and its other caller heard of it');
    assert.equal(await buffered.trigger('later'), 'later', 'the buffer is free again');
    hog.resolve();
    await flush();
    assert.equal(held.current.state, 'fulfilled');
  });
});

describe('a run ended by its own subscribers', () => {
  it('a completed subscriber that aborts the caller\'s signal does not end the run twice', async (t) => {
    useFakeClock(t);
    const controller = new AbortController();
    const task = new Task({ name: 'once', taskFunction: async () => 'done' });
    task.eventSubject.subscribe((event) => {
      if (event.type === 'completed') controller.abort(new Error('too late'));
    });
    assert.equal(await task.trigger(undefined, { signal: controller.signal }), 'done');
    assert.equal(task.runCount, 1);
    assert.equal(task.getMetadata().activeRuns, 0);
    assert.equal(task.status, 'completed');
  });

  it('a started subscriber that aborts the caller\'s signal ends the run before its function runs, and the mutex holds', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerWithGroup(1);
    let running = 0;
    let most = 0;
    let calls = 0;
    const task = new Task({
      name: 'guarded',
      taskFunction: async () => {
        calls++;
        most = Math.max(most, ++running);
        await clock.sleep(10);
        running--;
      },
    });
    const controller = new AbortController();
    const subscription = task.eventSubject.subscribe((event) => {
      if (event.type === 'started' && !controller.signal.aborted) controller.abort(new Error('changed my mind'));
    });
    const first = track(manager.triggerTask(task, undefined, { signal: controller.signal }));
    const second = manager.triggerTask(task);
    await clock.settle(second);
    subscription.unsubscribe();
    assert.equal(first.current.state, 'rejected');
    assert.equal(calls, 1, 'only the second trigger called the function');
    assert.equal(most, 1);
  });

  it('a retrying subscriber that aborts the run leaves no retry timer armed', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerWithGroup(1);
    const controller = new AbortController();
    const task = new Task({ name: 'flaky', retry: { attempts: 3, delayMs: 60_000 }, taskFunction: async () => { throw new Error('no'); } });
    task.eventSubject.subscribe((event) => {
      if (event.type === 'retrying') controller.abort(new Error('stop retrying'));
    });
    const outcome = track(manager.triggerTask(task, undefined, { signal: controller.signal }));
    await flush(10);
    assert.equal(outcome.current.state, 'rejected');
    assert.equal(clock.pendingTimers, 0, 'no timer is left for a run that is over');
  });
});
