/**
 * `rqkmeans`: residual k-means over item text embeddings (RQ-KMeans as used by GRID, Ju et al. 2025,
 * and OneRec, Deng et al. 2025): level l clusters the residuals left by levels 0..l-1; the code is
 * the tuple of cluster indices, then collision handling makes it unique (default: TIGER's extra
 * dedup level). `balanced: true` gives equal-size clusters at every level (OneRec's balanced
 * variant), here via a Sinkhorn plan rounded under capacities rather than OneRec's greedy fill.
 * Differences: features default to offline TF-IDF + LSA text embeddings instead of a pretrained LLM
 * (external embeddings can be given); k-means runs a bounded number of Lloyd iterations.
 */

import { type ConfigSpec, defaultsOf, resolveConfig } from '../src/core/config.js';
import {
  FEATURE_RULE,
  type FeatureConfig,
  featureFields,
  itemVectors,
  loadFeatureEncoder,
  saveFeatures,
} from './quant/features.js';
import { fitResidualKmeans, ResidualQuantizer, subtractAssigned } from './quant/residual.js';
import { finalizeCodes } from './shared/collisions.js';
import { COLLISIONS_FIELD } from './shared/config.js';
import { sqDistances } from './shared/kmeans.js';
import type { CollisionMode, IndexingScheme, ItemEncoder } from './types.js';

/** Config of the rqkmeans scheme. */
export interface RqKmeansConfig extends FeatureConfig {
  /** Learned levels. Default 3. */
  levels: number;
  /** Codebook size of every learned level. Default 256. */
  size: number;
  /** Maximum Lloyd iterations per level. Default 20. */
  iters: number;
  /** Equal-size clusters at every level. Default false. */
  balanced: boolean;
  /** Collision handling. Default dedup-level. */
  collisions: CollisionMode;
}

const SPEC: ConfigSpec<RqKmeansConfig> = {
  levels: { kind: 'int', default: 3, min: 1, max: 8, doc: 'learned levels (a dedup level may be appended)' },
  size: { kind: 'int', default: 256, min: 2, max: 65536, doc: 'codebook size of every learned level' },
  iters: { kind: 'int', default: 20, min: 1, max: 1000, doc: 'maximum Lloyd iterations per level' },
  balanced: { kind: 'bool', default: false, doc: 'equal-size clusters at every level (balanced k-means)' },
  ...featureFields(128),
  collisions: COLLISIONS_FIELD,
};

/** The rqkmeans scheme. */
export const rqkmeans: IndexingScheme<RqKmeansConfig> = {
  name: 'rqkmeans',
  description: 'residual k-means over item text embeddings, optionally balanced (GRID / OneRec RQ-KMeans)',
  spec: SPEC,
  defaults: defaultsOf(SPEC),
  resolve(partial) {
    return resolveConfig('rqkmeans', SPEC, partial, { rules: [FEATURE_RULE] });
  },
  async fit(input, c) {
    const startedAt = performance.now();
    const vec = await itemVectors(input.items, c, input.rng, input.log);
    const n = input.items.length;
    const sizes = new Array<number>(c.levels).fill(c.size);
    const fit = fitResidualKmeans(
      vec.data,
      n,
      vec.dim,
      { levelSizes: sizes, iters: c.iters, balanced: c.balanced, ...(input.log ? { log: input.log } : {}) },
      input.rng,
    );
    const raw: number[][] = [];
    for (let i = 0; i < n; i++) raw.push(Array.from(fit.codes.subarray(i * c.levels, (i + 1) * c.levels)));
    let lastLevelDistances: Float32Array | undefined;
    if (c.collisions === 'sinkhorn') {
      // residual entering the last level, against the last codebook
      const res = new Float32Array(vec.data);
      for (let l = 0; l < c.levels - 1; l++) {
        const assign = Int32Array.from(raw, (code) => code[l] as number);
        subtractAssigned(res, n, vec.dim, fit.quantizer.codebooks[l] as Float32Array, assign);
      }
      lastLevelDistances = sqDistances(res, n, vec.dim, fit.quantizer.codebooks[c.levels - 1] as Float32Array, c.size);
    }
    const { table, diagnostics } = finalizeCodes(raw, sizes, c.collisions, {
      items: input.items,
      startedAt,
      ...(lastLevelDistances ? { lastLevelDistances } : {}),
      extra: {
        reconstructionError: fit.errorByLevel[c.levels],
        reconstructionErrorByLevel: fit.errorByLevel,
        featureSource: vec.source,
        featureDim: vec.dim,
      },
    });
    return {
      table,
      diagnostics,
      itemEmbeddings: { dim: vec.dim, data: vec.data },
      saveState: async (dir) => {
        await saveFeatures(dir, vec);
        await fit.quantizer.save(dir, 'rq_');
      },
    };
  },
  async loadEncoder(dir): Promise<ItemEncoder> {
    const feats = await loadFeatureEncoder(dir);
    const q = await ResidualQuantizer.load(dir, 'rq_');
    return {
      encode: async (items) => {
        const x = await feats.embed(items);
        const codes = q.encode(x, items.length);
        return items.map((_, i) => Array.from(codes.subarray(i * q.levels, (i + 1) * q.levels)));
      },
    };
  },
};
