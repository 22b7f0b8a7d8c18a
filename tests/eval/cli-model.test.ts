/**
 * `semid eval --model`: a tiny untrained CodeTransformer saved beside a `random` index on a small
 * synthetic dataset, evaluated end to end through the CLI with both runtimes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIndex } from '../../indexer/artifact.js';
import { resolveModelConfig } from '../../models/config.js';
import { saveModel } from '../../models/io.js';
import { exportWeights } from '../../models/onnx/export.js';
import { CodeTransformer } from '../../models/transformer.js';
import { loadSplit } from '../../src/core/data/index.js';
import { initTf, tf } from '../../src/core/tf.js';
import type { SplitData } from '../../src/core/types.js';
import { meanMetrics, rankOf } from '../../src/eval/metrics.js';
import { cli } from '../helpers/cli.js';

const SPEC = 'synthetic:seed=5,items=60,users=40';
const dir = mkdtempSync(join(tmpdir(), 'semid-eval-cli-'));
const indexDir = join(dir, 'index');
const modelDir = join(dir, 'model');
const bareDir = join(dir, 'model-no-export');
let split: SplitData;

beforeAll(async () => {
  await initTf();
  split = await loadSplit(SPEC);
  await buildIndex({ scheme: 'random', split, seed: 1, out: indexDir });
  const { loadIndex } = await import('../../indexer/artifact.js');
  const { table } = await loadIndex(indexDir, { encoder: false });
  const cfg = resolveModelConfig({ dModel: 16, layers: 1, heads: 2, ffn: 32, maxHistory: 5, dropout: 0 });
  const model = CodeTransformer.create(cfg, table.levelSizes);
  await saveModel(modelDir, model, { index: indexDir });
  await saveModel(bareDir, model, { index: indexDir });
  await exportWeights({ config: cfg, levelSizes: table.levelSizes, values: model.values() }, join(modelDir, 'onnx'));
  model.dispose();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('semid eval --model', () => {
  it('evaluates every user with real catalogue items only, and the dump reproduces the metrics', async () => {
    const before = tf.memory().numTensors;
    const dump = join(dir, 'recs.jsonl');
    const r = await cli([
      'eval',
      '--model',
      modelDir,
      '--data',
      SPEC,
      '--json',
      '--dump-recs',
      dump,
      '--ks',
      '1,5',
      '--runtime',
      'tfjs',
    ]);
    expect(r.err).not.toContain('error');
    expect(r.code).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    const res = JSON.parse(r.out);
    expect(res.examples).toBe(split.test.length);
    expect(res.scheme).toBe('random');
    expect(res.runtime).toBe('tfjs');
    const lines = readFileSync(dump, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(split.test.length);
    const catalogue = new Set(split.items.map((i) => i.id));
    for (const l of lines) {
      expect(l.items).toHaveLength(5);
      for (const item of l.items) expect(catalogue.has(item)).toBe(true);
      expect(l.history.length).toBeLessThanOrEqual(5);
    }
    expect(
      meanMetrics(
        lines.map((l) => rankOf(l.items, l.target)),
        [1, 5],
      ),
    ).toEqual(res.metrics);
  });

  it('gives the same metrics with the onnx runtime (the default), exporting next to the weights when needed', async () => {
    const args = ['eval', '--data', SPEC, '--json', '--split', 'valid'];
    const a = await cli([...args, '--model', modelDir, '--runtime', 'tfjs']);
    const b = await cli([...args, '--model', modelDir]);
    expect(existsSync(join(bareDir, 'onnx', 'manifest.json'))).toBe(false);
    const c = await cli([...args, '--model', bareDir]);
    for (const r of [a, b, c]) expect(r.code).toBe(0);
    const [ra, rb, rc] = [a, b, c].map((r) => JSON.parse(r.out));
    expect(rb.runtime).toBe('onnx');
    // a model without an export gets one next to its weights, reused by later runs
    expect(existsSync(join(bareDir, 'onnx', 'manifest.json'))).toBe(true);
    for (const k of Object.keys(ra.metrics)) {
      expect(rb.metrics[k]).toBeCloseTo(ra.metrics[k], 6);
      expect(rc.metrics[k]).toBeCloseTo(ra.metrics[k], 6);
    }
  });

  it('refuses data the index was not built on, and a missing index, with clear errors', async () => {
    const other = await cli(['eval', '--model', modelDir, '--data', 'synthetic:seed=6,items=60,users=40']);
    expect(other.code).toBe(2);
    expect(other.err).toContain('different dataset');
    const missing = await cli(['eval', '--model', modelDir, '--data', SPEC, '--index', join(dir, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--index');
    const both = await cli(['eval', '--model', modelDir, '--baseline', 'most-popular']);
    expect(both.code).toBe(2);
  });
});
