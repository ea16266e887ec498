/**
 * The Redis side of the cluster bench case (test/bench/bench.ts): TaskManager instances
 * with a RedisCoordinator each, in this process, and two ways to count what Redis executes.
 *
 * - `CommandLog` reads a MONITOR connection. MONITOR shows every command with its source,
 *   so a command a client sent (a round trip) can be told from one a Lua script ran
 *   inside Redis (source `lua`), and a script call from which script it was (by its sha1,
 *   or by its text the first time a connection sends it with EVAL).
 * - `commandStats` reads `INFO commandstats`: cheap, so usable under load, but it counts
 *   commands run inside scripts as well and cannot say who sent what.
 *
 * Each instance's command connection is an ioredis client made here and passed to
 * `new RedisCoordinator({ redis: client })`, which leaves it ours: the bench puts markers
 * on it and pings it to know that everything the instance sent before has been executed.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { Task, TaskConstraintGroup, TaskManager } from '../../ts/index.js';
import { RedisCoordinator } from '../../ts/coordinator/redis.js';
import { LUA_SCRIPTS } from '../../ts/coordinator/redis.lua.js';
import { findRedisServer } from '../redis-helpers.js';

export { startRedis, type IRedisServer } from '../redis-helpers.js';

/** Why the cluster case cannot run here (no redis-server), or undefined when it can. */
export function redisServerMissing(): string | undefined {
  try {
    findRedisServer();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** A client that does not retry forever when the throwaway server is gone at the end. */
export function newClient(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false });
}

// ---- instances --------------------------------------------------------------------------

export interface IBenchInstance {
  manager: TaskManager;
  /** The coordinator's command connection (ours; closed by `stop`). */
  client: Redis;
  /** Every command the coordinator sent on its connections (the pub/sub duplicate included), the bench's own left out. */
  sent: ICommandCounter;
  /** Resolves once everything this instance sent before the call (or at the end of the turn) has been executed by Redis. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A started TaskManager whose RedisCoordinator uses a client of its own (the coordinator
 * duplicates it for pub/sub), with one cluster-scoped group registered. Each instance gets
 * its own group object with the same name: a group keeps this instance's share locally.
 */
export async function startInstance(url: string, keyPrefix: string, instanceId: string,
  group: { name: string; maxConcurrent: number }): Promise<IBenchInstance> {
  const client = newClient(url);
  const sent = countCommands(client);
  const coordinator = new RedisCoordinator({ redis: client, keyPrefix, instanceId });
  const manager = new TaskManager({ distributedCoordinator: coordinator });
  manager.addConstraintGroup(new TaskConstraintGroup({
    name: group.name,
    scope: 'cluster',
    maxConcurrent: group.maxConcurrent,
    constraintKeyForExecution: () => 'all',
  }));
  await manager.start();
  return {
    manager,
    client,
    sent,
    async flush() {
      // Releases go out at the end of the event loop's turn (SlotReleases): let them, then ping behind them.
      await new Promise((resolve) => setImmediate(resolve));
      await sent.uncounted(() => client.ping());
    },
    async stop() {
      await manager.stop({ drain: true, timeoutMs: 2_000 });
      client.disconnect();
    },
  };
}

/**
 * A named task registered with `manager` (so its events are published to the cluster, as
 * RedisCoordinator does by default for registered tasks).
 */
export function registeredTask<T>(manager: TaskManager, name: string, fn: () => Promise<T>): Task<undefined, [], Record<string, unknown>, void, T> {
  const task = new Task({ name, taskFunction: fn });
  manager.addTask(task);
  return task;
}

// ---- counting ---------------------------------------------------------------------------

/** Commands a client (and the clients duplicated from it) sent, by name. */
export interface ICommandCounter {
  readonly byName: Map<string, number>;
  total(): number;
  /** Runs `send` without counting what it sends synchronously (the bench's own pings and markers). */
  uncounted<T>(send: () => Promise<T>): Promise<T>;
}

/**
 * Counts every command ioredis sends on `client` and on every client duplicated from it
 * (RedisCoordinator duplicates the client it is given for pub/sub), at `sendCommand`, which
 * every command, script call and reconnect handshake goes through once. A command that
 * ioredis sends again (EVALSHA → EVAL after NOSCRIPT) is a new command object, counted again:
 * it is another round trip.
 */
export function countCommands(client: Redis): ICommandCounter {
  const byName = new Map<string, number>();
  const seen = new WeakSet<object>();
  let paused = false;
  const wrap = (target: Redis): void => {
    const send = target.sendCommand.bind(target);
    target.sendCommand = ((command: { name: string }, stream?: unknown) => {
      if (!paused && !seen.has(command)) {
        seen.add(command);
        const name = String(command.name).toLowerCase();
        byName.set(name, (byName.get(name) ?? 0) + 1);
      }
      return send(command as never, stream as never);
    }) as Redis['sendCommand'];
    const duplicate = target.duplicate.bind(target);
    target.duplicate = ((...args: Parameters<Redis['duplicate']>) => {
      const copy = duplicate(...args);
      wrap(copy);
      return copy;
    }) as Redis['duplicate'];
  };
  wrap(client);
  return {
    byName,
    total: () => [...byName.values()].reduce((sum, n) => sum + n, 0),
    uncounted<T>(send: () => Promise<T>): Promise<T> {
      paused = true;
      try {
        return send();
      } finally {
        paused = false;
      }
    },
  };
}

/** Script names by sha1 (EVALSHA) and by text (EVAL, the first call on a connection). */
const scriptNames = new Map<string, string>();
for (const [name, script] of Object.entries(LUA_SCRIPTS)) {
  scriptNames.set(createHash('sha1').update(script.lua).digest('hex'), name);
  scriptNames.set(script.lua, name);
}

/**
 * Commands Redis executed, by label: `script:<name>` for a script call a client sent
 * (EVALSHA or EVAL), `lua:<command>` for a command run inside a script, else the command.
 */
export type TCommandTally = Map<string, number>;

export class CommandLog {
  private entries: string[] | undefined;
  private markerSeen: ((marker: string) => void) | undefined;
  private markers = 0;

  private constructor(private readonly monitor: Redis) {
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      const command = (args[0] ?? '').toLowerCase();
      if (source !== 'lua' && command === 'echo' && args[1]?.startsWith('bench-marker-')) {
        this.markerSeen?.(args[1]);
        return;
      }
      if (this.entries === undefined) return;
      if (source === 'lua') this.entries.push(`lua:${command}`);
      else if (command === 'evalsha') this.entries.push(`script:${scriptNames.get(args[1] ?? '') ?? 'unknown'}`);
      // MONITOR shows a script's text escaped (newlines as \n): undo that to look it up.
      else if (command === 'eval') this.entries.push(`script:${scriptNames.get((args[1] ?? '').replace(/\\n/g, '\n')) ?? 'unknown'}`);
      else this.entries.push(command);
    });
  }

  static async attach(url: string): Promise<CommandLog> {
    const client = newClient(url);
    const monitor = await client.monitor();
    client.disconnect(); // monitor() made a connection of its own
    return new CommandLog(monitor);
  }

  /**
   * Tallies what Redis executes while `work` runs. The window opens and closes with an
   * ECHO marker sent on `connection`, the connection the work's commands go out on: a
   * connection's commands execute in order, so the closing marker comes after every
   * command `work` sent there. Commands of other connections in the window (heartbeats,
   * a subscriber) are counted too, as they are part of the cost.
   */
  async tally(connection: Redis, work: () => Promise<void>, sent?: ICommandCounter): Promise<TCommandTally> {
    await this.marker(connection, sent);
    this.entries = [];
    await work();
    await this.marker(connection, sent);
    const entries = this.entries;
    this.entries = undefined;
    const tally: TCommandTally = new Map();
    for (const label of entries) tally.set(label, (tally.get(label) ?? 0) + 1);
    return tally;
  }

  private async marker(connection: Redis, sent: ICommandCounter | undefined): Promise<void> {
    const marker = `bench-marker-${++this.markers}`;
    const seen = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`MONITOR did not show ${marker} within 5 s`)), 5_000);
      this.markerSeen = (m) => {
        if (m !== marker) return;
        clearTimeout(timer);
        this.markerSeen = undefined;
        resolve();
      };
    });
    await (sent === undefined ? connection.echo(marker) : sent.uncounted(() => connection.echo(marker)));
    await seen;
  }

  close(): void {
    this.monitor.disconnect();
  }
}

/** `calls` per command from `INFO commandstats` (commands run inside scripts included). */
export async function commandStats(client: Redis): Promise<Map<string, number>> {
  const info = await client.info('commandstats');
  const stats = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats.set(match[1]!.toLowerCase(), Number(match[2]));
  return stats;
}

/** after - before, per command. */
export function statsDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [command, calls] of after) delta.set(command, calls - (before.get(command) ?? 0));
  return delta;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
