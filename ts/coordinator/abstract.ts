/** What a run asked of the cluster, and later how it went. Plain JSON-safe data. */
export interface IDistributedTaskRequest {
  /** Unique per request, e.g. for correlating the later update. */
  requestId: string;
  /** The instance asking (`manager.instanceId`). */
  instanceId: string;
  taskName: string;
  /**
   * The tick's scheduled time in epoch ms: the same value on every instance that fires
   * this tick, whatever their clocks say, so `taskName` + `scheduledAt` identify the tick.
   */
  scheduledAt: number;
  /** When this instance sent the request (its own clock). */
  submittedAt: number;
  /** `requesting` when asked; `succeeded`, `failed` or `skipped` when reported back. */
  status: TDistributedTaskStatus;
  /** When the run ended, with the update. */
  finishedAt?: number;
  /** The failure's message, with a `failed` update. */
  error?: string;
}

export type TDistributedTaskStatus = 'requesting' | 'succeeded' | 'failed' | 'skipped';

/** The coordinator's answer: run here (`shouldTrigger`) or leave it to another instance. */
export interface IDistributedTaskRequestResult extends IDistributedTaskRequest {
  shouldTrigger: boolean;
  /** Whether the coordinator took part in an election for this tick at all. */
  considered: boolean;
  /** This instance's place in the election (1 = elected), as far as the coordinator ranks. */
  rank: number;
  /** Why, for logs: e.g. `elected`, `another instance holds the tick`. */
  reason: string;
}

/**
 * The seam for running several TaskManager instances as one. Before a cron-fired run the
 * manager asks `fireDistributedTaskRequest` and runs only if `shouldTrigger` is true; it
 * then reports the outcome with `updateDistributedTaskRequest`. `start`/`stop` follow the
 * manager's.
 */
export abstract class AbstractDistributedCoordinator {
  abstract fireDistributedTaskRequest(request: IDistributedTaskRequest): Promise<IDistributedTaskRequestResult>;
  abstract updateDistributedTaskRequest(request: IDistributedTaskRequest): Promise<void>;
  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;
}
