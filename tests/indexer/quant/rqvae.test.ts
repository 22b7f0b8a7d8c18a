import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type LetterTerms,
  RqVaeEncoder,
  type RqVaeTrainConfig,
  trainRqVae,
} from '../../../indexer/quant/rqvae-model.js';
import { createRng } from '../../../src/core/rng.js';
import { initTf, tf } from '../../../src/core/tf.js';

/** n points in 8 well-separated clusters in d dimensions; returns the data and each point's cluster. */
function clustered(n: number, d: number, seed: number): { x: Float32Array; label: number[] } {
  const rng = createRng(seed);
  const centres = Array.from({ length: 8 }, () => Array.from({ length: d }, () => rng.normal() * 3));
  const x = new Float32Array(n * d);
  const label: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 8;
    label.push(c);
    for (let j = 0; j < d; j++) x[i * d + j] = centres[c]![j]! + rng.normal() * 0.3;
  }
  return { x, label };
}

const base: RqVaeTrainConfig = {
  hidden: [32],
  latentDim: 4,
  levelSizes: [8, 8],
  beta: 0.25,
  epochs: 25,
  batchSize: 32,
  learningRate: 3e-3,
  kmeansInit: true,
  kmeansIters: 10,
  deadCodeReset: false,
  lastLevelSinkhorn: false,
  sinkhornEpsilon: 0.003,
  sinkhornIters: 50,
  maxTrainSeconds: 0,
};

const used = (codes: Int32Array, L: number, l: number) =>
  new Set(Array.from({ length: codes.length / L }, (_, i) => codes[i * L + l])).size;

describe('RQ-VAE (TensorFlow.js)', () => {
  const n = 128;
  const d = 12;
  const { x } = clustered(n, d, 1);

  it('reconstruction loss goes down, tensors are freed, and the same seed gives the same codes', async () => {
    await initTf();
    const before = tf.memory().numTensors;
    const a = await trainRqVae(x, n, d, base, createRng(7));
    expect(tf.memory().numTensors).toBe(before);
    const first = a.history[0]!;
    const last = a.history[a.history.length - 1]!;
    expect(last.recon).toBeLessThan(first.recon * 0.7);
    expect(Number.isFinite(a.reconstructionError)).toBe(true);
    const b = await trainRqVae(x, n, d, base, createRng(7));
    const ca = a.encoder.encode(x, n);
    expect([...ca]).toEqual([...b.encoder.encode(x, n)]);
    expect(tf.memory().numTensors).toBe(before);
    // the first level separates the 8 clusters: points of one cluster share their first code mostly
    expect(used(ca, 2, 0)).toBeGreaterThanOrEqual(4);
  });

  it('saving and loading the encoder round-trips the codes', async () => {
    const r = await trainRqVae(x, n, d, { ...base, epochs: 3 }, createRng(3));
    const dir = await mkdtemp(join(tmpdir(), 'semid-rqvae-'));
    try {
      await r.encoder.save(dir);
      const loaded = await RqVaeEncoder.load(dir);
      expect([...loaded.encode(x, n)]).toEqual([...r.encoder.encode(x, n)]);
      await expect(RqVaeEncoder.load(join(dir, 'missing'))).rejects.toMatchObject({
        code: 'SEMID_ERR_ARTIFACT_MISSING',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('LETTER: Sinkhorn on the last level raises utilization; the collaborative and diversity losses train', async () => {
    // data concentrated in ONE blob, codebooks not k-means initialised: nearest-code training collapses
    // onto one code, Sinkhorn-balanced assignment spreads the codes over the blob
    const rng = createRng(5);
    const m = 96;
    const xd = new Float32Array(m * d);
    for (let i = 0; i < xd.length; i++) xd[i] = rng.normal() * 0.05 + (i % d === 0 ? 4 : 0);
    const cfg: RqVaeTrainConfig = { ...base, levelSizes: [16], kmeansInit: false, epochs: 60, learningRate: 1e-2 };
    const plain = await trainRqVae(xd, m, d, cfg, createRng(2));
    const before = tf.memory().numTensors;
    const sk = await trainRqVae(xd, m, d, { ...cfg, lastLevelSinkhorn: true }, createRng(2));
    expect(plain.history[plain.history.length - 1]!.used[0]).toBeLessThan(4);
    expect(sk.history[sk.history.length - 1]!.used[0]).toBe(16); // balanced assignment uses every code
    expect(used(sk.encoder.encode(xd, m), 1, 0)).toBeGreaterThan(2 * used(plain.encoder.encode(xd, m), 1, 0));
    // collaborative signal the text lacks: 8 groups of items with distinct collaborative vectors
    const cf = new Float32Array(m * 4);
    for (let i = 0; i < m; i++) {
      const g = i % 8;
      cf[i * 4 + (g % 4)] = g < 4 ? 1 : -1;
    }
    const terms: LetterTerms = { cf, cfDim: 4, alpha: 1, temperature: 0.2, diversityWeight: 0.1, diversityClusters: 4 };
    const lt = await trainRqVae(xd, m, d, { ...cfg, epochs: 30 }, createRng(2), { letter: terms });
    expect(tf.memory().numTensors).toBe(before);
    const h = lt.history;
    expect(h[h.length - 1]!.cf!).toBeLessThan(h[0]!.cf!);
    expect(h[h.length - 1]!.diversity!).toBeLessThan(h[0]!.diversity!);
  });

  it('rejects mismatched collaborative embeddings', async () => {
    const terms: LetterTerms = {
      cf: new Float32Array(3),
      cfDim: 4,
      alpha: 1,
      temperature: 1,
      diversityWeight: 0,
      diversityClusters: 2,
    };
    await expect(trainRqVae(x, n, d, base, createRng(1), { letter: terms })).rejects.toMatchObject({
      code: 'SEMID_ERR_BAD_INPUT',
    });
  });
});
