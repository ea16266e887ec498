/**
 * Queues and workers for the RedisTaskQueue tests: each test gets a queue name of its own
 * on the shared redis-server, and everything it makes is stopped when it ends.
 */
import type { TestContext } from 'node:test';
import { TaskManager, type Task } from '../ts/index.js';
import { RedisTaskQueue, type IQueueEvent, type IRedisTaskQueueOptions } from '../ts/coordinator/redis.js';
import type { TaskbufferError } from '../ts/index.js';

let queueCount = 0;

/** A queue name no other test uses. */
export function uniqueQueueName(): string {
  return `q${process.pid}x${++queueCount}`;
}

type TQueueOptions = Omit<IRedisTaskQueueOptions, 'redis' | 'name'> & { name?: string };

/** A queue on `url`, stopped (without draining) after the test; errors it reports are collected. */
export function queueFor(t: TestContext, url: string, name: string, options: TQueueOptions = {}): RedisTaskQueue & { reported: TaskbufferError[] } {
  const reported: TaskbufferError[] = [];
  const queue = new RedisTaskQueue({ onError: (error) => reported.push(error), ...options, redis: url, name }) as RedisTaskQueue & { reported: TaskbufferError[] };
  queue.reported = reported;
  t.after(() => queue.stop({ drain: false, timeoutMs: 1000 }));
  return queue;
}

/** A started TaskManager with `tasks` and a queue instance working for it. */
export async function workerFor(
  t: TestContext,
  url: string,
  name: string,
  tasks: Task<any, any, any>[],
  options: TQueueOptions = {},
): Promise<{ manager: TaskManager; queue: RedisTaskQueue & { reported: TaskbufferError[] } }> {
  const manager = new TaskManager();
  for (const task of tasks) manager.addTask(task);
  await manager.start();
  const queue = queueFor(t, url, name, options);
  // The queue first: its worker puts running jobs back before the manager goes.
  t.after(() => manager.stop());
  await queue.work(manager);
  return { manager, queue };
}

/** Collects a queue's events from now on (resolves once Redis confirmed the subscription). */
export async function recordEvents(queue: RedisTaskQueue): Promise<IQueueEvent[]> {
  const events: IQueueEvent[] = [];
  queue.eventSubject.subscribe((event) => events.push(event));
  await queue.listenForEvents();
  return events;
}

/** test/fixtures/queue-worker.ts: a queue worker (or producer) as a process of its own. */
export const QUEUE_WORKER = new URL('./fixtures/queue-worker.ts', import.meta.url).pathname;
