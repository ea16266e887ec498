import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidOptionError, Task, TaskbufferError, TaskChainError, Taskchain } from '../ts/index.js';
import { useFakeClock } from './fake-clock.js';

function recordingTask(name: string, log: string[], fn: (input: number) => number) {
  return new Task({
    name,
    taskFunction: async (input: number) => {
      log.push(`${name}(${input})`);
      return fn(input);
    },
  });
}

function failingTask(name: string, error: unknown, log: string[] = []) {
  return new Task({
    name,
    taskFunction: async (input: number): Promise<number> => {
      log.push(`${name}(${input})`);
      throw error;
    },
  });
}

async function chainError(promise: Promise<unknown>): Promise<TaskChainError> {
  let caught: unknown;
  await promise.then(
    () => assert.fail('expected the chain to reject'),
    (error: unknown) => {
      caught = error;
    },
  );
  assert.ok(caught instanceof TaskChainError, `expected a TaskChainError, got ${String(caught)}`);
  return caught;
}

describe('Taskchain', () => {
  it('feeds each task result to the next task and resolves with the last result', async () => {
    const log: string[] = [];
    const chain = new Taskchain({
      name: 'math',
      taskArray: [
        recordingTask('double', log, (n) => n * 2),
        recordingTask('add-ten', log, (n) => n + 10),
        recordingTask('negate', log, (n) => -n),
      ],
    });
    assert.equal(await chain.trigger(5), -20);
    assert.deepEqual(log, ['double(5)', 'add-ten(10)', 'negate(20)']);
  });

  it('runs its tasks one after another, never two at once', async (t) => {
    const clock = useFakeClock(t);
    let active = 0;
    let maxActive = 0;
    const slow = (name: string) =>
      new Task({
        name,
        taskFunction: async (input: string) => {
          active++;
          maxActive = Math.max(maxActive, active);
          await clock.sleep(2);
          active--;
          return `${input}>${name}`;
        },
      });
    const chain = new Taskchain({ taskArray: [slow('a'), slow('b'), slow('c')] });
    assert.equal(await clock.settle(chain.trigger('start')), 'start>a>b>c');
    assert.equal(maxActive, 1);
    assert.equal(clock.now(), 6, 'three tasks of 2 ms each, one after another');
  });

  it('stops at a failing task: the tasks after it do not run and the trigger rejects with a TaskChainError', async () => {
    const log: string[] = [];
    const original = new Error('validation failed');
    const chain = new Taskchain({
      name: 'DatabaseMigration',
      taskArray: [
        recordingTask('backup', log, (n) => n + 1),
        failingTask('validate', original, log),
        recordingTask('migrate', log, (n) => n + 1),
        recordingTask('verify', log, (n) => n + 1),
      ],
    });
    const error = await chainError(chain.trigger(1));
    assert.deepEqual(log, ['backup(1)', 'validate(2)']);
    assert.ok(error instanceof TaskbufferError);
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'TaskChainError');
    assert.equal(error.chainName, 'DatabaseMigration');
    assert.equal(error.taskName, 'validate');
    assert.equal(error.taskIndex, 1);
    assert.equal(error.cause, original);
    assert.match(error.message, /DatabaseMigration/);
    assert.match(error.message, /validate/);
    assert.match(error.message, /1/);
    assert.match(error.message, /validation failed/);
  });

  it('reports index 0 and the first task name when the first task fails', async () => {
    const log: string[] = [];
    const chain = new Taskchain({
      name: 'early',
      taskArray: [failingTask('first', new Error('at once'), log), recordingTask('second', log, (n) => n)],
    });
    const error = await chainError(chain.trigger(0));
    assert.equal(error.taskIndex, 0);
    assert.equal(error.taskName, 'first');
    assert.deepEqual(log, ['first(0)']);
  });

  it('keeps a non-Error thrown value as the cause', async () => {
    const chain = new Taskchain({ name: 'odd', taskArray: [failingTask('thrower', 'a string was thrown')] });
    const error = await chainError(chain.trigger(0));
    assert.equal(error.cause, 'a string was thrown');
    assert.match(error.message, /a string was thrown/);
  });

  it('leaves chainName and taskName undefined for unnamed chains and tasks', async () => {
    const unnamed = new Task({
      taskFunction: async (): Promise<void> => {
        throw new Error('anonymous failure');
      },
    });
    const chain = new Taskchain({ taskArray: [unnamed] });
    const error = await chainError(chain.trigger());
    assert.equal(error.chainName, undefined);
    assert.equal(error.taskName, undefined);
    assert.equal(error.taskIndex, 0);
  });

  it('records the failure on the chain itself like any task', async () => {
    const chain = new Taskchain({ name: 'tracked', taskArray: [failingTask('bad', new Error('inner'))] });
    const error = await chainError(chain.trigger(1));
    assert.equal(chain.errorCount, 1);
    assert.equal(chain.runCount, 1);
    assert.equal(chain.status, 'failed');
    assert.equal(chain.lastError, error);
    assert.equal(typeof chain.getMetadata().lastError, 'string');
  });

  it('resolves undefined on failure when the chain has catchErrors', async () => {
    const log: string[] = [];
    const chain = new Taskchain({
      name: 'lenient',
      catchErrors: true,
      taskArray: [failingTask('bad', new Error('ignored'), log), recordingTask('after', log, (n) => n)],
    });
    assert.equal(await chain.trigger(3), undefined);
    assert.deepEqual(log, ['bad(3)']);
    assert.ok(chain.lastError instanceof TaskChainError);
  });

  it('accepts a task whose function only throws (result type never) in its taskArray', async () => {
    // Written the natural way: TypeScript infers the result type `never` for this task.
    const explode = new Task({
      name: 'explode',
      taskFunction: async () => {
        throw new Error('boom');
      },
    });
    const chain = new Taskchain({ name: 'with-never', taskArray: [explode] });
    const error = await chainError(chain.trigger());
    assert.equal(error.taskName, 'explode');
  });

  it('refuses an empty taskArray with InvalidOptionError', () => {
    assert.throws(
      () => new Taskchain({ name: 'empty', taskArray: [] }),
      (error: unknown) =>
        error instanceof InvalidOptionError && error.name === 'InvalidOptionError' && /taskArray/.test(error.message),
    );
  });

  it('refuses a missing taskArray with InvalidOptionError', () => {
    assert.throws(
      () => new Taskchain({ name: 'none' } as unknown as ConstructorParameters<typeof Taskchain>[0]),
      (error: unknown) => error instanceof InvalidOptionError && /taskArray/.test(error.message),
    );
  });

  it('refuses entries that are not Tasks, naming the position and the value', () => {
    const ok = new Task({ taskFunction: async () => 1 });
    let caught: unknown;
    try {
      new Taskchain({ name: 'mixed', taskArray: [ok, 'not-a-task' as any] });
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof InvalidOptionError);
    assert.equal(caught.name, 'InvalidOptionError');
    assert.equal(caught.option, 'taskArray[1]');
    assert.equal(caught.value, 'not-a-task');
    assert.match(caught.message, /taskArray\[1\]/);
    assert.match(caught.message, /not-a-task/);
  });

  it('refuses a plain object that only looks like a task', () => {
    const lookalike = { name: 'fake', trigger: async () => 1 };
    assert.throws(
      () => new Taskchain({ taskArray: [lookalike as any] }),
      (error: unknown) => error instanceof InvalidOptionError && /taskArray\[0\]/.test(error.message),
    );
  });

  it('addTask appends a task that the next run includes', async () => {
    const log: string[] = [];
    const chain = new Taskchain({ name: 'grow', taskArray: [recordingTask('a', log, (n) => n + 1)] });
    chain.addTask(recordingTask('b', log, (n) => n * 10));
    assert.deepEqual(chain.taskArray.map((t) => t.name), ['a', 'b']);
    assert.equal(await chain.trigger(1), 20);
    assert.deepEqual(log, ['a(1)', 'b(2)']);
  });

  it('addTask refuses something that is not a Task with InvalidOptionError', () => {
    const chain = new Taskchain({ taskArray: [new Task({ taskFunction: async () => 1 })] });
    assert.throws(() => chain.addTask({} as any), (error: unknown) => error instanceof InvalidOptionError);
    assert.equal(chain.taskArray.length, 1);
  });

  it('removeTask returns true and drops the task when it was in the chain, false otherwise', async () => {
    const log: string[] = [];
    const a = recordingTask('a', log, (n) => n + 1);
    const b = recordingTask('b', log, (n) => n + 2);
    const stranger = recordingTask('stranger', log, (n) => n);
    const chain = new Taskchain({ name: 'shrink', taskArray: [a, b] });
    assert.equal(chain.removeTask(stranger), false);
    assert.equal(chain.removeTask(a), true);
    assert.equal(chain.removeTask(a), false);
    assert.deepEqual(chain.taskArray.map((t) => t.name), ['b']);
    assert.equal(await chain.trigger(0), 2);
    assert.deepEqual(log, ['b(0)']);
  });

  it('shiftTask removes and returns the first task', async () => {
    const log: string[] = [];
    const a = recordingTask('a', log, (n) => n + 1);
    const b = recordingTask('b', log, (n) => n * 3);
    const chain = new Taskchain({ taskArray: [a, b] });
    assert.equal(chain.shiftTask(), a);
    assert.deepEqual(chain.taskArray, [b]);
    assert.equal(await chain.trigger(2), 6);
    assert.deepEqual(log, ['b(2)']);
    assert.equal(chain.shiftTask(), b);
    assert.equal(chain.shiftTask(), undefined);
  });

  it('rejects a run with InvalidOptionError once every task has been removed', async () => {
    const a = new Task({ taskFunction: async () => 1 });
    const chain = new Taskchain({ name: 'emptied', taskArray: [a] });
    chain.shiftTask();
    await assert.rejects(chain.trigger(), (error: unknown) => error instanceof InvalidOptionError);
  });

  it('hands out taskArray as a copy that does not change the chain', async () => {
    const a = new Task({ taskFunction: async (n: number) => n + 1 });
    const chain = new Taskchain({ taskArray: [a] });
    const copy = chain.taskArray;
    copy.push(new Task({ taskFunction: async (n: number) => n * 100 }));
    assert.equal(chain.taskArray.length, 1);
    assert.equal(await chain.trigger(1), 2);
  });
});
