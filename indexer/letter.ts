/**
 * `letter`: LETTER (Wang et al. 2024, "Learnable Item Tokenization for Generative Recommendation"):
 * the RQ-VAE of `rqvae` plus
 *  (a) a collaborative regulariser: in-batch InfoNCE between each item's quantised embedding
 *      (projected to the collaborative dimension) and its collaborative embedding, weight `alpha`;
 *  (b) a diversity regulariser: every epoch the code embeddings of each level are clustered into
 *      `diversityClusters` groups; for each assignment, a random other code of the same group is the
 *      positive of a softmax over all codes of the level (the code itself masked), weight `diversityWeight`;
 *  (c) Sinkhorn uniform assignment on the last level while training, and Sinkhorn re-assignment of
 *      colliding items on the last level (collisions: "sinkhorn") when building the index.
 * Differences from the reference implementation (HonghuiBao2000/LETTER): collaborative embeddings
 * come from indexer/features/collab.ts (a mean-pooled next-item model trained on the TRAIN split)
 * instead of a pretrained SASRec; the InfoNCE uses L2-normalised vectors, a learned projection and a
 * temperature (the reference takes raw dot products of 32-d vectors); code groups come from balanced
 * k-means instead of size-constrained k-means; 3 learned levels + collision handling instead of 4
 * learned levels; TF-IDF + LSA text features by default instead of LLaMA embeddings.
 */

import { type ConfigSpec, defaultsOf, resolveConfig } from '../src/core/config.js';
import { learnCollabEmbeddings } from './features/collab.js';
import {
  fitRqVaeScheme,
  loadRqVaeItemEncoder,
  RQVAE_RULES,
  RQVAE_SPEC,
  type RqVaeSchemeConfig,
} from './quant/rq-scheme.js';
import { collisionsField } from './shared/config.js';
import type { IndexingScheme } from './types.js';

/** Config of the letter scheme. */
export interface LetterConfig extends RqVaeSchemeConfig {
  /** Weight of the collaborative InfoNCE loss. Default 0.02. */
  alpha: number;
  /** InfoNCE temperature. Default 0.1. */
  temperature: number;
  /** Weight of the diversity loss. Default 0.01. */
  diversityWeight: number;
  /** Groups of code embeddings per level for the diversity loss. Default 10 (as LETTER). */
  diversityClusters: number;
  /** Sinkhorn epsilon on the last level, relative to the distance range scaled to [0, 1]. Default 0.003. */
  sinkhornEpsilon: number;
  sinkhornIters: number;
  /** Collaborative embedding dimension. Default 32 (as LETTER). */
  collabDim: number;
  /** Epochs of the collaborative model. Default 5. */
  collabEpochs: number;
}

const SPEC: ConfigSpec<LetterConfig> = {
  ...RQVAE_SPEC,
  collisions: collisionsField('sinkhorn'),
  alpha: { kind: 'number', default: 0.02, min: 0, max: 100, doc: 'collaborative InfoNCE weight' },
  temperature: { kind: 'number', default: 0.1, min: 1e-4, max: 100, doc: 'InfoNCE temperature' },
  diversityWeight: { kind: 'number', default: 0.01, min: 0, max: 100, doc: 'diversity loss weight' },
  diversityClusters: {
    kind: 'int',
    default: 10,
    min: 2,
    max: 1024,
    doc: 'groups of code embeddings per level for the diversity loss',
  },
  sinkhornEpsilon: {
    kind: 'number',
    default: 0.003,
    min: 1e-5,
    max: 10,
    doc: 'Sinkhorn epsilon on the last level (distances scaled to [0, 1])',
  },
  sinkhornIters: { kind: 'int', default: 50, min: 1, max: 10000, doc: 'Sinkhorn iterations' },
  collabDim: { kind: 'int', default: 32, min: 2, max: 1024, doc: 'collaborative embedding dimension' },
  collabEpochs: {
    kind: 'int',
    default: 5,
    min: 0,
    max: 1000,
    doc: 'epochs of the collaborative (next-item) model on the train split',
  },
};

/** The letter scheme. */
export const letter: IndexingScheme<LetterConfig> = {
  name: 'letter',
  description: 'RQ-VAE + collaborative and diversity regularisers + Sinkhorn last level (LETTER, Wang et al. 2024)',
  spec: SPEC,
  defaults: defaultsOf(SPEC),
  resolve(partial) {
    return resolveConfig('letter', SPEC, partial, { rules: RQVAE_RULES });
  },
  fit(input, c) {
    return fitRqVaeScheme(input, c, {
      sinkhorn: { epsilon: c.sinkhornEpsilon, iters: c.sinkhornIters },
      letter: async () => {
        const t0 = performance.now();
        const cf = await learnCollabEmbeddings(
          input.trainSequences,
          input.items,
          { dim: c.collabDim, epochs: c.collabEpochs, ...(input.log ? { log: input.log } : {}) },
          input.rng,
        );
        input.log?.(`letter: collaborative embeddings in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        return {
          cf,
          cfDim: c.collabDim,
          alpha: c.alpha,
          temperature: c.temperature,
          diversityWeight: c.diversityWeight,
          diversityClusters: c.diversityClusters,
        };
      },
    });
  },
  loadEncoder(dir) {
    return loadRqVaeItemEncoder(dir);
  },
};
