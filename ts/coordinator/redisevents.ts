import type { Subject, Subscription } from 'rxjs';
import type { ITaskEvent } from '../events.js';
import type { ICoordinatedManager } from './abstract.js';
import type { ICoordinatorContext } from './redisconnection.js';

/** A task event of some instance of the cluster. */
export type IClusterTaskEvent = ITaskEvent & { instanceId: string };

/**
 * How long an event may wait for others to go out with it. A slot script of this instance
 * sent meanwhile carries them instead (`takeBatch`), so under load events cost no PUBLISH
 * of their own; alone, a few ms of delay buys one PUBLISH for a burst instead of one each.
 */
const BATCH_DELAY_MS = 2;
/** A batch this long goes out at once, keeping messages small. */
const MAX_BATCH = 256;

/**
 * Carries task events across the cluster on the `events` channel: this instance's go
 * out in batches (one message: `{ instanceId, events: [...] }`, in the order they
 * happened), and every instance's, this one's included, come in one by one to
 * `clusterEventSubject`.
 */
export class ClusterEventRelay {
  private subscription: Subscription | undefined;
  /** Events not sent yet, each as JSON. */
  private pending: string[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly context: ICoordinatorContext,
    private readonly subject: Subject<IClusterTaskEvent>,
  ) {}

  /** From start() on: every task event of `manager` is published. */
  publishFrom(manager: ICoordinatedManager): void {
    this.subscription = manager.taskSubject.subscribe((event) => this.add(event));
  }

  /** On stop(): events so far still go out; later ones stay here. */
  stopPublishing(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    this.flush();
  }

  /**
   * The events waiting to go out as one message for the `events` channel, taken out of the
   * batch (`''` when there are none): a script about to run publishes them itself.
   */
  takeBatch(): string {
    if (this.pending.length === 0) return '';
    clearTimeout(this.timer);
    this.timer = undefined;
    const message = `{"instanceId":${JSON.stringify(this.context.instanceId)},"events":[${this.pending.join(',')}]}`;
    this.pending = [];
    return message;
  }

  /** A message of the `events` channel, for `clusterEventSubject` (not even parsed while nobody listens). */
  receive(message: string): void {
    if (!this.subject.observed) return;
    let events: IClusterTaskEvent[];
    try {
      const received = JSON.parse(message) as { instanceId: string; events?: ITaskEvent[]; event?: ITaskEvent };
      // `event` alone: a message of an instance of an earlier version, one event each.
      const batch = received.events ?? (received.event === undefined ? [] : [received.event]);
      events = batch.map((event) => ({ ...event, instanceId: received.instanceId }));
    } catch (error) {
      return this.context.connection.report(error, 'ignored a malformed cluster event');
    }
    // Outside the try: the subject isolates its subscribers and reports what they throw itself.
    for (const event of events) this.subject.next(event);
  }

  private add(event: ITaskEvent): void {
    let json: string;
    try {
      // Now, not when the batch goes: the event as it was when it happened.
      json = JSON.stringify(event);
    } catch (error) {
      return this.context.connection.report(error, `could not publish a ${JSON.stringify(event.type)} event of task ${JSON.stringify(event.task?.name)}`);
    }
    this.pending.push(json);
    if (this.pending.length >= MAX_BATCH) this.flush();
    else this.timer ??= setTimeout(this.flush, BATCH_DELAY_MS);
  }

  private readonly flush = (): void => {
    const { connection, keys } = this.context;
    const message = this.takeBatch();
    if (message === '' || !connection.isOpen) return;
    connection.publish(keys.eventsChannel, message)
      .catch((error: unknown) => connection.report(error, 'could not publish task events of this instance'));
  };
}
