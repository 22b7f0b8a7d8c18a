import { describe, expect, it } from 'vitest';
import { fitResidualKmeans, ResidualQuantizer } from '../../../indexer/quant/residual.js';
import { balancedKmeans, kmeans, nearest, sqDistances } from '../../../indexer/shared/kmeans.js';
import { roundPlan, sinkhornAssign, sinkhornPlan } from '../../../indexer/shared/sinkhorn.js';
import { createRng } from '../../../src/core/rng.js';

/** n points around `centers` (each [d]) with uniform noise of half-width `spread`. */
function blobs(centers: number[][], perCluster: number, spread: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const d = centers[0]!.length;
  const out = new Float32Array(centers.length * perCluster * d);
  let o = 0;
  for (const c of centers) {
    for (let p = 0; p < perCluster; p++) for (let j = 0; j < d; j++) out[o++] = c[j]! + (rng.next() * 2 - 1) * spread;
  }
  return out;
}

describe('kmeans', () => {
  it('finds the hand-computed 1-D solution', () => {
    const data = new Float32Array([0, 1, 10, 11]);
    const r = kmeans(data, 4, 1, 2, createRng(1));
    const cents = [...r.centroids].sort((a, b) => a - b);
    expect(cents).toEqual([0.5, 10.5]);
    expect(r.inertia).toBeCloseTo(1, 10); // 4 x 0.5^2
    expect(r.assign[0]).toBe(r.assign[1]);
    expect(r.assign[2]).toBe(r.assign[3]);
    expect(r.assign[0]).not.toBe(r.assign[2]);
  });

  it('finds the hand-computed 2-D centroids of three square clusters', () => {
    // each cluster: the 4 corners of a unit square, centroid at its middle
    const sq = (x: number, y: number) => [x, y, x + 1, y, x, y + 1, x + 1, y + 1];
    const data = new Float32Array([...sq(0, 0), ...sq(20, 0), ...sq(0, 20)]);
    const r = kmeans(data, 12, 2, 3, createRng(3));
    const cents = [];
    for (let c = 0; c < 3; c++) cents.push([r.centroids[2 * c]!, r.centroids[2 * c + 1]!]);
    cents.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
    expect(cents).toEqual([
      [0.5, 0.5],
      [0.5, 20.5],
      [20.5, 0.5],
    ]);
    expect(r.inertia).toBeCloseTo(12 * 0.5, 6); // each corner is 0.5 from its centre (squared)
  });

  it('distances match the definition and nearest agrees with them', () => {
    const data = new Float32Array([1, 2, 3, -1, 0, 4, 2, 2, 2, 5, 5, 5, 0, 0, 1]);
    const cents = new Float32Array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 4, 5, -1, 0, 2]);
    const dm = sqDistances(data, 5, 3, cents, 5);
    for (let i = 0; i < 5; i++) {
      for (let c = 0; c < 5; c++) {
        let s = 0;
        for (let j = 0; j < 3; j++) s += (data[i * 3 + j]! - cents[c * 3 + j]!) ** 2;
        expect(dm[i * 5 + c]).toBeCloseTo(s, 4);
      }
    }
    const { assign } = nearest(data, 5, 3, cents, 5);
    expect([...assign]).toEqual([2, 4, 2, 3, 0]);
  });

  it('is deterministic for a seed', () => {
    const data = blobs(
      [
        [0, 0, 0],
        [5, 5, 0],
        [0, 5, 5],
        [5, 0, 5],
      ],
      30,
      2,
      9,
    );
    const a = kmeans(data, 120, 3, 6, createRng(42));
    const b = kmeans(data, 120, 3, 6, createRng(42));
    expect([...a.assign]).toEqual([...b.assign]);
    expect([...a.centroids]).toEqual([...b.centroids]);
  });

  it('balanced k-means gives equal cluster sizes even on unequal blobs', () => {
    // 90 points near one centre, 30 near another: plain k-means with k=4 is unequal
    const data = new Float32Array([...blobs([[0, 0]], 90, 1, 1), ...blobs([[10, 10]], 30, 1, 2)]);
    const r = balancedKmeans(data, 120, 2, 4, createRng(5), { iters: 10 });
    const sizes = new Array(4).fill(0);
    for (const c of r.assign) sizes[c]++;
    expect(sizes).toEqual([30, 30, 30, 30]);
    // the 30 far points form one cluster on their own
    const far = new Set([...r.assign.subarray(90)]);
    expect(far.size).toBe(1);
  });

  it('balanced sizes are floor/ceil of n/k when k does not divide n', () => {
    const data = blobs([[0, 0]], 23, 3, 4);
    const r = balancedKmeans(data, 23, 2, 5, createRng(5), { iters: 5 });
    const sizes = new Array(5).fill(0);
    for (const c of r.assign) sizes[c]++;
    expect(sizes.every((s) => s === 4 || s === 5)).toBe(true);
    expect(sizes.reduce((a, b) => a + b)).toBe(23);
  });
});

describe('sinkhorn', () => {
  it.each([0.05, 0.001])('plan rows sum to 1 and columns to n/k (epsilon %s)', (epsilon) => {
    const rng = createRng(7);
    const n = 40;
    const k = 8;
    const dist = new Float32Array(n * k);
    for (let i = 0; i < dist.length; i++) dist[i] = rng.next() * (i % 3 === 0 ? 0.1 : 1);
    const Q = sinkhornPlan(dist, n, k, { epsilon, iters: 5000 });
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += Q[i * k + c]!;
      expect(s).toBeCloseTo(1, 9);
    }
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += Q[i * k + c]!;
      expect(s).toBeCloseTo(n / k, 2);
    }
  });

  it('assigns every point, uniformly, even when all points prefer one cluster', () => {
    const n = 12;
    const k = 4;
    const dist = new Float32Array(n * k);
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) dist[i * k + c] = c === 0 ? 0 : 1 + c + i * 0.01;
    const a = sinkhornAssign(dist, n, k, { epsilon: 0.01 });
    const sizes = new Array(k).fill(0);
    for (const c of a) {
      expect(c).toBeGreaterThanOrEqual(0);
      expect(c).toBeLessThan(k);
      sizes[c]++;
    }
    expect(sizes).toEqual([3, 3, 3, 3]);
  });

  it('gives distinct clusters when n <= k (collision breaking) and keeps clear preferences', () => {
    // 3 points, 5 clusters; points 0 and 1 both prefer cluster 2, point 2 prefers cluster 4
    const dist = new Float32Array([5, 5, 0, 1, 5, 5, 5, 0, 5, 1, 5, 5, 5, 5, 0]);
    const a = sinkhornAssign(dist, 3, 5);
    expect(new Set(a).size).toBe(3);
    expect(a[2]).toBe(4);
    expect([a[0], a[1]].sort()).toEqual([2, 3].sort());
  });

  it('rounding respects an explicit capacity and rejects an impossible one', () => {
    const Q = new Float64Array([1, 0, 1, 0, 1, 0, 0, 1]);
    const dist = new Float32Array([0, 1, 0, 1, 0, 1, 1, 0]);
    const a = roundPlan(Q, dist, 4, 2, 2);
    expect([...a].filter((c) => c === 0).length).toBe(2);
    expect(() => sinkhornAssign(dist, 4, 2, { capacity: 1 })).toThrow(/cannot hold/);
  });
});

describe('residual k-means', () => {
  const rng = createRng(11);
  const n = 300;
  const d = 6;
  const data = new Float32Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();

  it('reconstruction error decreases with every level and encode reproduces the fitted codes', () => {
    const fit = fitResidualKmeans(data, n, d, { levelSizes: [8, 8, 8] }, createRng(1));
    expect(fit.errorByLevel).toHaveLength(4);
    for (let l = 1; l < 4; l++) expect(fit.errorByLevel[l]!).toBeLessThan(fit.errorByLevel[l - 1]!);
    // the reconstruction error of the codes equals the reported last-level error
    const rec = fit.quantizer.reconstruct(fit.codes, n);
    let s = 0;
    for (let i = 0; i < data.length; i++) s += (data[i]! - rec[i]!) ** 2;
    expect(s / data.length).toBeCloseTo(fit.errorByLevel[3]!, 5);
    // the final assignments of plain k-means are nearest-centroid ones, so encode agrees
    expect([...fit.quantizer.encode(data, n)]).toEqual([...fit.codes]);
  });

  it('balanced residual k-means has equal sizes at every level and round-trips through save/load', async () => {
    const fit = fitResidualKmeans(data, n, d, { levelSizes: [10, 5], balanced: true, iters: 5 }, createRng(2));
    for (let l = 0; l < 2; l++) {
      const k = l === 0 ? 10 : 5;
      const sizes = new Array(k).fill(0);
      for (let i = 0; i < n; i++) sizes[fit.codes[i * 2 + l]!]++;
      expect(new Set(sizes)).toEqual(new Set([n / k]));
    }
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'semid-rq-'));
    try {
      await fit.quantizer.save(dir, 'x_');
      const q = await ResidualQuantizer.load(dir, 'x_');
      expect([...q.encode(data, n)]).toEqual([...fit.quantizer.encode(data, n)]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
