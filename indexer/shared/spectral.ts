/**
 * Recursive spectral clustering of a graph (Hua et al. 2023's collaborative indexing, CID): split a
 * node set into N clusters by k-means on its spectral embedding (Ng, Jordan & Weiss 2001: top
 * eigenvectors of the normalised adjacency, rows L2-normalised), and recurse into every cluster with
 * more than `maxLeaf` nodes, up to `maxDepth` levels.
 *
 * The eigenvectors come from subspace iteration on the shifted operator (I + D^-1/2 A D^-1/2) / 2,
 * whose spectrum lies in [0, 1], so power iteration converges to the top of the original spectrum.
 * Nodes without an edge inside the current node set carry no collaborative signal: they are dealt
 * to the smallest clusters (so they neither form one giant cluster nor dominate the eigenvectors).
 * If k-means cannot split a set (one cluster), it is cut into N equal chunks along the first
 * non-trivial eigenvector, so the recursion always terminates.
 */
import type { Rng } from '../../src/core/rng.js';
import { subgraph } from './graph.js';
import { kmeans } from './kmeans.js';
import { type Csr, topEigenvectors } from './linalg.js';

/** Options of the recursive clustering. */
export interface SpectralOptions {
  /** Clusters per split (N). */
  clusters: number;
  /** A cluster with at most this many nodes is a leaf (k). */
  maxLeaf: number;
  /** Depth limit: no split below this many levels. */
  maxDepth: number;
  /** Subspace iterations per split. */
  iters: number;
}

/**
 * Spectral embedding of a graph's nodes: top-m eigenvectors of the normalised adjacency, rows L2-normalised.
 * @returns [n, m] float32
 */
export function spectralEmbedding(A: Csr, m: number, rng: Rng, iters: number): Float32Array {
  const n = A.rows;
  const deg = new Float64Array(n);
  for (let i = 0; i < n; i++)
    for (let p = A.indptr[i] as number; p < (A.indptr[i + 1] as number); p++)
      deg[i] = (deg[i] as number) + (A.values[p] as number);
  const invSqrt = deg.map((d) => (d > 0 ? 1 / Math.sqrt(d) : 0));
  const apply = (B: Float64Array, k: number): Float64Array => {
    const out = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      const si = invSqrt[i] as number;
      for (let p = A.indptr[i] as number; p < (A.indptr[i + 1] as number); p++) {
        const j = A.indices[p] as number;
        const w = ((A.values[p] as number) * si * (invSqrt[j] as number)) / 2;
        for (let c = 0; c < k; c++) out[i * k + c] = (out[i * k + c] as number) + w * (B[j * k + c] as number);
      }
      for (let c = 0; c < k; c++) out[i * k + c] = (out[i * k + c] as number) + (B[i * k + c] as number) / 2;
    }
    return out;
  };
  const k = Math.min(m, n);
  const { vectors } = topEigenvectors(apply, n, k, rng, iters);
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < k; c++) s += (vectors[i * k + c] as number) ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let c = 0; c < k; c++) out[i * k + c] = (vectors[i * k + c] as number) * inv;
  }
  return out;
}

/** Splits `nodes` (positions into A) into at most N non-empty clusters; returns the cluster of each node. */
export function spectralSplit(A: Csr, nodes: readonly number[], N: number, rng: Rng, iters: number): Int32Array {
  const n = nodes.length;
  const out = new Int32Array(n);
  if (n <= N) {
    for (let i = 0; i < n; i++) out[i] = i;
    return out;
  }
  const sub = subgraph(A, nodes);
  const connected: number[] = [];
  const isolated: number[] = [];
  for (let i = 0; i < n; i++)
    ((sub.indptr[i + 1] as number) > (sub.indptr[i] as number) ? connected : isolated).push(i);
  const sizes = new Int32Array(N);
  if (connected.length > N) {
    const g = subgraph(sub, connected);
    const m = Math.min(N, connected.length);
    const emb = spectralEmbedding(g, m, rng, iters);
    const km = kmeans(emb, connected.length, m, N, rng, { iters: 30 });
    let assign: Int32Array = km.assign;
    if (new Set(assign).size < 2) {
      // Cut along the second eigenvector (the first is near-constant on a connected graph).
      const axis = m > 1 ? 1 : 0;
      const order = connected
        .map((_, i) => i)
        .sort((a, b) => (emb[a * m + axis] as number) - (emb[b * m + axis] as number) || a - b);
      assign = new Int32Array(connected.length);
      order.forEach((i, r) => {
        assign[i] = Math.floor((r * N) / connected.length);
      });
    }
    connected.forEach((i, r) => {
      const c = assign[r] as number;
      out[i] = c;
      sizes[c] = (sizes[c] as number) + 1;
    });
  } else {
    connected.forEach((i, r) => {
      out[i] = r;
      sizes[r] = (sizes[r] as number) + 1;
    });
  }
  for (const i of isolated) {
    let best = 0;
    for (let c = 1; c < N; c++) if ((sizes[c] as number) < (sizes[best] as number)) best = c;
    out[i] = best;
    sizes[best] = (sizes[best] as number) + 1;
  }
  return out;
}

/**
 * Recursive spectral clustering of `nodes`.
 * @param minDepth split at least this many levels even when a cluster is small enough (not below single nodes)
 * @returns the cluster path of every node (same order as `nodes`), each of length <= maxDepth; a
 *   node in a leaf at depth d has a path of length d.
 */
export function spectralTree(A: Csr, nodes: readonly number[], o: SpectralOptions, rng: Rng, minDepth = 0): number[][] {
  const paths: number[][] = nodes.map(() => []);
  const stack: { members: number[]; depth: number }[] = [{ members: nodes.map((_, i) => i), depth: 0 }];
  while (stack.length > 0) {
    const { members, depth } = stack.pop() as { members: number[]; depth: number };
    if (depth >= o.maxDepth || members.length <= 1) continue;
    if (members.length <= o.maxLeaf && depth >= minDepth) continue;
    const assign = spectralSplit(
      A,
      members.map((i) => nodes[i] as number),
      o.clusters,
      rng,
      o.iters,
    );
    const groups: number[][] = Array.from({ length: o.clusters }, () => []);
    members.forEach((i, r) => {
      const c = assign[r] as number;
      (paths[i] as number[]).push(c);
      (groups[c] as number[]).push(i);
    });
    for (let c = o.clusters - 1; c >= 0; c--) {
      const g = groups[c] as number[];
      if (g.length > 0) stack.push({ members: g, depth: depth + 1 });
    }
  }
  return paths;
}
