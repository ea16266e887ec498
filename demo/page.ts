/**
 * The live demo page (`npm start`): a TaskManager runs in the browser with a realistic mix
 * of work, and `<taskbuffer-dashboard>` shows it. Imports use the package's public paths,
 * exactly as an embedding page would; demo/serve.ts points them at the sources.
 */
import { Task, TaskConstraintGroup, TaskDebounced, TaskManager, Taskchain } from 'taskbuffer';
import { TaskbufferDashboard } from 'taskbuffer/web';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const between = (min: number, max: number) => min + Math.random() * (max - min);
const every = (ms: number, action: () => void) => {
  action();
  return setInterval(action, ms);
};
/** Demo work fails on purpose now and then; the dashboard shows it, nobody else needs to hear of it. */
const quietly = (promise: Promise<unknown>) => void promise.catch(() => undefined);

const manager = new TaskManager();

// ---- a deploy with weighted steps -------------------------------------------------------
const deploy = new Task({
  name: 'deploy-storefront',
  labels: { team: 'platform', env: 'production' },
  steps: [
    { name: 'build', description: 'Building the bundle', percentage: 40 },
    { name: 'test', description: 'Running the test suite', percentage: 25 },
    { name: 'upload', description: 'Uploading to the CDN', percentage: 25 },
    { name: 'verify', description: 'Smoke-testing production', percentage: 10 },
  ] as const,
  taskFunction: async (version: string = 'v2.14.0') => {
    deploy.notifyStep('build');
    await sleep(between(1200, 1800));
    deploy.notifyStep('test');
    await sleep(between(800, 1200));
    deploy.notifyStep('upload');
    await sleep(between(700, 1100));
    deploy.notifyStep('verify');
    await sleep(400);
    return `deployed ${version}`;
  },
});
manager.addTask(deploy);

// ---- a cron schedule every 3 seconds ----------------------------------------------------
const healthCheck = new Task({
  name: 'health-check',
  labels: { team: 'platform' },
  steps: [
    { name: 'database', description: 'Pinging the database', percentage: 50 },
    { name: 'cache', description: 'Pinging the cache', percentage: 50 },
  ] as const,
  taskFunction: async () => {
    healthCheck.notifyStep('database');
    await sleep(between(150, 300));
    healthCheck.notifyStep('cache');
    await sleep(between(100, 200));
  },
});
manager.addAndScheduleTask(healthCheck, '*/3 * * * * *');

// ---- certificates: one run per domain at a time, more queued behind it ------------------
manager.addConstraintGroup(new TaskConstraintGroup({
  name: 'one-certificate-per-domain',
  maxConcurrent: 1,
  constraintKeyForExecution: (task, domain?: string) => (task.name === 'renew-certificate' && domain ? domain : null),
}));
const renewCertificate = new Task({
  name: 'renew-certificate',
  labels: { team: 'edge' },
  steps: [
    { name: 'order', description: 'Placing the ACME order', percentage: 30 },
    { name: 'challenge', description: 'Answering the DNS challenge', percentage: 50 },
    { name: 'install', description: 'Installing the certificate', percentage: 20 },
  ] as const,
  taskFunction: async (domain: string) => {
    renewCertificate.notifyStep('order');
    await sleep(between(300, 500));
    renewCertificate.notifyStep('challenge');
    await sleep(between(500, 900));
    renewCertificate.notifyStep('install');
    await sleep(200);
    return `certificate for ${domain}`;
  },
});
manager.addTask(renewCertificate);

// ---- a flaky webhook sender -------------------------------------------------------------
let webhookRounds = 0;
const sendWebhooks = new Task({
  name: 'send-webhooks',
  labels: { tenantId: 'acme', team: 'integrations' },
  catchErrors: true,
  taskFunction: async () => {
    const round = ++webhookRounds;
    await sleep(between(200, 600));
    // Every third round fails (the second one first, so a failure shows early), and a few more at random.
    if (round % 3 === 2 || Math.random() < 0.1) {
      throw new Error('upstream timed out after 5000 ms (HTTP 504 from hooks.acme.example)');
    }
    return 'delivered';
  },
});
manager.addTask(sendWebhooks);

// ---- tenant syncs: an API that allows one call per tenant every 4 s ---------------------
manager.addConstraintGroup(new TaskConstraintGroup({
  name: 'tenant-api-cooldown',
  maxConcurrent: 1,
  cooldownMs: 4000,
  constraintKeyForExecution: (task) => (task.name?.startsWith('sync-') ? task.getLabel('tenantId') ?? null : null),
}));
const tenants = ['acme', 'globex', 'initech'];
const tenantSyncs = tenants.map((tenantId) => new Task({
  name: `sync-${tenantId}`,
  labels: { tenantId, team: 'integrations' },
  taskFunction: async () => {
    await sleep(between(400, 900));
    return `${tenantId} synced`;
  },
}));
for (const task of tenantSyncs) manager.addTask(task);

// ---- a buffered task: at most 2 at once, 2 waiting, the newest input wins ---------------
const renderThumbnails = new Task({
  name: 'render-thumbnails',
  labels: { team: 'media' },
  buffered: true,
  bufferMax: 2,
  taskFunction: async (batch: number) => {
    await sleep(between(600, 900));
    return `batch ${batch}`;
  },
});
manager.addTask(renderThumbnails);

// ---- a debounced search box -------------------------------------------------------------
const searchProducts = new TaskDebounced({
  name: 'search-products',
  labels: { team: 'storefront' },
  debounceTimeInMillis: 400,
  taskFunction: async (query: string) => {
    await sleep(between(150, 300));
    return [`${query} (3 results)`];
  },
});
manager.addTask(searchProducts);

// ---- a chain: each result is the next task's input --------------------------------------
const fetchOrders = new Task({
  name: 'fetch-orders',
  labels: { pipeline: 'orders' },
  taskFunction: async () => {
    await sleep(between(500, 800));
    return ['#1001', '#1002', '#1003'];
  },
});
const validateOrders = new Task({
  name: 'validate-orders',
  labels: { pipeline: 'orders' },
  taskFunction: async (orders: string[]) => {
    await sleep(between(300, 600));
    return orders;
  },
});
const storeOrders = new Task({
  name: 'store-orders',
  labels: { pipeline: 'orders' },
  taskFunction: async (orders: string[]) => {
    await sleep(between(400, 700));
    return orders.length;
  },
});
const importOrders = new Taskchain({
  name: 'import-orders',
  labels: { pipeline: 'orders' },
  catchErrors: true,
  taskArray: [fetchOrders, validateOrders, storeOrders],
});
for (const task of [importOrders, fetchOrders, validateOrders, storeOrders]) manager.addTask(task);

// ---- a cron schedule every 2 minutes ----------------------------------------------------
const backupDatabase = new Task({
  name: 'backup-database',
  labels: { team: 'platform', env: 'production' },
  steps: [
    { name: 'snapshot', description: 'Taking a snapshot', percentage: 30 },
    { name: 'compress', description: 'Compressing', percentage: 40 },
    { name: 'upload', description: 'Uploading to object storage', percentage: 30 },
  ] as const,
  taskFunction: async () => {
    backupDatabase.notifyStep('snapshot');
    await sleep(1500);
    backupDatabase.notifyStep('compress');
    await sleep(2000);
    backupDatabase.notifyStep('upload');
    await sleep(1500);
  },
});
manager.addAndScheduleTask(backupDatabase, '0 */2 * * * *');

// ---- the dashboard ----------------------------------------------------------------------
const dashboard = document.querySelector('taskbuffer-dashboard') as TaskbufferDashboard;
dashboard.taskManager = manager;
dashboard.refreshInterval = 500;

// The page follows the theme picked in the dashboard.
dashboard.addEventListener('taskbuffer-theme-change', (event) => {
  if (event.detail.theme === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = event.detail.theme;
});

// ---- what keeps it moving ---------------------------------------------------------------
const waitingFor = (group: string, key: string) =>
  manager.getConstraintGroupStates().find((g) => g.name === group)?.keys.find((k) => k.key === key)?.waiting ?? 0;

const searchBox = document.querySelector<HTMLInputElement>('#search');
let typedByHand = false;
searchBox?.addEventListener('input', () => {
  typedByHand = true;
  quietly(searchProducts.trigger(searchBox.value));
});

let release = 14;
const buttons: Record<string, () => void> = {
  deploy: () => quietly(manager.triggerTask(deploy, `v2.${++release}.0`)),
  certificates: () => {
    for (const domain of ['shop.example.com', 'shop.example.com', 'api.example.com', 'api.example.com', 'docs.example.org']) {
      if (waitingFor('one-certificate-per-domain', domain) < 3) quietly(manager.triggerTask(renewCertificate, domain));
    }
  },
  thumbnails: () => {
    for (let batch = 0; batch < 6; batch++) quietly(manager.triggerTask(renderThumbnails, batch));
  },
};
for (const [name, action] of Object.entries(buttons)) {
  document.querySelector(`[data-action="${name}"]`)?.addEventListener('click', action);
}

async function typeInto(query: string): Promise<void> {
  for (let i = 1; i <= query.length && !typedByHand; i++) {
    if (searchBox) searchBox.value = query.slice(0, i);
    quietly(searchProducts.trigger(query.slice(0, i)));
    await sleep(between(90, 160));
  }
}

const queries = ['running shoes', 'rain jacket', 'espresso machine', 'desk lamp'];
let queryIndex = 0;

await manager.start();
every(11_000, buttons.deploy!);
every(7_000, buttons.certificates!);
every(5_000, buttons.thumbnails!);
every(2_500, () => quietly(manager.triggerTask(sendWebhooks)));
every(1_500, () => {
  for (const task of tenantSyncs) {
    if (waitingFor('tenant-api-cooldown', task.getLabel('tenantId')!) < 2) quietly(manager.triggerTask(task));
  }
});
every(9_000, () => quietly(manager.triggerTask(importOrders)));
every(8_000, () => {
  if (!typedByHand) void typeInto(queries[queryIndex++ % queries.length]!);
});

// For the devtools console (and the browser tests): play with the live objects.
Object.assign(globalThis, { demo: { manager, dashboard, Task, TaskManager, TaskConstraintGroup } });
