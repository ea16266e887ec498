import { describeValue } from '../internal/validate.js';
import { Task, type AnyTask } from '../task/task.js';
import { TaskgraphDefinitionError } from './grapherrors.js';

/** One node as a run uses it: checked, with its edges as indexes into the topology's `nodes`. */
export interface IGraphNodeSpec {
  readonly name: string;
  readonly task: AnyTask;
  /** The node's prerequisites, as indexes, in the order `after` names them. */
  readonly after: readonly number[];
  /** The nodes that wait for this one, as indexes. */
  readonly dependents: readonly number[];
  readonly input: ((results: unknown, graphInput: unknown) => unknown) | undefined;
  readonly optional: boolean;
}

/** A graph's checked definition: its nodes in definition order. Never changes after construction. */
export interface IGraphTopology {
  readonly nodes: readonly IGraphNodeSpec[];
  /** The nodes without prerequisites, as indexes. */
  readonly roots: readonly number[];
}

/**
 * Checks a graph's `nodes` where they enter and builds its topology. Throws a
 * TaskgraphDefinitionError naming the node and the value for an empty graph, an empty
 * name, a node without a task, a bad `after`, `input` or `optional`, an unknown or
 * repeated prerequisite, or a cycle (named like `a → b → c → a`).
 */
export function buildTopology(graphName: string | undefined, nodes: unknown): IGraphTopology {
  if (nodes === null || typeof nodes !== 'object' || Array.isArray(nodes)) {
    throw new TaskgraphDefinitionError(graphName, `expected \`nodes\` to be an object of named nodes, got ${describeValue(nodes)}`);
  }
  const names = Object.keys(nodes);
  if (names.length === 0) throw new TaskgraphDefinitionError(graphName, 'expected `nodes` to hold at least one node, got {}');
  const indexOf = new Map(names.map((name, index) => [name, index]));
  const after = names.map((name) => checkNode(graphName, name, (nodes as Record<string, unknown>)[name], indexOf));
  const dependents: number[][] = names.map(() => []);
  after.forEach((prerequisites, index) => prerequisites.forEach((prerequisite) => dependents[prerequisite]!.push(index)));
  const cycle = findCycle(names, after, dependents);
  if (cycle !== undefined) {
    throw new TaskgraphDefinitionError(graphName, `its nodes form a cycle: ${cycle.join(' → ')}`, cycle[0], cycle);
  }
  const specs = names.map((name, index): IGraphNodeSpec => {
    const node = (nodes as Record<string, { task: AnyTask; input?: IGraphNodeSpec['input']; optional?: boolean }>)[name]!;
    return { name, task: node.task, after: after[index]!, dependents: dependents[index]!, input: node.input, optional: node.optional === true };
  });
  return { nodes: specs, roots: specs.flatMap((spec, index) => (spec.after.length === 0 ? [index] : [])) };
}

/** Checks one node; returns its prerequisites as indexes. */
function checkNode(graphName: string | undefined, name: string, node: unknown, indexOf: Map<string, number>): number[] {
  const at = `node ${JSON.stringify(name)}`;
  if (name.trim() === '') throw new TaskgraphDefinitionError(graphName, `a node name must not be empty, got ${JSON.stringify(name)}`, name);
  if (node === null || typeof node !== 'object') {
    throw new TaskgraphDefinitionError(graphName, `expected ${at} to be { task, after?, input?, optional? }, got ${describeValue(node)}`, name);
  }
  const { task, after, input, optional } = node as Record<string, unknown>;
  if (!(task instanceof Task)) throw new TaskgraphDefinitionError(graphName, `${at} has no task: expected \`task\` to be a Task, got ${describeValue(task)}`, name);
  if (input !== undefined && typeof input !== 'function') {
    throw new TaskgraphDefinitionError(graphName, `expected \`input\` of ${at} to be a function, got ${describeValue(input)}`, name);
  }
  if (optional !== undefined && typeof optional !== 'boolean') {
    throw new TaskgraphDefinitionError(graphName, `expected \`optional\` of ${at} to be a boolean, got ${describeValue(optional)}`, name);
  }
  if (after === undefined) return [];
  if (!Array.isArray(after)) {
    throw new TaskgraphDefinitionError(graphName, `expected \`after\` of ${at} to be an array of node names, got ${describeValue(after)}`, name);
  }
  const prerequisites: number[] = [];
  for (const prerequisite of after as unknown[]) {
    const index = typeof prerequisite === 'string' ? indexOf.get(prerequisite) : undefined;
    if (index === undefined) {
      const known = [...indexOf.keys()].map((known) => JSON.stringify(known)).join(', ');
      throw new TaskgraphDefinitionError(graphName,
        `${at} runs after ${describeValue(prerequisite)}, which is not a node of the graph (nodes: ${known})`, name);
    }
    if (prerequisites.includes(index)) {
      throw new TaskgraphDefinitionError(graphName, `${at} names ${JSON.stringify(prerequisite)} twice in \`after\``, name);
    }
    prerequisites.push(index);
  }
  return prerequisites;
}

/**
 * A cycle, if the graph has one, in the direction the nodes run (`a → b`: b runs after a),
 * its first node repeated at the end. Kahn's algorithm takes away every node that can run;
 * what is left lies on a cycle or after one, and following prerequisites from any node left
 * must come back to a node already seen.
 */
function findCycle(names: readonly string[], after: readonly number[][], dependents: readonly number[][]): string[] | undefined {
  const waiting = after.map((prerequisites) => prerequisites.length);
  const ready = waiting.flatMap((count, index) => (count === 0 ? [index] : []));
  for (let head = 0; head < ready.length; head++) {
    for (const dependent of dependents[ready[head]!]!) if (--waiting[dependent]! === 0) ready.push(dependent);
  }
  if (ready.length === names.length) return undefined;
  // Walk backwards along prerequisites that are left: every node left has one.
  const seenAt = new Map<number, number>();
  const path: number[] = [];
  let node = waiting.findIndex((count) => count > 0);
  while (!seenAt.has(node)) {
    seenAt.set(node, path.length);
    path.push(node);
    node = after[node]!.find((prerequisite) => waiting[prerequisite]! > 0)!;
  }
  const loop = path.slice(seenAt.get(node)!).reverse();
  // Start the cycle at its node defined first, so the message does not depend on where the walk began.
  const first = loop.indexOf(Math.min(...loop));
  const ordered = [...loop.slice(first), ...loop.slice(0, first)];
  return [...ordered, ordered[0]!].map((index) => names[index]!);
}
