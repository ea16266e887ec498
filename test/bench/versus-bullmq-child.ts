/**
 * One process of the BullMQ comparison (versus-bullmq.ts), forked with the bench's flags.
 * `--mode bullmq`: a BullMQ Worker of `--concurrency` on `--queue`, reporting how many jobs
 * it completed and when the last one did. `--mode taskbuffer`: a TaskManager with a
 * RedisCoordinator and one cluster-scoped group of cap `--cap`, which starts `count` no-op
 * runs at once whenever the parent says `run`, and reports when all of them ended. Times
 * are `performance.timeOrigin + performance.now()`, comparable across the processes.
 */
import { parseArgs } from 'node:util';
import { Worker } from 'bullmq';
import { Task, TaskConstraintGroup, TaskManager } from '../../ts/index.js';
import { RedisCoordinator } from '../../ts/coordinator/redis.js';

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string' },
    url: { type: 'string' },
    queue: { type: 'string' },
    concurrency: { type: 'string' },
    prefix: { type: 'string' },
    instance: { type: 'string' },
    cap: { type: 'string' },
  },
});

/** Messages to the parent. */
export type TChildReport =
  | { type: 'ready' }
  | { type: 'progress'; completed: number; lastAt: number }
  | { type: 'done'; sum: number; lastAt: number };

/** Messages from the parent. */
export type TParentCommand = { type: 'run'; count: number } | { type: 'stop' };

const now = (): number => performance.timeOrigin + performance.now();
const send = (report: TChildReport): void => void process.send!(report);
const url = new URL(args.url!);

if (args.mode === 'bullmq') {
  let completed = 0;
  let lastAt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const worker = new Worker(args.queue!, async () => 1, {
    connection: { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null },
    concurrency: Number(args.concurrency),
    autorun: false,
  });
  worker.on('completed', () => {
    completed++;
    lastAt = now();
    // A few ms of batching keeps the reports from costing the worker much; `lastAt` stays exact.
    timer ??= setTimeout(() => {
      timer = undefined;
      send({ type: 'progress', completed, lastAt });
    }, 5);
  });
  worker.on('error', (error) => console.error(`bullmq worker: ${error.message}`));
  void worker.run();
  await worker.waitUntilReady();
  process.on('message', (command: TParentCommand) => {
    if (command.type === 'stop') void worker.close().then(() => process.exit(0));
  });
  send({ type: 'ready' });
} else if (args.mode === 'taskbuffer') {
  const coordinator = new RedisCoordinator({ redis: args.url!, keyPrefix: args.prefix!, instanceId: args.instance! });
  const manager = new TaskManager({ distributedCoordinator: coordinator });
  manager.addConstraintGroup(new TaskConstraintGroup({
    name: 'cap', scope: 'cluster', maxConcurrent: Number(args.cap), constraintKeyForExecution: () => 'all',
  }));
  const task = new Task({ name: 'noop', taskFunction: async () => 1 });
  manager.addTask(task);
  await manager.start();
  process.on('message', async (command: TParentCommand) => {
    if (command.type === 'stop') {
      await manager.stop();
      process.exit(0);
    }
    const pending = new Array<Promise<number | undefined>>(command.count);
    for (let i = 0; i < command.count; i++) pending[i] = manager.triggerTask(task);
    let sum = 0;
    for (const result of await Promise.all(pending)) sum += result ?? 0;
    send({ type: 'done', sum, lastAt: now() });
  });
  send({ type: 'ready' });
} else {
  throw new Error(`versus-bullmq-child: unknown --mode ${String(args.mode)}`);
}
