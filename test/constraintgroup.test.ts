/**
 * TaskConstraintGroup: its options and methods on their own, and the rules it follows
 * inside a TaskManager (queueing, fairness, release on failure, shouldExecute, cooldowns).
 * Tests that involve time run on a fake clock (fake-clock.ts): cooldowns are checked to the
 * millisecond, and "still waiting" means still waiting after a long stretch of fake time.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidOptionError, Task, TaskConstraintGroup, TaskbufferError } from '../ts/index.js';
import { useFakeClock } from './fake-clock.js';
import { managerFor, rejectionOf, RunRecorder, within } from './manager-helpers.js';
import { deferred, flush, track, type Deferred } from './rule-helpers.js';

/** How long "still waiting" is checked for: far past any cooldown or delay in these tests. */
const A_MINUTE_MS = 60_000;

/** What the test tasks are triggered with: an id to recognise the run, a key, and a gate to hold it open. */
interface IRunInput {
  id: string;
  key?: string | null;
  hold?: Promise<void>;
  fail?: boolean;
  /** Used by the groups of one test only. */
  lane?: string;
}

const byInputKey = (_task: unknown, input?: IRunInput) => input?.key ?? null;

/** A task that records its runs, waits for `input.hold` and throws when `input.fail`. */
function recordingTask(recorder: RunRecorder, name = 'work') {
  return new Task({
    name,
    taskFunction: async (input: IRunInput) => {
      const end = recorder.begin(input.id, input.key ?? 'none');
      try {
        if (input.hold) await input.hold;
        if (input.fail) throw new Error(`run ${input.id} failed`);
        return input.id;
      } finally {
        end();
      }
    },
  });
}

describe('TaskConstraintGroup options', () => {
  const keyFn = () => 'k';

  for (const bad of [0, 1.5, -1]) {
    test(`maxConcurrent ${bad} is refused with an InvalidOptionError naming the option and the value`, () => {
      assert.throws(
        () => new TaskConstraintGroup({ name: 'g', maxConcurrent: bad, constraintKeyForExecution: keyFn }),
        (error: unknown) => {
          assert.ok(error instanceof InvalidOptionError);
          assert.ok(error instanceof TaskbufferError);
          assert.equal(error.option, 'maxConcurrent');
          assert.equal(error.value, bad);
          assert.match(error.message, /maxConcurrent/);
          assert.ok(error.message.includes(String(bad)), `message should quote ${bad}: ${error.message}`);
          return true;
        },
      );
    });
  }

  test('cooldownMs -1 is refused with an InvalidOptionError naming the option and the value', () => {
    assert.throws(
      () => new TaskConstraintGroup({ name: 'g', cooldownMs: -1, constraintKeyForExecution: keyFn }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidOptionError);
        assert.equal(error.option, 'cooldownMs');
        assert.equal(error.value, -1);
        assert.match(error.message, /cooldownMs/);
        assert.match(error.message, /-1/);
        return true;
      },
    );
  });

  test('a group without a name is refused with an InvalidOptionError naming `name`', () => {
    assert.throws(
      () => new TaskConstraintGroup({ constraintKeyForExecution: keyFn } as any),
      (error: unknown) => {
        assert.ok(error instanceof InvalidOptionError);
        assert.equal(error.option, 'name');
        assert.match(error.message, /name/);
        return true;
      },
    );
  });

  test('a group without a key function is refused with an InvalidOptionError naming `constraintKeyForExecution`', () => {
    assert.throws(
      () => new TaskConstraintGroup({ name: 'g' } as any),
      (error: unknown) => {
        assert.ok(error instanceof InvalidOptionError);
        assert.equal(error.option, 'constraintKeyForExecution');
        assert.match(error.message, /constraintKeyForExecution/);
        return true;
      },
    );
  });

  test('maxConcurrent defaults to Infinity and cooldownMs to 0; Infinity and 0 are accepted explicitly', () => {
    const plain = new TaskConstraintGroup({ name: 'plain', constraintKeyForExecution: keyFn });
    assert.equal(plain.maxConcurrent, Infinity);
    assert.equal(plain.cooldownMs, 0);
    const explicit = new TaskConstraintGroup({ name: 'explicit', maxConcurrent: Infinity, cooldownMs: 0, constraintKeyForExecution: keyFn });
    assert.equal(explicit.maxConcurrent, Infinity);
    assert.equal(explicit.name, 'explicit');
  });
});

describe('TaskConstraintGroup methods', () => {
  test('getConstraintKey passes the task and the input to the key function and turns a missing key into null', () => {
    const task = new Task<undefined, [], { domain: string }>({ name: 't', data: { domain: 'a.com' }, taskFunction: async () => {} });
    const seen: unknown[] = [];
    const group = new TaskConstraintGroup<{ domain: string }>({
      name: 'g',
      constraintKeyForExecution: (t, input?: string) => {
        seen.push([t, input]);
        if (input === 'none') return null;
        return `${t.data.domain}:${input ?? 'default'}`;
      },
    });
    assert.equal(group.getConstraintKey(task, 'x'), 'a.com:x');
    assert.equal(group.getConstraintKey(task), 'a.com:default');
    assert.equal(group.getConstraintKey(task, 'none'), null);
    assert.deepEqual(seen, [[task, 'x'], [task, undefined], [task, 'none']]);
  });

  test('checkShouldExecute is true without a shouldExecute, and otherwise resolves what it says, sync or async', async (t) => {
    const clock = useFakeClock(t);
    const task = new Task({ name: 't', taskFunction: async () => {} });
    const none = new TaskConstraintGroup({ name: 'none', constraintKeyForExecution: () => 'k' });
    assert.equal(await none.checkShouldExecute(task), true);

    const sync = new TaskConstraintGroup({
      name: 'sync',
      constraintKeyForExecution: () => 'k',
      shouldExecute: (_t, input?: string) => input !== 'no',
    });
    const syncResult = sync.checkShouldExecute(task, 'yes');
    assert.ok(syncResult instanceof Promise, 'checkShouldExecute returns a Promise');
    assert.equal(await syncResult, true);
    assert.equal(await sync.checkShouldExecute(task, 'no'), false);

    const asyncGroup = new TaskConstraintGroup({
      name: 'async',
      constraintKeyForExecution: () => 'k',
      shouldExecute: async (_t, input?: string) => {
        await clock.sleep(1);
        return input !== 'no';
      },
    });
    assert.equal(await clock.settle(asyncGroup.checkShouldExecute(task, 'yes')), true);
    assert.equal(await clock.settle(asyncGroup.checkShouldExecute(task, 'no')), false);
  });

  test('acquireSlot and releaseSlot count running slots per key, and canRun says whether a slot is free', () => {
    const group = new TaskConstraintGroup({ name: 'cap2', maxConcurrent: 2, constraintKeyForExecution: () => 'k' });
    assert.equal(group.getRunningCount('a'), 0);
    assert.equal(group.canRun('a'), true);
    group.acquireSlot('a');
    assert.equal(group.getRunningCount('a'), 1);
    assert.equal(group.canRun('a'), true);
    group.acquireSlot('a');
    assert.equal(group.getRunningCount('a'), 2);
    assert.equal(group.canRun('a'), false);
    // Keys are independent.
    assert.equal(group.canRun('b'), true);
    assert.equal(group.getRunningCount('b'), 0);
    group.releaseSlot('a');
    assert.equal(group.getRunningCount('a'), 1);
    assert.equal(group.canRun('a'), true);
    group.releaseSlot('a');
    assert.equal(group.getRunningCount('a'), 0);
  });

  test('releaseSlot starts the cooldown: canRun is false and getCooldownRemaining counts down from cooldownMs', async (t) => {
    const clock = useFakeClock(t);
    const group = new TaskConstraintGroup({ name: 'cool', maxConcurrent: 1, cooldownMs: 80, constraintKeyForExecution: () => 'k' });
    assert.equal(group.getCooldownRemaining('a'), 0);
    group.acquireSlot('a');
    await clock.advance(500);
    // A running slot blocks, but the cooldown has not begun.
    assert.equal(group.getCooldownRemaining('a'), 0);
    group.releaseSlot('a');
    assert.equal(group.getCooldownRemaining('a'), 80);
    assert.equal(group.canRun('a'), false);
    assert.equal(group.canRun('b'), true, 'other keys have no cooldown');
    await clock.advance(30);
    assert.equal(group.getCooldownRemaining('a'), 50);
    await clock.advance(49);
    assert.equal(group.getCooldownRemaining('a'), 1);
    assert.equal(group.canRun('a'), false);
    await clock.advance(1);
    assert.equal(group.getCooldownRemaining('a'), 0);
    assert.equal(group.canRun('a'), true);
  });

  test('reset clears every running count and cooldown', () => {
    const group = new TaskConstraintGroup({ name: 'r', maxConcurrent: 1, cooldownMs: 60_000, constraintKeyForExecution: () => 'k' });
    group.acquireSlot('busy');
    group.acquireSlot('cooling');
    group.releaseSlot('cooling');
    assert.equal(group.canRun('busy'), false);
    assert.equal(group.canRun('cooling'), false);
    group.reset();
    assert.equal(group.getRunningCount('busy'), 0);
    assert.equal(group.getCooldownRemaining('cooling'), 0);
    assert.equal(group.canRun('busy'), true);
    assert.equal(group.canRun('cooling'), true);
  });
});

describe('constraint groups inside a TaskManager', () => {
  test('addConstraintGroup registers groups, constraintGroups lists them, removeConstraintGroup removes by name', (t) => {
    const manager = managerFor(t);
    const a = new TaskConstraintGroup({ name: 'a', constraintKeyForExecution: () => 'x' });
    const b = new TaskConstraintGroup({ name: 'b', constraintKeyForExecution: () => 'x' });
    manager.addConstraintGroup(a);
    manager.addConstraintGroup(b);
    assert.deepEqual(manager.constraintGroups, [a, b]);
    manager.removeConstraintGroup('a');
    assert.deepEqual(manager.constraintGroups, [b]);
  });

  test('releasing a slot by hand wakes work that waits for that key', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    const mutex = new TaskConstraintGroup({ name: 'mutex', maxConcurrent: 1, constraintKeyForExecution: byInputKey });
    manager.addConstraintGroup(mutex);
    const task = recordingTask(recorder);

    mutex.acquireSlot('k'); // held by something outside the manager
    const run = track(manager.triggerTask(task, { id: 'queued', key: 'k' }));
    await clock.advance(A_MINUTE_MS);
    assert.equal(recorder.started('queued'), false, 'waits while the slot is held');

    mutex.releaseSlot('k');
    await flush();
    assert.deepEqual(run.current, { state: 'fulfilled', value: 'queued' });
  });

  test('a slot reserved by hand beyond the cap keeps queued work waiting when a run ends', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    const mutex = new TaskConstraintGroup({ name: 'mutex', maxConcurrent: 1, constraintKeyForExecution: byInputKey });
    manager.addConstraintGroup(mutex);
    const task = recordingTask(recorder);

    const first = deferred();
    const running = manager.triggerTask(task, { id: 'first', key: 'k', hold: first.promise });
    const queued = track(manager.triggerTask(task, { id: 'queued', key: 'k' }));
    await flush();
    mutex.acquireSlot('k'); // two slots held now, one of them by hand
    first.resolve();
    await within(running, 'the first run');
    await clock.advance(A_MINUTE_MS);
    assert.equal(recorder.started('queued'), false, 'the slot held by hand still fills the key');
    assert.equal(mutex.getRunningCount('k'), 1);

    mutex.releaseSlot('k');
    await flush();
    assert.deepEqual(queued.current, { state: 'fulfilled', value: 'queued' });
  });

  test('reset wakes work that waits for a slot held by hand', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    const mutex = new TaskConstraintGroup({ name: 'mutex', maxConcurrent: 1, constraintKeyForExecution: byInputKey });
    manager.addConstraintGroup(mutex);
    mutex.acquireSlot('k');
    const run = manager.triggerTask(recordingTask(recorder), { id: 'queued', key: 'k' });
    await clock.advance(A_MINUTE_MS);
    assert.equal(recorder.started('queued'), false);
    mutex.reset();
    assert.equal(await within(run, 'the run woken by reset'), 'queued');
  });

  test('queued work for a key starts in trigger order', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'mutex', maxConcurrent: 1, constraintKeyForExecution: byInputKey }));
    const task = recordingTask(recorder);

    const first = deferred();
    const runs = [manager.triggerTask(task, { id: 'r0', key: 'k', hold: first.promise })];
    for (let i = 1; i < 8; i++) runs.push(manager.triggerTask(task, { id: `r${i}`, key: 'k', hold: clock.sleep(i % 3) }));
    await flush();
    assert.deepEqual(recorder.startOrder, ['r0']);
    first.resolve();
    await clock.settle(Promise.all(runs), 'all runs');
    assert.deepEqual(recorder.startOrder, ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7']);
    assert.equal(recorder.maxConcurrent('k'), 1);
  });

  test('queued work for a key with a cap of 2 starts in trigger order as slots free up', async (t) => {
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'cap2', maxConcurrent: 2, constraintKeyForExecution: byInputKey }));
    const task = recordingTask(recorder);
    const gates: Deferred<void>[] = [];
    const runs: Promise<unknown>[] = [];
    for (let i = 0; i < 6; i++) {
      gates.push(deferred());
      runs.push(manager.triggerTask(task, { id: `r${i}`, key: 'k', hold: gates[i]!.promise }));
    }
    await flush();
    assert.deepEqual(recorder.startOrder, ['r0', 'r1']);
    gates[1]!.resolve();
    await flush();
    assert.deepEqual(recorder.startOrder, ['r0', 'r1', 'r2']);
    gates[0]!.resolve();
    await flush();
    assert.deepEqual(recorder.startOrder, ['r0', 'r1', 'r2', 'r3']);
    for (const gate of gates) gate.resolve();
    await within(Promise.all(runs), 'all runs');
    assert.deepEqual(recorder.startOrder, ['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
    assert.equal(recorder.maxConcurrent('k'), 2);
  });

  test('a busy key never holds back work for a free key', async (t) => {
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'mutex', maxConcurrent: 1, constraintKeyForExecution: byInputKey }));
    const task = recordingTask(recorder);
    const busy = deferred();
    const runs = [manager.triggerTask(task, { id: 'a0', key: 'a', hold: busy.promise })];
    for (let i = 1; i <= 20; i++) runs.push(manager.triggerTask(task, { id: `a${i}`, key: 'a' }));
    // Triggered after 20 queued runs of the busy key: starts at once.
    const free = manager.triggerTask(task, { id: 'b0', key: 'b' });
    assert.equal(await within(free, 'the run of the free key'), 'b0');
    assert.deepEqual(recorder.startOrder, ['a0', 'b0']);
    busy.resolve();
    await within(Promise.all(runs), 'the runs of the busy key');
  });

  for (const order of [['domain-mutex', 'global-cap'], ['global-cap', 'domain-mutex']]) {
    test(`with a per-key mutex and a global cap of 1 (added ${order.join(' then ')}), work for a free key waiting for the cap is not overtaken by the backlog of a busy key`, async (t) => {
      const manager = managerFor(t);
      const recorder = new RunRecorder();
      const groups = {
        'domain-mutex': new TaskConstraintGroup({ name: 'domain-mutex', maxConcurrent: 1, constraintKeyForExecution: byInputKey }),
        'global-cap': new TaskConstraintGroup({ name: 'global-cap', maxConcurrent: 1, constraintKeyForExecution: () => 'all' }),
      };
      for (const name of order) manager.addConstraintGroup(groups[name as keyof typeof groups]);
      const task = recordingTask(recorder);
      const first = deferred();
      const runs = [
        manager.triggerTask(task, { id: 'a1', key: 'a', hold: first.promise }),
        // Waits only for the global cap: its domain is free.
        manager.triggerTask(task, { id: 'b1', key: 'b' }),
        // Wait for the domain a (and the cap), triggered after b1.
        manager.triggerTask(task, { id: 'a2', key: 'a' }),
        manager.triggerTask(task, { id: 'a3', key: 'a' }),
        manager.triggerTask(task, { id: 'a4', key: 'a' }),
      ];
      await flush();
      first.resolve();
      await within(Promise.all(runs), 'all runs');
      // Every run needs the one slot of the key "all", so they start in trigger order.
      assert.deepEqual(recorder.startOrder, ['a1', 'b1', 'a2', 'a3', 'a4']);
    });
  }

  test('a run that throws releases its slot: its trigger rejects and the next queued run starts', async (t) => {
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    const mutex = new TaskConstraintGroup({ name: 'mutex', maxConcurrent: 1, constraintKeyForExecution: byInputKey });
    manager.addConstraintGroup(mutex);
    const task = recordingTask(recorder);
    const failing = manager.triggerTask(task, { id: 'bad', key: 'k', fail: true });
    const next = manager.triggerTask(task, { id: 'good', key: 'k' });
    const error = await rejectionOf(failing);
    assert.equal(error.message, 'run bad failed');
    assert.equal(await within(next, 'the run after the failure'), 'good');
    assert.equal(mutex.getRunningCount('k'), 0);
  });

  test('a shouldExecute that throws releases the slots and rejects that trigger with its error; later work still runs', async (t) => {
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    const boom = new Error('shouldExecute exploded');
    const mutex = new TaskConstraintGroup({
      name: 'mutex',
      maxConcurrent: 1,
      constraintKeyForExecution: byInputKey,
      shouldExecute: (_task, input?: IRunInput) => {
        if (input?.id.startsWith('explode')) throw boom;
        return true;
      },
    });
    manager.addConstraintGroup(mutex);
    const task = recordingTask(recorder);
    const gate = deferred();
    const first = manager.triggerTask(task, { id: 'first', key: 'k', hold: gate.promise });
    // Immediate trigger whose check throws (other key) and a queued one (same key).
    const immediate = manager.triggerTask(task, { id: 'explode-now', key: 'other' });
    const queued = manager.triggerTask(task, { id: 'explode-queued', key: 'k' });
    const after = manager.triggerTask(task, { id: 'after', key: 'k' });

    assert.equal(await rejectionOf(immediate), boom);
    assert.equal(mutex.getRunningCount('other'), 0);
    gate.resolve();
    assert.equal(await first, 'first');
    assert.equal(await rejectionOf(queued), boom);
    assert.equal(await within(after, 'the run queued after the failing check'), 'after');
    assert.deepEqual(recorder.startOrder, ['first', 'after']);
    assert.equal(mutex.getRunningCount('k'), 0);
  });

  test('a key function that throws rejects that trigger and leaves the groups usable', async (t) => {
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    const group = new TaskConstraintGroup({
      name: 'g',
      maxConcurrent: 1,
      constraintKeyForExecution: (_task, input?: IRunInput) => {
        if (input?.id === 'bad-key') throw new Error('no key for you');
        return input?.key ?? null;
      },
    });
    manager.addConstraintGroup(group);
    const task = recordingTask(recorder);
    const error = await rejectionOf(manager.triggerTask(task, { id: 'bad-key', key: 'k' }));
    assert.equal(error.message, 'no key for you');
    assert.equal(await manager.triggerTask(task, { id: 'ok', key: 'k' }), 'ok');
    assert.equal(group.getRunningCount('k'), 0);
  });

  test('shouldExecute is checked for a group whose key is null for the task: false skips the run and resolves undefined', async (t) => {
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    const checked: string[] = [];
    const group = new TaskConstraintGroup({
      name: 'exempt-but-checked',
      constraintKeyForExecution: () => null,
      shouldExecute: (_task, input?: IRunInput) => {
        checked.push(input!.id);
        return input!.id !== 'skip';
      },
    });
    manager.addConstraintGroup(group);
    const task = recordingTask(recorder);
    assert.equal(await manager.triggerTask(task, { id: 'skip' }), undefined);
    assert.equal(await manager.triggerTask(task, { id: 'run' }), 'run');
    assert.deepEqual(checked, ['skip', 'run']);
    assert.deepEqual(recorder.startOrder, ['run']);
  });

  test('a skipped run resolves undefined without calling the function and without counting as a run of the task', async (t) => {
    const manager = managerFor(t);
    let calls = 0;
    const task = new Task({ name: 'counted', taskFunction: async () => ++calls });
    manager.addTask(task);
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'no', constraintKeyForExecution: () => 'k', shouldExecute: () => false }));
    assert.equal(await manager.triggerTaskByName('counted'), undefined);
    assert.equal(calls, 0);
    assert.equal(task.runCount, 0);
  });

  test('an async shouldExecute is awaited while the slot is held: false skips, true runs', async (t) => {
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    const checks = new Map<string, Deferred<boolean>>();
    const mutex = new TaskConstraintGroup({
      name: 'mutex',
      maxConcurrent: 1,
      constraintKeyForExecution: byInputKey,
      shouldExecute: (_task, input?: IRunInput) => {
        const answer = deferred<boolean>();
        checks.set(input!.id, answer);
        return answer.promise;
      },
    });
    manager.addConstraintGroup(mutex);
    const task = recordingTask(recorder);
    const first = track(manager.triggerTask(task, { id: 'first', key: 'k' }));
    const second = track(manager.triggerTask(task, { id: 'second', key: 'k' }));
    await flush();
    assert.deepEqual([...checks.keys()], ['first'], 'only the first run holds the slot and is being checked');
    assert.equal(mutex.getRunningCount('k'), 1, 'the slot is taken before shouldExecute is asked');
    assert.equal(recorder.started('first'), false);

    checks.get('first')!.resolve(false);
    await flush();
    assert.deepEqual([...checks.keys()], ['first', 'second'], 'the second run is checked once the first gave the slot back');
    assert.deepEqual(first.current, { state: 'fulfilled', value: undefined });
    checks.get('second')!.resolve(true);
    await flush();
    assert.deepEqual(second.current, { state: 'fulfilled', value: 'second' });
    assert.deepEqual(recorder.startOrder, ['second']);
    assert.equal(mutex.getRunningCount('k'), 0);
  });

  test('every group’s shouldExecute must say yes; one no skips the run', async (t) => {
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    manager.addConstraintGroup(new TaskConstraintGroup({
      name: 'yes',
      constraintKeyForExecution: byInputKey,
      shouldExecute: () => true,
    }));
    manager.addConstraintGroup(new TaskConstraintGroup({
      name: 'no-for-b',
      constraintKeyForExecution: byInputKey,
      shouldExecute: async (_task, input?: IRunInput) => input?.key !== 'b',
    }));
    const task = recordingTask(recorder);
    assert.equal(await manager.triggerTask(task, { id: 'a', key: 'a' }), 'a');
    assert.equal(await manager.triggerTask(task, { id: 'b', key: 'b' }), undefined);
    assert.deepEqual(recorder.startOrder, ['a']);
  });

  test('the cooldown is measured from the end of one run to the start of the next run with the same key', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    const cooldownMs = 120;
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'cool', maxConcurrent: 1, cooldownMs, constraintKeyForExecution: byInputKey }));
    const task = recordingTask(recorder);
    const first = manager.triggerTask(task, { id: 'first', key: 'k', hold: clock.sleep(80) });
    const second = manager.triggerTask(task, { id: 'second', key: 'k' });
    await clock.settle(Promise.all([first, second]), 'both runs');
    const a = recorder.run('first');
    const b = recorder.run('second');
    assert.deepEqual([a.start, a.end], [0, 80]);
    assert.equal(b.start, 80 + cooldownMs, 'the second run starts exactly one cooldown after the first one ended');
  });

  test('work blocked only by a cooldown starts by itself exactly when the cooldown has passed', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    const group = new TaskConstraintGroup({ name: 'cool', maxConcurrent: 1, cooldownMs: 60, constraintKeyForExecution: byInputKey });
    manager.addConstraintGroup(group);
    const task = recordingTask(recorder);
    await manager.triggerTask(task, { id: 'first', key: 'k' });
    assert.equal(recorder.run('first').end, 0);
    await clock.advance(10);
    // No further trigger, release or reset happens: the queued runs must start on their own.
    const second = manager.triggerTask(task, { id: 'second', key: 'k' });
    const third = manager.triggerTask(task, { id: 'third', key: 'k' });
    const other = manager.triggerTask(task, { id: 'other-key', key: 'other' });
    assert.equal(await within(other, 'the run of another key'), 'other-key');
    await clock.advance(49);
    assert.equal(recorder.started('second'), false, 'still cooling down 59 ms after the first run ended');
    assert.equal(await clock.settle(second, 'the cooldown-blocked run'), 'second');
    assert.equal(await clock.settle(third, 'the run after it'), 'third');
    assert.equal(recorder.run('second').start, 60, 'second starts 60 ms after the first ended');
    assert.equal(recorder.run('third').start, 120, 'third starts 60 ms after the second ended');
    assert.deepEqual(recorder.startOrder, ['first', 'other-key', 'second', 'third']);
  });

  test('a queued run still starts when its cooldown passes between two reads of the clock', async (t) => {
    // Every read of the clock says 1 ms later than the one before (and the timers run on a
    // clock of their own), so the cooldown can be running when the queue asks whether the
    // key may start and already over when it asks how long to wait. Each cooldown length
    // lands that boundary on a different read; none may leave the run waiting forever.
    let reads = 0;
    const clock = useFakeClock(t, { reading: () => reads++ });
    for (let cooldownMs = 1; cooldownMs <= 12; cooldownMs++) {
      const manager = managerFor(t);
      manager.addConstraintGroup(new TaskConstraintGroup({ name: `cool-${cooldownMs}`, maxConcurrent: 1, cooldownMs, constraintKeyForExecution: () => 'k' }));
      const task = new Task({ name: 'quick', taskFunction: async (id: number) => id });
      const triggers = [1, 2, 3, 4].map((id) => manager.triggerTask(task, id));
      assert.deepEqual(await clock.settle(Promise.all(triggers), `four runs with cooldownMs ${cooldownMs}`), [1, 2, 3, 4]);
    }
  });

  test('removing a group lets work that waited only for it start at once', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'domain-mutex', maxConcurrent: 1, constraintKeyForExecution: byInputKey }));
    const task = recordingTask(recorder);
    const gate = deferred();
    const first = manager.triggerTask(task, { id: 'first', key: 'k', hold: gate.promise });
    const second = manager.triggerTask(task, { id: 'second', key: 'k' });
    await clock.advance(A_MINUTE_MS);
    assert.equal(recorder.started('second'), false);
    manager.removeConstraintGroup('domain-mutex');
    assert.equal(await within(second, 'the run that waited only for the removed group'), 'second');
    assert.equal(recorder.active('k'), 1, 'the first run is still going');
    gate.resolve();
    assert.equal(await first, 'first');
  });

  test('removing a group lets cooldown-blocked work start at once and later triggers ignore it', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'slow', maxConcurrent: 1, cooldownMs: 60_000, constraintKeyForExecution: byInputKey }));
    const task = recordingTask(recorder);
    await manager.triggerTask(task, { id: 'first', key: 'k' });
    const second = manager.triggerTask(task, { id: 'second', key: 'k' });
    await clock.advance(10);
    assert.equal(recorder.started('second'), false);
    manager.removeConstraintGroup('slow');
    assert.equal(await within(second, 'the cooldown-blocked run'), 'second');
    assert.equal(await within(manager.triggerTask(task, { id: 'third', key: 'k' }), 'a later run'), 'third');
    assert.deepEqual([recorder.run('second').start, recorder.run('third').start], [10, 10], 'both start at once, with 59.99 s of the cooldown left');
  });

  test('a removed group no longer holds back work that was queued behind another group when it was removed', async (t) => {
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    // `lane` is checked first, so X waits in the lane queue although the mutex key is busy too.
    manager.addConstraintGroup(new TaskConstraintGroup({
      name: 'lane',
      maxConcurrent: 1,
      constraintKeyForExecution: (_task, input?: IRunInput) => input?.lane ?? null,
    }));
    manager.addConstraintGroup(new TaskConstraintGroup({ name: 'domain-mutex', maxConcurrent: 1, constraintKeyForExecution: byInputKey }));
    const task = recordingTask(recorder);
    const holdA = deferred();
    const holdB = deferred();
    const a = manager.triggerTask(task, { id: 'A', key: 'k', lane: 'L1', hold: holdA.promise });
    const b = manager.triggerTask(task, { id: 'B', key: 'k2', lane: 'L2', hold: holdB.promise });
    const x = manager.triggerTask(task, { id: 'X', key: 'k', lane: 'L2' });
    await flush();
    assert.deepEqual(recorder.startOrder, ['A', 'B']);

    manager.removeConstraintGroup('domain-mutex');
    holdB.resolve(); // the lane is free now; the mutex that A holds no longer exists
    try {
      assert.equal(await within(x, 'X after its lane freed up, with the mutex removed', 1000), 'X');
      assert.equal(recorder.active('k'), 1, 'A is still running while X ran');
    } finally {
      holdA.resolve();
      await Promise.all([a, b, x]);
    }
  });

  test('constraint keys such as __proto__, constructor and toString are ordinary keys', async (t) => {
    const clock = useFakeClock(t);
    const manager = managerFor(t);
    const recorder = new RunRecorder();
    const mutex = new TaskConstraintGroup({ name: 'mutex', maxConcurrent: 1, cooldownMs: 0, constraintKeyForExecution: byInputKey });
    manager.addConstraintGroup(mutex);
    const task = recordingTask(recorder);
    const runs: Promise<unknown>[] = [];
    for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      for (let i = 0; i < 3; i++) runs.push(manager.triggerTask(task, { id: `${key}-${i}`, key, hold: clock.sleep(2) }));
    }
    await clock.settle(Promise.all(runs), 'runs with prototype-like keys');
    for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      assert.equal(recorder.maxConcurrent(key), 1, `key ${key} was serialized`);
      assert.equal(mutex.getRunningCount(key), 0);
      assert.equal(mutex.canRun(key), true);
    }
    assert.equal(recorder.runs.length, 12);
    mutex.acquireSlot('__proto__');
    assert.equal(mutex.getRunningCount('__proto__'), 1);
    assert.equal(mutex.canRun('__proto__'), false);
    assert.equal(mutex.canRun('constructor'), true);
    mutex.releaseSlot('__proto__');
  });
});
