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

  /**
   * Cluster-wide slots, for constraint groups with `scope: 'cluster'`. `undefined` when
   * this coordinator has none (the default).
   */
  get clusterSlots(): IClusterSlots | undefined {
    return undefined;
  }

  /** The id this coordinator knows its instance by, if it has one; TaskManager adopts it. */
  get instanceId(): string | undefined {
    return undefined;
  }

  /** Called once by the TaskManager the coordinator is given to, before `start()`. */
  bindManager(_manager: ICoordinatedManager): void {}
}

/** One cluster-wide slot: a key of a constraint group created with `scope: 'cluster'`. */
export interface IClusterSlot {
  groupName: string;
  key: string;
  maxConcurrent: number;
  cooldownMs: number;
}

/**
 * Slots shared by every instance of a cluster. A coordinator that offers them makes
 * `scope: 'cluster'` constraint groups possible.
 */
export interface IClusterSlots {
  /**
   * Takes a slot for `holder` (unique per run). Resolves once it is held; rejects when
   * `signal` aborts first, or when `timeoutMs` passes without the cluster being reachable.
   * Rejections are `TaskbufferError`s (e.g. `AbortError`), since they reach the trigger.
   */
  acquire(slot: IClusterSlot, holder: string, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<void>;
  /** Gives the slot back and, when the run `ran`, starts the key's cooldown. Never throws. */
  release(slot: IClusterSlot, holder: string, ran: boolean): void;
}

/** What a coordinator may use of the manager it serves. */
export interface ICoordinatedManager {
  readonly instanceId: string;
  /** Every task event of the manager (an rxjs Subject). */
  readonly taskSubject: import('rxjs').Subject<import('../events.js').ITaskEvent>;
  /** Names of the tasks that are running right now. */
  runningTaskNames(): string[];
  /** Names of every task the manager has now (running or not). */
  taskNames(): string[];
}
