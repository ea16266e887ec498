import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { DashboardUnavailableError } from './gatewayerrors.js';
import { pathOf } from './requestpath.js';
import { bundleSources, PACKAGE_ROOT } from './sourcebundle.js';

/** The page's script as `npm run build` writes it (shipped in the package). */
export const PAGE_BUNDLE_FILE = 'dist_bundle/gateway-page.js';
/** The page's entry in the sources. */
export const PAGE_ENTRY = 'ts_web/gateway-login.ts';

/** The script name under the gateway's path. */
const SCRIPT_NAME = 'app.js';

/**
 * Only what the page needs: its own script, a websocket to its own origin (CSP's `'self'`
 * covers ws: and wss: of the same host), Lit's styles; no frames, no forms sent anywhere.
 */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

interface IBody {
  plain: Buffer;
  gzip: Buffer;
  type: string;
}

/**
 * The dashboard page a gateway serves with `dashboard: true`: at its `path`, a page that
 * asks for a client name and key and then shows `<taskbuffer-dashboard>` over a
 * connection to this same gateway; its script at `<path>/app.js`. A gateway run from the
 * built package serves the script `npm run build` bundled; run from the sources (tests,
 * a checkout), it bundles them with esbuild at `start()`.
 */
export class DashboardPage {
  private readonly files = new Map<string, IBody>();

  constructor(private readonly gatewayPath: string, private readonly title: string) {}

  /** Reads (or bundles) the page's script; rejects with a DashboardUnavailableError saying what to do. */
  async load(): Promise<void> {
    const script = await loadScript();
    this.files.set(this.gatewayPath, body(pageHtml(this.gatewayPath, this.title), 'text/html; charset=utf-8'));
    this.files.set(`${this.gatewayPath}/`, this.files.get(this.gatewayPath)!);
    this.files.set(`${this.gatewayPath}/${SCRIPT_NAME}`, body(script, 'text/javascript; charset=utf-8'));
  }

  /** Answers a request for the page or its script; `false` for any other path (left to the caller). */
  handle(request: IncomingMessage, response: ServerResponse): boolean {
    const file = this.files.get(pathOf(request.url) ?? '');
    if (file === undefined) return false;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
    const content = gzip ? file.gzip : file.plain;
    response.writeHead(200, {
      ...PAGE_HEADERS,
      'content-type': file.type,
      'content-length': content.length,
      'cache-control': 'no-cache',
      vary: 'accept-encoding',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    });
    response.end(request.method === 'HEAD' ? undefined : content);
    return true;
  }
}

/** The script once read or bundled: every gateway of the process serves the same one. */
let loadedScript: string | undefined;

/** Built package: the bundled file. Sources (this module is a .ts file): bundled now, so that it matches them. */
async function loadScript(): Promise<string> {
  loadedScript ??= await readOrBundleScript();
  return loadedScript;
}

async function readOrBundleScript(): Promise<string> {
  const fromSources = fileURLToPath(import.meta.url).endsWith('.ts');
  if (!fromSources) {
    try {
      return await readFile(path.join(PACKAGE_ROOT, PAGE_BUNDLE_FILE), 'utf8');
    } catch (error) {
      throw new DashboardUnavailableError(`TaskGateway dashboard: the package has no ${PAGE_BUNDLE_FILE} (it is made by \`npm run build\`); reinstall taskbuffer or rebuild it`, error);
    }
  }
  try {
    return (await bundleSources(PAGE_ENTRY, { minify: true })).js;
  } catch (error) {
    const missing = (error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND';
    throw new DashboardUnavailableError(missing
      ? 'TaskGateway dashboard: run from the sources, the page is bundled with esbuild, which is not installed (npm install --save-dev esbuild)'
      : `TaskGateway dashboard: bundling ${PAGE_ENTRY} failed: ${(error as Error).message}`, error);
  }
}

function body(text: string, type: string): IBody {
  const plain = Buffer.from(text, 'utf8');
  return { plain, gzip: gzipSync(plain), type };
}

function pageHtml(gatewayPath: string, title: string): string {
  const attribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${attribute(title)}</title>
<link rel="icon" href="data:,">
<style>body { margin: 0; background: #f5f6f8; } @media (prefers-color-scheme: dark) { body { background: #0f1419; } }</style>
</head>
<body>
<taskbuffer-gateway-login path="${attribute(gatewayPath)}" heading="${attribute(title)}"></taskbuffer-gateway-login>
<script type="module" src="${attribute(`${gatewayPath}/${SCRIPT_NAME}`)}"></script>
</body>
</html>
`;
}
