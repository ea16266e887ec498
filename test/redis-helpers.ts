/**
 * A real redis-server per test run (not a test file). `startRedis()` starts one on a free
 * port, without persistence, and hands back how to stop or restart it. Only the servers
 * started here are ever killed, by their pid; whatever still runs when the test process
 * exits is killed then.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { after, before } from 'node:test';

export interface IRedisServer {
  port: number;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** The redis-server's pid (changes with `restart()`). */
  readonly pid: number | undefined;
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. Idempotent. */
  stop(): Promise<void>;
  /**
   * Stops the server (SIGKILL by default, as a crash would; all data is gone unless it was
   * started with `aofDir`) and starts a new one on the same port; resolves once it answers PING.
   */
  restart(options?: { signal?: 'SIGKILL' | 'SIGTERM'; downMs?: number }): Promise<void>;
}

const INSTALL_HINT = 'install it with `apt-get install redis-server` (Debian/Ubuntu; .ci/run does this in CI)';

/** The redis-server executable: /usr/bin/redis-server, else the first one on PATH. Throws with an install hint. */
export function findRedisServer(): string {
  const candidates = ['/usr/bin/redis-server', ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'redis-server'))];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error(`redis-server was not found (looked at /usr/bin/redis-server and on PATH); the Redis tests start their own server: ${INSTALL_HINT}`);
}

/** A TCP port that was free a moment ago (listen on port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not find a free port'))));
    });
  });
}

/** One PING over a raw socket: resolves `true` when `+PONG` comes back within `timeoutMs`. */
export function pingRedis(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}

// Every redis-server this process started and has not seen exit, so that a test process
// that ends (normally, by an uncaught error or by a signal) takes them along.
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAllStartedSync(): void {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllStartedSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killAllStartedSync();
      // Let the signal do what it would have done without this listener.
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function killChild(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL', graceMs = 3000): Promise<void> {
  const gone = exited(child);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill(signal);
    if (signal === 'SIGTERM') {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
      const outcome = await Promise.race([gone.then(() => 'gone' as const), late]);
      clearTimeout(timer);
      if (outcome === 'late') child.kill('SIGKILL');
    }
  }
  await gone;
  running.delete(child);
}

/** Starts redis-server on `port` and resolves once it answers PING (rejects with its output if it dies or hangs). */
async function spawnOn(executable: string, port: number, aofDir?: string, readyWithinMs = 10_000): Promise<ChildProcess> {
  installExitHook();
  // With aofDir, every write is fsynced to an append-only file there before Redis answers it.
  const persistence = aofDir === undefined ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always'];
  const child = spawn(executable, [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    ...persistence,
    '--protected-mode', 'no',
    // Without aofDir nothing is written, but keep any stray file out of the work tree.
    '--dir', aofDir ?? process.env.TMPDIR ?? '/tmp',
    '--loglevel', 'warning',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  let spawnError: Error | undefined;
  child.on('error', (error) => (spawnError = error));
  child.once('exit', () => running.delete(child));

  const deadline = Date.now() + readyWithinMs;
  for (;;) {
    if (spawnError !== undefined) throw new Error(`could not start ${executable}: ${spawnError.message}; ${INSTALL_HINT}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server on port ${port} exited (${child.exitCode ?? child.signalCode}) before answering PING:\n${output}`);
    }
    if (await pingRedis(port)) return child;
    if (Date.now() > deadline) {
      await killChild(child, 'SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer PING within ${readyWithinMs} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Starts a private redis-server on a free port, with no persistence unless `aofDir` names
 * a directory for its append-only file. Throws, saying how to install it, when
 * redis-server cannot be found.
 */
export async function startRedis(options: { aofDir?: string } = {}): Promise<IRedisServer> {
  const executable = findRedisServer();
  // A port found free can be taken by someone else before redis-server binds it: retry.
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 1; child === undefined; attempt++) {
    port = await freePort();
    try {
      child = await spawnOn(executable, port, options.aofDir);
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
  let current: ChildProcess | undefined = child;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return current?.pid;
    },
    async stop() {
      const stopping = current;
      current = undefined;
      if (stopping !== undefined) await killChild(stopping, 'SIGTERM');
    },
    async restart(restartOptions = {}) {
      const stopping = current;
      current = undefined;
      if (stopping !== undefined) await killChild(stopping, restartOptions.signal ?? 'SIGKILL');
      if (restartOptions.downMs !== undefined && restartOptions.downMs > 0) await new Promise((resolve) => setTimeout(resolve, restartOptions.downMs));
      current = await spawnOn(executable, port, options.aofDir);
    },
  };
}

/**
 * After the last test: if something (a connection or timer a test left behind) still keeps
 * this test process alive 10 s later, say what and exit with 1, so a leak fails the run
 * instead of hanging it. The timer is unref'd: a clean process exits without waiting for it.
 */
export function failIfProcessLingers(what: string, ms = 10_000): void {
  setTimeout(() => {
    process.stderr.write(`${what}: the test process was still alive ${ms} ms after its last test; ` +
      `active resources: ${JSON.stringify(process.getActiveResourcesInfo())}\n`);
    process.exit(1);
  }, ms).unref();
}

/**
 * One redis-server for the tests of a file (or of the `describe` it is called in): started
 * in a `before` hook, stopped in an `after` hook, which then calls
 * `failIfProcessLingers(fileName)`. The server it returns can be read only from that
 * `before` on, in tests and hooks.
 */
export function useRedisServer(fileName: string): IRedisServer {
  let server: IRedisServer | undefined;
  before(async () => {
    server = await startRedis();
  });
  after(async () => {
    await server?.stop();
    failIfProcessLingers(fileName);
  });
  const started = (): IRedisServer => {
    if (server === undefined) throw new Error(`${fileName}: the redis-server is read before its before() hook started it`);
    return server;
  };
  return {
    get port() {
      return started().port;
    },
    get url() {
      return started().url;
    },
    get pid() {
      return started().pid;
    },
    stop: () => started().stop(),
    restart: (options) => started().restart(options),
  };
}

// ---- cluster instances as processes ----------------------------------------------------

const FIXTURE = new URL('./fixtures/cluster-instance.ts', import.meta.url).pathname;
const PROJECT_ROOT = new URL('..', import.meta.url).pathname;
const instances = new Set<ChildProcess>();
let instanceHookInstalled = false;

export interface IClusterInstance {
  instanceId: string;
  child: ChildProcess;
  pid: number;
  /** Resolves once the instance printed `ready` (rejects if it exits first or takes over `readyWithinMs`). */
  ready: Promise<void>;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
  /** SIGTERM and wait for the exit (SIGKILL after `graceMs`); resolves with how it exited. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL, no goodbye; resolves once it is gone. */
  kill(): Promise<void>;
}

/**
 * Spawns `node --import tsx <fixture>` (test/fixtures/cluster-instance.ts unless given) with `--instance id`,
 * `--exit-with-parent` and the given arguments. Instances still running when the test
 * process exits are killed.
 */
export function spawnInstance(instanceId: string, args: string[], readyWithinMs = 30_000, fixture = FIXTURE): IClusterInstance {
  if (!instanceHookInstalled) {
    instanceHookInstalled = true;
    process.on('exit', () => {
      for (const child of instances) {
        try {
          child.kill('SIGKILL');
        } catch {
          // gone
        }
      }
    });
  }
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, '--instance', instanceId, '--exit-with-parent', ...args], {
    cwd: PROJECT_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  instances.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr = (stderr + chunk).slice(-20_000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      instances.delete(child);
      resolve({ code, signal });
    });
  });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance ${instanceId} did not print ready within ${readyWithinMs} ms; stderr:\n${stderr}`)), readyWithinMs);
    const onData = () => {
      if (/^ready$/m.test(stdout)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`instance ${instanceId} exited (${code ?? signal}) before it was ready; stderr:\n${stderr}`));
    });
  });
  ready.catch(() => {}); // observed by the caller; avoid an unhandled rejection if it never looks
  return {
    instanceId,
    child,
    pid: child.pid!,
    ready,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop(graceMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      }
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
