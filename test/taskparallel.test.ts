import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidOptionError, Task, Taskparallel } from '../ts/index.js';
import { deferred, flush, type Deferred } from './rule-helpers.js';

describe('Taskparallel', () => {
  it('triggers every task with the same input and resolves with their results in taskArray order', async () => {
    const gates: Deferred<void>[] = [deferred(), deferred(), deferred()];
    const inputs: unknown[] = [];
    const channel = (name: string, index: number) =>
      new Task({
        name,
        taskFunction: async (message: { text: string }) => {
          inputs.push(message);
          await gates[index]!.promise;
          return `${name}: ${message.text}`;
        },
      });
    const parallel = new Taskparallel({
      name: 'notify',
      taskArray: [channel('email', 0), channel('sms', 1), channel('push', 2)],
    });
    const message = { text: 'hello' };
    const run = parallel.trigger(message);
    await flush();
    // Finish in reverse order; the results still follow taskArray order.
    gates[2]!.resolve();
    await flush();
    gates[1]!.resolve();
    await flush();
    gates[0]!.resolve();
    assert.deepEqual(await run, ['email: hello', 'sms: hello', 'push: hello']);
    assert.equal(inputs.length, 3);
    assert.ok(inputs.every((input) => input === message), 'every task gets the very same input');
  });

  it('starts every task before any of them ends', async () => {
    const log: string[] = [];
    const gates = new Map<string, Deferred<void>>();
    const make = (name: string) => {
      gates.set(name, deferred());
      return new Task({
        name,
        taskFunction: async () => {
          log.push(`start ${name}`);
          await gates.get(name)!.promise;
          log.push(`end ${name}`);
          return name;
        },
      });
    };
    const parallel = new Taskparallel({ taskArray: [make('a'), make('b'), make('c'), make('d')] });
    const run = parallel.trigger();
    await flush();
    assert.deepEqual(log, ['start a', 'start b', 'start c', 'start d']);
    for (const gate of gates.values()) gate.resolve();
    assert.deepEqual(await run, ['a', 'b', 'c', 'd']);
    assert.equal(log.filter((line) => line.startsWith('end')).length, 4);
  });

  it('rejects with the error of a failing task', async () => {
    const original = new Error('sms gateway down');
    const parallel = new Taskparallel({
      name: 'partial',
      taskArray: [
        new Task({ name: 'email', taskFunction: async () => 'sent' }),
        new Task({
          name: 'sms',
          taskFunction: async (): Promise<string> => {
            throw original;
          },
        }),
      ],
    });
    await assert.rejects(parallel.trigger('msg'), (error: unknown) => error === original);
    assert.equal(parallel.errorCount, 1);
    assert.equal(parallel.status, 'failed');
  });

  it('resolves undefined on failure when it has catchErrors', async () => {
    const parallel = new Taskparallel({
      catchErrors: true,
      taskArray: [
        new Task({
          taskFunction: async (): Promise<string> => {
            throw new Error('ignored');
          },
        }),
      ],
    });
    assert.equal(await parallel.trigger(), undefined);
    assert.equal(parallel.errorCount, 1);
  });

  it('can be triggered again, running every task again', async () => {
    let calls = 0;
    const parallel = new Taskparallel({
      taskArray: [new Task({ taskFunction: async () => ++calls }), new Task({ taskFunction: async () => ++calls })],
    });
    await parallel.trigger();
    await parallel.trigger();
    assert.equal(calls, 4);
    assert.equal(parallel.runCount, 2);
  });

  it('refuses an empty taskArray with InvalidOptionError', () => {
    assert.throws(
      () => new Taskparallel({ taskArray: [] }),
      (error: unknown) =>
        error instanceof InvalidOptionError && error.name === 'InvalidOptionError' && /taskArray/.test(error.message),
    );
  });

  it('refuses a missing taskArray with InvalidOptionError', () => {
    assert.throws(
      () => new Taskparallel({} as unknown as ConstructorParameters<typeof Taskparallel>[0]),
      (error: unknown) => error instanceof InvalidOptionError && /taskArray/.test(error.message),
    );
  });

  it('refuses entries that are not Tasks, naming the position and the value', () => {
    let caught: unknown;
    try {
      new Taskparallel({ taskArray: [new Task({ taskFunction: async () => 1 }), 42 as any] });
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof InvalidOptionError);
    assert.equal(caught.option, 'taskArray[1]');
    assert.equal(caught.value, 42);
    assert.match(caught.message, /taskArray\[1\]/);
    assert.match(caught.message, /42/);
  });

  it('is not changed by later changes to the array it was given', async () => {
    const tasks = [new Task({ taskFunction: async () => 'only' })];
    const parallel = new Taskparallel({ taskArray: tasks });
    tasks.push(new Task({ taskFunction: async () => 'added later' }));
    assert.deepEqual(await parallel.trigger(), ['only']);
  });
});
