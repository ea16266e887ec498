/**
 * taskbuffer against BullMQ on the same throwaway redis-server, in the same bench run:
 * jobs per second of N no-op jobs through a total concurrency of 10 spread over 3
 * processes (bench.ts `bullmqCase` prints both and the ratio).
 *
 * - BullMQ: 3 worker processes with concurrency 4, 3 and 3 (10 in all); this process adds
 *   the N jobs with one `Queue.addBulk` (removeOnComplete and removeOnFail, so that Redis
 *   keeps no finished jobs); timed from just before `addBulk` to the last completion.
 * - taskbuffer: 3 processes, each a TaskManager with a RedisCoordinator and one
 *   `scope: 'cluster'` group of cap 10 (10 in all, shared through Redis); each triggers
 *   N/3 runs at once, as a service triggers its own work (taskbuffer has no central
 *   queue); timed from just before the parent says `run` to the last run's end.
 *
 * The guarantees differ, and the note says so: a BullMQ job is stored in Redis until it
 * is done, so it survives the crash of its producer; a taskbuffer run lives in its
 * instance, and Redis only holds the cluster's slots.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import type { TChildReport, TParentCommand } from './versus-bullmq-child.js';

const CHILD = fileURLToPath(new URL('./versus-bullmq-child.ts', import.meta.url));
/** BullMQ's workers: 10 in all, as close to equal as 3 processes allow. */
export const BULLMQ_CONCURRENCY = [4, 3, 3];
export const TOTAL_CONCURRENCY = 10;
export const PROCESSES = 3;

const now = (): number => performance.timeOrigin + performance.now();

interface IChild {
  process: ChildProcess;
  /** The latest report of the child. */
  last: TChildReport | undefined;
  /** Resolves with the next report that `accept` accepts. */
  next(accept: (report: TChildReport) => boolean): Promise<TChildReport>;
  send(command: TParentCommand): void;
}

function startChild(args: string[]): Promise<IChild> {
  const child = fork(CHILD, args, { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  const waiting = new Set<{ accept: (report: TChildReport) => boolean; resolve: (report: TChildReport) => void }>();
  const handle: IChild = {
    process: child,
    last: undefined,
    next(accept) {
      return new Promise((resolve) => waiting.add({ accept, resolve }));
    },
    send(command) {
      child.send(command);
    },
  };
  child.on('message', (report: TChildReport) => {
    handle.last = report;
    for (const waiter of [...waiting]) {
      if (!waiter.accept(report)) continue;
      waiting.delete(waiter);
      waiter.resolve(report);
    }
  });
  const exited = new Promise<never>((_resolve, reject) => child.on('exit', (code) => reject(new Error(`a bench child (${args.join(' ')}) exited with ${code}`))));
  return Promise.race([handle.next((report) => report.type === 'ready').then(() => handle), exited]);
}

async function stopChildren(children: IChild[]): Promise<void> {
  await Promise.all(children.map((child) => new Promise<void>((resolve) => {
    if (child.process.exitCode !== null) return resolve();
    const timer = setTimeout(() => child.process.kill('SIGKILL'), 5_000);
    child.process.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.send({ type: 'stop' });
  })));
}

/** A competitor: started once, then sampled round after round; a sample is jobs per second. */
export interface ICompetitor {
  sample(jobs: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startBullmq(url: string): Promise<ICompetitor> {
  const queueName = `bench-${process.pid}`;
  const { hostname, port } = new URL(url);
  const connection = { host: hostname, port: Number(port), maxRetriesPerRequest: null };
  const queue = new Queue(queueName, { connection });
  await queue.waitUntilReady();
  const workers = await Promise.all(BULLMQ_CONCURRENCY.map((concurrency) =>
    startChild(['--mode', 'bullmq', '--url', url, '--queue', queueName, '--concurrency', String(concurrency)])));
  const completedSoFar = (): number => workers.reduce((sum, worker) => sum + (worker.last?.type === 'progress' ? worker.last.completed : 0), 0);
  return {
    async sample(jobs) {
      const base = completedSoFar();
      const batch = Array.from({ length: jobs }, (_, i) => ({ name: 'noop', data: { i }, opts: { removeOnComplete: true, removeOnFail: true } }));
      const allDone = new Promise<void>((resolve) => {
        for (const worker of workers) void worker.next(() => completedSoFar() - base >= jobs && (resolve(), true));
      });
      const t0 = now();
      await queue.addBulk(batch);
      await allDone;
      const lastAt = Math.max(...workers.map((worker) => (worker.last?.type === 'progress' ? worker.last.lastAt : 0)));
      if (completedSoFar() - base !== jobs) throw new Error(`BullMQ completed ${completedSoFar() - base} jobs, expected ${jobs}`);
      return jobs / ((lastAt - t0) / 1000);
    },
    async stop() {
      await stopChildren(workers);
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
    },
  };
}

export async function startTaskbuffer(url: string): Promise<ICompetitor> {
  const prefix = `bench-vs-${process.pid}`;
  const instances = await Promise.all(Array.from({ length: PROCESSES }, (_, i) =>
    startChild(['--mode', 'taskbuffer', '--url', url, '--prefix', prefix, '--instance', `tb${i}`, '--cap', String(TOTAL_CONCURRENCY)])));
  return {
    async sample(jobs) {
      const share = jobs / PROCESSES;
      if (!Number.isInteger(share)) throw new Error(`${jobs} jobs do not split evenly over ${PROCESSES} processes`);
      const done = instances.map((instance) => instance.next((report) => report.type === 'done'));
      const t0 = now();
      for (const instance of instances) instance.send({ type: 'run', count: share });
      const reports = (await Promise.all(done)) as Array<Extract<TChildReport, { type: 'done' }>>;
      const sum = reports.reduce((total, report) => total + report.sum, 0);
      if (sum !== jobs) throw new Error(`taskbuffer runs returned checksum ${sum}, expected ${jobs}`);
      return jobs / ((Math.max(...reports.map((report) => report.lastAt)) - t0) / 1000);
    },
    stop: () => stopChildren(instances),
  };
}
