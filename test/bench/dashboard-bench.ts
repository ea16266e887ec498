/**
 * `node --import tsx test/bench/dashboard-bench.ts [--tasks 1000] [--big 10000] [--rate 500] [--seconds 5]`:
 * measures `<taskbuffer-dashboard>` in headless Chromium (Debian's, via playwright-core),
 * the figures the readme's "Web dashboard" section reports:
 *
 * - first shown: from setting `taskManager` and appending the element until the frame after
 *   its first update (so style and layout of what it rendered are included);
 * - event → DOM: `rate` events per second arrive for `seconds` (most go to random tasks, one
 *   in ten to one of the first 12 cards, which are on screen); for those, the time from
 *   `taskSubject.next` until a MutationObserver sees the new text in the shadow root;
 * - at `big` tasks: first shown, cards in the DOM, a filter applied, a scroll to the middle.
 *
 * Prints one JSON object. Not a test: the browser tests only check generous bounds.
 */
import { parseArgs } from 'node:util';
import { launchChromium } from '../../demo/chromium.js';
import { bundleForBrowser } from '../../demo/serve.js';
import { benchEventLatency, benchFirstShown, benchBigList } from './dashboard-bench-page.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '1000' },
    big: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '5' },
  },
});
const tasks = Number(values.tasks);
const big = Number(values.big);
const rate = Number(values.rate);
const seconds = Number(values.seconds);

const ORIGIN = 'http://localhost:4173';
const bundle = await bundleForBrowser('test/fixtures/dashboard-entry.ts');
const browser = await launchChromium();
try {
  const open = async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.addInitScript({ content: 'globalThis.__name = (target) => target;' });
    await page.route(`${ORIGIN}/**`, (route) => {
      const url = new URL(route.request().url());
      if (url.pathname === '/fixture.js') return route.fulfill({ contentType: 'text/javascript', body: bundle.js });
      return route.fulfill({
        contentType: 'text/html',
        body: '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body style="margin:0"><script type="module" src="/fixture.js"></script></body></html>',
      });
    });
    await page.goto(`${ORIGIN}/`);
    await page.waitForFunction(() => (window as any).taskbufferWeb !== undefined);
    return page;
  };
  const result: Record<string, unknown> = {};
  // First shown: the median of 5 fresh pages (the first page also warms up the browser).
  const firsts: number[] = [];
  for (let round = 0; round < 5; round++) {
    const page = await open();
    firsts.push(await page.evaluate(benchFirstShown, tasks));
    await page.close();
  }
  firsts.sort((a, b) => a - b);
  result[`firstShownMs@${tasks}`] = round(firsts[2]!);
  const page = await open();
  result[`eventToDom@${tasks}tasks,${rate}/s`] = await page.evaluate(benchEventLatency, { tasks, rate, seconds });
  await page.close();
  if (big > 0) {
    const bigPage = await open();
    result[`bigList@${big}`] = await bigPage.evaluate(benchBigList, big);
    await bigPage.close();
  }
  console.log(JSON.stringify(result, null, 2));
} finally {
  await browser.close();
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
