/**
 * `npm run cluster`: one instance of a small clustered service. Start a Redis
 * (`redis-server --save ''`), then run this in two or more terminals and watch them share
 * the work: each cron tick runs on one instance only, and the cluster-wide mutex lets one
 * import per tenant run at a time across all of them. Ctrl-C leaves the cluster cleanly.
 */
import { Task, TaskConstraintGroup, TaskManager } from '../ts/index.js';
import { RedisCoordinator } from '../ts/coordinator/redis.js';

const redis = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const coordinator = new RedisCoordinator({ redis, leaseMs: 3_000 });
const manager = new TaskManager({ distributedCoordinator: coordinator });
const me = coordinator.instanceId;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

manager.addAndScheduleTask(
  new Task({ name: 'report', taskFunction: async () => console.log(`[${me}] building the report of ${new Date().toISOString().slice(11, 19)}`) }),
  '*/5 * * * * *',
);

manager.addConstraintGroup(new TaskConstraintGroup({
  name: 'tenant-import',
  scope: 'cluster',
  maxConcurrent: 1,
  constraintKeyForExecution: (_task, tenantId?: string) => tenantId ?? null,
}));
const importTenant = new Task({
  name: 'import',
  taskFunction: async (tenantId: string) => {
    console.log(`[${me}] importing ${tenantId} (no other instance imports ${tenantId} now)`);
    await sleep(1_500);
  },
});
manager.addTask(importTenant);

coordinator.clusterEventSubject.subscribe((event) => {
  if (event.instanceId !== me && event.type === 'completed') console.log(`[${me}] saw ${event.instanceId} complete ${event.task.name}`);
});

try {
  await manager.start();
} catch (error) {
  console.error(`Could not reach Redis at ${redis}: start one with \`redis-server --save ''\` or set REDIS_URL.`);
  throw error;
}
console.log(`[${me}] joined the cluster at ${redis}; instances: ${(await coordinator.getInstances()).map((i) => i.instanceId).join(', ')}`);

const importer = setInterval(() => {
  void manager.triggerTask(importTenant, Math.random() < 0.5 ? 'acme' : 'globex').catch(() => {});
}, 2_000);

process.once('SIGINT', async () => {
  clearInterval(importer);
  console.log(`[${me}] leaving the cluster...`);
  await manager.stop({ drain: true, timeoutMs: 5_000 });
});
