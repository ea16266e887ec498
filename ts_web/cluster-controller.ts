import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { IClusterInstance } from 'taskbuffer';
import { PollLoop, refreshIntervalMs } from './poll-loop.js';
import { messageOf } from './error-text.js';

/** One live instance of a cluster, as the dashboard's cluster view reads it. Plain data. */
export interface IDashboardInstance extends IClusterInstance {
  /** Whether this is the instance the page is connected to (a gateway client's answer says). */
  self?: boolean;
}

/**
 * What the cluster view reads: anything that lists the live instances. A `RedisCoordinator`
 * (`taskbuffer/redis`, in Node) and a `TaskGatewayClient` (`taskbuffer/client`, in the
 * browser) both are one.
 */
export interface IDashboardCluster {
  getInstances(): Promise<IDashboardInstance[]>;
}

/** A heartbeat older than this when it was read shows as late, unless the instance beats more slowly (see `isLate`). */
export const LATE_HEARTBEAT_MS = 5_000;

/** The same as the dashboard's `refreshInterval` default. */
const DEFAULT_REFRESH_MS = 1000;

/**
 * Reads a cluster's live instances for a host element: once when the host is connected (or
 * the cluster is set), then every `refreshInterval` ms after each answer, so two reads
 * never overlap, and not at all while the host is disconnected (no timer is left then). A
 * failed read keeps the last instances and says why in `error`. Each answer asks the host
 * to update.
 */
export class ClusterController implements ReactiveController {
  /** The live instances as last read (in the order the cluster lists them). */
  instances: readonly IDashboardInstance[] = [];
  /** When `instances` were read (the page's clock); `undefined` before the first answer. */
  readAt: number | undefined;
  /** Why the last read failed, in words; `undefined` once a read succeeds. */
  error: string | undefined;
  /**
   * Every task name some live instance has; `undefined` when that is not known: no instance
   * listed, or one of them does not report its tasks (so an older instance never makes a
   * task look orphaned).
   */
  liveTasks: ReadonlySet<string> | undefined;
  /** Task names no live instance has, as a set that answers `has` (empty while `liveTasks` is unknown). */
  readonly orphans: Pick<ReadonlySet<string>, 'has'> = {
    has: (name: string) => this.liveTasks !== undefined && !this.liveTasks.has(name),
  };

  private readonly poll = new PollLoop<IDashboardCluster>({
    cadence: 'fixed-delay',
    intervalMs: DEFAULT_REFRESH_MS,
    read: (cluster, isCurrent) => this.read(cluster, isCurrent),
  });
  /** Per instance: the last heartbeat seen and the shortest gap seen between two of its heartbeats. */
  private readonly beats = new Map<string, { last: number; period: number }>();

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  /** The cluster shown (`undefined`: none). */
  get cluster(): IDashboardCluster | undefined {
    return this.poll.source;
  }

  /** Reads `cluster` (`undefined`: none) every `refreshInterval` ms (`0`: once). Called by the host as it updates. */
  watch(cluster: IDashboardCluster | undefined, refreshInterval: number): void {
    if (cluster !== this.poll.source) {
      this.instances = [];
      this.readAt = undefined;
      this.error = undefined;
      this.liveTasks = undefined;
      this.beats.clear();
      this.poll.setSource(cluster);
    }
    // A new interval reads at once (unless the read on its way sets the next).
    this.poll.setIntervalMs(refreshIntervalMs(refreshInterval));
  }

  hostConnected(): void {
    this.poll.connect();
  }

  hostDisconnected(): void {
    this.poll.disconnect();
  }

  /**
   * Whether `instance`'s heartbeat was late when it was last read: older than
   * `LATE_HEARTBEAT_MS`, or than two of its own heartbeat periods when it beats more slowly
   * (a coordinator with a long `leaseMs`). Ages compare the page's clock with the cluster's.
   */
  isLate(instance: IDashboardInstance): boolean {
    if (this.readAt === undefined) return false;
    const period = this.beats.get(instance.instanceId)?.period ?? 0;
    return this.readAt - instance.lastHeartbeat > Math.max(LATE_HEARTBEAT_MS, 2 * (Number.isFinite(period) ? period : 0));
  }

  private async read(cluster: IDashboardCluster, isCurrent: () => boolean): Promise<void> {
    let answer: unknown;
    let failure: unknown;
    let failed = false;
    try {
      answer = await cluster.getInstances();
    } catch (error) {
      failed = true;
      failure = error;
    }
    if (isCurrent()) {
      if (failed) this.error = `Could not read the cluster: ${messageOf(failure)}`;
      else if (!Array.isArray(answer)) this.error = 'Could not read the cluster: getInstances() did not answer a list';
      else this.take(answer.map(plainInstance));
    }
    this.host.requestUpdate();
  }

  private take(instances: IDashboardInstance[]): void {
    this.instances = instances;
    this.readAt = Date.now();
    this.error = undefined;
    const everyReports = instances.length > 0 && instances.every((instance) => instance.tasks !== undefined);
    this.liveTasks = everyReports ? new Set(instances.flatMap((instance) => instance.tasks!)) : undefined;
    const seen = new Set<string>();
    for (const { instanceId, lastHeartbeat } of instances) {
      seen.add(instanceId);
      const beat = this.beats.get(instanceId);
      if (beat === undefined) this.beats.set(instanceId, { last: lastHeartbeat, period: Number.POSITIVE_INFINITY });
      else if (lastHeartbeat > beat.last) this.beats.set(instanceId, { last: lastHeartbeat, period: Math.min(beat.period, lastHeartbeat - beat.last) });
    }
    for (const instanceId of this.beats.keys()) if (!seen.has(instanceId)) this.beats.delete(instanceId);
  }
}

/** A copy with the expected types, whatever came over the wire (names become strings; a `tasks` that is no list is unknown). */
function plainInstance(raw: unknown): IDashboardInstance {
  const record = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const names = (value: unknown) => (Array.isArray(value) ? value.map(String) : undefined);
  const tasks = names(record.tasks);
  return {
    instanceId: String(record.instanceId),
    host: String(record.host),
    pid: Number(record.pid),
    startedAt: Number(record.startedAt),
    lastHeartbeat: Number(record.lastHeartbeat),
    runningTasks: names(record.runningTasks) ?? [],
    ...(tasks === undefined ? {} : { tasks }),
    ...(record.self === true ? { self: true } : {}),
  };
}

