/**
 * The explorer page of `semid serve` in headless Chromium, on a real tiny bundle (an rqkmeans index of
 * synthetic data, so it has item embeddings and titles, and an untrained model served by onnxruntime).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleLoader } from '../../cli/serve.js';
import { buildIndex } from '../../indexer/artifact.js';
import { resolveModelConfig } from '../../models/config.js';
import { saveModel } from '../../models/io.js';
import { exportOnnx } from '../../models/onnx/export.js';
import { CodeTransformer } from '../../models/transformer.js';
import { buildApp } from '../../server/app.js';
import { BundleRegistry } from '../../server/registry.js';
import { loadSplit } from '../../src/core/data/index.js';
import { initTf } from '../../src/core/tf.js';
import type { SplitData } from '../../src/core/types.js';
import { launch, skipReason, watch } from './browser.js';

if (skipReason) console.warn(skipReason);

const DATA = 'synthetic:seed=3,items=120,users=150';

describe.skipIf(skipReason !== undefined)('/ui in Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'semid-explorer-'));
  let browser: Browser;
  let registry: BundleRegistry;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let url: string;
  let split: SplitData;

  beforeAll(async () => {
    await initTf();
    split = await loadSplit(DATA);
    const { table } = await buildIndex({
      scheme: 'rqkmeans',
      split,
      config: { levels: 2, size: 8, textDim: 8 },
      seed: 1,
      out: join(dir, 'index'),
    });
    const cfg = resolveModelConfig({ dModel: 16, layers: 1, heads: 2, ffn: 32, maxHistory: 8, dropout: 0 });
    const model = CodeTransformer.create(cfg, table.levelSizes);
    await saveModel(join(dir, 'model'), model, { index: join(dir, 'index'), training: { data: DATA } });
    model.dispose();
    await exportOnnx(join(dir, 'model'));
    registry = await BundleRegistry.open([{ name: 'tiny', dir }], bundleLoader('onnx'), { persist: false });
    app = await buildApp({ registry });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const rows = (page: Page, sel: string) =>
    page.$$eval(sel, (els) => els.map((e) => (e as unknown as { dataset: Record<string, string> }).dataset));

  it('lists the first-level codes, opens one, and recommends for a picked history as POST /v1/recommend does', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const seen = watch(page, url);
    await page.goto(`${url}/ui`);
    await page.waitForSelector('#tree-list li');
    const cat = registry.bundles()[0]!.catalogue;
    const first = (await rows(page, '#tree-list li')).map((d) => Number(d.value));
    expect(first).toEqual(cat.next([]));

    // a click on a first-level code shows what is under it
    const code = first[1]!;
    await page.click(`#tree-list li[data-value="${code}"]`);
    await page.waitForFunction(`document.querySelector('#crumbs')?.textContent.includes('L0=${code}')`);
    await page.waitForSelector('#node-items li');
    const shown = (await rows(page, '#node-items li')).map((d) => d.item);
    expect(shown).toEqual(cat.itemsUnder([code], 200).items.map((x) => x.item));

    // search by a title word, add two results to the history
    const target = split.items.find((it) => cat.lookup(it.id) !== undefined && it.title)!;
    const word = target.title!.split(/\s+/)[0]!;
    await page.fill('#search', word);
    await page.waitForSelector('#search-results li[data-item]');
    const found = (await rows(page, '#search-results li')).map((d) => d.item!);
    expect(found.length).toBeGreaterThan(1);
    const history = found.slice(0, 2);
    for (const id of history) await page.click(`#search-results li[data-item="${id}"] button`);
    await page.waitForFunction(
      `document.querySelectorAll('#history li[data-item]').length === 2 && document.querySelector('#recs').dataset.ready === 'true'`,
    );
    // the page's last request has the whole history; wait until the table shows its answer
    await page.waitForFunction(`!document.querySelector('#rec-status').textContent.includes('decoding')`);
    const recs = await rows(page, '#recs tbody tr');
    const res = await fetch(`${url}/v1/recommend`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ history, k: 10 }),
    });
    const api = (await res.json()) as { items: { item: string; score: number }[] };
    expect(recs.map((d) => d.item)).toEqual(api.items.map((x) => x.item));
    expect(recs.map((d) => Number(d.score))).toEqual(api.items.map((x) => x.score));

    // the item panel shows the clicked item's code and siblings
    await page.click(`#search-results li[data-item="${history[0]}"] .t`);
    await page.waitForFunction(`document.querySelector('#item-id').textContent === ${JSON.stringify(history[0])}`);
    const codeShown = await page.$$eval('#item-code b', (bs) => bs.map((b) => Number(b.textContent)));
    expect(codeShown).toEqual(cat.lookup(history[0]!)!.code);

    // the item map arrives (UMAP of the index's item embeddings)
    await page.waitForFunction(`document.querySelector('#map-status').textContent.includes('120 items')`, undefined, {
      timeout: 60_000,
    });
    expect(seen.errors).toEqual([]);
    expect(seen.foreign).toEqual([]);
  });
});
