/**
 * k-means in plain TypeScript on Float32Array: k-means++ initialisation (Arthur & Vassilvitskii 2007),
 * Lloyd iterations, and balanced k-means (every cluster holds floor(n/k) or ceil(n/k) points, as the
 * codebooks of GRID and OneRec use) whose assignment step is a Sinkhorn-balanced transport plan
 * rounded under capacities. Data is row-major `[n, d]`; all randomness comes from the `rng` argument.
 *
 * Distances are squared Euclidean. The hot loop computes `||c||^2 - 2 x.c` four centroids at a time,
 * with precomputed centroid norms, so one pass reads each data row once per four centroids.
 */
import { SemidError } from '../../src/core/errors.js';
import type { Rng } from '../../src/core/rng.js';
import { type SinkhornOptions, sinkhornAssign } from './sinkhorn.js';

/** A fitted clustering. */
export interface KmeansResult {
  k: number;
  d: number;
  /** [k, d] float32, row c is centroid c. */
  centroids: Float32Array;
  /** [n] int32, cluster of each point. */
  assign: Int32Array;
  /** Sum over points of the squared distance to their assigned centroid. */
  inertia: number;
  /** Lloyd iterations run. */
  iterations: number;
}

/** Options of `kmeans` / `balancedKmeans`. */
export interface KmeansOptions {
  /** Maximum Lloyd iterations (default 25). */
  iters?: number;
  /** Called after every Lloyd iteration (1-based count) with the inertia, for progress. */
  onIteration?: (iteration: number, inertia: number) => void;
  /** Stop when the relative inertia decrease falls below this (default 1e-4). */
  tol?: number;
  /** Equal-size clusters (floor/ceil of n/k), assignment by Sinkhorn + capacity rounding (default false). */
  balanced?: boolean;
  /** Sinkhorn settings for the balanced assignment step. */
  sinkhorn?: SinkhornOptions;
  /** Initial centroids [k, d] instead of k-means++. */
  init?: Float32Array;
  /**
   * Balanced mode: balanced Lloyd iterations run after a plain k-means warm start of `iters`
   * iterations (default 5; each one costs a Sinkhorn solve over the [n, k] distances).
   */
  balancedIters?: number;
}

function checkShape(data: Float32Array, n: number, d: number, what: string): void {
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 1 || d < 1 || data.length !== n * d) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `${what}: expected a [n, d] row-major Float32Array with n, d >= 1 and length n*d, got length ${data.length} for n=${n}, d=${d}`,
    );
  }
}

/** Squared L2 norm of each row of a row-major [n, d] matrix; returns [n] float64. */
export function rowNorms(data: Float32Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * d;
    for (let j = 0; j < d; j++) {
      const v = data[o + j] as number;
      s += v * v;
    }
    out[i] = s;
  }
  return out;
}

/**
 * Squared distances between every point and every centroid.
 * @returns [n, k] float32, row-major; entry (i, c) = ||x_i - c||^2 (clamped at 0).
 */
export function sqDistances(
  data: Float32Array,
  n: number,
  d: number,
  centroids: Float32Array,
  k: number,
): Float32Array {
  checkShape(data, n, d, 'sqDistances data');
  checkShape(centroids, k, d, 'sqDistances centroids');
  const out = new Float32Array(n * k);
  const xn = rowNorms(data, n, d);
  const cn = rowNorms(centroids, k, d);
  const row = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    partialDistRow(data, i * d, d, centroids, k, cn, row);
    const base = xn[i] as number;
    const o = i * k;
    for (let c = 0; c < k; c++) {
      const v = base + (row[c] as number);
      out[o + c] = Math.max(v, 0);
    }
  }
  return out;
}

/** row[c] = ||c||^2 - 2 x.c for the point starting at data[xo]; four centroids per pass over x. */
function partialDistRow(
  data: Float32Array,
  xo: number,
  d: number,
  cent: Float32Array,
  k: number,
  cn: Float64Array,
  row: Float64Array,
): void {
  let c = 0;
  for (; c + 3 < k; c += 4) {
    const o0 = c * d;
    const o1 = o0 + d;
    const o2 = o1 + d;
    const o3 = o2 + d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let j = 0; j < d; j++) {
      const x = data[xo + j] as number;
      s0 += x * (cent[o0 + j] as number);
      s1 += x * (cent[o1 + j] as number);
      s2 += x * (cent[o2 + j] as number);
      s3 += x * (cent[o3 + j] as number);
    }
    row[c] = (cn[c] as number) - 2 * s0;
    row[c + 1] = (cn[c + 1] as number) - 2 * s1;
    row[c + 2] = (cn[c + 2] as number) - 2 * s2;
    row[c + 3] = (cn[c + 3] as number) - 2 * s3;
  }
  for (; c < k; c++) {
    const o = c * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += (data[xo + j] as number) * (cent[o + j] as number);
    row[c] = (cn[c] as number) - 2 * s;
  }
}

/**
 * Nearest centroid of every point (ties -> lowest index).
 * @returns assign [n] int32 and dist [n] float64 (squared distance to that centroid).
 */
export function nearest(
  data: Float32Array,
  n: number,
  d: number,
  centroids: Float32Array,
  k: number,
): { assign: Int32Array; dist: Float64Array } {
  checkShape(data, n, d, 'nearest data');
  checkShape(centroids, k, d, 'nearest centroids');
  const assign = new Int32Array(n);
  const dist = new Float64Array(n);
  const xn = rowNorms(data, n, d);
  const cn = rowNorms(centroids, k, d);
  const row = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    partialDistRow(data, i * d, d, centroids, k, cn, row);
    let best = 0;
    let bv = row[0] as number;
    for (let c = 1; c < k; c++) {
      const v = row[c] as number;
      if (v < bv) {
        bv = v;
        best = c;
      }
    }
    assign[i] = best;
    const v = (xn[i] as number) + bv;
    dist[i] = Math.max(v, 0);
  }
  return { assign, dist };
}

/**
 * k-means++ seeding: the first centroid uniformly, each next one with probability proportional to
 * the squared distance to the nearest centroid chosen so far. When every point already coincides
 * with a centroid (k > distinct points), the remaining centroids are uniform picks (duplicates).
 * @returns [k, d] float32 centroids.
 */
export function kmeansPlusPlus(data: Float32Array, n: number, d: number, k: number, rng: Rng): Float32Array {
  checkShape(data, n, d, 'kmeansPlusPlus data');
  const cent = new Float32Array(k * d);
  const best = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  let pick = rng.int(n);
  for (let c = 0; c < k; c++) {
    cent.set(data.subarray(pick * d, pick * d + d), c * d);
    if (c === k - 1) break;
    let total = 0;
    const po = pick * d;
    for (let i = 0; i < n; i++) {
      const o = i * d;
      let s = 0;
      for (let j = 0; j < d; j++) {
        const t = (data[o + j] as number) - (data[po + j] as number);
        s += t * t;
      }
      if (s < (best[i] as number)) best[i] = s;
      total += best[i] as number;
    }
    pick = total > 0 ? rng.weighted(best) : rng.int(n);
  }
  return cent;
}

/**
 * Lloyd's k-means (or balanced k-means with `opts.balanced`) from k-means++ seeds.
 * Empty clusters are re-seeded with the point farthest from its centroid.
 * @param data [n, d] float32 row-major points.
 */
export function kmeans(
  data: Float32Array,
  n: number,
  d: number,
  k: number,
  rng: Rng,
  opts: KmeansOptions = {},
): KmeansResult {
  checkShape(data, n, d, 'kmeans data');
  if (!Number.isInteger(k) || k < 1) {
    throw new SemidError('SEMID_ERR_BAD_CONFIG', `kmeans: k must be a positive integer, got ${k}`);
  }
  if (opts.balanced && !opts.init) {
    const { balanced: _b, ...rest } = opts;
    return balancedKmeans(data, n, d, k, rng, rest);
  }
  const iters = opts.iters ?? 25;
  const tol = opts.tol ?? 1e-4;
  let cent: Float32Array;
  if (opts.init) {
    checkShape(opts.init, k, d, 'kmeans init');
    cent = new Float32Array(opts.init);
  } else {
    cent = kmeansPlusPlus(data, n, d, k, rng);
  }
  let assign: Int32Array = new Int32Array(n);
  let dist: Float64Array = new Float64Array(n);
  let inertia = Number.POSITIVE_INFINITY;
  let it = 0;
  const sums = new Float64Array(k * d);
  const counts = new Int32Array(k);
  for (; it < Math.max(1, iters); it++) {
    ({ assign, dist } = opts.balanced
      ? balancedAssign(data, n, d, cent, k, opts.sinkhorn)
      : nearest(data, n, d, cent, k));
    let cur = 0;
    for (let i = 0; i < n; i++) cur += dist[i] as number;
    // update step
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = assign[i] as number;
      counts[c] = (counts[c] as number) + 1;
      const o = i * d;
      const so = c * d;
      for (let j = 0; j < d; j++) sums[so + j] = (sums[so + j] as number) + (data[o + j] as number);
    }
    reseedEmpty(data, d, k, counts, sums, assign, dist);
    for (let c = 0; c < k; c++) {
      const cnt = counts[c] as number;
      if (cnt === 0) continue;
      const o = c * d;
      for (let j = 0; j < d; j++) cent[o + j] = (sums[o + j] as number) / cnt;
    }
    const improved = inertia - cur;
    inertia = cur;
    opts.onIteration?.(it + 1, cur);
    if (it > 0 && improved <= tol * Math.max(cur, 1e-30)) {
      it++;
      break;
    }
  }
  // final assignment against the final centroids
  ({ assign, dist } = opts.balanced
    ? balancedAssign(data, n, d, cent, k, opts.sinkhorn)
    : nearest(data, n, d, cent, k));
  inertia = 0;
  for (let i = 0; i < n; i++) inertia += dist[i] as number;
  return { k, d, centroids: cent, assign, inertia, iterations: it };
}

/** Balanced k-means: `kmeans` with equal-size clusters (sizes floor(n/k) or ceil(n/k)). */
export function balancedKmeans(
  data: Float32Array,
  n: number,
  d: number,
  k: number,
  rng: Rng,
  opts: Omit<KmeansOptions, 'balanced'> = {},
): KmeansResult {
  const { balancedIters, ...rest } = opts;
  const warm = kmeans(data, n, d, k, rng, { ...rest, balanced: false });
  const sinkhorn = { iters: 20, ...opts.sinkhorn };
  const bal = kmeans(data, n, d, k, rng, {
    ...rest,
    sinkhorn,
    init: warm.centroids,
    iters: balancedIters ?? 5,
    balanced: true,
  });
  return { ...bal, iterations: warm.iterations + bal.iterations };
}

/** Balanced assignment: Sinkhorn plan over the distance matrix, rounded under floor/ceil capacities. */
function balancedAssign(
  data: Float32Array,
  n: number,
  d: number,
  cent: Float32Array,
  k: number,
  sk: SinkhornOptions | undefined,
): { assign: Int32Array; dist: Float64Array } {
  const dm = sqDistances(data, n, d, cent, k);
  const assign = sinkhornAssign(dm, n, k, sk ?? {});
  const dist = new Float64Array(n);
  for (let i = 0; i < n; i++) dist[i] = dm[i * k + (assign[i] as number)] as number;
  return { assign, dist };
}

/** Moves empty clusters onto the points farthest from their centroids (deterministic). */
function reseedEmpty(
  data: Float32Array,
  d: number,
  k: number,
  counts: Int32Array,
  sums: Float64Array,
  assign: Int32Array,
  dist: Float64Array,
): void {
  let empties = 0;
  for (let c = 0; c < k; c++) if (counts[c] === 0) empties++;
  if (empties === 0) return;
  const order = Array.from(dist.keys()).sort((a, b) => (dist[b] as number) - (dist[a] as number) || a - b);
  let p = 0;
  for (let c = 0; c < k && p < order.length; c++) {
    if (counts[c] !== 0) continue;
    // take a point whose cluster keeps at least one other member
    while (p < order.length) {
      const i = order[p++] as number;
      const from = assign[i] as number;
      if ((counts[from] as number) <= 1 || (dist[i] as number) <= 0) continue;
      counts[from] = (counts[from] as number) - 1;
      const o = i * d;
      for (let j = 0; j < d; j++) sums[from * d + j] = (sums[from * d + j] as number) - (data[o + j] as number);
      counts[c] = 1;
      for (let j = 0; j < d; j++) sums[c * d + j] = data[o + j] as number;
      assign[i] = c;
      dist[i] = 0;
      break;
    }
  }
}
