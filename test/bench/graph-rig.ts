/**
 * The Taskgraph bench's graphs (not a test file): 1,000 trivial nodes, wide (one source,
 * 998 side by side, one sink after all of them) and deep (a line of 1,000), and the same
 * tasks run by hand with `Promise.all` and `await`, doing what the graph does for them.
 * Each run resolves with the number of nodes that ran, for the harness's checksum.
 */
import { Task, Taskgraph, type AnyTask } from '../../ts/index.js';

export const GRAPH_NODES = 1_000;

/** A trivial node task: what differs between the competitors is only how they are run. */
function nodeTask(): Task<undefined, [], Record<string, unknown>, unknown, number> {
  return new Task({ taskFunction: async () => 1 });
}

export interface IGraphCompetitors {
  /** One run of the graph. */
  graph: () => Promise<number>;
  /** The same tasks run by hand. */
  byHand: () => Promise<number>;
}

/** One source, `GRAPH_NODES - 2` nodes after it side by side, one sink after all of those. */
export function wideGraph(): IGraphCompetitors {
  const source = nodeTask();
  const middle = Array.from({ length: GRAPH_NODES - 2 }, nodeTask);
  const sink = nodeTask();
  const nodes: Record<string, { task: AnyTask; after?: string[] }> = { source: { task: source } };
  middle.forEach((task, index) => { nodes[`m${index}`] = { task, after: ['source'] }; });
  nodes['sink'] = { task: sink, after: middle.map((_task, index) => `m${index}`) };
  const graph = new Taskgraph({ name: 'wide', nodes });
  return {
    graph: async () => countCompleted(await graph.trigger()),
    byHand: async () => {
      const first = await source.trigger();
      const results = await Promise.all(middle.map((task) => task.trigger(first)));
      // As the graph hands a node after several its prerequisites' results by name.
      const byName: Record<string, number> = {};
      results.forEach((result, index) => { byName[`m${index}`] = result; });
      await sink.trigger(byName);
      return results.length + 2;
    },
  };
}

/** A line of `GRAPH_NODES` nodes, each after the one before. */
export function deepGraph(): IGraphCompetitors {
  const tasks = Array.from({ length: GRAPH_NODES }, nodeTask);
  const nodes: Record<string, { task: AnyTask; after?: string[] }> = {};
  tasks.forEach((task, index) => { nodes[`n${index}`] = index === 0 ? { task } : { task, after: [`n${index - 1}`] }; });
  const graph = new Taskgraph({ name: 'deep', nodes });
  return {
    graph: async () => countCompleted(await graph.trigger()),
    byHand: async () => {
      let value: unknown;
      for (const task of tasks) value = await task.trigger(value);
      return tasks.length;
    },
  };
}

function countCompleted(report: { nodes: Record<string, { status: string }> }): number {
  let completed = 0;
  for (const name in report.nodes) if (report.nodes[name]!.status === 'completed') completed++;
  return completed;
}
