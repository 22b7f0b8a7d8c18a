import { beforeAll, describe, expect, it } from 'vitest';
import { resolveSasrecConfig, Sasrec, trainSasrec } from '../../models/sasrec.js';
import { initTf, tf } from '../../src/core/tf.js';
import { ruleSequences } from './helpers.js';

beforeAll(async () => {
  await initTf();
});

const items = Array.from({ length: 12 }, (_, k) => `i${k}`);
const tiny = { hidden: 16, blocks: 1, heads: 1, dropout: 0, maxLen: 5, batch: 8, lr: 1e-2, evalEvery: 1 };

describe('SASRec', () => {
  it('reports every bad config field at once', () => {
    expect(() => resolveSasrecConfig({ hidden: 0, dropout: 1.5, heads: 3 })).toThrow(/hidden.*dropout/);
  });

  it('loss goes down and it learns the next-item rule; scores cover the whole catalogue; no leaks', async () => {
    const before = tf.memory().numTensors;
    const seqs = ruleSequences(24, 10).map((s) => s.slice(0, -2));
    const r = await trainSasrec({ items, trainSequences: seqs, config: { ...tiny, epochs: 30 } });
    expect(r.epochs.at(-1)!.loss).toBeLessThan(r.epochs[0]!.loss * 0.5);
    const [scores] = await r.model.score([['i3', 'i4', 'i5'], ['unknown-item']]);
    expect(scores!.length).toBe(12);
    let best = 0;
    for (let i = 1; i < 12; i++) if (scores![i]! > scores![best]!) best = i;
    expect(items[best]).toBe('i6');
    r.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('repeat bias: learns that users alternate between two items, and adds repeat[recency] to history items', async () => {
    const before = tf.memory().numTensors;
    // each user alternates between two items: the next item is always the history item one back
    const seqs = Array.from({ length: 24 }, (_, u) =>
      Array.from({ length: 8 }, (_, j) => `i${j % 2 === 0 ? u % 12 : (u + 5) % 12}`),
    );
    const r = await trainSasrec({ items, trainSequences: seqs, config: { ...tiny, epochs: 15, repeatBias: true } });
    const repeat = r.model.values().get('repeat')!;
    expect(repeat.length).toBe(5);
    expect(repeat[1]!).toBeGreaterThan(0.2);
    expect(repeat[0]!).toBeLessThan(-0.2);
    // scores: a history item's score is the plain score plus repeat[its recency]
    const history = ['i2', 'i9', 'i4'];
    const [withBias] = await r.model.score([history]);
    const values = r.model.values();
    values.set('repeat', new Float32Array(5));
    r.model.assign(values);
    const [plain] = await r.model.score([history]);
    for (const [k, item] of history.entries()) {
      const i = items.indexOf(item);
      expect(withBias![i]! - plain![i]!).toBeCloseTo(repeat[history.length - 1 - k]!, 5);
    }
    expect(withBias![0]! - plain![0]!).toBeCloseTo(0, 6); // i0: not in the history
    r.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => resolveSasrecConfig({ repeatBias: 1 } as never)).toThrow(/repeatBias must be a boolean, got 1/);
  });

  it('keeps the weights of the best validation epoch and stops early', async () => {
    let calls = 0;
    const seqs = ruleSequences(8, 8);
    const r = await trainSasrec({
      items,
      trainSequences: seqs,
      config: { ...tiny, epochs: 20, patience: 1 },
      // a validation score that peaks at the 2nd epoch
      validate: async () => [0.1, 0.5, 0.2, 0.3, 0.1][calls++] ?? 0,
    });
    expect(r.bestEpoch).toBe(1);
    expect(r.bestValid).toBe(0.5);
    expect(r.epochs.length).toBe(4);
    r.model.dispose();
    const m = new Sasrec(items, resolveSasrecConfig(tiny));
    expect(m.items).toEqual(items);
    m.dispose();
  });
});
