/**
 * `rqvae`: TIGER's semantic IDs (Rajput et al. 2023, "Recommender Systems with Generative
 * Retrieval"): an RQ-VAE over item text embeddings, 3 levels x 256 codes, latent 32, MLP
 * encoder/decoder, commitment beta 0.25, codebooks initialised by k-means, then a 4th level that
 * breaks collisions (collision mode selectable).
 * Defaults: dead codes are re-seeded during training and collisions are resolved by Sinkhorn
 * re-assignment on the last level (the configuration measured best on Beauty; docs/RESULTS.md).
 * Differences from the paper: TF-IDF + LSA text features by default instead of Sentence-T5 (external
 * embeddings can be given); Adam for a few hundred epochs instead of Adagrad for 20k (sized for a
 * 2-core CPU); the model details in indexer/quant/rqvae-model.ts.
 */

import { featureProblems } from './quant/features.js';
import {
  fitRqVaeScheme,
  loadRqVaeItemEncoder,
  RQVAE_SPEC_BASE,
  type RqVaeSchemeConfig,
  rqVaeProblems,
} from './quant/rq-scheme.js';
import { COLLISIONS_FIELD, resolveConfig } from './shared/config.js';
import type { IndexingScheme } from './types.js';

/** Config of the rqvae scheme. */
export type RqVaeConfig = RqVaeSchemeConfig;

/** Documented defaults of rqvae (sized to train on Beauty in minutes on 2 CPU cores). */
export const RQVAE_DEFAULTS: RqVaeConfig = {
  levels: 3,
  size: 256,
  hidden: '512,256,128',
  latentDim: 32,
  beta: 0.25,
  epochs: 100,
  batchSize: 512,
  learningRate: 1e-3,
  kmeansInit: true,
  deadCodeReset: true,
  maxTrainSeconds: 0,
  textDim: 128,
  embeddings: '',
  embeddingIds: '',
  collisions: 'sinkhorn',
};

/** The rqvae scheme (TIGER). */
export const rqvae: IndexingScheme<RqVaeConfig> = {
  name: 'rqvae',
  description: "RQ-VAE over item text embeddings, 3 x 256 codes + a dedup level (TIGER's semantic IDs)",
  defaults: RQVAE_DEFAULTS,
  resolve(partial) {
    return resolveConfig('rqvae', this.defaults, { ...RQVAE_SPEC_BASE, collisions: COLLISIONS_FIELD }, partial, (c) => [
      ...rqVaeProblems(c),
      ...featureProblems(c),
    ]);
  },
  fit(input, c) {
    return fitRqVaeScheme(input, c);
  },
  loadEncoder(dir) {
    return loadRqVaeItemEncoder(dir);
  },
};
