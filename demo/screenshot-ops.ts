/**
 * The readme's pictures of the gateway's own page (`npm run ops`), taken by
 * `npm run screenshot` after those of the in-page demo: signed in as admin, the cluster
 * with its two instances (docs/dashboard-cluster.png) and the durable queue with a failed
 * job open (docs/dashboard-queue.png). Needs redis-server and Debian's Chromium.
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { startOpsDemo } from './ops.js';

/** Takes the pictures into `docsDir`; returns the files written. */
export async function screenshotOps(browser: Browser, docsDir: string, width: number): Promise<string[]> {
  const demo = await startOpsDemo({ port: 0 });
  const written: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width, height: 1600 }, colorScheme: 'light' });
    // tsx compiles with keepNames: the functions given to the page may call `__name`.
    await page.addInitScript({ content: 'globalThis.__name = (target) => target;' });
    await page.goto(demo.url);
    await page.locator('taskbuffer-gateway-login input[name="name"]').fill('admin');
    await page.locator('taskbuffer-gateway-login input[name="key"]').fill(demo.keys.admin);
    await page.locator('taskbuffer-gateway-login button[type="submit"]').click();
    const dashboard = 'taskbuffer-gateway-login taskbuffer-dashboard';
    // Enough has happened: two instances, a failed job, work waiting, a tenant sync running.
    await page.waitForFunction(() => {
      const shadow = document.querySelector('taskbuffer-gateway-login')?.shadowRoot?.querySelector('taskbuffer-dashboard')?.shadowRoot;
      if (!shadow) return false;
      const count = (state: string) => Number(shadow.querySelector(`.queue [data-count="${state}"]`)?.textContent ?? 0) || 0;
      return shadow.querySelectorAll('.cluster .instance').length === 2 &&
        shadow.querySelector('.task[data-task="sync-tenant"][data-status="running"]') !== null &&
        count('failed') > 0 && performance.now() > 12_000;
    }, undefined, { timeout: 90_000, polling: 200 });
    await mkdir(docsDir, { recursive: true });
    const shoot = async (file: string, selector: string) => {
      const box = (await page.locator(`${dashboard} ${selector}`).first().boundingBox())!;
      const target = path.join(docsDir, file);
      await page.screenshot({ path: target, clip: { x: box.x - 8, y: box.y - 8, width: box.width + 16, height: box.height + 16 } });
      written.push(`${target} (${Math.round((await stat(target)).size / 1024)} KB)`);
    };
    await shoot('dashboard-cluster.png', '.cluster');
    // Open the first failed job.
    await page.locator(`${dashboard} .queue button.queue-state[data-state="failed"]`).click();
    await page.locator(`${dashboard} .queue tr[data-job] button`).first().click();
    await page.waitForFunction(() => document.querySelector('taskbuffer-gateway-login')!.shadowRoot!.querySelector('taskbuffer-dashboard')!
      .shadowRoot!.querySelector('.queue-job [data-job-error]') !== null, undefined, { timeout: 20_000 });
    await shoot('dashboard-queue.png', '.queue');
    await page.close();
  } finally {
    await demo.stop();
  }
  return written;
}
