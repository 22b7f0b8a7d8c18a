/**
 * Nearest-neighbour search for the server, over hnswlib-node's HierarchicalNSW (cosine): item
 * embeddings for `/similar`, and code embeddings for grounding freely generated codes (BIGRec).
 */
import hnswlib from 'hnswlib-node';
import { SemidError } from '../src/core/errors.js';
import { createRng } from '../src/core/rng.js';
import type { Code, ItemId } from '../src/core/types.js';

const { HierarchicalNSW } = hnswlib;

/** One neighbour: the item and its cosine similarity to the query (1 = same direction). */
export interface Neighbour {
  item: ItemId;
  similarity: number;
}

/** A mutable cosine index from item ids to vectors. Deleted items never come back from a search. */
export class VectorIndex {
  readonly dim: number;
  private readonly index: InstanceType<typeof HierarchicalNSW>;
  private readonly labelOf = new Map<ItemId, number>();
  private readonly itemOf: (ItemId | undefined)[] = [];
  private readonly vectors: (Float32Array | undefined)[] = [];
  private capacity: number;

  /** @param dim vector length; @param capacity initial room (grows on demand). */
  constructor(dim: number, capacity: number) {
    if (!Number.isInteger(dim) || dim < 1)
      throw new SemidError('SEMID_ERR_BAD_INPUT', `vector dim must be >= 1, got ${dim}`);
    this.dim = dim;
    this.capacity = Math.max(16, capacity);
    this.index = new HierarchicalNSW('cosine', dim);
    this.index.initIndex({ maxElements: this.capacity, m: 16, efConstruction: 48, randomSeed: 42 });
    this.index.setEf(64);
  }

  /** Number of searchable items. */
  get size(): number {
    return this.labelOf.size;
  }

  /** Whether `item` is searchable. */
  has(item: ItemId): boolean {
    return this.labelOf.has(item);
  }

  /** The vector stored for `item`, [dim] float32, or undefined. */
  vector(item: ItemId): Float32Array | undefined {
    const l = this.labelOf.get(item);
    return l === undefined ? undefined : this.vectors[l];
  }

  /** Adds (or replaces) `item` with vector `v` ([dim] float32, not all zero). */
  add(item: ItemId, v: ArrayLike<number>): void {
    if (v.length !== this.dim) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `embedding of "${item}" has ${v.length} values, expected ${this.dim}`,
      );
    }
    let norm = 0;
    for (let i = 0; i < v.length; i++) norm += (v[i] as number) ** 2;
    if (!(norm > 0) || !Number.isFinite(norm)) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `embedding of "${item}" must be finite and not all zero`);
    }
    this.remove(item);
    const label = this.itemOf.length;
    if (label >= this.capacity) {
      this.capacity *= 2;
      this.index.resizeIndex(this.capacity);
    }
    const vec = Float32Array.from(v);
    this.index.addPoint(Array.from(vec), label);
    this.itemOf.push(item);
    this.vectors.push(vec);
    this.labelOf.set(item, label);
  }

  /** Removes `item` from searches (no-op when absent). */
  remove(item: ItemId): void {
    const l = this.labelOf.get(item);
    if (l === undefined) return;
    this.index.markDelete(l);
    this.labelOf.delete(item);
    this.itemOf[l] = undefined;
    this.vectors[l] = undefined;
  }

  /** The `k` nearest items to `query`, nearest first, skipping items for which `skip` is true. */
  search(query: ArrayLike<number>, k: number, skip?: (item: ItemId) => boolean): Neighbour[] {
    if (query.length !== this.dim) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `query has ${query.length} values, expected ${this.dim}`);
    }
    const n = Math.min(k, this.size);
    if (n <= 0) return [];
    const filter = skip
      ? (label: number) => {
          const it = this.itemOf[label];
          return it !== undefined && !skip(it);
        }
      : undefined;
    const { neighbors, distances } = this.index.searchKnn(Array.from(query), n, filter);
    const out: Neighbour[] = [];
    neighbors.forEach((label, i) => {
      const item = this.itemOf[label];
      if (item !== undefined) out.push({ item, similarity: 1 - (distances[i] as number) });
    });
    return out;
  }
}

/**
 * Maps a code to a fixed vector whose cosine similarity ranks codes by shared levels, coarse levels
 * first: level l contributes weight w_l with w_l^2 = 2^(L-1-l), so sharing level 0 outweighs sharing
 * all finer levels together. Small codebooks use exact one-hot blocks (dim = sum of level sizes);
 * when that would exceed `maxOneHotDim`, each (level, value) gets a seeded random unit vector of
 * `projectionDim` values instead (a Johnson-Lindenstrauss sketch of the one-hot).
 */
export class CodeEmbedder {
  readonly dim: number;
  private readonly weights: number[];
  private readonly offsets: number[] = [];
  private readonly random: Float32Array[][] | undefined;

  constructor(
    private readonly levelSizes: readonly number[],
    opts: { maxOneHotDim?: number; projectionDim?: number; seed?: number } = {},
  ) {
    const L = levelSizes.length;
    this.weights = levelSizes.map((_, l) => Math.sqrt(2 ** (L - 1 - l)));
    const total = levelSizes.reduce((a, b) => a + b, 0);
    if (total <= (opts.maxOneHotDim ?? 2048)) {
      let o = 0;
      for (const s of levelSizes) {
        this.offsets.push(o);
        o += s;
      }
      this.dim = total;
      this.random = undefined;
    } else {
      const p = opts.projectionDim ?? 64;
      const rng = createRng(opts.seed ?? 7);
      this.random = levelSizes.map((s) =>
        Array.from({ length: s }, () => {
          const v = new Float32Array(p);
          let n = 0;
          for (let i = 0; i < p; i++) {
            v[i] = rng.normal();
            n += (v[i] as number) ** 2;
          }
          const inv = 1 / Math.sqrt(n);
          for (let i = 0; i < p; i++) v[i] = (v[i] as number) * inv;
          return v;
        }),
      );
      this.dim = p * L;
    }
  }

  /** [dim] float32 embedding of a full code. */
  embed(code: Code): Float32Array {
    const out = new Float32Array(this.dim);
    code.forEach((v, l) => {
      const w = this.weights[l] as number;
      if (this.random) {
        const r = (this.random[l] as Float32Array[])[v];
        if (!r) return;
        out.set(
          r.map((x) => x * w),
          l * r.length,
        );
      } else if (v >= 0 && v < (this.levelSizes[l] as number)) {
        out[(this.offsets[l] as number) + v] = w;
      }
    });
    return out;
  }
}
