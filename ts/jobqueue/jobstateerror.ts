import { TaskbufferError } from '../errors.js';
import type { TJobState } from './jobrecord.js';

/**
 * `retry` of a job that is not `failed` or `cancelled`: it is still waiting, delayed
 * (also between the tries of its retry policy), active, or it completed. Nothing changed.
 */
export class JobStateError extends TaskbufferError {
  override name = 'JobStateError';
  readonly jobId: string;
  /** The state the job is in. */
  readonly state: TJobState;

  constructor(jobId: string, state: TJobState) {
    super('JOB_NOT_RETRYABLE', `retry: job ${JSON.stringify(jobId)} is ${state}; only a failed or cancelled job can be retried`);
    this.jobId = jobId;
    this.state = state;
  }
}
