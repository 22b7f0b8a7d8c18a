/**
 * ONNX vs TensorFlow.js parity: the exported graphs give the same next-token logits (within 1e-4) as
 * the CodeTransformer's own decoding session, for every architecture, over several decoding steps with
 * beams, and constrained beam search returns the same items through either runtime.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveModelConfig } from '../../../models/config.js';
import { saveModel } from '../../../models/io.js';
import { ensureOnnx, exportOnnx, exportWeights } from '../../../models/onnx/export.js';
import { OnnxModel } from '../../../models/onnx/runtime.js';
import { CodeTransformer, paramSpecs } from '../../../models/transformer.js';
import { TokenLayout } from '../../../src/core/codes.js';
import { beamSearch } from '../../../src/core/decoding.js';
import type { BeamRow, DecodingSession } from '../../../src/core/model.js';
import { createRng } from '../../../src/core/rng.js';
import { initTf, tf } from '../../../src/core/tf.js';
import { CodeTrie } from '../../../src/core/trie.js';
import type { Code } from '../../../src/core/types.js';

const levelSizes = [4, 5, 3];
const layout = new TokenLayout(levelSizes);
const TOL = 1e-4;

/**
 * Weights drawn with a larger spread than training's initialisation (std 0.02 would make every logit
 * tiny and hide mistakes): matrices N(0, 1/sqrt(fan_in)), embeddings N(0, 0.5), LayerNorm gains
 * around 1 and biases around 0, so logits are O(1).
 */
function randomValues(cfg: ReturnType<typeof resolveModelConfig>, seed: number): Map<string, Float32Array> {
  const rng = createRng(seed);
  const out = new Map<string, Float32Array>();
  for (const s of paramSpecs(cfg, levelSizes.length, layout.vocabSize)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const std = s.shape.length === 2 ? (s.name.includes('emb') ? 0.5 : 1 / Math.sqrt(s.shape[0] as number)) : 0.2;
    const mean = s.init === 'ones' ? 1 : 0;
    out.set(
      s.name,
      Float32Array.from({ length: n }, () => mean + std * rng.normal()),
    );
  }
  return out;
}

/** Random full codes of the toy index (repeats allowed in histories). */
function randomCode(rng: ReturnType<typeof createRng>): Code {
  return levelSizes.map((s) => rng.int(s));
}

function maxDiff(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  a.forEach((row, i) => {
    const other = b[i] as Float32Array;
    expect(row.length).toBe(other.length);
    for (let j = 0; j < row.length; j++) m = Math.max(m, Math.abs((row[j] as number) - (other[j] as number)));
  });
  return m;
}

const CASES = [
  { arch: 'decoder', tiedHead: false },
  { arch: 'encdec', tiedHead: false },
  { arch: 'decoder', tiedHead: true },
  { arch: 'item', tiedHead: false },
  { arch: 'item', tiedHead: true },
  { arch: 'item', tiedHead: false, codeBuckets: 7 },
  { arch: 'item', tiedHead: false, codeBuckets: 7, dense: 1 },
  { arch: 'item', tiedHead: true, dense: 1 },
  { arch: 'item', tiedHead: false, codeBuckets: 7, dense: 1, denseRepeat: true },
] as const;

describe.each(CASES)(
  'ONNX export parity ($arch, tiedHead $tiedHead, codeBuckets $codeBuckets, dense $dense, denseRepeat $denseRepeat)',
  (c) => {
    const { arch, tiedHead } = c;
    const codeBuckets = 'codeBuckets' in c ? c.codeBuckets : 0;
    const dense = 'dense' in c ? c.dense : 0;
    const denseRepeat = 'denseRepeat' in c ? c.denseRepeat : false;
    let dir: string;
    let tfModel: CodeTransformer;
    let onnx: OnnxModel;
    let tensorsBefore: number;

    beforeAll(async () => {
      await initTf();
      tensorsBefore = tf.memory().numTensors;
      dir = await mkdtemp(join(tmpdir(), `semid-onnx-parity-${arch}-`));
      const cfg = resolveModelConfig({
        arch,
        dModel: 16,
        layers: 2,
        heads: 2,
        ffn: 24,
        maxHistory: 4,
        dropout: 0,
        tiedHead,
        codeBuckets,
        dense,
        denseFusion: 0.7,
        denseRepeat,
      });
      tfModel = CodeTransformer.fromValues(cfg, levelSizes, randomValues(cfg, 11));
      await exportWeights({ config: cfg, levelSizes, values: tfModel.values() }, join(dir, 'onnx'));
      onnx = await OnnxModel.load(dir, { intraOpNumThreads: 1 });
    });
    afterAll(async () => {
      onnx?.dispose();
      tfModel?.dispose();
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      await rm(dir, { recursive: true, force: true });
    });

    it('agrees on logits within 1e-4 over several steps with beams, mixed history lengths', async () => {
      const rng = createRng(5);
      // lengths 0 (BOS only), 1, 3, 4 (= maxHistory) and 6 (cut to the last 4)
      const histories: Code[][] = [0, 1, 3, 4, 6].map((n) => Array.from({ length: n }, () => randomCode(rng)));
      const a: DecodingSession = await tfModel.begin(histories);
      const b: DecodingSession = await onnx.begin(histories);
      // step 0: one row per user; then 3 beams per user with random prefixes; then a mixed-length call
      const steps: BeamRow[][] = [histories.map((_, u) => ({ user: u, prefix: [] }))];
      for (let level = 1; level < levelSizes.length; level++) {
        const rows: BeamRow[] = [];
        for (let u = 0; u < histories.length; u++) {
          for (let beam = 0; beam < 3; beam++)
            rows.push({ user: u, prefix: layout.tokens(randomCode(rng)).slice(0, level) });
        }
        steps.push(rows);
      }
      steps.push([
        { user: 2, prefix: layout.tokens(randomCode(rng)).slice(0, 2) },
        { user: 0, prefix: [] },
        { user: 3, prefix: layout.tokens(randomCode(rng)).slice(0, 1) },
        { user: 4, prefix: layout.tokens(randomCode(rng)).slice(0, 1) },
        { user: 0, prefix: layout.tokens(randomCode(rng)).slice(0, 2) },
      ]);
      let spread = 0;
      for (const rows of steps) {
        const la = await a.next(rows);
        const lb = await b.next(rows);
        expect(maxDiff(la, lb)).toBeLessThan(TOL);
        for (const r of la) for (const v of r) spread = Math.max(spread, Math.abs(v));
      }
      // the comparison is meaningful: logits are far from zero
      expect(spread).toBeGreaterThan(1);
      a.dispose();
      b.dispose();
    });

    it.runIf(dense > 0)('agrees on the dense item scores within 1e-4, users with several codes each', async () => {
      const rng = createRng(13);
      const histories: Code[][] = [0, 2, 6].map((n) => Array.from({ length: n }, () => randomCode(rng)));
      const a = await tfModel.begin(histories);
      const b = await onnx.begin(histories);
      const users = [2, 0, 2, 1, 2, 0, 1, 2, 2];
      const codes = users.map(() => randomCode(rng));
      // history items: user 2's most recent, its oldest kept one (recency 3 = maxHistory - 1), one cut
      // off by maxHistory (no repeat bias), and user 1's older item
      const [h1, h2] = [histories[1] as Code[], histories[2] as Code[]];
      codes[6] = h1[0] as Code;
      codes[7] = h2[5] as Code;
      codes[8] = h2[2] as Code;
      codes[4] = h2[0] as Code;
      const sa = await a.itemScores!(users, codes);
      const sb = await b.itemScores!(users, codes);
      expect(sb.length).toBe(users.length);
      expect(maxDiff([sa], [sb])).toBeLessThan(TOL);
      expect(Math.max(...Array.from(sa, Math.abs))).toBeGreaterThan(0.01);
      a.dispose();
      b.dispose();
    });

    it('constrained beam search returns the same items and scores through either runtime', async () => {
      const rng = createRng(9);
      const entries: [string, Code][] = [];
      const seen = new Set<string>();
      while (entries.length < 30) {
        const c = randomCode(rng);
        if (seen.has(c.join(','))) continue;
        seen.add(c.join(','));
        entries.push([`item${entries.length}`, c]);
      }
      const trie = new CodeTrie(levelSizes, entries);
      const histories: Code[][] = [2, 4, 5].map((n) =>
        Array.from({ length: n }, () => (entries[rng.int(30)] as [string, Code])[1]),
      );
      const opts = { layout, trie, beamWidth: 8, topK: 5 };
      const sa = await tfModel.begin(histories);
      const sb = await onnx.begin(histories);
      const ra = await beamSearch(sa, histories.length, opts);
      const rb = await beamSearch(sb, histories.length, opts);
      sa.dispose();
      sb.dispose();
      expect(rb.map((u) => u.map((r) => r.item))).toEqual(ra.map((u) => u.map((r) => r.item)));
      ra.forEach((u, i) => {
        u.forEach((r, j) => {
          expect(Math.abs(r.score - (rb[i]?.[j]?.score as number))).toBeLessThan(TOL * levelSizes.length);
        });
      });
    });
  },
);

describe('exportOnnx from a saved model directory', () => {
  it('exports next to the weights, loads through the model dir, refuses a stale export, ensureOnnx renews it', async () => {
    await initTf();
    const before = tf.memory().numTensors;
    const dir = await mkdtemp(join(tmpdir(), 'semid-onnx-save-'));
    try {
      const cfg = resolveModelConfig({ dModel: 8, layers: 1, heads: 2, ffn: 8, maxHistory: 3, dropout: 0 });
      const m = CodeTransformer.fromValues(cfg, levelSizes, randomValues(cfg, 3));
      const modelDir = join(dir, 'model');
      await saveModel(modelDir, m);
      expect(await exportOnnx(modelDir)).toBe(join(modelDir, 'onnx'));
      const onnx = await OnnxModel.load(modelDir, { intraOpNumThreads: 1 });
      const h: Code[][] = [
        [
          [1, 2, 0],
          [3, 4, 2],
        ],
      ];
      const [a, b] = [await m.begin(h), await onnx.begin(h)];
      const rows: BeamRow[] = [{ user: 0, prefix: [layout.token(0, 2)] }];
      expect(maxDiff(await a.next(rows), await b.next(rows))).toBeLessThan(TOL);
      a.dispose();
      b.dispose();
      onnx.dispose();
      // a re-saved model (new createdAt) next to the old export
      const stale = join(dir, 'onnx-old');
      await exportOnnx(modelDir, stale);
      await new Promise((r) => setTimeout(r, 5));
      await saveModel(modelDir, m, {
        fill: async (tmp) => {
          const { cp } = await import('node:fs/promises');
          await cp(stale, join(tmp, 'onnx'), { recursive: true });
        },
      });
      await expect(OnnxModel.load(modelDir)).rejects.toMatchObject({ code: 'SEMID_ERR_ARTIFACT_VERSION' });
      // ensureOnnx replaces the stale export, then leaves a fresh one alone
      expect(await ensureOnnx(modelDir)).toBe(join(modelDir, 'onnx'));
      const first = await readFile(join(modelDir, 'onnx', 'manifest.json'), 'utf8');
      const reloaded = await OnnxModel.load(modelDir, { intraOpNumThreads: 1 });
      reloaded.dispose();
      await ensureOnnx(modelDir);
      expect(await readFile(join(modelDir, 'onnx', 'manifest.json'), 'utf8')).toBe(first);
      m.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
