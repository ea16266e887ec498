import { TaskChainError, describeTask, InvalidOptionError, type SubscriberError } from '../errors.js';
import { Task, type AnyTask } from '../task/task.js';
import { assertArray, describeValue } from '../internal/validate.js';

/** Options of `new Taskchain(...)`. */
export interface ITaskchainOptions {
  /** Tasks to run in order; each one's result is the next one's input. At least one. */
  taskArray: AnyTask[];
  name?: string;
  labels?: Record<string, string>;
  /** Resolve `undefined` instead of rejecting when a task fails. @default false */
  catchErrors?: boolean;
  /** Receives the first error of each `eventSubject` subscriber that throws; see `ITaskOptions`. @default logs with console.error */
  onSubscriberError?: (error: SubscriberError) => void;
}

/**
 * Runs tasks one after another, feeding each result to the next task, and resolves with
 * the last result. Aborting the chain's trigger aborts the task that is running. A failure stops the chain and rejects with a `TaskChainError` that
 * names the chain, the failing task and its index, with the original error as `cause`.
 */
export class Taskchain extends Task<undefined, [], Record<string, unknown>, any, any> {
  private readonly tasks: AnyTask[];

  constructor(options: ITaskchainOptions) {
    const owner = `Taskchain ${options?.name === undefined ? '(unnamed)' : JSON.stringify(options.name)}`;
    assertArray(owner, 'taskArray', options?.taskArray);
    assertTaskList(owner, options.taskArray);
    const tasks = [...options.taskArray];
    super({
      name: options.name,
      labels: options.labels,
      catchErrors: options.catchErrors,
      onSubscriberError: options.onSubscriberError,
      taskFunction: (input: unknown, _setup, context) => runInSequence(options.name, tasks, input, context.signal),
    });
    this.tasks = tasks;
  }

  /** The tasks in their current order (a copy). */
  get taskArray(): AnyTask[] {
    return [...this.tasks];
  }

  /** Appends a task to the chain. */
  addTask(task: AnyTask): void {
    assertTaskList(describeTask(this.name), [task]);
    this.tasks.push(task);
  }

  /** Removes the first occurrence of `task`; `true` when it was in the chain. */
  removeTask(task: AnyTask): boolean {
    const index = this.tasks.indexOf(task);
    if (index < 0) return false;
    this.tasks.splice(index, 1);
    return true;
  }

  /** Removes and returns the first task. */
  shiftTask(): AnyTask | undefined {
    return this.tasks.shift();
  }
}

async function runInSequence(chainName: string | undefined, tasks: AnyTask[], input: unknown, signal: AbortSignal): Promise<unknown> {
  // A run works on the chain as it was when it started, even if tasks are added or removed meanwhile.
  const snapshot = tasks.slice();
  if (snapshot.length === 0) {
    throw new InvalidOptionError('taskArray', [], `Taskchain ${JSON.stringify(chainName ?? '(unnamed)')} has no tasks to run`);
  }
  let value = input;
  for (let index = 0; index < snapshot.length; index++) {
    const task = snapshot[index]!;
    try {
      value = await task.trigger(value, { signal });
    } catch (error) {
      throw new TaskChainError(chainName, task.name, index, error);
    }
  }
  return value;
}

/** Rejects an empty list or anything that is not a Task, naming the offending entry. */
export function assertTaskList(owner: string, tasks: readonly unknown[]): void {
  if (tasks.length === 0) {
    throw new InvalidOptionError('taskArray', tasks, `${owner}: expected \`taskArray\` to hold at least one Task, got []`);
  }
  tasks.forEach((task, index) => {
    if (!(task instanceof Task)) {
      throw new InvalidOptionError(`taskArray[${index}]`, task,
        `${owner}: expected \`taskArray[${index}]\` to be a Task, got ${describeValue(task)}`);
    }
  });
}
