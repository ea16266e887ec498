/**
 * Debian's Chromium driven by playwright-core, which never downloads a browser. Used by the
 * browser tests (test/dashboard.browser.test.ts) and `npm run screenshot`.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox', // CI runs as root
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Launches headless Chromium, or throws an error that says how to install it. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. The browser tests drive Debian's Chromium; install it with\n` +
        '  apt-get update && apt-get install chromium     (as root; prefix both with sudo otherwise)\n' +
        'or set CHROMIUM_PATH to another Chromium binary. The tests never download a browser themselves.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}
