/**
 * `taskbuffer/redis`: runs TaskManager instances as one cluster on a shared Redis, and a
 * durable job queue on it (Node only; needs the optional peer dependency ioredis). This
 * entry point only names what the package offers; the parts live in the files named below.
 */
export { RedisCoordinator } from './rediscoordinator.js';
export type { IRedisCoordinatorOptions } from './redisoptions.js';
export type { IClusterInstance } from './clusterinstance.js';
export type { IClusterTaskEvent } from './redisevents.js';
export { ClusterUnreachableError, CoordinatorStoppedError, MissingDependencyError } from './errors.js';
export { RedisTaskQueue } from '../jobqueue/redistaskqueue.js';
export type { IAddedJob } from '../jobqueue/redistaskqueue.js';
export type { IRedisTaskQueueOptions, IAddJobOptions, IBulkJob, IQueueStopOptions, IListJobsOptions } from '../jobqueue/queueoptions.js';
export type { IJob, IJobRetryOptions, IQueueCounts, TJobState } from '../jobqueue/jobrecord.js';
export type {
  IQueueEvent,
  TQueueEventType,
  IJobAddedEvent,
  IJobStartedEvent,
  IJobStepEvent,
  IJobProgressEvent,
  IJobRetryingEvent,
  IJobCompletedEvent,
  IJobFailedEvent,
  IJobCancelledEvent,
  IJobStalledEvent,
  IJobRetriedEvent,
} from '../jobqueue/queueevents.js';
export {
  InvalidJobDataError,
  JobFailedError,
  JobCancelledError,
  LeaseLostError,
  QueueStoppedError,
  ResultTimeoutError,
  UnknownJobError,
} from '../jobqueue/queueerrors.js';
export { JobStateError } from '../jobqueue/jobstateerror.js';
export type { IJobError } from '../jobqueue/queueerrors.js';
