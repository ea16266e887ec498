import type { Subject, Subscription } from 'rxjs';
import type { ITaskEvent } from '../events.js';
import type { ICoordinatedManager } from './abstract.js';
import type { ICoordinatorContext } from './redisconnection.js';

/** A task event of some instance of the cluster. */
export type IClusterTaskEvent = ITaskEvent & { instanceId: string };

/**
 * Carries task events across the cluster on the `events` channel: this instance's go
 * out, and every instance's, this one's included, come in to `clusterEventSubject`.
 */
export class ClusterEventRelay {
  private subscription: Subscription | undefined;

  constructor(
    private readonly context: ICoordinatorContext,
    private readonly subject: Subject<IClusterTaskEvent>,
  ) {}

  /** From start() on: every task event of `manager` is published. */
  publishFrom(manager: ICoordinatedManager): void {
    this.subscription = manager.taskSubject.subscribe((event) => this.publish(event));
  }

  /** On stop(): this instance's events stay here. */
  stopPublishing(): void {
    this.subscription?.unsubscribe();
  }

  /** A message of the `events` channel, for `clusterEventSubject` (not even parsed while nobody listens). */
  receive(message: string): void {
    if (!this.subject.observed) return;
    let event: IClusterTaskEvent;
    try {
      const received = JSON.parse(message) as { instanceId: string; event: ITaskEvent };
      event = { ...received.event, instanceId: received.instanceId };
    } catch (error) {
      return this.context.connection.report(error, 'ignored a malformed cluster event');
    }
    // Outside the try: the subject isolates its subscribers and reports what they throw itself.
    this.subject.next(event);
  }

  private publish(event: ITaskEvent): void {
    const { connection, keys, instanceId } = this.context;
    if (!connection.isOpen) return;
    connection.publish(keys.eventsChannel, JSON.stringify({ instanceId, event }))
      .catch((error: unknown) => connection.report(error, `could not publish a ${JSON.stringify(event.type)} event of task ${JSON.stringify(event.task.name)}`));
  }
}
