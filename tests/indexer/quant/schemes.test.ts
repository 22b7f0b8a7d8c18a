import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { learnCollabEmbeddings, nearestNeighbours } from '../../../indexer/features/collab.js';
import { letter } from '../../../indexer/letter.js';
import { rqkmeans } from '../../../indexer/rqkmeans.js';
import { rqvae } from '../../../indexer/rqvae.js';
import type { IndexingScheme } from '../../../indexer/types.js';
import { loadSplit } from '../../../src/core/data/index.js';
import { createRng } from '../../../src/core/rng.js';
import { initTf, tf } from '../../../src/core/tf.js';
import type { Item } from '../../../src/core/types.js';

const split = await loadSplit('synthetic:items=150,users=200,seed=3');
const tiny = { levels: 2, size: 8, textDim: 16 };
const tinyVae = { ...tiny, hidden: '32', latentDim: 4, epochs: 4, batchSize: 32 };
const cases: [string, IndexingScheme<any>, Record<string, unknown>][] = [
  ['rqkmeans', rqkmeans, tiny],
  ['rqkmeans balanced', rqkmeans, { ...tiny, balanced: true, collisions: 'sinkhorn' }],
  ['rqvae', rqvae, tinyVae],
  ['letter', letter, { ...tinyVae, collabEpochs: 1, collabDim: 8 }],
];

describe.each(cases)('%s scheme', (_name, scheme, partial) => {
  it('builds a bijection, is seed-deterministic, frees its tensors, and re-encodes items after save/load', async () => {
    await initTf();
    const before = tf.memory().numTensors;
    const c = scheme.resolve(partial);
    const input = () => ({ items: split.items, trainSequences: split.trainSequences, rng: createRng(9) });
    const a = await scheme.fit(input(), c);
    expect(tf.memory().numTensors).toBe(before);
    expect(a.diagnostics.collisionsAfter).toBe(0);
    expect(a.table.size).toBe(split.items.length);
    expect(a.diagnostics.levels[0]!.size).toBe(8);
    expect(a.diagnostics.reconstructionError).toBeGreaterThanOrEqual(0);
    const b = await scheme.fit(input(), c);
    expect(b.table.toJSON()).toEqual(a.table.toJSON());
    const dir = await mkdtemp(join(tmpdir(), 'semid-quant-'));
    try {
      await a.saveState?.(dir);
      const enc = await scheme.loadEncoder!(dir, c);
      const some = split.items.slice(0, 20) as Item[];
      const codes = await enc.encode(some);
      // nearest-code encoding reproduces the learned prefix of every item that was not moved by balancing/collisions
      let same = 0;
      some.forEach((it, i) => {
        const full = a.table.encode(it.id)!;
        if (codes[i]!.join(',') === full.slice(0, 2).join(',')) same++;
        expect(codes[i]).toHaveLength(2);
      });
      expect(same).toBeGreaterThanOrEqual(c.balanced ? 1 : c.collisions === 'sinkhorn' ? 10 : 15);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('config validation', () => {
  it('reports every problem at once', () => {
    expect(() => rqvae.resolve({ epochs: 0, beta: -1 })).toThrow(/2 problems/);
    expect(() => rqvae.resolve({ hidden: '12,x' })).toThrow(/hidden must be/);
    expect(() => rqkmeans.resolve({ embeddings: 'vectors.npy' })).toThrow(/embeddingIds/);
  });
});

describe('collaborative embeddings', () => {
  it('items that follow each other in training sequences become neighbours', async () => {
    // 40 items in 4 groups of 10; every sequence walks inside one group
    const items: Item[] = Array.from({ length: 40 }, (_, i) => ({ id: `i${i}` }));
    const rng = createRng(1);
    const seqs: string[][] = [];
    for (let u = 0; u < 400; u++) {
      const g = u % 4;
      seqs.push(Array.from({ length: 8 }, () => `i${g * 10 + rng.int(10)}`));
    }
    await initTf();
    const before = tf.memory().numTensors;
    const emb = await learnCollabEmbeddings(
      seqs,
      items,
      { dim: 8, epochs: 6, batchSize: 128, learningRate: 0.02 },
      createRng(2),
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(emb.length).toBe(40 * 8);
    let inGroup = 0;
    for (let i = 0; i < 40; i++) {
      for (const j of nearestNeighbours(emb, 8, i, 5)) if (Math.floor(j / 10) === Math.floor(i / 10)) inGroup++;
    }
    expect(inGroup / (40 * 5)).toBeGreaterThan(0.8); // chance level is 9/39
    const again = await learnCollabEmbeddings(
      seqs,
      items,
      { dim: 8, epochs: 6, batchSize: 128, learningRate: 0.02 },
      createRng(2),
    );
    expect([...again]).toEqual([...emb]);
  });
});
