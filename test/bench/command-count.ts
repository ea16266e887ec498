/**
 * How the queue benchmark counts client commands: every command any ioredis client of
 * this process sends passes `Redis.prototype.sendCommand` (pipelines and blocking reads
 * included), so counting there sees all of them, BullMQ's as well as taskbuffer's.
 */
import { Redis } from 'ioredis';

/** Starts counting this process's ioredis commands; `count()` reads the total so far. */
export function countProcessCommands(): { count(): number } {
  let commands = 0;
  const send = Redis.prototype.sendCommand;
  Redis.prototype.sendCommand = function (this: unknown, ...params: Parameters<typeof send>) {
    commands++;
    return send.apply(this as never, params);
  } as typeof send;
  return { count: () => commands };
}

/**
 * Answers the line `report` on stdin with `commands <n>`: what this process sent since
 * the last report (queue-rig.ts reads it from a worker process's stdout).
 */
export function reportCommandsOnStdin(counter: { count(): number }): void {
  let reported = 0;
  process.stdin.on('data', (chunk) => {
    if (!String(chunk).includes('report')) return;
    const total = counter.count();
    process.stdout.write(`commands ${total - reported}\n`);
    reported = total;
  });
}
