/**
 * ioredis, for `taskbuffer/redis` only. It is an optional peer dependency: `taskbuffer` and
 * `taskbuffer/web` never load it (and a browser could not), so `npm install taskbuffer` does
 * not bring it. Without it, Node's own error ("Cannot find package 'ioredis' imported from
 * …/dist_ts/coordinator/ioredis.js") would not say that the user is expected to install it;
 * this module says so. Loading it with a top-level await keeps `RedisCoordinator`'s
 * constructor synchronous: by the time anyone can call it, ioredis is loaded.
 */
import type { Redis as IoRedis } from 'ioredis';
import { isMissingPackage, MissingDependencyError } from './errors.js';

async function importRedisClass(): Promise<typeof IoRedis> {
  try {
    return (await import('ioredis')).Redis;
  } catch (error) {
    if (!isMissingPackage(error, 'ioredis')) throw error;
    throw new MissingDependencyError('ioredis',
      'taskbuffer/redis needs the ioredis package, which is not installed. It is an optional peer ' +
        'dependency of taskbuffer (only the cluster coordinator uses it); install it with\n  npm install ioredis',
      error);
  }
}

/** ioredis's client class: the type and the constructor, as `import { Redis } from 'ioredis'` gives them. */
export type Redis = IoRedis;
export const Redis = await importRedisClass();
