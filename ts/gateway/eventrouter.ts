import type { Observable, Subscription } from 'rxjs';
import type { ITaskEvent } from '../events.js';
import type { TaskManager } from '../manager/taskmanager.js';
import type { IEventFilter, TWireEvent } from '../remote/protocol.js';

/** Where routed events go: a connection's subscription or run watch. `json` is the event as JSON, made once for all. */
export interface IEventSink {
  deliver(json: string, event: ITaskEvent): void;
}

interface ISubscription {
  filter: IEventFilter;
  sink: IEventSink;
}

/** A task event of the cluster: `clusterEventSubject`'s, with the instance it happened on. */
type TClusterEvent = ITaskEvent & { instanceId: string };

/**
 * Takes the manager's task events (and, in a cluster, every instance's) to the
 * subscriptions and run watches of the gateway's connections. It listens only while
 * someone subscribes or watches, so a gateway nobody watches costs the manager nothing;
 * each event is made JSON once, however many connections get it.
 */
export class EventRouter {
  private readonly subscriptions = new Set<ISubscription>();
  private readonly watchers = new Map<string, Set<IEventSink>>();
  private listening: Subscription[] = [];

  constructor(
    private readonly manager: TaskManager,
    /** The coordinator's `clusterEventSubject`, when the manager is part of a cluster. */
    private readonly clusterEvents: Observable<TClusterEvent> | undefined,
  ) {}

  subscribe(filter: IEventFilter, sink: IEventSink): () => void {
    const subscription: ISubscription = { filter, sink };
    this.subscriptions.add(subscription);
    this.listen();
    return () => {
      this.subscriptions.delete(subscription);
      this.stopListeningIfUnused();
    };
  }

  watchRun(runId: string, sink: IEventSink): () => void {
    let sinks = this.watchers.get(runId);
    if (sinks === undefined) this.watchers.set(runId, (sinks = new Set()));
    sinks.add(sink);
    this.listen();
    return () => {
      sinks.delete(sink);
      if (sinks.size === 0 && this.watchers.get(runId) === sinks) this.watchers.delete(runId);
      this.stopListeningIfUnused();
    };
  }

  /** Stops listening and forgets every subscription and watch (the gateway stops). */
  close(): void {
    this.subscriptions.clear();
    this.watchers.clear();
    this.stopListeningIfUnused();
  }

  private listen(): void {
    if (this.listening.length > 0) return;
    const ownInstance = this.manager.instanceId;
    const clusterEvents = this.clusterEvents;
    if (clusterEvents === undefined) {
      this.listening.push(this.manager.taskSubject.subscribe((event) => this.route(event)));
      return;
    }
    // Local events straight from the manager (no round trip through Redis), the others' from the cluster.
    this.listening.push(
      this.manager.taskSubject.subscribe((event) => this.route({ ...event, instanceId: ownInstance } as TWireEvent)),
      clusterEvents.subscribe((event) => {
        if (event.instanceId !== ownInstance) this.route(event);
      }),
    );
  }

  private stopListeningIfUnused(): void {
    if (this.subscriptions.size > 0 || this.watchers.size > 0) return;
    for (const subscription of this.listening) subscription.unsubscribe();
    this.listening = [];
  }

  private route(event: TWireEvent): void {
    let json: string | undefined;
    const runId = event.runId;
    const watchers = runId === undefined ? undefined : this.watchers.get(runId);
    // No copies: a Set's iteration skips what a delivery removes (a connection cut off as a slow reader).
    if (watchers !== undefined) {
      json = JSON.stringify(event);
      for (const sink of watchers) sink.deliver(json, event);
    }
    for (const subscription of this.subscriptions) {
      if (!matches(subscription.filter, event)) continue;
      json ??= JSON.stringify(event);
      subscription.sink.deliver(json, event);
    }
  }
}

/** Whether `event` is one `filter` asks for: its task, and every label it names. */
export function matches(filter: IEventFilter, event: ITaskEvent): boolean {
  if (filter.taskName !== undefined && event.task.name !== filter.taskName) return false;
  const labels = filter.labels;
  if (labels === undefined) return true;
  for (const key in labels) if (event.task.labels[key] !== labels[key]) return false;
  return true;
}
