/**
 * `npm start`: bundles the demo page (demo/page.ts, with the core and the dashboard from
 * source) with esbuild and serves it on a local port.
 *
 *   npm start                  # http://localhost:3000/
 *   PORT=8080 npm start
 *   npm start -- --port 8080
 *
 * Ctrl-C stops it. The browser tests use `startDemoServer()` with port 0.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleSources, PACKAGE_ROOT, type IBrowserBundle } from '../ts/gateway/sourcebundle.js';

const root = PACKAGE_ROOT;

/** Bundles `entry` for the browser (ESM), with `taskbuffer`, `taskbuffer/web` and `taskbuffer/client` from source. */
export function bundleForBrowser(entry: string): Promise<IBrowserBundle> {
  return bundleSources(entry);
}

export interface IDemoServer {
  /** e.g. `http://localhost:3000/` */
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface IDemoServerOptions {
  /** `0` picks a free port. @default 3000 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
}

/** Bundles the demo and serves it until `close()`. */
export async function startDemoServer(options: IDemoServerOptions = {}): Promise<IDemoServer> {
  const host = options.host ?? '127.0.0.1';
  const [bundle, indexHtml] = await Promise.all([
    bundleForBrowser('demo/page.ts'),
    readFile(path.join(root, 'demo/index.html'), 'utf8'),
  ]);
  const files = new Map<string, { type: string; body: string }>([
    ['/', { type: 'text/html; charset=utf-8', body: indexHtml }],
    ['/index.html', { type: 'text/html; charset=utf-8', body: indexHtml }],
    ['/page.js', { type: 'text/javascript; charset=utf-8', body: `${bundle.js}\n//# sourceMappingURL=page.js.map\n` }],
    ['/page.js.map', { type: 'application/json; charset=utf-8', body: bundle.map }],
  ]);

  const server = createServer((request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    const file = files.get(pathname);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (file === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: ${pathname}\n`);
    } else {
      response.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : file.body);
    }
  });
  await listen(server, options.port ?? 3000, host);
  const port = (server.address() as AddressInfo).port;
  const shownHost = host === '127.0.0.1' || host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** `--port N` / `--port=N`, else `PORT`, else 3000. */
export function portFrom(argv: readonly string[], env: NodeJS.ProcessEnv): number {
  let raw: string | undefined = env.PORT;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--port') raw = argv[i + 1];
    else if (arg.startsWith('--port=')) raw = arg.slice('--port='.length);
  }
  if (raw === undefined || raw === '') return 3000;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`expected a port number from 0 to 65535 (from --port or PORT), got ${JSON.stringify(raw)}`);
  }
  return port;
}

async function main(): Promise<void> {
  let port: number;
  try {
    port = portFrom(process.argv.slice(2), process.env);
  } catch (error) {
    console.error(`taskbuffer demo: ${(error as Error).message}`);
    process.exit(2);
  }
  let demo: IDemoServer;
  try {
    demo = await startDemoServer({ port, host: process.env.HOST });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      console.error(`taskbuffer demo: port ${port} is in use; try PORT=${port + 1} npm start (or npm start -- --port ${port + 1})`);
    } else {
      console.error('taskbuffer demo: could not start:', error);
    }
    process.exit(1);
  }
  console.log(`taskbuffer demo: open ${demo.url}  (Ctrl-C stops it)`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\ntaskbuffer demo: ${signal}, stopping`);
    void demo.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await main();
}
