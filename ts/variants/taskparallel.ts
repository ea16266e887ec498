import type { SubscriberError } from '../errors.js';
import { Task, type AnyTask } from '../task/task.js';
import { assertTaskList } from './taskchain.js';
import { assertArray } from '../internal/validate.js';

/** Options of `new Taskparallel(...)`. */
export interface ITaskparallelOptions {
  /** Tasks to start together, each with the same input. At least one. */
  taskArray: AnyTask[];
  name?: string;
  labels?: Record<string, string>;
  /** Resolve `undefined` instead of rejecting when a task fails. @default false */
  catchErrors?: boolean;
  /** Receives the first error of each `eventSubject` subscriber that throws; see `ITaskOptions`. @default logs with console.error */
  onSubscriberError?: (error: SubscriberError) => void;
}

/**
 * Starts all tasks at once with the same input and resolves with their results in
 * `taskArray` order; rejects with the first failure (the other tasks still run to their end).
 * Aborting the trigger aborts every task.
 */
export class Taskparallel extends Task<undefined, [], Record<string, unknown>, any, any[]> {
  readonly taskArray: readonly AnyTask[];

  constructor(options: ITaskparallelOptions) {
    const owner = `Taskparallel ${options?.name === undefined ? '(unnamed)' : JSON.stringify(options.name)}`;
    assertArray(owner, 'taskArray', options?.taskArray);
    assertTaskList(owner, options.taskArray);
    const tasks = Object.freeze([...options.taskArray]);
    super({
      name: options.name,
      labels: options.labels,
      catchErrors: options.catchErrors,
      onSubscriberError: options.onSubscriberError,
      taskFunction: (input: unknown, _setup, context) => {
        const signal = context.signal;
        return Promise.all(tasks.map((task) => task.trigger(input, { signal })));
      },
    });
    this.taskArray = tasks;
  }
}
