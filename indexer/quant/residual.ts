/**
 * Residual k-means (RQ-KMeans, as in GRID and OneRec): level 0 clusters the vectors, every next level
 * clusters what the previous levels left unexplained (the residuals). A code is the tuple of cluster
 * indices; the reconstruction is the sum of the chosen centroids.
 */
import { join } from 'node:path';
import { readF32, readJson, writeF32, writeJson } from '../../src/core/artifact.js';
import { SemidError } from '../../src/core/errors.js';
import { track } from '../../src/core/progress.js';
import type { Rng } from '../../src/core/rng.js';
import { kmeans, nearest } from '../shared/kmeans.js';
import type { SinkhornOptions } from '../shared/sinkhorn.js';

/** Options of `fitResidualKmeans`. */
export interface ResidualKmeansOptions {
  /** Codebook size per level, e.g. [256, 256, 256]. */
  levelSizes: readonly number[];
  /** Maximum Lloyd iterations per level (default 20). */
  iters?: number;
  /** Relative inertia tolerance (default 1e-4). */
  tol?: number;
  /** Balanced (equal-size) clusters at every level (default false). */
  balanced?: boolean;
  /** Sinkhorn settings of the balanced assignment. */
  sinkhorn?: SinkhornOptions;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** A fitted residual quantiser: codebooks per level; encodes vectors greedily (nearest centroid per level). */
export class ResidualQuantizer {
  readonly dim: number;
  readonly levelSizes: readonly number[];
  /** One [levelSizes[l], dim] float32 codebook per level. */
  readonly codebooks: readonly Float32Array[];

  constructor(dim: number, levelSizes: readonly number[], codebooks: readonly Float32Array[]) {
    if (
      codebooks.length !== levelSizes.length ||
      codebooks.some((cb, l) => cb.length !== (levelSizes[l] as number) * dim)
    ) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `ResidualQuantizer: expected ${levelSizes.length} codebooks of [size, ${dim}] for sizes [${levelSizes}], got lengths [${codebooks.map((c) => c.length)}]`,
      );
    }
    this.dim = dim;
    this.levelSizes = [...levelSizes];
    this.codebooks = codebooks;
  }

  get levels(): number {
    return this.levelSizes.length;
  }

  /**
   * Greedy residual encoding of new vectors (nearest centroid at each level, no balancing).
   * @param vectors [n, dim] float32.
   * @returns [n, levels] int32 codes, row-major.
   */
  encode(vectors: Float32Array, n: number): Int32Array {
    const L = this.levels;
    const d = this.dim;
    const codes = new Int32Array(n * L);
    const res = new Float32Array(vectors);
    for (let l = 0; l < L; l++) {
      const cb = this.codebooks[l] as Float32Array;
      const { assign } = nearest(res, n, d, cb, this.levelSizes[l] as number);
      subtractAssigned(res, n, d, cb, assign);
      for (let i = 0; i < n; i++) codes[i * L + l] = assign[i] as number;
    }
    return codes;
  }

  /**
   * Sum of the chosen centroids.
   * @param codes [n, levels] int32. @param levels how many levels to use (default all).
   * @returns [n, dim] float32.
   */
  reconstruct(codes: Int32Array, n: number, levels = this.levels): Float32Array {
    const L = this.levels;
    const d = this.dim;
    const out = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      for (let l = 0; l < levels; l++) {
        const cb = this.codebooks[l] as Float32Array;
        const co = (codes[i * L + l] as number) * d;
        for (let j = 0; j < d; j++) out[i * d + j] = (out[i * d + j] as number) + (cb[co + j] as number);
      }
    }
    return out;
  }

  /** Writes `<prefix>quantizer.json` and one `<prefix>codebook<l>.f32` per level into `dir`. */
  async save(dir: string, prefix = ''): Promise<void> {
    await writeJson(join(dir, `${prefix}quantizer.json`), { dim: this.dim, levelSizes: this.levelSizes });
    for (let l = 0; l < this.levels; l++) {
      await writeF32(join(dir, `${prefix}codebook${l}.f32`), this.codebooks[l] as Float32Array);
    }
  }

  /** Reads what `save` wrote (SEMID_ERR_ARTIFACT_MISSING / _CORRUPT on a missing or damaged file). */
  static async load(dir: string, prefix = ''): Promise<ResidualQuantizer> {
    const meta = await readJson<{ dim: number; levelSizes: number[] }>(
      join(dir, `${prefix}quantizer.json`),
      'quantizer',
    );
    if (!Number.isInteger(meta?.dim) || !Array.isArray(meta.levelSizes)) {
      throw new SemidError('SEMID_ERR_ARTIFACT_CORRUPT', `${dir}/${prefix}quantizer.json needs {dim, levelSizes}`);
    }
    const cbs: Float32Array[] = [];
    for (let l = 0; l < meta.levelSizes.length; l++) {
      cbs.push(await readF32(join(dir, `${prefix}codebook${l}.f32`), (meta.levelSizes[l] as number) * meta.dim));
    }
    return new ResidualQuantizer(meta.dim, meta.levelSizes, cbs);
  }
}

/** res[i] -= cb[assign[i]] in place. */
export function subtractAssigned(res: Float32Array, n: number, d: number, cb: Float32Array, assign: Int32Array): void {
  for (let i = 0; i < n; i++) {
    const co = (assign[i] as number) * d;
    const o = i * d;
    for (let j = 0; j < d; j++) res[o + j] = (res[o + j] as number) - (cb[co + j] as number);
  }
}

/** Mean over all entries of the squared values of a [n, d] matrix. */
export function meanSquare(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (a[i] as number);
  return a.length === 0 ? 0 : s / a.length;
}

/** Result of `fitResidualKmeans`. */
export interface ResidualFit {
  quantizer: ResidualQuantizer;
  /** [n, levels] int32 codes of the training vectors (balanced ones when fitted balanced). */
  codes: Int32Array;
  /**
   * Mean squared reconstruction error per entry: index 0 before any level (the mean square of the
   * input), index l after l levels. Non-increasing for plain k-means.
   */
  errorByLevel: number[];
}

/**
 * Fits residual k-means on [n, d] float32 vectors.
 */
export function fitResidualKmeans(
  data: Float32Array,
  n: number,
  d: number,
  opts: ResidualKmeansOptions,
  rng: Rng,
): ResidualFit {
  if (data.length !== n * d || n < 1 || d < 1) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `fitResidualKmeans: expected [n=${n}, d=${d}] data, got length ${data.length}`,
    );
  }
  const L = opts.levelSizes.length;
  const res = new Float32Array(data);
  const codes = new Int32Array(n * L);
  const codebooks: Float32Array[] = [];
  const errorByLevel = [meanSquare(res)];
  for (let l = 0; l < L; l++) {
    const k = opts.levelSizes[l] as number;
    const t0 = Date.now();
    const iters = opts.iters ?? 20;
    const progress = track(`rqkmeans level ${l + 1}/${L} k-means (k=${k})`, iters, { unit: 'iter' });
    const fit = kmeans(res, n, d, k, rng, {
      iters,
      onIteration: (it, inertia) => progress.update(Math.min(it, iters), `inertia ${inertia.toExponential(3)}`),
      tol: opts.tol ?? 1e-4,
      balanced: opts.balanced ?? false,
      ...(opts.sinkhorn ? { sinkhorn: opts.sinkhorn } : {}),
    });
    progress.done(`${fit.iterations} iterations`);
    codebooks.push(fit.centroids);
    subtractAssigned(res, n, d, fit.centroids, fit.assign);
    for (let i = 0; i < n; i++) codes[i * L + l] = fit.assign[i] as number;
    errorByLevel.push(meanSquare(res));
    opts.log?.(
      `rqkmeans level ${l}: k=${k} iterations=${fit.iterations} mse=${errorByLevel[l + 1]?.toExponential(3)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
  }
  return { quantizer: new ResidualQuantizer(d, opts.levelSizes, codebooks), codes, errorByLevel };
}
