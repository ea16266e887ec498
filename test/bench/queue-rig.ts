/**
 * The durable queue's side of the benchmark (test/bench/bench.ts, `queueCase`): taskbuffer's
 * RedisTaskQueue against BullMQ on the same throwaway redis-server, each with 3 worker
 * processes of the same concurrency (test/fixtures/queue-worker.ts and
 * test/bench/bullmq-worker.ts).
 *
 * - Throughput: one bulk add of JOBS no-op jobs, timed until Redis counts them all
 *   completed (polled every 2 ms with a command of its own that is not counted).
 * - Client commands per job: every command the workers' and the producer's ioredis
 *   clients sent during the round (ioredis's `sendCommand` counted in each process;
 *   blocking reads and pub/sub included), divided by JOBS.
 * - Latency: one job at a time on idle workers, from just before `add` to the moment the
 *   job's function starts (both read from `performance.timeOrigin + performance.now()`,
 *   one clock on one machine).
 */
import { Redis } from 'ioredis';
import { Queue, QueueEvents } from 'bullmq';
import { RedisTaskQueue } from '../../ts/coordinator/redis.js';
import { spawnInstance, type IClusterInstance } from '../redis-helpers.js';
import { countProcessCommands } from './command-count.js';

export const QUEUE_WORKERS = 3;
export const QUEUE_CONCURRENCY = 10;
export const QUEUE_JOBS = 3_000;
const LATENCY_SAMPLES = 40;

const QUEUE_WORKER = new URL('../fixtures/queue-worker.ts', import.meta.url).pathname;
const BULLMQ_WORKER = new URL('./bullmq-worker.ts', import.meta.url).pathname;

/** What one system measured, one value per round (latency: one per job). */
export interface IQueueFigures {
  jobsPerSecond: number[];
  commandsPerJob: number[];
  latencyMs: number[];
}

interface ISystem {
  workers: IClusterInstance[];
  /** Adds `count` no-op jobs in one bulk call. */
  addNoops(count: number): Promise<void>;
  completed(): Promise<number>;
  /** Adds one job that returns when it started; resolves with that time. */
  stamp(): Promise<number>;
  close(): Promise<void>;
}

/** Runs `rounds` rounds of both systems, alternating which goes first. */
export async function measureQueues(url: string, rounds: number): Promise<{ taskbuffer: IQueueFigures; bullmq: IQueueFigures }> {
  const own = countProcessCommands();
  const systems = { taskbuffer: await startTaskbuffer(url), bullmq: await startBullmq(url) };
  const figures = { taskbuffer: emptyFigures(), bullmq: emptyFigures() };
  try {
    for (const name of ['taskbuffer', 'bullmq'] as const) await throughputRound(systems[name], 300, own); // warm-up
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['taskbuffer', 'bullmq'] as const) : (['bullmq', 'taskbuffer'] as const);
      for (const name of order) {
        const { jobsPerSecond, commandsPerJob } = await throughputRound(systems[name], QUEUE_JOBS, own);
        figures[name].jobsPerSecond.push(jobsPerSecond);
        figures[name].commandsPerJob.push(commandsPerJob);
      }
    }
    for (const name of ['taskbuffer', 'bullmq'] as const) {
      for (let i = 0; i < LATENCY_SAMPLES; i++) {
        const before = performance.timeOrigin + performance.now();
        figures[name].latencyMs.push((await systems[name].stamp()) - before);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    return figures;
  } finally {
    await Promise.all([systems.taskbuffer.close(), systems.bullmq.close()]);
  }
}

function emptyFigures(): IQueueFigures {
  return { jobsPerSecond: [], commandsPerJob: [], latencyMs: [] };
}

async function throughputRound(system: ISystem, jobs: number, own: { count(): number }): Promise<{ jobsPerSecond: number; commandsPerJob: number }> {
  await Promise.all(system.workers.map(askCommands));
  const doneBefore = await system.completed();
  const ownBefore = own.count();
  const t0 = performance.now();
  await system.addNoops(jobs);
  const producerCommands = own.count() - ownBefore;
  while ((await system.completed()) < doneBefore + jobs) await new Promise((resolve) => setTimeout(resolve, 2));
  const seconds = (performance.now() - t0) / 1000;
  const workerCommands = (await Promise.all(system.workers.map(askCommands))).reduce((sum, n) => sum + n, 0);
  return { jobsPerSecond: jobs / seconds, commandsPerJob: (workerCommands + producerCommands) / jobs };
}

/** Asks a worker process how many commands it sent since the last time it was asked. */
async function askCommands(worker: IClusterInstance): Promise<number> {
  const answered = () => worker.stdout().match(/^commands \d+$/gm)?.length ?? 0;
  const before = answered();
  worker.child.stdin!.write('report\n');
  for (const deadline = Date.now() + 10_000; answered() === before; await new Promise((resolve) => setTimeout(resolve, 2))) {
    if (Date.now() > deadline) throw new Error(`worker ${worker.instanceId} did not report its commands; stderr:\n${worker.stderr()}`);
  }
  return Number(worker.stdout().match(/^commands (\d+)$/gm)!.at(-1)!.split(' ')[1]);
}

async function startWorkers(fixture: string, prefix: string, args: string[]): Promise<IClusterInstance[]> {
  const workers = Array.from({ length: QUEUE_WORKERS }, (_, i) => spawnInstance(`${prefix}${i + 1}`, args, 60_000, fixture));
  await Promise.all(workers.map((worker) => worker.ready));
  return workers;
}

async function startTaskbuffer(url: string): Promise<ISystem> {
  const name = 'bench-taskbuffer';
  const workers = await startWorkers(QUEUE_WORKER, 'tb', ['--redis', url, '--queue', name, '--concurrency', String(QUEUE_CONCURRENCY), '--count-commands']);
  const producer = new RedisTaskQueue({ redis: url, name, instanceId: 'bench-producer' });
  // Counting completions costs commands too: only those sent while adding are the producer's.
  const stats = new Redis(url);
  return {
    workers,
    addNoops: async (count) => void (await producer.addBulk(Array.from({ length: count }, () => ({ taskName: 'noop' })))),
    completed: async () => Number(await stats.zcard('taskbuffer:queue:bench-taskbuffer:completed')),
    stamp: async () => producer.waitForResult<number>((await producer.add('stamp')).id),
    close: async () => {
      await Promise.all(workers.map((worker) => worker.kill()));
      await producer.stop({ drain: false });
      stats.disconnect();
    },
  };
}

async function startBullmq(url: string): Promise<ISystem> {
  const name = 'bench-bullmq';
  const workers = await startWorkers(BULLMQ_WORKER, 'bull', ['--redis', url, '--queue', name, '--concurrency', String(QUEUE_CONCURRENCY)]);
  const { hostname, port } = new URL(url);
  const connection = { host: hostname, port: Number(port), maxRetriesPerRequest: null };
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  return {
    workers,
    addNoops: async (count) => void (await queue.addBulk(Array.from({ length: count }, () => ({ name: 'noop', data: {} })))),
    completed: async () => (await queue.getJobCounts('completed')).completed ?? 0,
    stamp: async () => (await (await queue.add('stamp', {})).waitUntilFinished(events)) as number,
    close: async () => {
      await Promise.all(workers.map((worker) => worker.kill()));
      await Promise.all([queue.close(), events.close()]);
    },
  };
}
