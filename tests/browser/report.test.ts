/** report.html from a real (tiny) `semid compare`, opened in headless Chromium. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../cli/main.js';
import { launch, skipReason, watch } from './browser.js';

if (skipReason) console.warn(skipReason);

/** In the page: every chart container has a canvas and ECharts has finished drawing it. */
const ALL_CHARTS_DRAWN = `[...document.querySelectorAll('.chart')].every(
  (e) => e.getAttribute('data-rendered') === 'true' && e.querySelector('canvas') !== null)`;
/** In the page: per chart canvas, how many sampled pixels are not transparent. */
const INKED_PIXELS = `[...document.querySelectorAll('.chart canvas')].map((c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 28) if (d[i] > 0) n++;
  return n;
})`;

describe.skipIf(skipReason !== undefined)('report.html in Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'semid-report-html-'));
  const out = join(dir, 'report');
  let browser: Browser;

  beforeAll(async () => {
    const config = join(dir, 'compare.json');
    writeFileSync(
      config,
      JSON.stringify({
        model: { dModel: 16, layers: 1, heads: 2, ffn: 32, batch: 32, epochs: 2, warmup: 2, dropout: 0 },
        schemes: { random: { levels: 2, size: 16 }, rqkmeans: { levels: 2, size: 8, textDim: 8 } },
        validUsers: 20,
        beamWidth: 5,
      }),
    );
    const args = ['--data', 'synthetic:seed=3,items=120,users=150', '--schemes', 'random,rqkmeans'];
    const code = await run(['compare', ...args, '--seeds', '2', '--out', out, '--config', config, '--workers', '0']);
    expect(code).toBe(0);
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens with no console error or network request and renders every chart', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const seen = watch(page);
    await page.goto(pathToFileURL(join(out, 'report.html')).href);
    const ids = await page.$$eval('.chart', (els) => els.map((e) => e.id));
    // accuracy/cost, every metric group, index quality, items per code and both training curves
    for (const id of [
      'cost-recall@10',
      'cost-ndcg@10',
      'cost-stages',
      'metrics-main',
      'metrics-slices',
      'metrics-coverage',
      'metrics-history',
      'index-util',
      'index-perplexity',
      'index-collisionRateBefore',
      'index-items-per-code',
      'train-loss',
      'train-valid',
    ]) {
      expect(ids).toContain(id);
    }
    await page.waitForFunction(ALL_CHARTS_DRAWN);
    const inked = (await page.evaluate(INKED_PIXELS)) as number[];
    expect(inked.every((n) => n > 50)).toBe(true);
    const command = await page.textContent('#repro-command');
    expect(command).toContain('semid compare --data synthetic:seed=3,items=120,users=150 --schemes random,rqkmeans');
    expect(seen.errors).toEqual([]);
    expect(seen.foreign).toEqual([]);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.runs).toHaveLength(4);
    for (const r of report.runs) expect(r.series.loss.length).toBe(r.extra.epochs);
  });
});
