import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/core/rng.js';
import { TopK, topIndices } from '../../src/core/topk.js';

describe('topIndices', () => {
  it('returns the k best indices, ties to the lower index, skipping marked ones and NaN', () => {
    const s = Float32Array.from([1, 3, 3, Number.NaN, 2, 0]);
    expect(topIndices(s, 3)).toEqual([1, 2, 4]);
    expect(topIndices(s, 3, new Set([1]))).toEqual([2, 4, 0]);
    expect(topIndices(s, 10)).toEqual([1, 2, 4, 0, 5]);
    expect(topIndices(Float32Array.from([5, 5, 5, 5]), 2)).toEqual([0, 1]);
    expect(topIndices(s, 0)).toEqual([]);
  });

  it('agrees with a full sort on random rows with many ties', () => {
    const rng = createRng(5);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + rng.int(60);
      const s = Float32Array.from({ length: n }, () => rng.int(8));
      const k = rng.int(n + 3);
      const expected = [...s.keys()].sort((a, b) => (s[b] as number) - (s[a] as number) || a - b).slice(0, k);
      expect(topIndices(s, k)).toEqual(expected);
    }
  });
});

describe('TopK', () => {
  it('keeps the cap best under its own order, best first', () => {
    // order by score, ties to the earlier label
    const top = new TopK<{ s: number; id: string }>(3, (a, b) => a.s < b.s || (a.s === b.s && a.id > b.id));
    for (const [s, id] of [
      [2, 'a'],
      [5, 'b'],
      [1, 'c'],
      [5, 'a'],
      [4, 'd'],
      [0, 'e'],
    ] as const)
      top.push({ s, id });
    expect(top.full).toBe(true);
    expect(top.worst()).toEqual({ s: 4, id: 'd' });
    expect(top.sorted().map((x) => `${x.s}${x.id}`)).toEqual(['5a', '5b', '4d']);
  });
});
