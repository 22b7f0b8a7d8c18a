/**
 * Top-k ranking metrics for next-item prediction with ONE target per example (leave-one-out), as in
 * TIGER, P5 and RecBole's full-ranking protocol. A target's `rank` is its 0-based position in the
 * recommended list, or -1 when it is absent (a miss). With one target, Recall@K equals HR@K and the
 * ideal DCG is 1, so NDCG@K = 1 / log2(rank + 2) for a hit.
 */
import { SemidError } from '../core/errors.js';

/** 0-based position of `target` in `list`, or -1. Duplicates in `list` are an error, never skipped. */
export function rankOf<T>(list: readonly T[], target: T): number {
  if (new Set(list).size !== list.length) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      'a recommended list contains the same item twice; expected distinct items',
    );
  }
  return list.indexOf(target);
}

/** Recall@K (= HR@K for one target): 1 when the target is among the first k, else 0. */
export function recallAt(rank: number, k: number): number {
  return rank >= 0 && rank < k ? 1 : 0;
}

/** NDCG@K for one target: 1 / log2(rank + 2) when the target is among the first k, else 0. */
export function ndcgAt(rank: number, k: number): number {
  return rank >= 0 && rank < k ? 1 / Math.log2(rank + 2) : 0;
}

/** Reciprocal rank, 1 / (rank + 1), cut at k (default: no cut); 0 for a miss. */
export function reciprocalRank(rank: number, k = Number.POSITIVE_INFINITY): number {
  return rank >= 0 && rank < k ? 1 / (rank + 1) : 0;
}

/** Metric means over examples, keyed `recall@5`, `ndcg@5`, ..., `mrr@K` (K = the largest k). */
export type MetricValues = Record<string, number>;

/** Accumulates per-example ranks into means of Recall@k, NDCG@k and MRR@max(k). */
export class MetricAccumulator {
  readonly ks: readonly number[];
  private readonly sums = new Map<string, number>();
  private n = 0;
  constructor(ks: readonly number[]) {
    if (ks.length === 0 || ks.some((k) => !Number.isInteger(k) || k < 1)) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `ks must be positive integers, got [${ks}]`);
    }
    this.ks = [...ks].sort((a, b) => a - b);
    for (const key of this.keys()) this.sums.set(key, 0);
  }
  private keys(): string[] {
    const maxK = this.ks[this.ks.length - 1] as number;
    return [...this.ks.flatMap((k) => [`recall@${k}`, `ndcg@${k}`]), `mrr@${maxK}`];
  }
  /** Adds one example whose target sits at `rank` (-1 = miss). */
  add(rank: number): void {
    this.n++;
    const maxK = this.ks[this.ks.length - 1] as number;
    for (const k of this.ks) {
      this.sums.set(`recall@${k}`, (this.sums.get(`recall@${k}`) as number) + recallAt(rank, k));
      this.sums.set(`ndcg@${k}`, (this.sums.get(`ndcg@${k}`) as number) + ndcgAt(rank, k));
    }
    this.sums.set(`mrr@${maxK}`, (this.sums.get(`mrr@${maxK}`) as number) + reciprocalRank(rank, maxK));
  }
  /** Number of examples added. */
  get count(): number {
    return this.n;
  }
  /** Means over the examples added (all 0 when none were). */
  means(): MetricValues {
    const out: MetricValues = {};
    for (const key of this.keys()) out[key] = this.n === 0 ? 0 : (this.sums.get(key) as number) / this.n;
    return out;
  }
}

/** Means of Recall@k, NDCG@k and MRR@max(k) over a list of ranks (-1 = miss). */
export function meanMetrics(ranks: readonly number[], ks: readonly number[]): MetricValues {
  const acc = new MetricAccumulator(ks);
  for (const r of ranks) acc.add(r);
  return acc.means();
}

/**
 * Catalogue coverage at k: the share of the catalogue that appears in at least one user's first k
 * recommendations.
 */
export function coverageAt(lists: readonly (readonly string[])[], k: number, catalogueSize: number): number {
  if (catalogueSize <= 0) return 0;
  const seen = new Set<string>();
  for (const l of lists) for (let i = 0; i < Math.min(k, l.length); i++) seen.add(l[i] as string);
  return seen.size / catalogueSize;
}
