/**
 * Item vectors written by the indexer: a vector-based scheme (rqkmeans) writes
 * item-embeddings.json/.f32 beside its codes, `semid serve`'s loader picks them up from the index,
 * and /similar answers by embedding, nearest first, with the cosine of the indexer's own vectors.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIndex, ITEM_EMBEDDINGS_DATA, ITEM_EMBEDDINGS_META, loadIndex } from '../../indexer/artifact.js';
import { resolveModelConfig } from '../../models/config.js';
import { saveModel } from '../../models/io.js';
import { CodeTransformer } from '../../models/transformer.js';
import { buildApp } from '../../server/app.js';
import { BundleRegistry } from '../../server/registry.js';
import { bundleLoader } from '../../src/api/bundle.js';
import { readF32 } from '../../src/core/artifact.js';
import { loadSplit } from '../../src/core/data/index.js';
import { initTf } from '../../src/core/tf.js';

let dir: string;

beforeAll(async () => {
  await initTf();
  dir = await mkdtemp(join(tmpdir(), 'semid-item-emb-'));
  const split = await loadSplit('synthetic:items=50,users=100,seed=3,minLength=4,maxLength=8');
  const { table } = await buildIndex({
    scheme: 'rqkmeans',
    split,
    seed: 1,
    out: join(dir, 'index'),
    config: { levels: 2, size: 4, textDim: 8 },
  });
  const model = CodeTransformer.create(
    resolveModelConfig({ dModel: 16, layers: 1, heads: 2, ffn: 32, maxHistory: 4, dropout: 0 }),
    table.levelSizes,
  );
  await saveModel(join(dir, 'model'), model, { index: join(dir, 'index') });
  model.dispose();
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('item embeddings written by the indexer', () => {
  it('are stored in catalogue order and serve /similar by cosine', async () => {
    const meta = JSON.parse(await readFile(join(dir, 'index', ITEM_EMBEDDINGS_META), 'utf8')) as {
      dim: number;
      ids: string[];
    };
    expect(meta.dim).toBe(8);
    expect(meta.ids).toHaveLength(50);
    const index = await loadIndex(join(dir, 'index'), { encoder: false });
    expect(new Set(meta.ids)).toEqual(new Set([...index.table.entries()].map(([id]) => id)));
    const data = await readF32(join(dir, 'index', ITEM_EMBEDDINGS_DATA), 50 * meta.dim);
    const vec = (i: number) => data.subarray(i * meta.dim, (i + 1) * meta.dim);
    const cos = (a: Float32Array, b: Float32Array) => {
      let d = 0;
      let na = 0;
      let nb = 0;
      for (let j = 0; j < a.length; j++) {
        d += (a[j] as number) * (b[j] as number);
        na += (a[j] as number) ** 2;
        nb += (b[j] as number) ** 2;
      }
      return d / Math.sqrt(na * nb);
    };
    // brute-force nearest neighbour of the first item by the stored vectors
    let best = -1;
    let bestSim = -2;
    for (let i = 1; i < 50; i++) {
      const s = cos(vec(0), vec(i));
      if (s > bestSim) {
        bestSim = s;
        best = i;
      }
    }

    const registry = await BundleRegistry.open([{ name: 'b', dir: join(dir, 'model') }], bundleLoader('tfjs'), {
      persist: false,
    });
    const app = await buildApp({ registry });
    try {
      const res = await app.inject({ url: `/v1/items/${encodeURIComponent(meta.ids[0] as string)}/similar?k=3` });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.basis).toBe('embedding');
      expect(body.items).toHaveLength(3);
      expect(body.items[0].item).toBe(meta.ids[best]);
      expect(body.items[0].similarity).toBeCloseTo(bestSim, 4);
    } finally {
      await app.close();
      await registry.close();
    }
  });
});
