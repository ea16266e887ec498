/**
 * The page side of test/bench/dashboard-bench.ts (also used by the browser tests' speed
 * checks). Each function is passed to `page.evaluate` on the fixture page
 * (`window.taskbuffer`, `window.taskbufferWeb`), so each one is self-contained: no imports,
 * no helpers outside its own body.
 */
import type { ITaskMetadata, TaskManager } from 'taskbuffer';
import type { TaskbufferDashboard } from 'taskbuffer/web';

interface IBenchWindow {
  taskbuffer: typeof import('taskbuffer');
  bench?: { manager: TaskManager; dashboard: TaskbufferDashboard };
}

/** Builds `count` tasks (labels, two steps), shows them, and returns ms until the frame after the first update. */
export async function benchFirstShown(count: number): Promise<number> {
  const { Task, TaskManager } = (window as unknown as IBenchWindow).taskbuffer;
  const manager = new TaskManager();
  const steps = [
    { name: 'fetch', description: 'Fetching', percentage: 50 },
    { name: 'store', description: 'Storing', percentage: 50 },
  ] as const;
  for (let i = 0; i < count; i++) {
    manager.addTask(new Task({ name: `bulk-${String(i).padStart(5, '0')}`, labels: { tenantId: `tenant-${i % 10}` }, steps, taskFunction: async () => undefined }));
  }
  const dashboard = document.createElement('taskbuffer-dashboard');
  dashboard.refreshInterval = 0;
  const started = performance.now();
  dashboard.taskManager = manager;
  document.body.append(dashboard);
  await dashboard.updateComplete;
  // The next frame's callbacks run before its style and layout; a task queued from there runs after them.
  await new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  const elapsed = performance.now() - started;
  (window as unknown as IBenchWindow).bench = { manager, dashboard };
  return elapsed;
}

/** See dashboard-bench.ts: p50/p95/max ms from `taskSubject.next` to the DOM, for events to on-screen cards. */
export async function benchEventLatency(options: { tasks: number; rate: number; seconds: number }): Promise<Record<string, number>> {
  const { Task, TaskManager } = (window as unknown as IBenchWindow).taskbuffer;
  const manager = new TaskManager();
  for (let i = 0; i < options.tasks; i++) {
    manager.addTask(new Task({ name: `bulk-${String(i).padStart(5, '0')}`, labels: { tenantId: `tenant-${i % 10}` }, taskFunction: async () => undefined }));
  }
  const dashboard = document.createElement('taskbuffer-dashboard');
  dashboard.refreshInterval = 0;
  dashboard.taskManager = manager;
  document.body.append(dashboard);
  await dashboard.updateComplete;
  await new Promise((resolve) => setTimeout(resolve, 300));
  const names = manager.getAllTasksMetadata().map((metadata) => metadata.name);
  const base = new Map(manager.getAllTasksMetadata().map((metadata) => [metadata.name, metadata]));
  const pending = new Map<string, number>();
  const latencies: number[] = [];
  const observer = new MutationObserver((records) => {
    const now = performance.now();
    for (const record of records) {
      const texts: string[] = [];
      if (record.type === 'characterData') texts.push((record.target as Text).data);
      for (const node of record.addedNodes) texts.push(node.textContent ?? '');
      for (const text of texts) {
        for (const match of text.matchAll(/probe-\d+/g)) {
          const sent = pending.get(match[0]);
          if (sent === undefined) continue;
          pending.delete(match[0]);
          latencies.push(now - sent);
        }
      }
    }
  });
  observer.observe(dashboard.shadowRoot!, { subtree: true, childList: true, characterData: true });
  let updates = 0;
  const originalUpdated = (dashboard as unknown as { updated: (changed: unknown) => void }).updated.bind(dashboard);
  (dashboard as unknown as { updated: (changed: unknown) => void }).updated = (changed) => {
    updates++;
    originalUpdated(changed);
  };
  const send = (metadata: ITaskMetadata) => manager.taskSubject.next({ type: 'step', task: metadata, timestamp: Date.now(), stepName: 'x' } as never);
  let sent = 0;
  let probes = 0;
  const started = performance.now();
  const durationMs = options.seconds * 1000;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - started;
      const due = Math.min(Math.floor((elapsed / 1000) * options.rate), Math.floor(options.seconds * options.rate));
      for (; sent < due; sent++) {
        if (sent % 10 === 0) {
          const name = names[probes % 12]!;
          const id = `probe-${probes++}`;
          pending.set(id, performance.now());
          send({ ...base.get(name)!, lastError: id });
        } else {
          // Starts and ends, as real runs send them: they change statuses, counts and run histories.
          const name = names[Math.floor(Math.random() * names.length)]!;
          const metadata = base.get(name)!;
          const starting = metadata.activeRuns === 0;
          const next: ITaskMetadata = starting
            ? { ...metadata, status: 'running', activeRuns: 1, lastRun: Date.now(), currentProgress: 0 }
            : { ...metadata, status: 'completed', activeRuns: 0, runCount: metadata.runCount + 1, currentProgress: 100, lastDuration: 5 };
          base.set(name, next);
          manager.taskSubject.next((starting
            ? { type: 'started', task: next, timestamp: Date.now() }
            : { type: 'completed', task: next, timestamp: Date.now(), duration: 5 }) as never);
        }
      }
      if (elapsed >= durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, 4);
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  observer.disconnect();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 10) / 10;
  return { events: sent, probes, seen: latencies.length, p50: at(0.5), p95: at(0.95), max: at(1), renders: updates };
}

/** At `count` tasks: first shown, cards in the DOM, a name filter applied, a scroll to the middle (ms until the frame after). */
export async function benchBigList(count: number): Promise<Record<string, number>> {
  const frame = () => new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  const { Task, TaskManager } = (window as unknown as IBenchWindow).taskbuffer;
  const manager = new TaskManager();
  for (let i = 0; i < count; i++) {
    manager.addTask(new Task({ name: `bulk-${String(i).padStart(5, '0')}`, labels: { tenantId: `tenant-${i % 10}` }, taskFunction: async () => undefined }));
  }
  const dashboard = document.createElement('taskbuffer-dashboard');
  dashboard.refreshInterval = 0;
  let started = performance.now();
  dashboard.taskManager = manager;
  document.body.append(dashboard);
  await dashboard.updateComplete;
  await frame();
  const firstShownMs = performance.now() - started;
  const cards = () => dashboard.shadowRoot!.querySelectorAll('.task').length;
  const cardsInDom = cards();
  started = performance.now();
  dashboard.nameFilter = 'bulk-0999';
  await dashboard.updateComplete;
  await frame();
  const filterMs = performance.now() - started;
  const filteredCards = cards();
  dashboard.nameFilter = '';
  await dashboard.updateComplete;
  await frame();
  started = performance.now();
  window.scrollTo(0, document.documentElement.scrollHeight / 2);
  await frame();
  await dashboard.updateComplete;
  await frame();
  const scrollMs = performance.now() - started;
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return { firstShownMs: round(firstShownMs), cardsInDom, filterMs: round(filterMs), filteredCards, scrollMs: round(scrollMs), cardsAfterScroll: cards() };
}
