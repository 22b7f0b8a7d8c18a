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

import { defaultsOf, resolveConfig } from '../src/core/config.js';
import {
  fitRqVaeScheme,
  loadRqVaeItemEncoder,
  RQVAE_RULES,
  RQVAE_SPEC,
  type RqVaeSchemeConfig,
} from './quant/rq-scheme.js';
import type { IndexingScheme } from './types.js';

/** Config of the rqvae scheme. */
export type RqVaeConfig = RqVaeSchemeConfig;

/** The rqvae scheme (TIGER). */
export const rqvae: IndexingScheme<RqVaeConfig> = {
  name: 'rqvae',
  description: "RQ-VAE over item text embeddings, 3 x 256 codes + a dedup level (TIGER's semantic IDs)",
  spec: RQVAE_SPEC,
  defaults: defaultsOf(RQVAE_SPEC),
  resolve(partial) {
    return resolveConfig('rqvae', RQVAE_SPEC, partial, { rules: RQVAE_RULES });
  },
  fit(input, c) {
    return fitRqVaeScheme(input, c);
  },
  loadEncoder(dir) {
    return loadRqVaeItemEncoder(dir);
  },
};
