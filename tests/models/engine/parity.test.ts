/**
 * The onnx training engine against TensorFlow.js: the same weights and batch give the same loss and
 * gradients (every weight, tolerance 1e-5 + 1e-4 * the gradient's largest entry; measured about
 * 1e-7) for the decoder-only model (untied and tied head) and the item-level model (plain; with code
 * buckets, the dense item head and its repeat bias). A short training run of each engine from the same
 * initialisation follows the same loss curve (every step within 2e-3). Dropout masks come from semid's
 * seeded RNG: the same seed gives the same step.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decoderBatch, itemBatch, itemCatalogue, type TrainBatch, targetCount } from '../../../models/batch.js';
import { type ModelConfig, resolveModelConfig } from '../../../models/config.js';
import { dropoutFeeds } from '../../../models/engine/feeds.js';
import { OnnxGradients } from '../../../models/engine/session.js';
import { OnnxEngine, TfjsEngine } from '../../../models/engine/trainer.js';
import { computeGrads } from '../../../models/grad.js';
import { CodeTransformer, paramSpecs } from '../../../models/transformer.js';
import { TokenLayout } from '../../../src/core/codes.js';
import { createRng, type Rng } from '../../../src/core/rng.js';
import { initTf, tf } from '../../../src/core/tf.js';
import type { Code } from '../../../src/core/types.js';

const levelSizes = [4, 5, 3];
const layout = new TokenLayout(levelSizes);

/** Weights with a wide spread (training's 0.02 would make every gradient tiny and hide mistakes). */
function randomValues(cfg: ModelConfig, rng: Rng): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const s of paramSpecs(cfg, levelSizes.length, layout.vocabSize)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const std = s.shape.length === 2 ? 0.3 : 0.2;
    out.set(
      s.name,
      Float32Array.from({ length: n }, () => (s.init === 'ones' ? 1 : 0) + std * rng.normal()),
    );
  }
  return out;
}

/** A catalogue of 10 distinct codes and `rows` windows of 2-7 items drawn from it (repeats included). */
function data(rng: Rng, rows: number): { catalogue: Code[]; windows: Code[][] } {
  const seen = new Map<string, Code>();
  while (seen.size < 10) {
    const c = levelSizes.map((s) => rng.int(s));
    seen.set(c.join(), c);
  }
  const catalogue = [...seen.values()];
  const windows = Array.from({ length: rows }, () =>
    Array.from({ length: 2 + rng.int(6) }, () => catalogue[rng.int(catalogue.length)] as Code),
  );
  return { catalogue, windows };
}

function batchFor(cfg: ModelConfig, catalogue: Code[], windows: Code[][]): TrainBatch {
  if (cfg.arch === 'decoder') return decoderBatch(layout, windows);
  const dense = cfg.dense > 0 ? itemCatalogue(layout, catalogue, cfg.codeBuckets) : undefined;
  return itemBatch(layout, windows, cfg.codeBuckets, dense);
}

const CASES: Record<string, Partial<ModelConfig>> = {
  'decoder-only': { arch: 'decoder', labelSmoothing: 0.1 },
  'decoder-only, tied head': { arch: 'decoder', tiedHead: true },
  'item-level': { arch: 'item', labelSmoothing: 0.1 },
  'item-level, code buckets + dense head + repeat bias, tied head': {
    arch: 'item',
    codeBuckets: 7,
    dense: 0.5,
    denseRepeat: true,
    tiedHead: true,
    labelSmoothing: 0.1,
  },
};

function config(over: Partial<ModelConfig>): ModelConfig {
  return resolveModelConfig({ dModel: 16, heads: 2, layers: 2, ffn: 24, maxHistory: 6, dropout: 0, ...over });
}

beforeAll(async () => {
  await initTf();
});

describe('onnx engine gradients = TensorFlow.js gradients', () => {
  for (const [label, over] of Object.entries(CASES)) {
    it(label, async () => {
      const cfg = config(over);
      const rng = createRng(7);
      const values = randomValues(cfg, rng);
      const { catalogue, windows } = data(rng, 5);
      const batch = batchFor(cfg, catalogue, windows);
      const denom = targetCount(batch);
      const model = CodeTransformer.fromValues(cfg, levelSizes, values);
      const ref = computeGrads(model, batch, denom, undefined);
      const onnx = await OnnxGradients.create(cfg, levelSizes, catalogue.length, { threads: 1 });
      const got = await onnx.run(values, batch, denom);
      await onnx.release();
      expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5);
      expect([...got.grads.keys()].sort()).toEqual([...ref.grads.keys()].sort());
      for (const [name, g] of ref.grads) {
        const want = g.dataSync() as Float32Array;
        const have = got.grads.get(name) as Float32Array;
        let scale = 0;
        let diff = 0;
        for (let i = 0; i < want.length; i++) {
          scale = Math.max(scale, Math.abs(want[i] as number));
          diff = Math.max(diff, Math.abs((want[i] as number) - (have[i] as number)));
        }
        expect(scale, `${name} has a non-zero gradient`).toBeGreaterThan(0);
        expect(diff, `${name}: max |onnx - tfjs| ${diff} (largest entry ${scale})`).toBeLessThan(1e-5 + 1e-4 * scale);
        g.dispose();
      }
      model.dispose();
    });
  }
});

describe('onnx engine training', () => {
  const opts = { lr: 5e-3, warmup: 2, totalSteps: 12, decay: 'cosine' as const, weightDecay: 0.01, clipNorm: 1 };
  let before = 0;
  beforeAll(() => {
    before = tf.memory().numTensors;
  });
  afterAll(() => {
    expect(tf.memory().numTensors).toBe(before);
  });

  for (const label of ['decoder-only', 'item-level, code buckets + dense head + repeat bias, tied head']) {
    it(`follows the TensorFlow.js loss curve: ${label}`, async () => {
      const cfg = config({ ...CASES[label], seed: 3 });
      const rng = createRng(11);
      const { catalogue } = data(rng, 0);
      const batches = Array.from({ length: 4 }, () => {
        const w = Array.from({ length: 6 }, () =>
          Array.from({ length: 3 + rng.int(4) }, () => catalogue[rng.int(catalogue.length)] as Code),
        );
        return batchFor(cfg, catalogue, w);
      });
      const curve = async (engineOf: (m: CodeTransformer) => Promise<OnnxEngine | TfjsEngine>) => {
        const model = CodeTransformer.create(cfg, levelSizes);
        const engine = await engineOf(model);
        const losses: number[] = [];
        for (let s = 0; s < 12; s++) losses.push((await engine.step(batches[s % batches.length] as TrainBatch)).loss);
        engine.sync();
        const w = model.values();
        await engine.close();
        model.dispose();
        return { losses, w };
      };
      const ref = await curve((m) => TfjsEngine.create(m, { ...opts }, 0));
      const got = await curve((m) => OnnxEngine.create(m, { ...opts }, catalogue.length, { threads: 1 }));
      expect((ref.losses.at(-1) as number) < (ref.losses[0] as number)).toBe(true);
      got.losses.forEach((l, i) => {
        expect(Math.abs(l - (ref.losses[i] as number)), `step ${i + 1}`).toBeLessThan(2e-3);
      });
      for (const [k, v] of ref.w) {
        const o = got.w.get(k) as Float32Array;
        let d = 0;
        for (let i = 0; i < v.length; i++) d = Math.max(d, Math.abs((v[i] as number) - (o[i] as number)));
        expect(d, `${k} after training`).toBeLessThan(2e-3);
      }
    });
  }

  it('draws dropout masks from the seed: same seed, same step; another seed, another step', async () => {
    const cfg = config({ arch: 'item', dropout: 0.3 });
    const rng = createRng(5);
    const values = randomValues(cfg, rng);
    const { catalogue, windows } = data(rng, 4);
    const batch = batchFor(cfg, catalogue, windows);
    const onnx = await OnnxGradients.create(cfg, levelSizes, 0, { threads: 1 });
    const denom = targetCount(batch);
    const a = await onnx.run(values, batch, denom, 1);
    const b = await onnx.run(values, batch, denom, 1);
    const c = await onnx.run(values, batch, denom, 2);
    const none = await onnx.run(values, batch, denom);
    await onnx.release();
    expect(b.loss).toBe(a.loss);
    expect(b.grads.get('blk0.ffn.w1')).toEqual(a.grads.get('blk0.ffn.w1'));
    expect(c.loss).not.toBe(a.loss);
    expect(none.loss).not.toBe(a.loss);
  });

  it('dropout masks keep 1 - rate of the elements, scaled by 1 / (1 - rate)', () => {
    const sites = [{ name: 'dropout_0', rows: 'rows', cols: 100 }];
    const m = dropoutFeeds(sites, 0.3, 9, { rows: 1000 }).dropout_0?.data as Float32Array;
    const zeros = m.filter((x) => x === 0).length / m.length;
    expect(Math.abs(zeros - 0.3)).toBeLessThan(0.01);
    expect(new Set(m.filter((x) => x !== 0))).toEqual(new Set([Math.fround(1 / 0.7)]));
    expect(dropoutFeeds(sites, 0.3, 9, { rows: 1000 }).dropout_0?.data).toEqual(m);
  });

  it('refuses what it has no graph for, naming the fallback', async () => {
    for (const over of [{ arch: 'encdec' as const }, { arch: 'item' as const, unlikelihood: 0.5 }]) {
      const model = CodeTransformer.create(config(over), levelSizes);
      await expect(OnnxEngine.create(model, { ...opts })).rejects.toMatchObject({
        code: 'SEMID_ERR_BAD_CONFIG',
        message: expect.stringContaining('engine "tfjs"'),
      });
      model.dispose();
    }
  });
});
