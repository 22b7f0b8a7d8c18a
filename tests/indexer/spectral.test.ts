import { describe, expect, it } from 'vitest';
import { collaborative } from '../../indexer/collaborative.js';
import { csrFromRows } from '../../indexer/shared/linalg.js';
import { spectralSplit, spectralTree } from '../../indexer/shared/spectral.js';
import { createRng } from '../../src/core/rng.js';
import { GROUP_OF, tinySplit } from './fixture.js';

/** 4 blocks of 10 nodes: complete inside a block, one edge between consecutive blocks. */
function plantedGraph() {
  const n = 40;
  const rows = Array.from({ length: n }, () => new Map<number, number>());
  const link = (a: number, b: number, w: number) => {
    rows[a]!.set(b, w);
    rows[b]!.set(a, w);
  };
  for (let b = 0; b < 4; b++)
    for (let i = 0; i < 10; i++) for (let j = i + 1; j < 10; j++) link(b * 10 + i, b * 10 + j, 1);
  for (let b = 0; b < 3; b++) link(b * 10 + 9, (b + 1) * 10, 1);
  return csrFromRows(rows, n);
}

/** Share of nodes in their cluster's majority block. */
function purity(assign: ArrayLike<number>, truth: (i: number) => number, n: number): number {
  const counts = new Map<number, Map<number, number>>();
  for (let i = 0; i < n; i++) {
    const m = counts.get(assign[i]!) ?? new Map<number, number>();
    m.set(truth(i), (m.get(truth(i)) ?? 0) + 1);
    counts.set(assign[i]!, m);
  }
  let s = 0;
  for (const m of counts.values()) s += Math.max(...m.values());
  return s / n;
}

describe('spectral clustering', () => {
  it('recovers 4 planted blocks exactly', () => {
    const A = plantedGraph();
    const assign = spectralSplit(A, [...Array(40).keys()], 4, createRng(2), 60);
    expect(new Set(assign).size).toBe(4);
    expect(purity(assign, (i) => Math.floor(i / 10), 40)).toBe(1);
  });

  it('recurses until clusters hold at most maxLeaf nodes', () => {
    const A = plantedGraph();
    const paths = spectralTree(
      A,
      [...Array(40).keys()],
      { clusters: 2, maxLeaf: 10, maxDepth: 5, iters: 60 },
      createRng(1),
    );
    const leaves = new Map<string, number>();
    for (const p of paths) leaves.set(p.join(','), (leaves.get(p.join(',')) ?? 0) + 1);
    expect(Math.max(...leaves.values())).toBeLessThanOrEqual(10);
    expect(Math.max(...paths.map((p) => p.length))).toBeGreaterThanOrEqual(2);
  });

  it('deals isolated nodes to the smallest clusters', () => {
    const rows = [new Map([[1, 1]]), new Map([[0, 1]]), new Map([[3, 1]]), new Map([[2, 1]]), new Map(), new Map()];
    const assign = spectralSplit(csrFromRows(rows, 6), [0, 1, 2, 3, 4, 5], 2, createRng(1), 30);
    expect(assign[0]).toBe(assign[1]);
    expect(assign[2]).toBe(assign[3]);
    expect(assign[0]).not.toBe(assign[2]);
    const sizes = [0, 0];
    for (const a of assign) sizes[a]!++;
    expect(sizes).toEqual([3, 3]);
  });

  it('collaborative codes follow the planted user groups of the fixture', async () => {
    const split = tinySplit();
    const c = collaborative.resolve({ clusters: 4, maxLeaf: 20 });
    const f = await collaborative.fit(
      { items: split.items, trainSequences: split.trainSequences, rng: createRng(3) },
      c,
    );
    const first = split.items.map((it) => f.table.encode(it.id)![0]!);
    expect(purity(first, (i) => GROUP_OF[i]!, split.items.length)).toBeGreaterThanOrEqual(0.9);
  });
});
