/**
 * `npm run queue -- worker` and `npm run queue -- add [count]`: a durable job queue in two
 * terminals. Start a Redis (`redis-server --appendonly yes`), run the worker in one
 * terminal (or several) and the producer in another: the producer adds `resize` jobs and
 * waits for their results, wherever they run. Kill a worker mid-run (Ctrl-C puts its jobs
 * back; `kill -9` lets their leases run out) and the others finish its jobs.
 */
import { Task, TaskManager } from '../ts/index.js';
import { RedisTaskQueue } from '../ts/coordinator/redis.js';

const redis = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const queue = new RedisTaskQueue({ redis, name: 'images', leaseMs: 5_000, concurrency: 4 });
const [mode = 'worker', count = '5'] = process.argv.slice(2);

if (mode === 'worker') {
  const manager = new TaskManager();
  manager.addTask(new Task({
    name: 'resize',
    retry: { attempts: 3, delayMs: 500, backoff: 'exponential' },
    taskFunction: async (input: { image: string; width: number }, _setup, { signal }) => {
      console.log(`[${queue.instanceId}] resizing ${input.image} to ${input.width}px`);
      // A second of work that stops when the job is cancelled or the worker stops.
      await new Promise((resolve, reject) => {
        setTimeout(resolve, 1_000);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
      return { image: input.image, width: input.width, bytes: input.width * 120 };
    },
  }));
  await manager.start();
  await queue.work(manager);
  console.log(`[${queue.instanceId}] working on queue "images" at ${redis}; Ctrl-C to stop`);
  process.once('SIGINT', () => {
    console.log('stopping: running jobs get 3 s, then go back to the queue');
    void queue.stop({ timeoutMs: 3_000 }).then(() => manager.stop());
  });
} else if (mode === 'add') {
  const jobs = await queue.addBulk(Array.from({ length: Number(count) }, (_, i) => ({
    taskName: 'resize',
    input: { image: `photo-${i}.jpg`, width: 320 * (i + 1) },
    jobId: `resize-photo-${i}-${Date.now()}`,
  })));
  console.log(`added ${jobs.length} jobs; waiting for their results (start a worker if none runs)`);
  for (const job of jobs) console.log('done:', JSON.stringify(await queue.waitForResult(job.id)));
  await queue.stop();
} else {
  console.error(`unknown mode ${JSON.stringify(mode)}: use \`npm run queue -- worker\` or \`npm run queue -- add [count]\``);
  process.exitCode = 2;
}
