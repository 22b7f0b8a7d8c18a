/**
 * The server over a real tiny bundle whose model is the item-level architecture (with hashed code
 * embeddings and a dense item head with its repeat bias, whose scores both /v1/recommend and /v1/score
 * add), through its ONNX export and through TensorFlow.js: real items, exact scores, and the
 * same answer from both runtimes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTf } from '../../src/core/tf.js';
import { openTinyBundle, writeTinyBundle } from './real-bundle-helpers.js';

let dir: string;
let itemIds: string[];
let history: string[];

beforeAll(async () => {
  await initTf();
  dir = await mkdtemp(join(tmpdir(), 'semid-item-bundle-'));
  const split = await writeTinyBundle(dir, { arch: 'item', codeBuckets: 97, dense: 1, denseRepeat: true });
  itemIds = split.items.map((i) => i.id);
  history = (split.train[3]?.history ?? [itemIds[0] as string]).slice();
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function recommend(runtime: 'tfjs' | 'onnx') {
  const { app, close } = await openTinyBundle(dir, runtime);
  try {
    const rec = await app.inject({ method: 'POST', url: '/v1/recommend', payload: { history, k: 10, beamWidth: 20 } });
    expect(rec.statusCode).toBe(200);
    const items: { item: string; score: number }[] = rec.json().items;
    // the recommended items, then the history's own items (scored with the repeat bias)
    const candidates = [...items.map((x) => x.item), ...new Set(history)];
    const sc = await app.inject({ method: 'POST', url: '/v1/score', payload: { history, candidates } });
    expect(sc.statusCode).toBe(200);
    return { items, scores: sc.json().scores.map((s: { score: number }) => s.score) as number[] };
  } finally {
    await close();
  }
}

describe('a bundle with an item-level model', () => {
  it('recommends real items with exact scores, the same through onnxruntime and TensorFlow.js', async () => {
    const onnx = await recommend('onnx');
    const tfjs = await recommend('tfjs');
    expect(onnx.items).toHaveLength(10);
    for (const it of onnx.items) expect(itemIds).toContain(it.item);
    for (let i = 1; i < onnx.items.length; i++)
      expect(onnx.items[i - 1]?.score).toBeGreaterThanOrEqual(onnx.items[i]?.score as number);
    onnx.items.forEach((x, i) => {
      expect(onnx.scores[i]).toBeCloseTo(x.score, 4);
    });
    // the same items with the same scores (compared by item: near-ties may swap places across runtimes)
    const byItem = new Map(onnx.items.map((x) => [x.item, x.score]));
    expect(new Set(tfjs.items.map((x) => x.item))).toEqual(new Set(byItem.keys()));
    for (const x of tfjs.items) expect(x.score).toBeCloseTo(byItem.get(x.item) as number, 3);
    // the history items' scores (each with its recency's repeat bias) agree too
    expect(tfjs.scores.length).toBe(onnx.scores.length);
    const own = new Set(history).size;
    expect(own).toBeGreaterThan(0);
    for (let i = onnx.scores.length - own; i < onnx.scores.length; i++)
      expect(tfjs.scores[i]).toBeCloseTo(onnx.scores[i] as number, 3);
  });
});
