/**
 * Explorer first paint over loopback, in headless Chromium (Debian's chromium; SEMID_CHROMIUM names
 * another executable): the page served by `semid explore`'s app for a bundle, loaded `--runs` times
 * in fresh browser contexts. Per load: first contentful paint and the time until the first-level
 * codes are listed (both from navigation start). Prints one JSON line with medians and the load
 * average, so a figure can be judged against how busy the machine was.
 *
 *   nice npx tsx bench/ui-paint.ts --bundle runs/beauty [--runs 5] [--shots docs/img] [--report runs/x/report.html]
 *
 * With `--shots`, also saves explorer.png (a first-level code opened, an item searched, a two-item
 * history with its recommendations, the item map) and, with `--report`, report.png of that report.
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import { buildExploreApp } from '../cli/explore.js';
import { bundleLoader } from '../cli/serve.js';
import { BundleRegistry } from '../server/registry.js';

const { values } = parseArgs({
  options: {
    bundle: { type: 'string' },
    runs: { type: 'string', default: '5' },
    shots: { type: 'string' },
    report: { type: 'string' },
    search: { type: 'string', default: 'nail polish' },
  },
});
if (!values.bundle) throw new Error('give --bundle <dir>');
const executablePath = [process.env.SEMID_CHROMIUM, '/usr/bin/chromium'].find((p) => p && existsSync(p));
if (!executablePath) throw new Error('no Chromium: install Debian chromium or set SEMID_CHROMIUM');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const dir = resolve(values.bundle);
const registry = await BundleRegistry.open([{ name: 'bundle', dir }], bundleLoader('auto'), { persist: false });
const app = await buildExploreApp(registry);
const url = `${await app.listen({ port: 0, host: '127.0.0.1' })}/ui`;
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
try {
  // one warm-up load: item titles are read and the root of the code tree built once per server
  const warm = await browser.newPage();
  await warm.goto(url);
  await warm.waitForSelector('#tree-list li', { timeout: 120_000 });
  await warm.close();

  const fcp: number[] = [];
  const listed: number[] = [];
  const runs = Math.max(1, Number(values.runs));
  for (let i = 0; i < runs; i++) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(url);
    await page.waitForSelector('#tree-list li');
    const t = (await page.evaluate(`({
      fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
      now: performance.now(),
    })`)) as { fcp: number; now: number };
    fcp.push(t.fcp);
    listed.push(t.now);
    await ctx.close();
  }
  const items = registry.bundles()[0]?.catalogue.size;
  console.log(
    JSON.stringify({
      bundle: values.bundle,
      items,
      runs,
      firstContentfulPaintMs: Math.round(median(fcp)),
      firstLevelListedMs: Math.round(median(listed)),
      samplesMs: { fcp: fcp.map(Math.round), listed: listed.map(Math.round) },
      loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
    }),
  );

  if (values.shots) {
    const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    await explorerTour(page, url, values.search as string);
    await page.screenshot({ path: join(values.shots, 'explorer.png'), fullPage: true });
    if (values.report) {
      const rp = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await rp.goto(pathToFileURL(resolve(values.report)).href);
      await rp.waitForFunction(
        `[...document.querySelectorAll('.chart')].every((e) => e.getAttribute('data-rendered') === 'true')`,
      );
      await rp.screenshot({ path: join(values.shots, 'report.png'), fullPage: true });
    }
  }
} finally {
  await browser.close();
  await app.close();
  await registry.close();
}

/** Opens a first-level code, searches, opens an item, picks a two-item history, waits for the map. */
async function explorerTour(page: Page, at: string, query: string): Promise<void> {
  await page.goto(at);
  await page.waitForSelector('#tree-list li');
  await page.click('#tree-list li:nth-child(3)');
  await page.waitForSelector('#node-items li');
  await page.fill('#search', query);
  await page.waitForSelector('#search-results li[data-item]');
  await page.click('#search-results li:nth-child(1) .t');
  await page.waitForSelector('#item-detail:not([hidden])');
  await page.click('#search-results li:nth-child(1) button');
  await page.click('#search-results li:nth-child(2) button');
  await page.waitForFunction(
    `document.querySelector('#recs').dataset.ready === 'true' && !document.querySelector('#rec-status').textContent.includes('decoding')`,
    undefined,
    { timeout: 120_000 },
  );
  await page.waitForFunction(`document.querySelector('#map-status').textContent.includes('items, UMAP')`, undefined, {
    timeout: 600_000,
  });
  await page.waitForTimeout(1500);
}
