/**
 * `taskbuffer/redis`: runs TaskManager instances as one cluster on a shared Redis (Node
 * only; needs the optional peer dependency ioredis). This entry point only names what the
 * package offers; the coordinator and its parts live in the files named below.
 */
export { RedisCoordinator } from './rediscoordinator.js';
export type { IRedisCoordinatorOptions } from './redisoptions.js';
export type { IClusterInstance } from './redispresence.js';
export type { IClusterTaskEvent } from './redisevents.js';
export { ClusterUnreachableError, CoordinatorStoppedError, MissingDependencyError } from './errors.js';
