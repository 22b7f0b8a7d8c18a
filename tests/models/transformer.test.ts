import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decoderBatch, encDecBatch, itemBatch, itemCatalogue } from '../../models/batch.js';
import { resolveModelConfig } from '../../models/config.js';
import { computeGrads } from '../../models/grad.js';
import { addAtCells } from '../../models/ops.js';
import { AdamW } from '../../models/optim.js';
import { CodeTransformer } from '../../models/transformer.js';
import { initTf, tf } from '../../src/core/tf.js';
import { codesOf, ruleSequences, tinyConfig, tinyTable } from './helpers.js';

const table = tinyTable();

beforeAll(async () => {
  await initTf();
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe('CodeTransformer', () => {
  const arches = ['decoder', 'encdec', 'item'] as const;
  const models: CodeTransformer[] = [];
  afterAll(() => {
    for (const m of models) m.dispose();
  });

  it('gives logits of the documented shapes for every architecture', () => {
    const seqs = codesOf(table, ['i1', 'i2', 'i3', 'i4']);
    for (const arch of arches) {
      const m = CodeTransformer.create(resolveModelConfig(tinyConfig({ arch })), table.levelSizes);
      models.push(m);
      expect(m.vocabSize).toBe(3 + 3 + 4);
      const batch =
        arch === 'decoder'
          ? decoderBatch(m.layout, [seqs, seqs.slice(0, 2)])
          : arch === 'item'
            ? itemBatch(m.layout, [seqs, seqs.slice(0, 2)])
            : encDecBatch(m.layout, [
                { history: seqs.slice(0, 3), target: seqs[3]! },
                { history: seqs.slice(0, 1), target: seqs[1]! },
              ]);
      const logits = m.logits(batch);
      // decoder: 2 rows of 8 tokens; encdec: 2 examples of 2 levels; item: 2 rows of 4 slots, 2 levels each
      const rows = { decoder: 2 * 8, encdec: 2 * 2, item: 2 * 4 * 2 }[arch];
      expect(logits.shape).toEqual([rows, m.vocabSize]);
      logits.dispose();
    }
  });

  it('is seeded: the same seed gives the same weights, another seed different ones', () => {
    const a = CodeTransformer.create(resolveModelConfig(tinyConfig({ seed: 3 })), table.levelSizes);
    const b = CodeTransformer.create(resolveModelConfig(tinyConfig({ seed: 3 })), table.levelSizes);
    const c = CodeTransformer.create(resolveModelConfig(tinyConfig({ seed: 4 })), table.levelSizes);
    const wa = a.w('tok_emb').dataSync();
    expect(Array.from(b.w('tok_emb').dataSync())).toEqual(Array.from(wa));
    expect(maxAbsDiff(c.w('tok_emb').dataSync(), wa)).toBeGreaterThan(0);
    for (const m of [a, b, c]) m.dispose();
  });

  for (const arch of arches) {
    it(`${arch}: the decoding session's logits equal the teacher-forced logits (cache is exact)`, async () => {
      const m = CodeTransformer.create(resolveModelConfig(tinyConfig({ arch, seed: 9 })), table.levelSizes);
      const before = tf.memory().numTensors;
      const hist = [codesOf(table, ['i1', 'i5', 'i9']), codesOf(table, ['i7'])];
      const target = codesOf(table, ['i10'])[0]!;
      const tgtTokens = m.layout.tokens(target);
      const session = await m.begin(hist);
      for (let user = 0; user < 2; user++) {
        const rows = [0, 1].map((p) => ({ user, prefix: tgtTokens.slice(0, p) }));
        const got = await session.next(rows);
        // teacher forcing over the same history followed by the target
        let ref: Float32Array;
        let V = m.vocabSize;
        if (arch === 'decoder') {
          const b = decoderBatch(m.layout, [[...hist[user]!, target]]);
          const lg = m.logits(b);
          V = lg.shape[1] as number;
          ref = lg.dataSync() as Float32Array;
          lg.dispose();
          const n = hist[user]!.length * 2; // position of the last history token (BOS at 0)
          for (let p = 0; p < 2; p++)
            expect(maxAbsDiff(got[p]!, ref.subarray((n + p) * V, (n + p + 1) * V))).toBeLessThan(1e-4);
        } else if (arch === 'item') {
          const b = itemBatch(m.layout, [[...hist[user]!, target]]);
          const lg = m.logits(b);
          ref = lg.dataSync() as Float32Array;
          lg.dispose();
          const slot = hist[user]!.length; // the last history item's slot (the start is slot 0)
          for (let p = 0; p < 2; p++) {
            const want = ref.subarray((slot * 2 + p) * V, (slot * 2 + p + 1) * V);
            expect(maxAbsDiff(got[p]!, want)).toBeLessThan(1e-4);
            // only level p's tokens are live: the others are masked as decoding masks them
            const live = got[p]!.filter((v) => v > -1e8).length;
            expect(live).toBe(m.layout.levelSizes[p]);
          }
        } else {
          const b = encDecBatch(m.layout, [{ history: hist[user]!, target }]);
          const lg = m.logits(b);
          ref = lg.dataSync() as Float32Array;
          lg.dispose();
          for (let p = 0; p < 2; p++) expect(maxAbsDiff(got[p]!, ref.subarray(p * V, (p + 1) * V))).toBeLessThan(1e-4);
        }
      }
      session.dispose();
      expect(tf.memory().numTensors).toBe(before);
      m.dispose();
    });
  }

  it('loss goes down within a few steps, without leaking tensors', () => {
    const m = CodeTransformer.create(resolveModelConfig(tinyConfig()), table.levelSizes);
    const windows = ruleSequences(8, 6).map((s) => codesOf(table, s));
    const batch = decoderBatch(m.layout, windows);
    const opt = new AdamW(m.weights, new Set(), {
      lr: 1e-2,
      warmup: 0,
      totalSteps: 100,
      decay: 'none',
      weightDecay: 0,
      clipNorm: 1,
    });
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    for (let s = 0; s < 15; s++) {
      const { loss, grads } = computeGrads(m, batch, 8 * 11, undefined);
      opt.apply(grads);
      for (const g of grads.values()) g.dispose();
      losses.push(loss);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(losses[0]).toBeGreaterThan(Math.log(m.vocabSize) - 0.5);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.6);
    opt.dispose();
    m.dispose();
  });

  it('label smoothing: the loss at uniform logits is log V, and its gradient matches finite differences', () => {
    const m = CodeTransformer.create(resolveModelConfig(tinyConfig({ labelSmoothing: 0.2 })), table.levelSizes);
    const batch = decoderBatch(m.layout, [codesOf(table, ['i0', 'i1', 'i2'])]);
    const denom = 6;
    const w = m.w('head.b');
    const { grads } = computeGrads(m, batch, denom, undefined);
    const g = grads.get('head.b')!.dataSync();
    const base = w.dataSync().slice();
    const h = 1e-2;
    for (const j of [0, 4, 7]) {
      const lossAt = (delta: number) => {
        const v = base.slice();
        v[j]! += delta;
        const t = tf.tensor1d(v);
        w.assign(t);
        t.dispose();
        return tf.tidy(() => m.loss(batch, denom).dataSync()[0]!);
      };
      const fd = (lossAt(h) - lossAt(-h)) / (2 * h);
      expect(Math.abs(fd - g[j]!)).toBeLessThan(2e-3);
    }
    for (const t of grads.values()) t.dispose();
    m.dispose();
  });
});

describe('item-level unlikelihood term', () => {
  it('adds weight * mean over target slots of -log(1 - p(recent item)), p read from a decoding session', async () => {
    const cfg = resolveModelConfig(tinyConfig({ arch: 'item', seed: 4 }));
    const plain = CodeTransformer.create(cfg, table.levelSizes);
    const weight = 0.7;
    const withUl = CodeTransformer.fromValues(
      resolveModelConfig({ ...cfg, unlikelihood: weight, unlikelihoodItems: 2 }),
      table.levelSizes,
      plain.values(),
    );
    const [a, b, c] = codesOf(table, ['i1', 'i6', 'i8']) as [number[], number[], number[]];
    const batch = itemBatch(plain.layout, [[a, b, c]]);
    const denom = 3 * 2; // 3 target slots of 2 levels
    const base = tf.tidy(() => plain.loss(batch, denom).dataSync()[0]!);
    const total = tf.tidy(() => withUl.loss(batch, denom).dataSync()[0]!);
    // p(code | history) through the decoding session: the product of the two levels' softmaxes
    const prob = async (history: number[][], code: number[]) => {
      const s = await plain.begin([history]);
      const tokens = plain.layout.tokens(code);
      let p = 1;
      for (let l = 0; l < 2; l++) {
        const [row] = await s.next([{ user: 0, prefix: tokens.slice(0, l) }]);
        const max = Math.max(...row!);
        let z = 0;
        for (const v of row!) z += Math.exp(v - max);
        p *= Math.exp(row![tokens[l]!]! - max) / z;
      }
      s.dispose();
      return p;
    };
    // slot of a (target b): its own item a; slot of b (target c): b and a; the start slot has none
    const u = (p: number) => -Math.log(1 - p);
    const want = (weight * (u(await prob([a], a)) + u(await prob([a, b], b)) + u(await prob([a, b], a)))) / 3;
    expect(Math.abs(total - base - want)).toBeLessThan(1e-5);
    expect(want).toBeGreaterThan(0);
    plain.dispose();
    withUl.dispose();
  });
});

describe('dense head repeat bias', () => {
  it('is a boolean of the dense head: any other value, or no dense head, is a clear config error', () => {
    expect(() => resolveModelConfig({ arch: 'item', denseRepeat: true })).toThrow(
      /denseRepeat belongs to the dense item head: set dense > 0/,
    );
    expect(() => resolveModelConfig({ arch: 'item', dense: 1, denseRepeat: 'yes' } as never)).toThrow(
      /denseRepeat must be a boolean, got "yes"/,
    );
    expect(resolveModelConfig({ arch: 'item', dense: 1, denseRepeat: true }).denseRepeat).toBe(true);
  });

  it('addAtCells adds table[which] at each cell; the table gradient sums dy over its cells (hand-computed)', () => {
    const before = tf.memory().numTensors;
    const base = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const table = tf.tensor1d([10, 20]);
    const cells = Int32Array.from([0, 2, 1, 0, 1, 2]); // (0,2) (1,0) (1,2)
    const which = Int32Array.from([1, 0, 1]);
    const out = tf.tidy(() => Array.from(addAtCells(base, table, cells, which).dataSync()));
    expect(out).toEqual([1, 2, 23, 14, 5, 26]);
    // loss = sum(out * coef): d/dbase = coef, d/dtable[0] = coef(1,0), d/dtable[1] = coef(0,2) + coef(1,2)
    const coef = tf.tensor2d([1, -2, 3, 0.5, 7, -1], [2, 3]);
    const [gBase, gTable] = tf.tidy(() =>
      tf
        .grads((b: tf.Tensor, t: tf.Tensor) => tf.sum(tf.mul(addAtCells(b, t, cells, which), coef)))([base, table])
        .map((g) => Array.from(g.dataSync())),
    );
    expect(gBase).toEqual([1, -2, 3, 0.5, 7, -1]);
    expect(gTable).toEqual([0.5, 2]);
    // no cells: the output is the base, the table gets a zero gradient
    const [g0] = tf.tidy(() =>
      tf
        .grads((t: tf.Tensor) => tf.sum(addAtCells(base, t, new Int32Array(0), new Int32Array(0))))([table])
        .map((g) => Array.from(g.dataSync())),
    );
    expect(g0).toEqual([0, 0]);
    for (const t of [base, table, coef]) t.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("adds repeat[recency] to each history item's dense logit in the loss and to its item score in decoding", async () => {
    const cfg = resolveModelConfig(tinyConfig({ arch: 'item', seed: 6, dense: 1, denseFusion: 0.5 }));
    const plain = CodeTransformer.create(cfg, table.levelSizes);
    const bias = Float32Array.from({ length: cfg.maxHistory }, (_, r) => (r === 0 ? -1.5 : r === 1 ? 0.8 : 0.1 * r));
    const values = plain.values();
    values.set('dense.repeat', bias);
    const rep = CodeTransformer.fromValues({ ...cfg, denseRepeat: true }, table.levelSizes, values);
    const all = [...table.entries()];
    const codes = all.map(([, c]) => c);
    const [a, b, c] = codesOf(table, ['i1', 'i6', 'i8']) as [number[], number[], number[]];
    const idx = (x: number[]) => codes.findIndex((y) => y.join() === x.join());

    // decoding: the item score of a history item at recency r grows by denseFusion * repeat[r]
    const sp = await plain.begin([[a, b]]);
    const sr = await rep.begin([[a, b]]);
    const s0 = await sp.itemScores!([0, 0, 0], [a, b, c]);
    const s1 = await sr.itemScores!([0, 0, 0], [a, b, c]);
    expect(s1[0]! - s0[0]!).toBeCloseTo(0.5 * bias[1]!, 5); // a: one item back
    expect(s1[1]! - s0[1]!).toBeCloseTo(0.5 * bias[0]!, 5); // b: the most recent
    expect(s1[2]! - s0[2]!).toBeCloseTo(0, 6); // c: not in the history

    // loss: the dense cross-entropy of each target slot over the catalogue, logits + repeat[recency]
    const batch = itemBatch(plain.layout, [[a, b, c]], 0, itemCatalogue(plain.layout, codes));
    const denom = 3 * 2;
    const base = tf.tidy(() => plain.loss(batch, denom).dataSync()[0]!);
    const total = tf.tidy(() => rep.loss(batch, denom).dataSync()[0]!);
    const ce = async (history: number[][], target: number[], withBias: boolean) => {
      const s = await plain.begin([history]);
      const z = Array.from(
        await s.itemScores!(
          codes.map(() => 0),
          codes,
        ),
        (v) => v / 0.5,
      ); // raw dot products
      s.dispose();
      if (withBias) for (const [k, h] of history.entries()) z[idx(h)]! += bias[history.length - 1 - k]!;
      const max = Math.max(...z);
      const lse = max + Math.log(z.reduce((acc, v) => acc + Math.exp(v - max), 0));
      return lse - z[idx(target)]!;
    };
    // slots: start (target a, no history), a (target b), b (target c)
    let diff = 0;
    for (const [h, t] of [
      [[a], b],
      [[a, b], c],
    ] as [number[][], number[]][])
      diff += (await ce(h, t, true)) - (await ce(h, t, false));
    expect(Math.abs(diff)).toBeGreaterThan(0.01);
    expect(Math.abs(total - base - diff / denom)).toBeLessThan(1e-5);
    for (const s of [sp, sr]) s.dispose();
    plain.dispose();
    rep.dispose();
  });
});
