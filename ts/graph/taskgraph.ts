import { InvalidOptionError } from '../errors.js';
import type { ITaskEvent } from '../events.js';
import { assertCap, describeValue } from '../internal/validate.js';
import { Task } from '../task/task.js';
import { managedTriggerOf } from '../task/taskrun.js';
import type { ITaskContext, ITaskStepDefinition } from '../types.js';
import { buildTopology, type IGraphTopology } from './graphdefinition.js';
import { describeGraph } from './grapherrors.js';
import { GraphRun, type IGraphRunHost, type TNodeEventFields } from './graphrun.js';
import type { ITaskgraphOptions, ITaskgraphReport, TTaskgraphFailurePolicy, TTaskgraphTasks } from './graphtypes.js';

/**
 * Tasks that run when their prerequisites are met: each node starts once every node in
 * its `after` completed, independent nodes run side by side, and results flow along the
 * edges. A run resolves with a report of every node; a node that fails (and is not
 * `optional`) makes it reject with a TaskgraphError carrying that report.
 *
 * A graph is a task: it has metadata, one step per node, labels and events (with
 * `node-started`, `node-completed`, `node-failed`, `node-skipped`), and it can be added to
 * a TaskManager, scheduled, triggered by name, put in a Taskchain, aborted and timed out.
 * When a TaskManager runs it, each node runs through that manager, so constraint groups,
 * priority and pauses apply per node (a group that also holds a slot for the graph itself
 * must leave room for its nodes: give the graph key `null`).
 *
 * @typeParam TTasks - the task of each node, by node name (inferred from `nodes`)
 * @typeParam TInput - the graph's input (inferred from an `input` function's annotated `graphInput`)
 *
 * @example
 * const ci = new Taskgraph({
 *   name: 'ci',
 *   nodes: {
 *     build: { task: build },
 *     test: { task: test, after: ['build'] },
 *     lint: { task: lint, after: ['build'] },
 *     publish: { task: publish, after: ['test', 'lint'] },
 *   },
 * });
 * const report = await ci.trigger('src/');
 */
export class Taskgraph<TTasks extends TTaskgraphTasks = TTaskgraphTasks, TInput = unknown> extends Task<
  undefined,
  [],
  Record<string, unknown>,
  TInput,
  ITaskgraphReport<TTasks>
> {
  /** At most this many nodes of one run at once. */
  readonly maxConcurrent: number;
  /** What a run does when a node fails. */
  readonly onFailure: TTaskgraphFailurePolicy;
  private readonly topology: IGraphTopology;

  constructor(options: ITaskgraphOptions<TTasks, TInput>) {
    const owner = describeGraph(options?.name);
    if (options === null || typeof options !== 'object') {
      throw new InvalidOptionError('options', options, `new Taskgraph(options): expected an options object, got ${describeValue(options)}`);
    }
    const topology = buildTopology(options.name, options.nodes);
    const maxConcurrent = options.maxConcurrent ?? Number.POSITIVE_INFINITY;
    assertCap(owner, 'maxConcurrent', maxConcurrent);
    const onFailure = options.onFailure ?? 'stop';
    if (onFailure !== 'stop' && onFailure !== 'continue') {
      throw new InvalidOptionError('onFailure', onFailure, `${owner}: expected \`onFailure\` to be 'stop' or 'continue', got ${describeValue(onFailure)}`);
    }
    // The run reaches the graph through this holder: `this` does not exist before `super`.
    const holder: { host: IGraphRunHost | undefined } = { host: undefined };
    super({
      name: options.name,
      labels: options.labels,
      timeoutMs: options.timeoutMs,
      priority: options.priority,
      onSubscriberError: options.onSubscriberError,
      // Typed as no steps, so that `notifyStep` takes no name: the run marks the nodes' steps itself.
      steps: stepsOf(topology) as [],
      taskFunction: (input: TInput, _setup: undefined, context: ITaskContext) =>
        new GraphRun(holder.host!, input, context.runId, context.signal, managedTriggerOf(context)).run() as Promise<ITaskgraphReport<TTasks>>,
    });
    this.topology = topology;
    this.maxConcurrent = maxConcurrent;
    this.onFailure = onFailure;
    holder.host = this.runHost();
  }

  /** The node names, in definition order. */
  get nodeNames(): string[] {
    return this.topology.nodes.map((node) => node.name);
  }

  /** The prerequisites of node `name` (a copy), or undefined for a name the graph does not have. */
  prerequisitesOf(name: string): string[] | undefined {
    const node = this.topology.nodes.find((candidate) => candidate.name === name);
    return node?.after.map((index) => this.topology.nodes[index]!.name);
  }

  /** What a run needs of the graph; it reaches the protected event and step methods through it. */
  private runHost(): IGraphRunHost {
    return {
      name: this.name,
      topology: this.topology,
      maxConcurrent: this.maxConcurrent,
      onFailure: this.onFailure,
      isObserved: () => this.isObserved(),
      emitNodeEvent: (fields: TNodeEventFields, timestamp: number) => {
        this.emit({ ...fields, task: this.getMetadata(), timestamp } as ITaskEvent);
      },
      markNode: (name: string, ended: boolean, now: number) => this.markParallelStep(name, ended, now),
    };
  }
}

/** One step per node, sharing the progress evenly. */
function stepsOf(topology: IGraphTopology): ITaskStepDefinition[] {
  const percentage = 100 / topology.nodes.length;
  return topology.nodes.map((node) => ({
    name: node.name,
    description: node.after.length === 0
      ? 'first'
      : `after ${node.after.map((index) => topology.nodes[index]!.name).join(', ')}`,
    percentage,
  }));
}
