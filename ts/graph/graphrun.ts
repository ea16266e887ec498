import { messageOf } from '../errors.js';
import type { ITaskNodeEvent } from '../events.js';
import { timeNow } from '../internal/clock.js';
import { nextRunKey, runIdOf } from '../task/runid.js';
import type { TManagedTrigger } from '../task/taskrun.js';
import { MAX_RUN_ID_LENGTH, RUN_CONTROL, type TControlledOptions } from '../task/triggeroptions.js';
import type { ITriggerOptions } from '../types.js';
import type { IGraphNodeSpec, IGraphTopology } from './graphdefinition.js';
import { describeGraph, TaskgraphError } from './grapherrors.js';
import { newRunState, reportOf, setKey, type IGraphNodeState, type IGraphRunState } from './graphstate.js';
import type { ITaskgraphReport, TTaskgraphFailurePolicy } from './graphtypes.js';
import { NodeControl } from './nodecontrol.js';

/** A node event as a run makes it; the graph adds its metadata snapshot and the time. */
export type TNodeEventFields = ITaskNodeEvent extends infer E ? (E extends ITaskNodeEvent ? Omit<E, 'task' | 'timestamp'> : never) : never;

/** What a run needs from its graph: its settings, and a way to publish what happens. */
export interface IGraphRunHost {
  readonly name: string | undefined;
  readonly topology: IGraphTopology;
  readonly maxConcurrent: number;
  readonly onFailure: TTaskgraphFailurePolicy;
  /** Whether anyone listens: node events are built only then. */
  isObserved(): boolean;
  emitNodeEvent(fields: TNodeEventFields, timestamp: number): void;
  /** A node's step began (`ended` false) or ended, at `now`. */
  markNode(name: string, ended: boolean, now: number): void;
}

/**
 * One run of a graph: starts each node once its prerequisites completed (at most
 * `maxConcurrent` at a time, in definition order among the ready ones), feeds it their
 * results, and applies the failure policy. Its bookkeeping is the plain IGraphRunState;
 * `records` and the ready list only index into it.
 */
export class GraphRun {
  private readonly state: IGraphRunState;
  /** `state.nodes` by node index. */
  private readonly records: IGraphNodeState[];
  private readonly ready: number[] = [];
  private readyHead = 0;
  private running = 0;
  private stopping = false;
  private pumping = false;
  private finished = false;
  /** The first failure of a node that is not optional: the graph fails with it. */
  private failure: { error: unknown } | undefined;
  /**
   * What aborts each running node, by node index: a NodeControl, or under a manager an
   * AbortController (one each: a signal shared by all would gather a listener per node,
   * and Node warns of a leak past ten).
   */
  private readonly controllers: Array<{ abort(reason: unknown): void } | undefined>;
  /** Why the graph stopped, once it did: nodes that end with an error after it were cancelled. */
  private stopReason: { reason: unknown } | undefined;
  private readonly onOuterAbort: () => void;
  private resolve!: (report: ITaskgraphReport) => void;
  private reject!: (error: unknown) => void;

  constructor(
    private readonly host: IGraphRunHost,
    private readonly graphInput: unknown,
    runId: string,
    private readonly signal: AbortSignal,
    /** The manager that started the graph, when one did: nodes run through it. */
    private readonly managedTrigger: TManagedTrigger | undefined,
  ) {
    this.state = newRunState(host.topology, host.name ?? '', runId, timeNow());
    this.records = host.topology.nodes.map((spec) => this.state.nodes[spec.name]!);
    this.controllers = new Array(this.records.length);
    this.onOuterAbort = () => this.stop(signal.reason, `the graph was cut short: ${messageOf(signal.reason)}`);
  }

  /** Runs the graph; resolves with its report, or rejects with a TaskgraphError. */
  run(): Promise<ITaskgraphReport> {
    const promise = new Promise<ITaskgraphReport>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (this.signal.aborted) this.onOuterAbort();
    else this.signal.addEventListener('abort', this.onOuterAbort, { once: true });
    for (const root of this.host.topology.roots) this.ready.push(root);
    this.pump();
    return promise;
  }

  /** Starts ready nodes while there is room; ends the run when nothing runs or can start. */
  private pump(): void {
    if (this.pumping || this.finished) return;
    this.pumping = true;
    const { ready, host } = this;
    while (!this.stopping && this.running < host.maxConcurrent && this.readyHead < ready.length) this.startNode(ready[this.readyHead++]!);
    this.pumping = false;
    if (this.running === 0 && (this.stopping || this.readyHead === ready.length)) this.finish();
  }

  private startNode(index: number): void {
    const spec = this.host.topology.nodes[index]!;
    const record = this.records[index]!;
    const now = timeNow();
    record.status = 'running';
    record.startedAt = now;
    this.running++;
    const nodeRunId = this.nodeRunId(spec.name);
    this.host.markNode(spec.name, false, now);
    if (this.host.isObserved()) this.host.emitNodeEvent({ type: 'node-started', runId: this.state.runId, node: spec.name, nodeRunId }, now);
    let outcome: Promise<unknown>;
    try {
      outcome = this.triggerNode(index, spec, this.inputOf(spec), nodeRunId);
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then(
      (result) => this.nodeEnded(index, nodeRunId, true, result),
      (error: unknown) => this.nodeEnded(index, nodeRunId, false, error),
    );
  }

  /** Triggers the node's task, through the manager when one started the graph. */
  private triggerNode(index: number, spec: IGraphNodeSpec, input: unknown, nodeRunId: string): Promise<unknown> {
    if (this.managedTrigger === undefined) {
      const control = new NodeControl();
      this.controllers[index] = control;
      return spec.task.trigger(input, { runId: nodeRunId, [RUN_CONTROL]: control } as TControlledOptions);
    }
    const controller = new AbortController();
    this.controllers[index] = controller;
    const options: ITriggerOptions = { signal: controller.signal, runId: nodeRunId };
    return this.managedTrigger(spec.task, input, options);
  }

  /** The node's input: its `input` function's, else the graph's input, its one prerequisite's result, or all of theirs. */
  private inputOf(spec: IGraphNodeSpec): unknown {
    const { after } = spec;
    if (spec.input === undefined) {
      if (after.length === 0) return this.graphInput;
      if (after.length === 1) return this.records[after[0]!]!.result;
    }
    const results: Record<string, unknown> = {};
    for (const prerequisite of after) setKey(results, this.host.topology.nodes[prerequisite]!.name, this.records[prerequisite]!.result);
    return spec.input === undefined ? results : spec.input(results, this.graphInput);
  }

  private nodeEnded(index: number, nodeRunId: string, ok: boolean, value: unknown): void {
    const spec = this.host.topology.nodes[index]!;
    const record = this.records[index]!;
    const now = timeNow();
    this.running--;
    this.controllers[index] = undefined;
    record.endedAt = now;
    const duration = now - record.startedAt!;
    const observed = this.host.isObserved();
    if (ok) {
      record.status = 'completed';
      record.result = value;
      this.host.markNode(spec.name, true, now);
      if (observed) this.host.emitNodeEvent({ type: 'node-completed', runId: this.state.runId, node: spec.name, nodeRunId, duration }, now);
      for (const dependent of spec.dependents) {
        const waiting = this.records[dependent]!;
        if (--waiting.waitingFor === 0 && waiting.status === 'pending') this.ready.push(dependent);
      }
    } else {
      const cancelled = this.stopReason !== undefined;
      record.status = cancelled ? 'cancelled' : 'failed';
      record.error = messageOf(value);
      if (!cancelled) this.state.failed.push(spec.name);
      if (observed) {
        this.host.emitNodeEvent({ type: 'node-failed', runId: this.state.runId, node: spec.name, nodeRunId, error: record.error, duration, cancelled }, now);
      }
      this.skipDependents(spec, `${JSON.stringify(spec.name)} ${record.status === 'failed' ? 'failed' : 'was cancelled'}`);
      if (!cancelled && !spec.optional && this.failure === undefined) {
        this.failure = { error: value };
        if (this.host.onFailure === 'stop') this.stop(new Error(`${describeGraph(this.host.name)} stopped: node ${JSON.stringify(spec.name)} failed`), 'the graph stopped');
      }
    }
    this.pump();
  }

  /** Marks every node after `spec` that has not started as skipped. */
  private skipDependents(spec: IGraphNodeSpec, reason: string): void {
    const stack = [...spec.dependents];
    while (stack.length > 0) {
      const index = stack.pop()!;
      if (this.records[index]!.status !== 'pending') continue;
      this.skip(index, reason);
      stack.push(...this.host.topology.nodes[index]!.dependents);
    }
  }

  private skip(index: number, reason: string): void {
    this.records[index]!.status = 'skipped';
    if (this.host.isObserved()) {
      this.host.emitNodeEvent({ type: 'node-skipped', runId: this.state.runId, node: this.host.topology.nodes[index]!.name, reason }, timeNow());
    }
  }

  /** Starts nothing more, skips every node not started and aborts the running ones. */
  private stop(reason: unknown, why: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.records.forEach((record, index) => {
      if (record.status === 'pending') this.skip(index, why);
    });
    this.stopReason = { reason };
    for (const controller of this.controllers) controller?.abort(reason);
    this.pump();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.signal.removeEventListener('abort', this.onOuterAbort);
    const report = reportOf(this.state, this.failure !== undefined, timeNow());
    if (this.failure === undefined) return this.resolve(report);
    this.reject(new TaskgraphError(this.host.name, report, this.state.failed, this.failure.error));
  }

  /** The node's own run id: the graph run's with the node's name, when that is not too long. */
  private nodeRunId(name: string): string {
    const derived = `${this.state.runId}/${name}`;
    return derived.length <= MAX_RUN_ID_LENGTH ? derived : runIdOf(nextRunKey());
  }
}
