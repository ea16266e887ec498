import type { IJob, TJobState } from '../jobqueue/jobrecord.js';
import type { IQueueCounts } from '../jobqueue/jobrecord.js';
import { InvalidOptionError } from '../errors.js';
import { assertNonEmptyString, assertOptionsObject } from '../internal/validate.js';
import type { TRequestWithoutId } from './gatewaylink.js';

/** Options of `client.queue.listJobs(...)`: as the queue's own `listJobs`. */
export interface IRemoteListJobsOptions {
  state: TJobState;
  /** 1–1000. @default 50 */
  limit?: number;
  /** The id of the last job of the previous page. */
  after?: string;
}

/**
 * The gateway's durable queue, as a client sees it (`client.queue`): the same reads and
 * actions as RedisTaskQueue's, over the connection. Reads need the `read` scope;
 * `cancel` needs `control:<the job's task>`, `retry` needs `trigger:<the job's task>`.
 * A gateway without a `queue` refuses each call (`BAD_FRAME`).
 */
export class RemoteQueue {
  /** @internal the client's request function */
  constructor(private readonly request: (frame: TRequestWithoutId) => Promise<unknown>) {}

  /** Jobs per state, whether the queue is paused, and waiting jobs no live worker can run. */
  getCounts(): Promise<IQueueCounts> {
    return this.request({ type: 'queueCounts' }) as Promise<IQueueCounts>;
  }

  /** A page of jobs in one state (oldest first); pass the last id as `after` for the next page. */
  listJobs(options: IRemoteListJobsOptions): Promise<IJob[]> {
    assertOptionsObject('client.queue.listJobs', options, ['state', 'limit', 'after']);
    return this.request({ type: 'queueJobs', state: options.state, limit: options.limit, after: options.after }) as Promise<IJob[]>;
  }

  /** The job's record, or `null` when the queue has none by that id. */
  getJob(id: string): Promise<IJob | null> {
    assertJobId('client.queue.getJob', id);
    return this.request({ type: 'queueJob', jobId: id }) as Promise<IJob | null>;
  }

  /** Cancels the job (an active one is aborted where it runs); resolves with its state after the call. */
  cancel(id: string, reason?: string): Promise<TJobState> {
    assertJobId('client.queue.cancel', id);
    return this.request({ type: 'queueCancel', jobId: id, reason }) as Promise<TJobState>;
  }

  /** Puts a failed or cancelled job back to waiting, as new; resolves with `waiting`. */
  retry(id: string): Promise<TJobState> {
    assertJobId('client.queue.retry', id);
    return this.request({ type: 'queueRetry', jobId: id }) as Promise<TJobState>;
  }
}

/** The longest id a frame may carry (the gateway refuses longer ones as malformed, and closes a connection that keeps sending them). */
const MAX_ID_LENGTH = 1024;

function assertJobId(where: string, id: unknown): asserts id is string {
  assertNonEmptyString(where, 'id', id);
  if (id.length > MAX_ID_LENGTH) {
    throw new InvalidOptionError('id', `${id.slice(0, 40)}...`, `${where}: expected \`id\` to be at most ${MAX_ID_LENGTH} characters, got ${id.length}`);
  }
}
