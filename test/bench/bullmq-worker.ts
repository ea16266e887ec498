/**
 * A BullMQ worker as its own process, the queue benchmark's competitor:
 *
 *   node --import tsx test/bench/bullmq-worker.ts --instance b1 --redis redis://127.0.0.1:PORT --queue NAME --concurrency 10
 *
 * Its processor returns when it started (performance.timeOrigin + performance.now()), as
 * taskbuffer's `stamp` task does. Prints `ready` once the worker runs; counts every command
 * its ioredis clients send, and a line `report` on stdin prints `commands <n>` and starts
 * counting again. Exits when stdin closes.
 */
import { parseArgs } from 'node:util';
import { Worker } from 'bullmq';
import { countProcessCommands, reportCommandsOnStdin } from './command-count.js';

const { values: args } = parseArgs({
  options: {
    redis: { type: 'string' },
    instance: { type: 'string' },
    queue: { type: 'string' },
    concurrency: { type: 'string', default: '10' },
    'exit-with-parent': { type: 'boolean' },
  },
  strict: true,
});

reportCommandsOnStdin(countProcessCommands());

const url = new URL(args.redis!);
const worker = new Worker(args.queue!, async () => performance.timeOrigin + performance.now(), {
  connection: { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null },
  concurrency: Number(args.concurrency),
});
await worker.waitUntilReady();
process.stdout.write('ready\n');
process.stdin.on('end', () => {
  void worker.close(true).finally(() => process.exit(0));
});
