import { messageOf, TaskbufferError } from '../errors.js';
import type { ITaskgraphReport } from './graphtypes.js';

/** `Taskgraph "name"` or `An unnamed Taskgraph`, for messages. */
export function describeGraph(name: string | undefined): string {
  return name === undefined ? 'An unnamed Taskgraph' : `Taskgraph ${JSON.stringify(name)}`;
}

/**
 * A graph's definition was refused at construction: an empty or missing node list, a node
 * without a task, an empty name, a prerequisite that is unknown or named twice, or a cycle
 * (`cycle` lists it, its first node repeated at the end, as the message shows it:
 * `a → b → c → a`).
 */
export class TaskgraphDefinitionError extends TaskbufferError {
  override name = 'TaskgraphDefinitionError';
  readonly graphName: string | undefined;
  /** The node the problem was found at, if one. */
  readonly nodeName: string | undefined;
  /** The nodes around a cycle, the first one repeated at the end; undefined for other problems. */
  readonly cycle: string[] | undefined;

  constructor(graphName: string | undefined, problem: string, nodeName?: string, cycle?: string[]) {
    super('INVALID_GRAPH', `${describeGraph(graphName)}: ${problem}`);
    this.graphName = graphName;
    this.nodeName = nodeName;
    this.cycle = cycle;
  }
}

/**
 * A graph run ended with a node failed that is not `optional`. `report` is the run's
 * report (every node's status, result or error); `cause` is the first failure's error.
 */
export class TaskgraphError extends TaskbufferError {
  override name = 'TaskgraphError';
  readonly graphName: string | undefined;
  /** The nodes that failed (`optional` ones included), in the order they failed. */
  readonly failedNodes: string[];
  readonly report: ITaskgraphReport;

  constructor(graphName: string | undefined, report: ITaskgraphReport, failedNodes: string[], cause: unknown) {
    const counts = countStatuses(report);
    super('GRAPH_FAILED',
      `${describeGraph(graphName)} failed at node ${JSON.stringify(failedNodes[0])}: ${messageOf(cause)} (${counts})`,
      { cause });
    this.graphName = graphName;
    this.failedNodes = failedNodes;
    this.report = report;
  }
}

/** `2 completed, 1 failed, 1 skipped`: the end states of a report's nodes. */
function countStatuses(report: ITaskgraphReport): string {
  const counts = new Map<string, number>();
  for (const name of Object.keys(report.nodes)) {
    const status = report.nodes[name]!.status;
    counts.set(status, (counts.get(status) ?? 0) + 1);
  }
  return [...counts].map(([status, count]) => `${count} ${status}`).join(', ');
}
