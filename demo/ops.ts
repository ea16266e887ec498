/**
 * `npm run ops`: a small cluster with a durable queue behind a gateway that serves the
 * dashboard. Starts its own redis-server (or uses REDIS_URL), two instances in this
 * process (as two machines would be), a queue of image jobs (a few of them fail), and a
 * gateway with `dashboard: true`; prints the URL and two sign-ins: `admin` (everything)
 * and `viewer` (read only). Ctrl-C stops everything.
 *
 *   npm run ops               # http://localhost:4711/taskbuffer
 *   PORT=8080 npm run ops
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { RedisCoordinator, RedisTaskQueue } from '../ts/coordinator/redis.js';
import { TaskGateway } from '../ts/gateway/index.js';
import { Task, TaskConstraintGroup, TaskManager } from '../ts/index.js';
import { startRedis, type IRedisServer } from '../test/redis-helpers.js';
import { portFrom } from './serve.js';

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve, reject) => {
  const timer = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => {
    clearTimeout(timer);
    reject(signal.reason);
  }, { once: true });
});

let stopping = false;
/** Errors are shown while the demo runs; on Ctrl-C the private redis-server may go first, which is no news. */
const onError = (error: Error) => {
  if (!stopping) console.error(`taskbuffer ops demo: ${error.message}`);
};

/** One instance of the service: a manager in the cluster that works the queue. `extra` tasks only this one has. */
function instance(redis: string, extra: Task<any, any, any>[]): { manager: TaskManager; coordinator: RedisCoordinator; queue: RedisTaskQueue } {
  const coordinator = new RedisCoordinator({ redis, leaseMs: 3_000, onError });
  const manager = new TaskManager({ distributedCoordinator: coordinator, onError });
  manager.addConstraintGroup(new TaskConstraintGroup({
    name: 'tenant-sync',
    scope: 'cluster',
    maxConcurrent: 1,
    cooldownMs: 1_500,
    constraintKeyForExecution: (task, tenant?: string) => (task.name === 'sync-tenant' ? tenant ?? null : null),
  }));
  const sync = new Task({
    name: 'sync-tenant',
    labels: { team: 'platform' },
    steps: [{ name: 'fetch', description: 'Fetching', percentage: 50 }, { name: 'store', description: 'Storing', percentage: 50 }] as const,
    taskFunction: async (_tenant: string, _setup, context) => {
      sync.notifyStep('fetch');
      await sleep(1_200, context.signal);
      sync.notifyStep('store');
      await sleep(800, context.signal);
    },
  });
  manager.addTask(sync);
  manager.addAndScheduleTask(new Task({ name: 'nightly-report', labels: { team: 'finance' }, taskFunction: async () => sleep(700) }), '*/15 * * * * *');
  manager.addTask(new Task({
    name: 'images:resize',
    labels: { team: 'media' },
    retry: { attempts: 2, delayMs: 500 },
    taskFunction: async (input: { image: string; width: number }, _setup, context) => {
      await sleep(900, context.signal);
      if (input.width <= 0) throw new Error(`cannot resize ${input.image} to ${input.width}px`);
      return { image: input.image, width: input.width };
    },
  }));
  for (const task of extra) manager.addTask(task);
  const queue = new RedisTaskQueue({ redis, name: 'images', leaseMs: 5_000, concurrency: 2, onError });
  return { manager, coordinator, queue };
}

export interface IOpsDemo {
  /** The gateway's page, e.g. `http://localhost:4711/taskbuffer`. */
  url: string;
  keys: { admin: string; viewer: string };
  stop(): Promise<void>;
}

/** Starts the demo (its own redis-server unless `redis` is given); rejects with an install hint when there is no redis-server. */
export async function startOpsDemo(options: { port: number; redis?: string }): Promise<IOpsDemo> {
  let server: IRedisServer | undefined;
  let redis = options.redis;
  if (redis === undefined) {
    server = await startRedis();
    redis = server.url;
  }
  const a = instance(redis, []);
  const b = instance(redis, [new Task({ name: 'billing:invoice', labels: { team: 'finance' }, taskFunction: async () => sleep(400) })]);
  for (const { manager, queue } of [a, b]) {
    await manager.start();
    await queue.work(manager);
  }
  const keys = { admin: randomBytes(9).toString('base64url'), viewer: randomBytes(9).toString('base64url') };
  const gateway = new TaskGateway({
    manager: a.manager,
    port: options.port,
    queue: a.queue,
    dashboard: { title: 'taskbuffer ops demo' },
    onError,
    credentials: { admin: { key: keys.admin, scopes: ['admin'] }, viewer: { key: keys.viewer, scopes: ['read'] } },
  });
  await gateway.start();

  const tenants = ['acme', 'globex', 'initech'];
  let n = 0;
  const load = setInterval(() => {
    n++;
    const tenant = tenants[n % tenants.length]!;
    (n % 2 === 0 ? a : b).manager.triggerTaskByName('sync-tenant', tenant).catch(() => {});
    a.queue.add('images:resize', { image: `photo-${n}.jpg`, width: n % 7 === 0 ? 0 : 320 + (n % 4) * 160 }, { labels: { tenant } }).catch(() => {});
  }, 1_000);

  return {
    url: `http://localhost:${gateway.address().port}/taskbuffer`,
    keys,
    stop: async () => {
      stopping = true;
      clearInterval(load);
      await gateway.stop();
      for (const { manager, queue } of [a, b]) {
        await queue.stop({ timeoutMs: 2_000 });
        await manager.stop();
      }
      await server?.stop();
    },
  };
}

async function main(): Promise<void> {
  const port = portFrom(process.argv.slice(2), { ...process.env, PORT: process.env.PORT ?? '4711' });
  let demo: IOpsDemo;
  try {
    demo = await startOpsDemo({ port, redis: process.env.REDIS_URL });
  } catch (error) {
    console.error(`taskbuffer ops demo: ${(error as Error).message}; or give REDIS_URL=redis://host:port of a Redis of yours`);
    process.exit(1);
  }
  console.log(`taskbuffer ops demo: open ${demo.url}`);
  console.log(`  sign in as admin / ${demo.keys.admin}   (every action)`);
  console.log(`  or as viewer / ${demo.keys.viewer}   (read only)`);
  console.log('  two instances share the cron and the tenant mutex; image jobs (some fail) go through the durable queue. Ctrl-C stops it.');
  const stop = () => {
    if (stopping) return;
    console.log('\ntaskbuffer ops demo: stopping');
    void demo.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await main();
}
