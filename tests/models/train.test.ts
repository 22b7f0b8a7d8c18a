import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decoderBatch } from '../../models/batch.js';
import { resolveModelConfig } from '../../models/config.js';
import { computeGrads } from '../../models/grad.js';
import { BUNDLED_INDEX, loadModel, readModelManifest } from '../../models/io.js';
import { DataParallel } from '../../models/parallel.js';
import { plannedEpochs, trainModel, userWindows } from '../../models/train.js';
import { CodeTransformer } from '../../models/transformer.js';
import { beamSearch } from '../../src/core/decoding.js';
import { initTf, tf } from '../../src/core/tf.js';
import { CodeTrie } from '../../src/core/trie.js';
import { codesOf, ruleSequences, tinyConfig, tinySplit, tinyTable } from './helpers.js';

const table = tinyTable();
let dir: string;

beforeAll(async () => {
  await initTf();
  dir = await mkdtemp(join(tmpdir(), 'semid-model-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Greedy decoding over the full vocabulary (no constraint): the item the model generates. */
async function greedy(model: CodeTransformer, history: string[]): Promise<string | undefined> {
  const session = await model.begin([codesOf(table, history)]);
  const prefix: number[] = [];
  for (let l = 0; l < model.layout.levels; l++) {
    const [row] = await session.next([{ user: 0, prefix }]);
    let best = 0;
    for (let v = 1; v < row!.length; v++) if (row![v]! > row![best]!) best = v;
    prefix.push(best);
  }
  session.dispose();
  const code = prefix.map((t) => model.layout.parse(t)?.[1] ?? -1);
  return table.decode(code);
}

describe('userWindows', () => {
  it('cuts windows of maxHistory+1 items ending at the sequence end, then every stride items', () => {
    const seq = [[0], [1], [2], [3], [4], [5], [6]];
    expect(userWindows(seq, 2, 2).map((w) => w.map((c) => c[0]))).toEqual([
      [4, 5, 6],
      [2, 3, 4],
      [0, 1, 2],
    ]);
    expect(userWindows(seq.slice(0, 2), 5, 3).map((w) => w.length)).toEqual([2]);
  });
});

describe('trainModel', () => {
  it.each([
    { arch: 'decoder', workers: 0 },
    { arch: 'item', workers: 1 },
  ] as const)(
    '$arch: learns a deterministic next-item rule well enough that greedy decoding finds it ($workers worker(s))',
    async ({ arch, workers }) => {
      const split = tinySplit(ruleSequences(24, 10, 1));
      const before = tf.memory().numTensors;
      const r = await trainModel({
        table,
        data: split,
        config: tinyConfig({ arch, epochs: 20, lr: 5e-3, windowStride: 1, dModel: 32, ffn: 64 }),
        workers,
      });
      expect(r.config.arch).toBe(arch);
      expect(r.epochs.at(-1)!.loss).toBeLessThan(r.epochs[0]!.loss * 0.6);
      let correct = 0;
      for (const start of [0, 3, 7]) {
        const hist = [0, 1, 2].map((j) => `i${(start + j) % 12}`);
        if ((await greedy(r.model, hist)) === `i${(start + 3) % 12}`) correct++;
      }
      expect(correct).toBe(3);
      r.model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it("item with a dense head: its item scores alone rank the rule's next item first, and beam search adds them", async () => {
    const split = tinySplit(ruleSequences(24, 10, 1));
    const r = await trainModel({
      table,
      data: split,
      config: tinyConfig({
        arch: 'item',
        epochs: 20,
        lr: 5e-3,
        windowStride: 1,
        dModel: 32,
        ffn: 64,
        codeBuckets: 31,
        dense: 1,
        denseFusion: 0.5,
      }),
      workers: 1,
    });
    const all = [...table.entries()];
    const starts = [0, 3, 7];
    const session = await r.model.begin(
      starts.map((st) =>
        codesOf(
          table,
          [0, 1, 2].map((j) => `i${(st + j) % 12}`),
        ),
      ),
    );
    expect(typeof session.itemScores).toBe('function');
    for (const [u, st] of starts.entries()) {
      const scores = await session.itemScores!(
        all.map(() => u),
        all.map(([, c]) => c),
      );
      let best = 0;
      for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[best]!) best = i;
      expect(all[best]![0]).toBe(`i${(st + 3) % 12}`);
    }
    // the beam's score of an item is its code's log-probability plus its item score
    const trie = CodeTrie.fromTable(table);
    const [recs] = await beamSearch(session, 1, { layout: r.model.layout, trie, beamWidth: 12, topK: 12 });
    const plain = await beamSearch({ next: (rows) => session.next(rows), dispose: () => {} }, 1, {
      layout: r.model.layout,
      trie,
      beamWidth: 12,
      topK: 12,
    });
    const logp = new Map(plain[0]!.map((x) => [x.item, x.score]));
    for (const rec of recs!) {
      const [extra] = await session.itemScores!([0], [rec.code]);
      expect(rec.score).toBeCloseTo(logp.get(rec.item)! + extra!, 4);
    }
    session.dispose();
    r.model.dispose();
  });

  it('item with a dense repeat bias: learns that the next item is the one before last, where users alternate', async () => {
    // each user alternates between two items: the next item is always the history item at recency 1
    const seqs = Array.from({ length: 24 }, (_, u) =>
      Array.from({ length: 10 }, (_, j) => `i${j % 2 === 0 ? u % 12 : (u + 5) % 12}`),
    );
    const r = await trainModel({
      table,
      data: tinySplit(seqs),
      config: tinyConfig({ arch: 'item', epochs: 20, lr: 5e-3, windowStride: 1, dense: 1, denseRepeat: true }),
      workers: 1,
    });
    const repeat = r.model.values().get('dense.repeat')!;
    expect(repeat.length).toBe(5); // maxHistory
    expect(repeat[1]!).toBeGreaterThan(0.2);
    expect(repeat[0]!).toBeLessThan(-0.2);
    r.model.dispose();
  });

  it('trains the encoder-decoder (TIGER) architecture on the training examples', async () => {
    const split = tinySplit(ruleSequences(12, 8, 1));
    const r = await trainModel({
      table,
      data: split,
      config: tinyConfig({ arch: 'encdec', epochs: 4, lr: 5e-3 }),
      workers: 0,
    });
    expect(r.config.arch).toBe('encdec');
    expect(r.steps).toBe(4 * Math.ceil(split.train.length / 8));
    expect(r.epochs.at(-1)!.loss).toBeLessThan(r.epochs[0]!.loss);
    expect(await greedy(r.model, ['i1', 'i2'])).toMatch(/^i\d+$/);
    r.model.dispose();
  });

  it('saves an artifact whose loaded model gives exactly the same logits, with its index copied inside', async () => {
    const out = join(dir, 'm1');
    const idx = join(dir, 'idx');
    await mkdir(idx, { recursive: true });
    await writeFile(join(idx, 'codes.json'), '{"marker":true}\n');
    const split = tinySplit(ruleSequences(8, 8));
    const r = await trainModel({
      table,
      data: split,
      config: tinyConfig({ epochs: 1 }),
      workers: 0,
      out,
      indexDir: idx,
    });
    const m = await readModelManifest(out);
    expect(m.kind).toBe('model');
    expect(m.index).toBe(BUNDLED_INDEX);
    expect(await readFile(join(out, BUNDLED_INDEX, 'codes.json'), 'utf8')).toBe('{"marker":true}\n');
    expect(m.levelSizes).toEqual([3, 4]);
    const loaded = await loadModel(out);
    const batch = decoderBatch(r.model.layout, [codesOf(table, ['i1', 'i2', 'i3'])]);
    const a = r.model.logits(batch);
    const b = loaded.logits(batch);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    for (const t of [a, b]) t.dispose();
    loaded.dispose();
    r.model.dispose();
  });

  it('resume continues from the checkpoint: 1 epoch + resumed 2nd epoch equals 2 epochs in one go', async () => {
    const split = tinySplit(ruleSequences(8, 8));
    const cfg = tinyConfig({ dropout: 0.1, epochs: 2, decay: 'none', warmup: 3 }); // the cosine span depends on epochs
    const whole = await trainModel({ table, data: split, config: cfg, workers: 0 });
    const out = join(dir, 'm2');
    const first = await trainModel({ table, data: split, config: { ...cfg, epochs: 1 }, workers: 0, out });
    first.model.dispose();
    const logs: string[] = [];
    const second = await trainModel({
      table,
      data: split,
      config: cfg,
      workers: 0,
      out,
      resume: true,
      log: (l) => logs.push(l),
    });
    expect(logs.some((l) => l.startsWith('resuming'))).toBe(true);
    expect(second.epochs).toHaveLength(2);
    expect(second.steps).toBe(whole.steps);
    for (const s of whole.model.specs) {
      expect(Array.from(second.model.w(s.name).dataSync())).toEqual(Array.from(whole.model.w(s.name).dataSync()));
    }
    whole.model.dispose();
    second.model.dispose();
  });

  it('rejects resuming with a different config', async () => {
    const split = tinySplit(ruleSequences(4, 6));
    await expect(
      trainModel({
        table,
        data: split,
        config: tinyConfig({ epochs: 1, dModel: 8 }),
        workers: 0,
        out: join(dir, 'm2'),
        resume: true,
      }),
    ).rejects.toMatchObject({ code: 'SEMID_ERR_BAD_CONFIG' });
  });

  it('data-parallel gradients (1 worker thread) equal single-thread gradients on the same batch', async () => {
    const model = CodeTransformer.create(resolveModelConfig(tinyConfig()), table.levelSizes);
    const batch = decoderBatch(
      model.layout,
      ruleSequences(6, 5).map((s) => codesOf(table, s)),
    );
    const denom = 6 * 10;
    const single = computeGrads(model, batch, denom, undefined);
    const dp = await DataParallel.create(model, 1);
    const par = await dp.grads(batch, undefined);
    await dp.close();
    expect(Math.abs(par.loss - single.loss)).toBeLessThan(1e-5);
    for (const [name, g] of single.grads) {
      const a = g.dataSync();
      const b = par.grads.get(name)!.dataSync();
      let d = 0;
      for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
      expect(d, name).toBeLessThan(1e-5);
    }
    for (const g of [...single.grads.values(), ...par.grads.values()]) g.dispose();
    model.dispose();
  }, 30_000);
});

describe('plannedEpochs (time-budgeted lr schedule)', () => {
  it('plans the epochs that fit in what is left of the budget, within [done, maxEpochs]', async () => {
    // 300 s budget, 70 s used by a first epoch of 60 s: 230 s left -> 3 more epochs -> 4
    expect(plannedEpochs(300, 70, 60, 1, 20)).toBe(4);
    expect(plannedEpochs(300, 310, 60, 1, 20)).toBe(1);
    expect(plannedEpochs(10_000, 10, 10, 1, 20)).toBe(20);
  });
});
