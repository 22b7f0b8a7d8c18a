/**
 * Golden tests with hand-computed expectations, in the style of RecBole's
 * tests/metrics/test_topk_metrics.py: a handful of users, each with a known target rank.
 */
import { describe, expect, it } from 'vitest';
import { SemidError } from '../../src/core/errors.js';
import {
  coverageAt,
  MetricAccumulator,
  meanMetrics,
  ndcgAt,
  rankOf,
  recallAt,
  reciprocalRank,
} from '../../src/eval/metrics.js';

describe('single-example metrics', () => {
  it('rankOf is the 0-based position or -1, and rejects duplicate items', () => {
    expect(rankOf(['a', 'b', 'c'], 'c')).toBe(2);
    expect(rankOf(['a', 'b', 'c'], 'z')).toBe(-1);
    expect(() => rankOf(['a', 'b', 'a'], 'a')).toThrow(SemidError);
  });

  it('Recall@K', () => {
    expect(recallAt(0, 1)).toBe(1);
    expect(recallAt(4, 5)).toBe(1);
    expect(recallAt(5, 5)).toBe(0);
    expect(recallAt(-1, 20)).toBe(0);
  });

  it('NDCG@K = 1/log2(rank+2)', () => {
    expect(ndcgAt(0, 5)).toBe(1);
    expect(ndcgAt(1, 5)).toBeCloseTo(1 / Math.log2(3), 12); // 0.6309297535714575
    expect(ndcgAt(1, 5)).toBeCloseTo(0.6309297535714575, 12);
    expect(ndcgAt(2, 5)).toBeCloseTo(0.5, 12); // 1/log2(4)
    expect(ndcgAt(6, 10)).toBeCloseTo(1 / 3, 12); // 1/log2(8)
    expect(ndcgAt(6, 5)).toBe(0);
    expect(ndcgAt(-1, 5)).toBe(0);
  });

  it('MRR', () => {
    expect(reciprocalRank(0)).toBe(1);
    expect(reciprocalRank(3)).toBe(0.25);
    expect(reciprocalRank(3, 3)).toBe(0);
    expect(reciprocalRank(-1)).toBe(0);
  });
});

describe('aggregated means', () => {
  // Five users; target ranks 0, 2, 6, 14, miss.
  //   recall@5  = (1+1+0+0+0)/5 = 0.4
  //   recall@10 = (1+1+1+0+0)/5 = 0.6
  //   recall@20 = (1+1+1+1+0)/5 = 0.8
  //   ndcg@5    = (1 + 1/log2(4)) / 5 = 1.5/5 = 0.3
  //   ndcg@10   = (1 + 0.5 + 1/log2(8)) / 5 = (1.5 + 1/3)/5 = 0.36666...
  //   ndcg@20   = (1 + 0.5 + 1/3 + 1/log2(16)) / 5 = (1.8333... + 0.25)/5 = 0.41666...
  //   mrr@20    = (1 + 1/3 + 1/7 + 1/15) / 5 = 0.30857142857...
  const ranks = [0, 2, 6, 14, -1];
  it('matches hand-computed values', () => {
    const m = meanMetrics(ranks, [10, 5, 20]);
    expect(Object.keys(m).sort()).toEqual(
      ['mrr@20', 'ndcg@10', 'ndcg@20', 'ndcg@5', 'recall@10', 'recall@20', 'recall@5'].sort(),
    );
    expect(m['recall@5']).toBeCloseTo(0.4, 12);
    expect(m['recall@10']).toBeCloseTo(0.6, 12);
    expect(m['recall@20']).toBeCloseTo(0.8, 12);
    expect(m['ndcg@5']).toBeCloseTo(0.3, 12);
    expect(m['ndcg@10']).toBeCloseTo(0.3666666666666667, 12);
    expect(m['ndcg@20']).toBeCloseTo(0.4166666666666667, 12);
    expect(m['mrr@20']).toBeCloseTo((1 + 1 / 3 + 1 / 7 + 1 / 15) / 5, 12);
    expect(m['mrr@20']).toBeCloseTo(0.3085714285714286, 12);
  });

  it('counts misses in the denominator and is zero with no examples', () => {
    const acc = new MetricAccumulator([1]);
    acc.add(-1);
    acc.add(-1);
    acc.add(0);
    expect(acc.count).toBe(3);
    expect(acc.means()['recall@1']).toBeCloseTo(1 / 3, 12);
    expect(new MetricAccumulator([5]).means()['ndcg@5']).toBe(0);
    expect(() => new MetricAccumulator([])).toThrow(SemidError);
    expect(() => new MetricAccumulator([0])).toThrow(SemidError);
  });
});

describe('coverage', () => {
  it('is the share of the catalogue in any top-k list', () => {
    const lists = [
      ['a', 'b', 'c'],
      ['a', 'd', 'e'],
    ];
    expect(coverageAt(lists, 1, 10)).toBeCloseTo(0.1, 12); // {a}
    expect(coverageAt(lists, 2, 10)).toBeCloseTo(0.3, 12); // {a,b,d}
    expect(coverageAt(lists, 3, 10)).toBeCloseTo(0.5, 12); // {a,b,c,d,e}
    expect(coverageAt(lists, 50, 5)).toBe(1);
    expect(coverageAt([], 5, 0)).toBe(0);
  });
});
