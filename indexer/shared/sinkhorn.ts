/**
 * Sinkhorn-Knopp uniform assignment (Cuturi 2013; used for balanced codes by SwAV, LC-Rec and LETTER):
 * an entropic optimal-transport plan that sends each of n points (mass 1) to k clusters with equal
 * total mass n/k, then a rounding step that turns the plan into a hard assignment under capacities.
 *
 * Differences from LETTER's `sinkhorn_algorithm`: iterations run in the log domain (no overflow for small
 * epsilon), scale distances to [0, 1] rather than [-1, 1] (same plan up to epsilon), and round the plan
 * under exact capacities instead of a plain argmax, so the result is guaranteed balanced.
 */
import { SemidError } from '../../src/core/errors.js';

/** Options of the Sinkhorn plan and assignment. */
export interface SinkhornOptions {
  /** Entropic regularisation, relative to the distance range scaled to [0, 1] (default 0.01). Smaller = closer to hard OT. */
  epsilon?: number;
  /** Sinkhorn iterations (default 50). */
  iters?: number;
  /**
   * Maximum points per cluster. Default: balanced, every cluster gets floor(n/k) or ceil(n/k) points
   * (so with n <= k every point gets its own cluster).
   */
  capacity?: number;
}

function checkDist(dist: Float32Array | Float64Array, n: number, k: number): void {
  if (!Number.isInteger(n) || !Number.isInteger(k) || n < 1 || k < 1 || dist.length !== n * k) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `sinkhorn: expected a [n, k] row-major distance matrix of length n*k with n, k >= 1, got length ${dist.length} for n=${n}, k=${k}`,
    );
  }
}

/**
 * The entropic transport plan.
 * @param dist [n, k] row-major distances (any non-negative or signed cost; only differences matter).
 * @returns [n, k] float64 plan Q: every row sums to 1, every column to about n/k.
 */
export function sinkhornPlan(
  dist: Float32Array | Float64Array,
  n: number,
  k: number,
  opts: SinkhornOptions = {},
): Float64Array {
  checkDist(dist, n, k);
  const eps = opts.epsilon ?? 0.01;
  const iters = opts.iters ?? 50;
  if (!(eps > 0) || !Number.isInteger(iters) || iters < 1) {
    throw new SemidError(
      'SEMID_ERR_BAD_CONFIG',
      `sinkhorn: epsilon must be > 0 and iters a positive integer, got ${eps}, ${iters}`,
    );
  }
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < dist.length; i++) {
    const v = dist[i] as number;
    if (!Number.isFinite(v))
      throw new SemidError('SEMID_ERR_BAD_INPUT', `sinkhorn: distance ${i} is ${v}, expected finite`);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi > lo ? 1 / ((hi - lo) * eps) : 0;
  // logK = -(d - lo) / ((hi - lo) * eps)
  const logK = new Float64Array(n * k);
  for (let i = 0; i < logK.length; i++) logK[i] = -((dist[i] as number) - lo) * scale;
  return 1 / eps <= 500 ? scalingPlan(logK, n, k, iters) : logDomainPlan(logK, n, k, iters);
}

/** Sinkhorn in the scaling domain (two mat-vec products per iteration); exact in float64 while 1/eps <= 500. */
function scalingPlan(logK: Float64Array, n: number, k: number, iters: number): Float64Array {
  const K = new Float64Array(n * k);
  for (let i = 0; i < K.length; i++) K[i] = Math.exp(logK[i] as number);
  const u = new Float64Array(n);
  const v = new Float64Array(k).fill(1);
  const colTarget = n / k;
  const kv = new Float64Array(n);
  const ktu = new Float64Array(k);
  const rowUpdate = () => {
    for (let i = 0; i < n; i++) {
      const o = i * k;
      let s = 0;
      for (let c = 0; c < k; c++) s += (K[o + c] as number) * (v[c] as number);
      kv[i] = s;
      u[i] = s > 0 ? 1 / s : 0;
    }
  };
  for (let it = 0; it < iters; it++) {
    rowUpdate();
    ktu.fill(0);
    for (let i = 0; i < n; i++) {
      const o = i * k;
      const ui = u[i] as number;
      for (let c = 0; c < k; c++) ktu[c] = (ktu[c] as number) + (K[o + c] as number) * ui;
    }
    for (let c = 0; c < k; c++) v[c] = (ktu[c] as number) > 0 ? colTarget / (ktu[c] as number) : 0;
  }
  rowUpdate();
  for (let i = 0; i < n; i++) {
    const o = i * k;
    const ui = u[i] as number;
    for (let c = 0; c < k; c++) K[o + c] = (K[o + c] as number) * (v[c] as number) * ui;
  }
  return K;
}

/** Sinkhorn in the log domain (log-sum-exp updates): slower, but stable for any epsilon. */
function logDomainPlan(logK: Float64Array, n: number, k: number, iters: number): Float64Array {
  const f = new Float64Array(n); // row potentials
  const g = new Float64Array(k); // column potentials
  const logRow = 0; // each point has mass 1
  const logCol = Math.log(n / k);
  const colMax = new Float64Array(k);
  const colSum = new Float64Array(k);
  for (let it = 0; it < iters; it++) {
    // rows: f_i = logRow - LSE_c(logK_ic + g_c)
    for (let i = 0; i < n; i++) {
      const o = i * k;
      let m = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < k; c++) {
        const v = (logK[o + c] as number) + (g[c] as number);
        if (v > m) m = v;
      }
      let s = 0;
      for (let c = 0; c < k; c++) s += Math.exp((logK[o + c] as number) + (g[c] as number) - m);
      f[i] = logRow - (m + Math.log(s));
    }
    // columns: g_c = logCol - LSE_i(logK_ic + f_i)
    colMax.fill(Number.NEGATIVE_INFINITY);
    for (let i = 0; i < n; i++) {
      const o = i * k;
      const fi = f[i] as number;
      for (let c = 0; c < k; c++) {
        const v = (logK[o + c] as number) + fi;
        if (v > (colMax[c] as number)) colMax[c] = v;
      }
    }
    colSum.fill(0);
    for (let i = 0; i < n; i++) {
      const o = i * k;
      const fi = f[i] as number;
      for (let c = 0; c < k; c++)
        colSum[c] = (colSum[c] as number) + Math.exp((logK[o + c] as number) + fi - (colMax[c] as number));
    }
    for (let c = 0; c < k; c++) g[c] = logCol - ((colMax[c] as number) + Math.log(colSum[c] as number));
  }
  // finish on a row update so rows sum to exactly 1
  const Q = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const o = i * k;
    let m = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < k; c++) {
      const v = (logK[o + c] as number) + (g[c] as number);
      if (v > m) m = v;
    }
    let s = 0;
    for (let c = 0; c < k; c++) {
      const e = Math.exp((logK[o + c] as number) + (g[c] as number) - m);
      Q[o + c] = e;
      s += e;
    }
    for (let c = 0; c < k; c++) Q[o + c] = (Q[o + c] as number) / s;
  }
  return Q;
}

/**
 * Hard uniform assignment: the Sinkhorn plan rounded under capacities. Points are placed most
 * confident first (largest plan entry), each into its highest-plan cluster with room left, ties
 * broken by the smaller distance, then the lower cluster index.
 * @param dist [n, k] float32 row-major distances.
 * @returns [n] int32 cluster per point; with the default capacity every cluster holds floor(n/k) or ceil(n/k).
 */
export function sinkhornAssign(dist: Float32Array, n: number, k: number, opts: SinkhornOptions = {}): Int32Array {
  checkDist(dist, n, k);
  if (opts.capacity !== undefined && (!Number.isInteger(opts.capacity) || opts.capacity * k < n)) {
    throw new SemidError(
      'SEMID_ERR_BAD_CONFIG',
      `sinkhornAssign: capacity ${opts.capacity} x ${k} clusters cannot hold ${n} points; use capacity >= ${Math.ceil(n / k)}`,
    );
  }
  const Q = sinkhornPlan(dist, n, k, opts);
  return roundPlan(Q, dist, n, k, opts.capacity);
}

/**
 * Rounds a plan [n, k] to a hard assignment under capacities (see sinkhornAssign).
 * @returns [n] int32 cluster per point.
 */
export function roundPlan(
  Q: Float64Array,
  dist: Float32Array | Float64Array,
  n: number,
  k: number,
  capacity?: number,
): Int32Array {
  const floor = capacity === undefined ? Math.floor(n / k) : capacity;
  let extra = capacity === undefined ? n - floor * k : 0; // clusters allowed one more than floor
  const size = new Int32Array(k);
  const conf = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let m = 0;
    const o = i * k;
    for (let c = 0; c < k; c++) if ((Q[o + c] as number) > m) m = Q[o + c] as number;
    conf[i] = m;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (conf[b] as number) - (conf[a] as number) || a - b,
  );
  const assign = new Int32Array(n);
  for (const i of order) {
    const o = i * k;
    let best = -1;
    for (let c = 0; c < k; c++) {
      const s = size[c] as number;
      if (s > floor || (s === floor && extra === 0)) continue;
      if (best < 0) {
        best = c;
        continue;
      }
      const q = Q[o + c] as number;
      const qb = Q[o + best] as number;
      if (q > qb || (q === qb && (dist[o + c] as number) < (dist[o + best] as number))) best = c;
    }
    if (best < 0) throw new SemidError('SEMID_ERR_INTERNAL', 'sinkhorn rounding ran out of capacity (a bug)');
    if ((size[best] as number) === floor) extra--;
    size[best] = (size[best] as number) + 1;
    assign[i] = best;
  }
  return assign;
}
