/**
 * One live instance of a cluster, as plain JSON-safe data: what
 * `RedisCoordinator.getInstances()` lists, what a gateway's `instances` reply carries
 * (`IWireInstance`, which adds `self`) and what the dashboard's cluster view shows
 * (`IDashboardInstance`). Declared apart from the Redis coordinator, with no imports, so
 * that the core, the client and the dashboard name it without loading Node-only code.
 */
export interface IClusterInstance {
  instanceId: string;
  host: string;
  pid: number;
  /** When it joined the cluster (epoch ms). */
  startedAt: number;
  /**
   * When it last said it is alive, renewing its presence (epoch ms, the cluster's clock:
   * Redis's, with a RedisCoordinator).
   */
  lastHeartbeat: number;
  /** Names of its tasks that were running at that heartbeat. */
  runningTasks: string[];
  /**
   * Names of every task its manager had at that heartbeat, running or not. Absent in the
   * record of an instance of an older version, which did not say: treat that as unknown,
   * not as none.
   */
  tasks?: string[];
}
