import { hostname } from 'node:os';
import type { ICoordinatedManager } from './abstract.js';
import type { IClusterInstance } from './clusterinstance.js';
import { CoordinatorStoppedError } from './errors.js';
import { withTimeout, type ICoordinatorContext } from './redisconnection.js';

/**
 * Who is in the cluster: each instance writes its record with every heartbeat (it lapses
 * after 3 × leaseMs without one) and drops it on stop(); any instance lists them all.
 */
export class RedisPresence {
  private startedAt = 0;

  constructor(
    private readonly context: ICoordinatorContext,
    /** The manager the coordinator serves (none before `bindManager`), whose tasks go into the record. */
    private readonly manager: () => ICoordinatedManager | undefined,
  ) {}

  /** start() began: this is when the instance joined, as its record says. */
  joining(): void {
    this.startedAt = Date.now();
  }

  /** Writes this instance's record, with its tasks and those running now. */
  async heartbeat(): Promise<void> {
    const { connection, keys, instanceId, leaseMs } = this.context;
    const info = {
      instanceId,
      host: hostname(),
      pid: process.pid,
      startedAt: this.startedAt,
      runningTasks: this.manager()?.runningTaskNames() ?? [],
      // Without a manager the tasks are unknown, not none (JSON drops the undefined): no false "no live instance" badges.
      tasks: this.manager()?.taskNames(),
    };
    await connection.call('heartbeat', [keys.instances(), keys.instance(instanceId)], [instanceId, JSON.stringify(info), 3 * leaseMs]);
  }

  /**
   * On stop(): drops this instance's record within `graceMs`, if Redis answers at all.
   * No slots are named: those of runs that still go on stay held until the runs end.
   * Never throws; a failure is reported (the record lapses by itself).
   */
  async leave(graceMs: number): Promise<void> {
    const { connection, keys, instanceId } = this.context;
    if (!connection.isReady) return;
    try {
      await withTimeout(connection.call('releaseAll', [keys.instances(), keys.instance(instanceId)], [instanceId, keys.slotsChannel]),
        graceMs, 'releasing the slots and ticks of this instance on stop()');
    } catch (error) {
      connection.report(error, 'could not release the slots and ticks of this instance on stop() (their leases expire by themselves)');
    }
  }

  /** Live instances (heartbeat within 3 × leaseMs), with their tasks and those running. */
  async list(): Promise<IClusterInstance[]> {
    const { connection, keys, leaseMs } = this.context;
    if (!connection.isOpen) throw new CoordinatorStoppedError('getInstances: RedisCoordinator is not started (or was stopped)');
    const infos = (await connection.call('listInstances', [keys.instances()], [3 * leaseMs, keys.instance('')])) as Array<string | null>;
    const instances: IClusterInstance[] = [];
    for (const info of infos) {
      if (info === null || info === false as unknown) continue;
      try {
        instances.push(JSON.parse(info) as IClusterInstance);
      } catch {
        // A record from an incompatible version: not ours to list.
      }
    }
    return instances.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
  }
}
