/**
 * Part of `npm run build`: bundles the page a TaskGateway serves with `dashboard: true`
 * (ts_web/gateway-login.ts with Lit, the dashboard and the client) into one minified
 * file, dist_bundle/gateway-page.js, which the built gateway reads at `start()`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PAGE_BUNDLE_FILE, PAGE_ENTRY } from '../ts/gateway/dashboardpage.js';
import { bundleSources, PACKAGE_ROOT } from '../ts/gateway/sourcebundle.js';

const bundle = await bundleSources(PAGE_ENTRY, { minify: true });
const target = path.join(PACKAGE_ROOT, PAGE_BUNDLE_FILE);
await mkdir(path.dirname(target), { recursive: true });
await writeFile(target, bundle.js);
process.stderr.write(`bundled ${PAGE_ENTRY} into ${PAGE_BUNDLE_FILE} (${(bundle.js.length / 1024).toFixed(0)} KiB)\n`);
