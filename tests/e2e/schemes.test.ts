/**
 * One tiny end-to-end run per scheme: fit the index on the train split, train the generative model for
 * a few steps, export it to ONNX, evaluate on the test split with constrained beam search, and check
 * that every recommended item is a real catalogue item (from the dumped recommendations).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIndex } from '../../indexer/artifact.js';
import { SCHEME_NAMES } from '../../indexer/registry.js';
import { exportWeights } from '../../models/onnx/export.js';
import { OnnxModel } from '../../models/onnx/runtime.js';
import { trainModel } from '../../models/train.js';
import { initTf, tf } from '../../src/core/tf.js';
import type { SplitData } from '../../src/core/types.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { smallConfigs, tinySplit, writePublishedIndex } from '../indexer/fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'semid-e2e-'));
const importPath = join(dir, 'published.index.json');
const CONFIGS = smallConfigs(importPath);

const MODEL = { dModel: 16, layers: 1, heads: 2, ffn: 32, batch: 16, epochs: 1, warmup: 2, dropout: 0 };

let split: SplitData;

beforeAll(async () => {
  await initTf();
  split = tinySplit();
  writePublishedIndex(importPath, split.items.length, (i) => [
    `<a_${i % 4}>`,
    `<b_${Math.floor(i / 4) % 8}>`,
    `<c_${i % 3}>`,
  ]);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(SCHEME_NAMES.map((name) => ({ name })))('end to end: $name', ({ name }) => {
  it('fits, trains a few steps, evaluates, and recommends only real items', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const indexDir = join(dir, name, 'index');
    const { table } = await buildIndex({ scheme: name, split, config: CONFIGS[name], seed: 1, out: indexDir });
    const trained = await trainModel({ table, data: split, config: MODEL, workers: 0, maxSteps: 4 });
    expect(trained.steps).toBeGreaterThan(0);
    expect(Number.isFinite(trained.epochs[0]?.loss)).toBe(true);
    const onnxDir = join(dir, name, 'onnx');
    await exportWeights(
      { config: trained.config, levelSizes: trained.model.layout.levelSizes, values: trained.model.values() },
      onnxDir,
    );
    trained.model.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const model = await OnnxModel.load(onnxDir);
    const dump = join(dir, name, 'recs.jsonl');
    try {
      const r = await evaluate({ model, table, examples: split.test, beamWidth: 10, ks: [5, 10], dumpRecs: dump });
      expect(r.examples).toBe(split.test.length);
      for (const k of ['recall@10', 'ndcg@10']) {
        expect(r.metrics[k]).toBeGreaterThanOrEqual(0);
        expect(r.metrics[k]).toBeLessThanOrEqual(1);
      }
    } finally {
      model.dispose();
    }
    const catalogue = new Set(split.items.map((i) => i.id));
    const lines = readFileSync(dump, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(split.test.length);
    for (const line of lines) {
      const rec = JSON.parse(line) as { items: string[] };
      expect(rec.items).toHaveLength(10);
      expect(new Set(rec.items).size).toBe(10);
      for (const item of rec.items) expect(catalogue.has(item)).toBe(true);
    }
  });
});
