import { TaskbufferError } from '../errors.js';

/** The cluster slot a run waited for, as the coordinator's errors report it. */
export interface IWaitedSlot {
  groupName: string;
  key: string;
  /** How many runs of this instance waited for the same slot, this one included. */
  waiting: number;
}

/**
 * The coordinator was asked for something while it is not running: before
 * `manager.start()`, or after `stop()` (which also rejects runs still waiting for a
 * cluster slot with it).
 */
export class CoordinatorStoppedError extends TaskbufferError {
  override name = 'CoordinatorStoppedError';
  /** The group of the cluster slot the run asked for, if it asked for one. */
  readonly groupName: string | undefined;
  readonly key: string | undefined;
  readonly waiting: number | undefined;

  constructor(message: string, slot?: IWaitedSlot) {
    super('COORDINATOR_STOPPED', message);
    this.groupName = slot?.groupName;
    this.key = slot?.key;
    this.waiting = slot?.waiting;
  }
}

/**
 * Redis did not answer within `timeoutMs`: a cluster-scoped trigger with `timeoutMs`
 * gave up waiting for its slot (a busy slot alone never causes this), or `stop()` gave up
 * releasing what this instance held (the leases then expire by themselves).
 */
export class ClusterUnreachableError extends TaskbufferError {
  override name = 'ClusterUnreachableError';
  readonly timeoutMs: number;
  /** The group of the cluster slot the run waited for, if it waited for one. */
  readonly groupName: string | undefined;
  readonly key: string | undefined;
  readonly waiting: number | undefined;

  constructor(message: string, timeoutMs: number, slot?: IWaitedSlot) {
    super('CLUSTER_UNREACHABLE', message);
    this.timeoutMs = timeoutMs;
    this.groupName = slot?.groupName;
    this.key = slot?.key;
    this.waiting = slot?.waiting;
  }
}

/** `"key" of group "name" (3 runs of this instance wait for it)`, for messages. */
export function describeWaitedSlot(slot: IWaitedSlot): string {
  const runs = slot.waiting === 1 ? '1 run of this instance waits' : `${slot.waiting} runs of this instance wait`;
  return `${JSON.stringify(slot.key)} of group ${JSON.stringify(slot.groupName)} (${runs} for it)`;
}

/** `taskbuffer/redis` was imported without ioredis installed (an optional peer dependency). */
export class MissingDependencyError extends TaskbufferError {
  override name = 'MissingDependencyError';
  /** The package to install. */
  readonly packageName: string;

  constructor(packageName: string, message: string, cause: unknown) {
    super('MISSING_DEPENDENCY', message, { cause });
    this.packageName = packageName;
  }
}

/** Only the package itself missing; a broken package (one of its own files missing) keeps its own error. */
export function isMissingPackage(error: unknown, name: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === 'ERR_MODULE_NOT_FOUND' && typeof message === 'string' && message.includes(`'${name}'`);
}
