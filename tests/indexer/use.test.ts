import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildIndex, loadIndex } from '../../indexer/artifact.js';
import { commonCategories, decodeEntities, USE_DIM, useEmbed, useText } from '../../indexer/features/use.js';
import { loadFeatureEncoder } from '../../indexer/quant/features.js';
import { readF32 } from '../../src/core/artifact.js';
import { tinySplit } from './fixture.js';

let dir: string | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Universal Sentence Encoder text', () => {
  it('decodes HTML entities and leaves unknown ones', () => {
    expect(decodeEntities('Salt &amp; Pepper &quot;Red&quot; &#x2019;s &#39;x&#39; &bogus;')).toBe(
      'Salt & Pepper "Red" \u2019s \'x\' &bogus;',
    );
  });

  it('builds "title. categories" without the categories every item has', () => {
    const items = [
      { id: 'a', title: 'Red  nail\tpolish', categories: ['Beauty', 'Makeup', 'Nails'] },
      { id: 'b', title: 'Shampoo', categories: ['Beauty', 'Hair Care'] },
    ];
    const common = commonCategories(items);
    expect([...common]).toEqual(['Beauty']);
    expect(useText(items[0]!, common)).toBe('Red nail polish. Makeup, Nails');
    expect(useText({ id: 'c', categories: ['Beauty'] }, common)).toBe('');
    expect(commonCategories([items[0]!]).size).toBe(0);
  });
});

describe('useEmbed', () => {
  it('gives unit 512-d rows that put related products closer than unrelated ones', async () => {
    const e = await useEmbed([
      { id: 'lip', title: 'Matte red lipstick', categories: ['Makeup', 'Lips'] },
      { id: 'gloss', title: 'Shiny pink lip gloss', categories: ['Makeup', 'Lips'] },
      { id: 'dryer', title: 'Ionic hair dryer 1875 watt', categories: ['Hair Care', 'Tools'] },
    ]);
    expect(e.length).toBe(3 * USE_DIM);
    const row = (i: number) => e.subarray(i * USE_DIM, (i + 1) * USE_DIM);
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, k) => s + x * (b[k] as number), 0);
    for (let i = 0; i < 3; i++) expect(dot(row(i), row(i))).toBeCloseTo(1, 4);
    expect(dot(row(0), row(1))).toBeGreaterThan(dot(row(0), row(2)) + 0.2);
  }, 60_000);

  it('gives the same rows whatever the batch size and the number of workers sharing the texts', async () => {
    const items = tinySplit().items.slice(0, 40);
    const one = await useEmbed(items, { batchSize: 64 }); // one worker, one batch
    const many = await useEmbed(items, { batchSize: 3 }); // several workers (one per core), many batches
    expect(many.length).toBe(one.length);
    let worst = 0;
    for (let k = 0; k < one.length; k++) worst = Math.max(worst, Math.abs((one[k] as number) - (many[k] as number)));
    expect(worst).toBeLessThan(1e-4);
  }, 60_000);

  it('an rqkmeans index on it encodes its own items back to their codes (new-item path)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'semid-use-'));
    const split = tinySplit();
    const out = join(dir, 'index');
    const built = await buildIndex({
      scheme: 'rqkmeans',
      split,
      out,
      seed: 3,
      config: { embeddings: 'use', levels: 2, size: 8 },
    });
    const loaded = await loadIndex(out);
    expect(loaded.manifest.config.embeddings).toBe('use');
    // new items are embedded exactly as the catalogue was (same text rule, same left-out categories)
    const stored = await readF32(join(out, 'item-embeddings.f32'));
    const feats = await loadFeatureEncoder(join(out, 'state'));
    const again = await feats.embed(split.items);
    expect(again.length).toBe(stored.length);
    for (let k = 0; k < stored.length; k++)
      expect(Math.abs((again[k] as number) - (stored[k] as number))).toBeLessThan(1e-5);
    const some = split.items.slice(0, 12);
    const codes = await loaded.encoder!.encode(some);
    // the first levels come from the quantiser alone, so they must match the table's exactly
    some.forEach((it, i) => {
      expect(codes[i]!.slice(0, 2)).toEqual(built.table.encode(it.id)!.slice(0, 2));
    });
  }, 120_000);
});
