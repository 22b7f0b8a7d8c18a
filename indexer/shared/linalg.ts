/**
 * Small dense and sparse linear algebra in plain TypeScript, enough for LSA (randomized truncated SVD
 * of a sparse TF-IDF matrix, Halko et al. 2011) and spectral clustering (top eigenvectors by subspace
 * iteration). Dense matrices are row-major Float64Array (float64 for stable orthogonalisation).
 */

import { track } from '../../src/core/progress.js';
import type { Rng } from '../../src/core/rng.js';

/** A sparse matrix in compressed sparse row form. */
export interface Csr {
  rows: number;
  cols: number;
  /** [rows + 1] start of each row in `indices` / `values`. */
  indptr: Int32Array;
  /** [nnz] column of each stored value, ascending within a row. */
  indices: Int32Array;
  /** [nnz] stored values. */
  values: Float64Array;
}

/** Builds a CSR matrix from per-row maps column -> value. */
export function csrFromRows(rows: readonly Map<number, number>[], cols: number): Csr {
  let nnz = 0;
  for (const r of rows) nnz += r.size;
  const indptr = new Int32Array(rows.length + 1);
  const indices = new Int32Array(nnz);
  const values = new Float64Array(nnz);
  let p = 0;
  rows.forEach((r, i) => {
    const keys = [...r.keys()].sort((a, b) => a - b);
    for (const k of keys) {
      indices[p] = k;
      values[p] = r.get(k) as number;
      p++;
    }
    indptr[i + 1] = p;
  });
  return { rows: rows.length, cols, indptr, indices, values };
}

/** X [rows, cols] times dense B [cols, k] -> [rows, k]. */
export function csrMul(X: Csr, B: Float64Array, k: number): Float64Array {
  const out = new Float64Array(X.rows * k);
  for (let i = 0; i < X.rows; i++) {
    const o = i * k;
    for (let p = X.indptr[i] as number; p < (X.indptr[i + 1] as number); p++) {
      const v = X.values[p] as number;
      const b = (X.indices[p] as number) * k;
      for (let j = 0; j < k; j++) out[o + j] = (out[o + j] as number) + v * (B[b + j] as number);
    }
  }
  return out;
}

/** X^T [cols, rows] times dense B [rows, k] -> [cols, k]. */
export function csrMulT(X: Csr, B: Float64Array, k: number): Float64Array {
  const out = new Float64Array(X.cols * k);
  for (let i = 0; i < X.rows; i++) {
    const b = i * k;
    for (let p = X.indptr[i] as number; p < (X.indptr[i + 1] as number); p++) {
      const v = X.values[p] as number;
      const o = (X.indices[p] as number) * k;
      for (let j = 0; j < k; j++) out[o + j] = (out[o + j] as number) + v * (B[b + j] as number);
    }
  }
  return out;
}

/** A^T B for A [m, ka], B [m, kb] -> [ka, kb]. */
export function gramT(A: Float64Array, ka: number, B: Float64Array, kb: number, m: number): Float64Array {
  const out = new Float64Array(ka * kb);
  for (let r = 0; r < m; r++) {
    const ao = r * ka;
    const bo = r * kb;
    for (let i = 0; i < ka; i++) {
      const a = A[ao + i] as number;
      if (a === 0) continue;
      const o = i * kb;
      for (let j = 0; j < kb; j++) out[o + j] = (out[o + j] as number) + a * (B[bo + j] as number);
    }
  }
  return out;
}

/** A [m, k] times W [k, p] -> [m, p]. */
export function matMul(A: Float64Array, m: number, k: number, W: Float64Array, p: number): Float64Array {
  const out = new Float64Array(m * p);
  for (let r = 0; r < m; r++) {
    for (let i = 0; i < k; i++) {
      const a = A[r * k + i] as number;
      if (a === 0) continue;
      for (let j = 0; j < p; j++) out[r * p + j] = (out[r * p + j] as number) + a * (W[i * p + j] as number);
    }
  }
  return out;
}

/**
 * Orthonormalises the columns of A [m, k] in place (modified Gram-Schmidt, applied twice for
 * stability). Columns that become numerically zero are left as zeros.
 */
export function orthonormalize(A: Float64Array, m: number, k: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < j; i++) {
        let dot = 0;
        for (let r = 0; r < m; r++) dot += (A[r * k + i] as number) * (A[r * k + j] as number);
        if (dot === 0) continue;
        for (let r = 0; r < m; r++) A[r * k + j] = (A[r * k + j] as number) - dot * (A[r * k + i] as number);
      }
      let norm = 0;
      for (let r = 0; r < m; r++) norm += (A[r * k + j] as number) ** 2;
      norm = Math.sqrt(norm);
      const inv = norm > 1e-12 ? 1 / norm : 0;
      for (let r = 0; r < m; r++) A[r * k + j] = (A[r * k + j] as number) * inv;
    }
  }
}

/**
 * Eigen-decomposition of a symmetric matrix S [k, k] by cyclic Jacobi rotations.
 * @returns eigenvalues in descending order and the matching eigenvectors as COLUMNS of `vectors` [k, k]
 */
export function symmetricEigen(S: Float64Array, k: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(S);
  const v = new Float64Array(k * k);
  for (let i = 0; i < k; i++) v[i * k + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) off += (a[i * k + j] as number) ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < k; p++) {
      for (let q = p + 1; q < k; q++) {
        const apq = a[p * k + q] as number;
        if (Math.abs(apq) < 1e-300) continue;
        const app = a[p * k + p] as number;
        const aqq = a[q * k + q] as number;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let r = 0; r < k; r++) {
          const arp = a[r * k + p] as number;
          const arq = a[r * k + q] as number;
          a[r * k + p] = c * arp - s * arq;
          a[r * k + q] = s * arp + c * arq;
        }
        for (let r = 0; r < k; r++) {
          const apr = a[p * k + r] as number;
          const aqr = a[q * k + r] as number;
          a[p * k + r] = c * apr - s * aqr;
          a[q * k + r] = s * apr + c * aqr;
        }
        for (let r = 0; r < k; r++) {
          const vrp = v[r * k + p] as number;
          const vrq = v[r * k + q] as number;
          v[r * k + p] = c * vrp - s * vrq;
          v[r * k + q] = s * vrp + c * vrq;
        }
      }
    }
  }
  const order = [...Array(k).keys()].sort((x, y) => (a[y * k + y] as number) - (a[x * k + x] as number));
  const values = new Float64Array(k);
  const vectors = new Float64Array(k * k);
  order.forEach((src, dst) => {
    values[dst] = a[src * k + src] as number;
    for (let r = 0; r < k; r++) vectors[r * k + dst] = v[r * k + src] as number;
  });
  return { values, vectors };
}

/** Gaussian random matrix [m, k]. */
export function gaussian(m: number, k: number, rng: Rng): Float64Array {
  const out = new Float64Array(m * k);
  for (let i = 0; i < out.length; i++) out[i] = rng.normal();
  return out;
}

/** Makes each column's largest-magnitude entry positive, so signs do not depend on the random start. */
export function fixSigns(V: Float64Array, m: number, k: number): void {
  for (let j = 0; j < k; j++) {
    let best = 0;
    for (let r = 0; r < m; r++) if (Math.abs(V[r * k + j] as number) > Math.abs(best)) best = V[r * k + j] as number;
    if (best < 0) for (let r = 0; r < m; r++) V[r * k + j] = -(V[r * k + j] as number);
  }
}

/** Result of a truncated SVD X ~ U diag(s) V^T. */
export interface TruncatedSvd {
  rank: number;
  /** [rank] singular values, descending. */
  s: Float64Array;
  /** [cols, rank] right singular vectors as columns. */
  V: Float64Array;
}

/**
 * Randomized truncated SVD of a sparse matrix (Halko, Martinsson, Tropp 2011, algorithm 4.4 with
 * subspace (power) iterations). rank is capped at min(rows, cols).
 */
export function randomizedSvd(
  X: Csr,
  rank: number,
  rng: Rng,
  opts: { oversample?: number; powerIters?: number } = {},
): TruncatedSvd {
  const r = Math.max(1, Math.min(rank, X.rows, X.cols));
  const k = Math.min(r + (opts.oversample ?? 10), X.rows, X.cols);
  const q = opts.powerIters ?? 4;
  const progress = track(`truncated SVD (${X.rows} x ${X.cols}, rank ${r})`, q + 2, { unit: 'pass' });
  let Y = csrMul(X, gaussian(X.cols, k, rng), k);
  orthonormalize(Y, X.rows, k);
  progress.update(1);
  for (let it = 0; it < q; it++) {
    const Z = csrMulT(X, Y, k);
    orthonormalize(Z, X.cols, k);
    Y = csrMul(X, Z, k);
    orthonormalize(Y, X.rows, k);
    progress.update(it + 2);
  }
  // B = Q^T X [k, cols]; stored transposed as Bt = X^T Q [cols, k].
  const Bt = csrMulT(X, Y, k);
  const BBt = gramT(Bt, k, Bt, k, X.cols);
  const { values, vectors } = symmetricEigen(BBt, k);
  const s = new Float64Array(r);
  const V = new Float64Array(X.cols * r);
  const W = matMul(Bt, X.cols, k, vectors, k);
  for (let j = 0; j < r; j++) {
    const sv = Math.sqrt(Math.max(0, values[j] as number));
    s[j] = sv;
    const inv = sv > 1e-12 ? 1 / sv : 0;
    for (let c = 0; c < X.cols; c++) V[c * r + j] = (W[c * k + j] as number) * inv;
  }
  fixSigns(V, X.cols, r);
  progress.done();
  return { rank: r, s, V };
}

/**
 * Top-m eigenvectors of a symmetric positive semi-definite operator (subspace iteration followed by a
 * Rayleigh-Ritz step). `apply(B, k)` multiplies the operator [n, n] with B [n, k].
 * @returns eigenvalues (descending) and eigenvectors as columns of an [n, m] matrix
 */
export function topEigenvectors(
  apply: (B: Float64Array, k: number) => Float64Array,
  n: number,
  m: number,
  rng: Rng,
  iters = 60,
): { values: Float64Array; vectors: Float64Array } {
  const k = Math.min(m, n);
  const Q = gaussian(n, k, rng);
  orthonormalize(Q, n, k);
  let cur = Q;
  for (let it = 0; it < iters; it++) {
    cur = apply(cur, k);
    orthonormalize(cur, n, k);
  }
  const AQ = apply(cur, k);
  const T = gramT(cur, k, AQ, k, n);
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++) {
      const avg = ((T[i * k + j] as number) + (T[j * k + i] as number)) / 2;
      T[i * k + j] = avg;
      T[j * k + i] = avg;
    }
  }
  const { values, vectors } = symmetricEigen(T, k);
  const V = matMul(cur, n, k, vectors, k);
  fixSigns(V, n, k);
  return { values, vectors: V };
}
