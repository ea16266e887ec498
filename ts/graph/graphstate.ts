import type { IGraphTopology } from './graphdefinition.js';
import type { ITaskgraphNodeReport, ITaskgraphReport, TTaskgraphNodeStatus } from './graphtypes.js';

/**
 * One node's bookkeeping in a run: plain data, so that a run's state could be kept
 * elsewhere (a Redis hash per run, say) and a run resumed from it.
 */
export interface IGraphNodeState {
  status: TTaskgraphNodeStatus;
  /** Prerequisites that have not completed yet; the node is ready at 0. */
  waitingFor: number;
  result?: unknown;
  error?: string;
  startedAt?: number;
  endedAt?: number;
}

/**
 * The bookkeeping of one graph run, keyed by node name. Plain data throughout: `nodes`
 * has no prototype, so that any name (`constructor`, `__proto__`) is an ordinary key.
 */
export interface IGraphRunState {
  graph: string;
  runId: string;
  startedAt: number;
  nodes: Record<string, IGraphNodeState>;
  /** The nodes that failed, in the order they failed. */
  failed: string[];
}

/** The state of a run that begins at `now`: every node pending. */
export function newRunState(topology: IGraphTopology, graph: string, runId: string, now: number): IGraphRunState {
  const nodes = Object.create(null) as Record<string, IGraphNodeState>;
  for (const spec of topology.nodes) nodes[spec.name] = { status: 'pending', waitingFor: spec.after.length };
  return { graph, runId, startedAt: now, nodes, failed: [] };
}

/**
 * The report of a run that ended at `endedAt`: the state without its bookkeeping. An
 * ordinary object for the caller (it prints and compares as one).
 */
export function reportOf(state: IGraphRunState, failedGraph: boolean, endedAt: number): ITaskgraphReport {
  const nodes: Record<string, ITaskgraphNodeReport> = {};
  for (const name in state.nodes) {
    const node = state.nodes[name]!;
    const report: ITaskgraphNodeReport = { status: node.status };
    if (node.status === 'completed') report.result = node.result;
    if (node.error !== undefined) report.error = node.error;
    if (node.startedAt !== undefined) report.startedAt = node.startedAt;
    if (node.endedAt !== undefined) report.endedAt = node.endedAt;
    setKey(nodes, name, report);
  }
  return { graph: state.graph, runId: state.runId, status: failedGraph ? 'failed' : 'completed', startedAt: state.startedAt, endedAt, nodes };
}

/**
 * Sets `record[key]` on an ordinary object, `__proto__` included: assigning that one would
 * set the object's prototype instead, so it is defined as a property.
 */
export function setKey<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}
