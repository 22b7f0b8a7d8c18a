/**
 * `collaborative` (CID in Hua et al. 2023): recursive spectral clustering of the item co-occurrence
 * graph of the TRAINING sequences (items within `window` positions of each other in a user's
 * sequence are linked). Each level splits a cluster into `clusters` (N) sub-clusters until a cluster
 * holds at most `maxLeaf` (k) items; the cluster path is the code, and a suffix (dedup) level numbers
 * the items of each leaf. Items that co-occur often share long prefixes.
 *
 * Differences from the paper: CID codes have variable length; here codes have a fixed length, so a
 * leaf reached above the deepest level is padded with 0 (unambiguous: a leaf has no sub-clusters).
 * The eigenvectors come from subspace iteration rather than a full eigensolver (see shared/spectral.ts).
 */

import { type ConfigSpec, defaultsOf, resolveConfig } from '../src/core/config.js';
import type { Rng } from '../src/core/rng.js';
import type { Item, ItemId } from '../src/core/types.js';
import { finalizeCodes } from './shared/collisions.js';
import { COLLISIONS_FIELD } from './shared/config.js';
import { cooccurrenceGraph } from './shared/graph.js';
import type { Csr } from './shared/linalg.js';
import { spectralTree } from './shared/spectral.js';
import type { CollisionMode, IndexingScheme } from './types.js';

/** The clustering part of the collaborative config (shared with hybrid). */
export interface CidOptions {
  /** Clusters per split (N). Default 16. */
  clusters: number;
  /** A cluster with at most this many items is not split further (k). Default 64. */
  maxLeaf: number;
  /** Maximum cluster levels. Default 6. */
  maxDepth: number;
  /** Co-occurrence window in sequence positions. Default 3. */
  window: number;
  /** Subspace iterations per spectral split. Default 40. */
  iters: number;
}

/** Config of the collaborative scheme. */
export interface CollaborativeConfig extends CidOptions {
  /** Collision handling (the suffix level numbers the items of a leaf). Default dedup-level. */
  collisions: CollisionMode;
}

/** Specs of the CID options (shared with hybrid). */
export const CID_SPEC: ConfigSpec<CidOptions> = {
  clusters: { kind: 'int', default: 16, min: 2, max: 4096, doc: 'clusters per split (N)' },
  maxLeaf: { kind: 'int', default: 64, min: 1, doc: 'largest cluster that is not split further (k)' },
  maxDepth: { kind: 'int', default: 6, min: 1, max: 32, doc: 'maximum cluster levels' },
  window: { kind: 'int', default: 3, min: 1, max: 1000, doc: 'co-occurrence window in sequence positions' },
  iters: { kind: 'int', default: 40, min: 1, max: 1000, doc: 'subspace iterations per spectral split' },
};

const SPEC: ConfigSpec<CollaborativeConfig> = { ...CID_SPEC, collisions: COLLISIONS_FIELD };

/**
 * Cluster-path codes of `nodes` (catalogue positions; all items by default) in the graph A, padded with
 * 0 to the deepest level. At least one split is made whenever there are more nodes than clusters.
 * @returns one code per node and the number of levels (>= 1)
 */
export function cidCodes(
  A: Csr,
  o: CidOptions,
  rng: Rng,
  nodes?: readonly number[],
): { codes: number[][]; levels: number } {
  const ns = nodes ?? [...Array(A.rows).keys()];
  const paths = spectralTree(A, ns, { ...o, maxLeaf: Math.max(o.maxLeaf, 1) }, rng, 1);
  const levels = Math.max(1, ...paths.map((p) => p.length));
  return { codes: paths.map((p) => [...p, ...new Array<number>(levels - p.length).fill(0)]), levels };
}

/** The co-occurrence graph of the catalogue from training sequences. */
export function trainGraph(items: readonly Item[], train: readonly (readonly ItemId[])[], window: number): Csr {
  return cooccurrenceGraph(items, train, window);
}

/** The collaborative scheme (CID). */
export const collaborative: IndexingScheme<CollaborativeConfig> = {
  name: 'collaborative',
  description: 'recursive spectral clustering of the training co-occurrence graph plus a suffix level (CID)',
  spec: SPEC,
  defaults: defaultsOf(SPEC),
  resolve(partial) {
    return resolveConfig('collaborative', SPEC, partial);
  },
  async fit(input, c) {
    const startedAt = performance.now();
    const A = trainGraph(input.items, input.trainSequences, c.window);
    const { codes, levels } = cidCodes(A, c, input.rng);
    input.log?.(`collaborative: ${levels} cluster levels over ${A.indices.length / 2} co-occurrence edges`);
    const { table, diagnostics } = finalizeCodes(codes, new Array<number>(levels).fill(c.clusters), c.collisions, {
      items: input.items,
      startedAt,
      dedup: 'always',
      extra: { graphEdges: A.indices.length / 2 },
    });
    return { table, diagnostics };
  },
};
