/**
 * `npm run screenshot`: takes the readme's pictures of the dashboard from the live demo,
 * in the light theme, into docs/dashboard.png (or the path given as the first argument),
 * and of its waits view (groups, waiting runs, timeline) next to it, as `-waits.png`.
 * Waits until the demo shows a run in progress, a failure and queued work, so the picture
 * has something to say. Then the gateway's own page of `npm run ops`: its cluster and its
 * queue (demo/screenshot-ops.ts). Needs Debian's Chromium and redis-server, like the tests.
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.js';
import { screenshotOps } from './screenshot-ops.js';
import { startDemoServer } from './serve.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = path.resolve(root, process.argv[2] ?? 'docs/dashboard.png');
const width = 1040;
const height = 720;

const server = await startDemoServer({ port: 0 });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width, height: 1400 }, colorScheme: 'light' });
  await page.goto(server.url);
  await page.waitForFunction(() => {
    const shadow = document.querySelector('taskbuffer-dashboard')?.shadowRoot;
    if (!shadow) return false;
    return shadow.querySelector('.task[data-task="send-webhooks"][data-status="failed"]') !== null &&
      shadow.querySelector('.task[data-task="deploy-storefront"][data-status="running"] .segment[data-step-status="active"]') !== null &&
      shadow.querySelector('.group .key-waiting') !== null &&
      shadow.querySelector('.waiting-run') !== null &&
      performance.now() > 20_000 && // a timeline with something to show
      shadow.querySelector('.timeline .bar[data-kind="cooldown"]') !== null &&
      shadow.querySelector('.timeline .bar[data-kind="completed"]') !== null &&
      shadow.querySelector('.task[data-task="health-check"] .countdown')?.textContent?.startsWith('in ') === true;
  }, undefined, { timeout: 60_000, polling: 100 });
  const box = (await page.locator('taskbuffer-dashboard').boundingBox())!;
  await mkdir(path.dirname(target), { recursive: true });
  await page.screenshot({ path: target, clip: { x: box.x, y: box.y, width: box.width, height: Math.min(height, box.height) } });
  const { size } = await stat(target);
  console.log(`wrote ${path.relative(root, target)} (${Math.round(size / 1024)} KB)`);
  // The waits view: from the top of the constraint groups to the bottom of the timeline.
  const groups = (await page.locator('taskbuffer-dashboard .groups').boundingBox())!;
  const waits = (await page.locator('taskbuffer-dashboard .waits').boundingBox())!;
  const waitsTarget = target.replace(/\.png$/, '-waits.png');
  await page.screenshot({ path: waitsTarget, clip: { x: box.x, y: groups.y - 8, width: box.width, height: waits.y + waits.height - groups.y + 16 } });
  console.log(`wrote ${path.relative(root, waitsTarget)} (${Math.round((await stat(waitsTarget)).size / 1024)} KB)`);
  // The gateway's own page over a two-instance cluster with a durable queue.
  for (const line of await screenshotOps(browser, path.dirname(target), width)) console.log(`wrote ${path.relative(root, line)}`);
} finally {
  await browser.close();
  await server.close();
}
