/**
 * The server over a REAL tiny bundle: a category index (with its cold-start encoder) built on a tiny
 * synthetic dataset and a small untrained code transformer, loaded through `semid serve`'s loader with
 * the TensorFlow.js runtime and with its ONNX export.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTf, tf } from '../../src/core/tf.js';
import { KEY } from './helpers.js';
import { openTinyBundle, writeTinyBundle } from './real-bundle-helpers.js';

let dir: string;
let itemIds: string[];
let firstHistory: string[];

beforeAll(async () => {
  await initTf();
  dir = await mkdtemp(join(tmpdir(), 'semid-real-bundle-'));
  const split = await writeTinyBundle(dir);
  itemIds = split.items.map((i) => i.id);
  firstHistory = (split.train[0]?.history ?? []).slice();
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const open = (runtime: 'tfjs' | 'onnx') => openTinyBundle(dir, runtime);

describe('a real tiny bundle', () => {
  it('recommends real items with exact scores (TF.js), frees its tensors, and takes new items', async () => {
    const before = tf.memory().numTensors;
    const { app, close } = await open('tfjs');
    try {
      const health = (await app.inject({ url: '/health' })).json();
      expect(health.bundles[0]).toMatchObject({ name: 'tiny', items: 60, maxHistory: 4 });
      expect(health.bundles[0].info).toMatchObject({ scheme: 'category', runtime: 'tfjs' });

      const history = firstHistory.length > 0 ? firstHistory : [itemIds[0] as string];
      const rec = await app.inject({
        method: 'POST',
        url: '/v1/recommend',
        payload: { history, k: 10, beamWidth: 20 },
      });
      expect(rec.statusCode).toBe(200);
      const items: { item: string; score: number }[] = rec.json().items;
      expect(items).toHaveLength(10);
      for (const it of items) expect(itemIds).toContain(it.item);
      for (let i = 1; i < items.length; i++)
        expect(items[i - 1]?.score).toBeGreaterThanOrEqual(items[i]?.score as number);

      // /v1/score gives the same exact log-likelihoods the beam search reported.
      const sc = await app.inject({
        method: 'POST',
        url: '/v1/score',
        payload: { history, candidates: items.map((x) => x.item) },
      });
      sc.json().scores.forEach((s: { score: number }, i: number) => {
        expect(s.score).toBeCloseTo(items[i]?.score as number, 4);
      });

      // The index encoder places a new item from its text; it can be recommended at once.
      const add = await app.inject({
        method: 'POST',
        url: '/v1/items',
        headers: { 'x-api-key': KEY },
        payload: { id: 'brand-new', title: 'Kitchen knife steel', categories: ['Kitchen'] },
      });
      expect(add.statusCode).toBe(201);
      expect(add.json().assignedBy).toBe('encoder');
      const all = await app.inject({
        method: 'POST',
        url: '/v1/recommend',
        payload: { history, k: 61, beamWidth: 61 },
      });
      expect(all.json().items.map((x: { item: string }) => x.item)).toContain('brand-new');

      const grounded = await app.inject({
        method: 'POST',
        url: '/v1/recommend',
        payload: { history, k: 5, beamWidth: 10, mode: 'grounded' },
      });
      expect(grounded.statusCode).toBe(200);
      expect(grounded.json().generated).toBe(10);
      expect(grounded.json().items).toHaveLength(5);
    } finally {
      await close();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('serves the ONNX export with the same scores as TF.js', async () => {
    const history = firstHistory.length > 0 ? firstHistory : [itemIds[0] as string];
    const payload = { history, candidates: itemIds.slice(0, 12) };
    const a = await open('tfjs');
    const b = await open('onnx');
    try {
      expect((await b.app.inject({ url: '/health' })).json().bundles[0].info.runtime).toBe('onnx');
      const sa = (await a.app.inject({ method: 'POST', url: '/v1/score', payload })).json().scores;
      const sb = (await b.app.inject({ method: 'POST', url: '/v1/score', payload })).json().scores;
      sa.forEach((s: { score: number }, i: number) => {
        expect(sb[i].score).toBeCloseTo(s.score, 3);
      });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('answers concurrent ONNX requests (micro-batched, histories padded) as it answers them one at a time', async () => {
    const b = await open('onnx');
    try {
      // histories of different lengths, so a batch pads the shorter ones
      const payloads = Array.from({ length: 12 }, (_, i) => ({
        history: itemIds.slice(i, i + 1 + (i % 5)),
        k: 5,
        beamWidth: 8,
        ...(i % 3 === 0 ? { excludeHistory: true } : {}),
      }));
      const one: { item: string; score: number }[][] = [];
      for (const payload of payloads)
        one.push((await b.app.inject({ method: 'POST', url: '/v1/recommend', payload })).json().items);
      const together = await Promise.all(
        payloads.map((payload) => b.app.inject({ method: 'POST', url: '/v1/recommend', payload })),
      );
      together.forEach((r, i) => {
        expect(r.statusCode).toBe(200);
        const items: { item: string; score: number }[] = r.json().items;
        expect(items.map((x) => x.item)).toEqual(one[i]?.map((x) => x.item));
        items.forEach((x, j) => {
          expect(x.score).toBeCloseTo(one[i]?.[j]?.score as number, 5);
        });
      });
      const metrics = (await b.app.inject({ url: '/metrics' })).body;
      expect(Number(metrics.match(/^semid_decode_batch_largest\{bundle="tiny"\} (\d+)$/m)?.[1])).toBeGreaterThan(1);
    } finally {
      await b.close();
    }
  });
});
