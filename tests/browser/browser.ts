/**
 * The system Chromium for browser tests, driven by playwright-core. `SEMID_CHROMIUM` names another
 * executable; without one the browser tests skip and say why.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** Path of a Chromium executable, or undefined when none is installed. */
export const chromiumPath: string | undefined = [process.env.SEMID_CHROMIUM, ...CANDIDATES].find(
  (p): p is string => typeof p === 'string' && p.length > 0 && existsSync(p),
);

/** Why the browser tests skip, printed once by each browser test file. */
export const skipReason = chromiumPath
  ? undefined
  : `browser tests skipped: no Chromium at ${CANDIDATES.join(', ')} (install Debian's chromium package, or set SEMID_CHROMIUM)`;

/** Launches headless Chromium (no sandbox: CI containers run as root). */
export async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
}

/** Console errors, uncaught page errors and requests to other hosts, collected while a page lives. */
export function watch(page: Page, allowedOrigin?: string): { errors: string[]; foreign: string[] } {
  const errors: string[] = [];
  const foreign: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => {
    const u = r.url();
    if (u.startsWith('file:') || u.startsWith('data:') || (allowedOrigin && u.startsWith(allowedOrigin))) return;
    foreign.push(u);
  });
  return { errors, foreign };
}
