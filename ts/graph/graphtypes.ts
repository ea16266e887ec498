import type { SubscriberError } from '../errors.js';
import type { Task } from '../task/task.js';

/** A task of any type parameters (as `AnyTask`, without importing the Task class's module for a type). */
type AnyGraphTask = Task<any, any, any, any, any>;

/** What a task's runs resolve with. */
export type TaskResultOf<TTask> = TTask extends Task<any, any, any, any, infer TResult> ? TResult : never;

/** What a task's trigger takes as input. */
export type TaskInputOf<TTask> = TTask extends Task<any, any, any, infer TInput, any> ? TInput : never;

/** The tasks of a graph, by node name: the type a Taskgraph's node types are read from. */
export type TTaskgraphTasks = Record<string, AnyGraphTask>;

/** The results of a graph's nodes by node name, as a node's `input` function receives them. */
export type TaskgraphResults<TTasks extends TTaskgraphTasks> = {
  readonly [K in keyof TTasks]: TaskResultOf<TTasks[K]>;
};

/**
 * One node of a Taskgraph: a task and the nodes it runs after.
 *
 * @typeParam TTasks - the tasks of every node of the graph, by name
 * @typeParam K - this node's name
 * @typeParam TInput - the graph's input
 */
export interface ITaskgraphNode<TTasks extends TTaskgraphTasks, K extends keyof TTasks, TInput> {
  /** What the node runs. The same task may serve several nodes. */
  task: TTasks[K];
  /**
   * The nodes that must have completed before this one starts; a name the graph does not
   * have is a compile error (where TypeScript sees the literal) and a TaskgraphDefinitionError.
   * @default []
   */
  after?: ReadonlyArray<keyof TTasks & string>;
  /**
   * Makes the node's input from the results of the nodes that ran before it (only its
   * prerequisites' results are set) and the graph's input. Without it a node gets the
   * graph's input when it has no prerequisites, the result of its one prerequisite, or,
   * with several, an object of their results by node name.
   */
  input?: (results: TaskgraphResults<TTasks>, graphInput: TInput) => TaskInputOf<TTasks[K]>;
  /**
   * The node's failure never fails the graph (nor stops it); the nodes after it are
   * skipped, since their input is missing.
   * @default false
   */
  optional?: boolean;
}

/** The nodes of a Taskgraph, by name. */
export type TTaskgraphNodes<TTasks extends TTaskgraphTasks, TInput> = {
  [K in keyof TTasks]: ITaskgraphNode<TTasks, K, TInput>;
};

/**
 * What a graph does when a node fails: `stop` skips the nodes not yet started and aborts
 * the running ones; `continue` lets independent branches go on and skips only the nodes
 * after the failed one. Either way the graph then rejects with a TaskgraphError.
 */
export type TTaskgraphFailurePolicy = 'stop' | 'continue';

/** Options of `new Taskgraph(...)`. */
export interface ITaskgraphOptions<TTasks extends TTaskgraphTasks, TInput> {
  /** Identifies the graph in metadata, events, errors and the TaskManager. */
  name?: string;
  /** The nodes by name; each one's name is also its step's name. At least one. */
  nodes: TTaskgraphNodes<TTasks, TInput>;
  /**
   * At most this many nodes of one run at once (on top of any constraint group of a
   * manager). A positive integer or `Infinity`.
   * @default Infinity
   */
  maxConcurrent?: number;
  /** See TTaskgraphFailurePolicy. @default 'stop' */
  onFailure?: TTaskgraphFailurePolicy;
  /** Initial labels (string values only). @default {} */
  labels?: Record<string, string>;
  /** Limits each run of the whole graph, in ms; running nodes are aborted when it passes. */
  timeoutMs?: number;
  /** The priority of the graph's own triggers in a TaskManager (its nodes have their tasks' own). @default 0 */
  priority?: number;
  /** See `ITaskOptions.onSubscriberError`. @default logs with console.error */
  onSubscriberError?: (error: SubscriberError) => void;
}

/**
 * Where a node of one run is: `pending` and `running` while the run goes on; at its end
 * `completed`, `failed`, `skipped` (never started: a prerequisite did not complete, or the
 * graph stopped) or `cancelled` (aborted while it ran: the graph stopped, was aborted or
 * timed out).
 */
export type TTaskgraphNodeStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled';

/** One node in a graph's report. Times are epoch milliseconds; `error` is a message. */
export interface ITaskgraphNodeReport<TResult = unknown> {
  status: TTaskgraphNodeStatus;
  /** Set when the node completed. */
  result?: TResult;
  /** Set when the node failed or was cancelled. */
  error?: string;
  /** When the node started, if it did. */
  startedAt?: number;
  /** When the node ended, if it started. */
  endedAt?: number;
}

/**
 * The outcome of one graph run: plain data, JSON-safe as long as the nodes' results are.
 * `status` is `failed` when a node that is not `optional` failed.
 */
export interface ITaskgraphReport<TTasks extends TTaskgraphTasks = TTaskgraphTasks> {
  /** The graph's name, or `''`. */
  graph: string;
  /** The run's id, as its events carry it. */
  runId: string;
  status: 'completed' | 'failed';
  startedAt: number;
  endedAt: number;
  nodes: { [K in keyof TTasks]: ITaskgraphNodeReport<TaskResultOf<TTasks[K]>> };
}
