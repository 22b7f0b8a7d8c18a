/**
 * What the `rqvae` and `letter` schemes share: config fields, fitting (features -> RQ-VAE training
 * -> nearest codes -> collision handling), saving and loading the encoder for new items.
 */

import type { ConfigRule, ConfigSpec } from '../../src/core/config.js';
import { SemidError } from '../../src/core/errors.js';
import type { Item } from '../../src/core/types.js';
import { finalizeCodes } from '../shared/collisions.js';
import { collisionsField } from '../shared/config.js';
import type { CollisionMode, FitInput, FittedIndex, ItemEncoder } from '../types.js';
import {
  FEATURE_RULE,
  type FeatureConfig,
  featureFields,
  itemVectors,
  loadFeatureEncoder,
  saveFeatures,
} from './features.js';
import { type LetterTerms, RqVaeEncoder, type RqVaeTrainConfig, trainRqVae } from './rqvae-model.js';

/** Config fields common to rqvae and letter. */
export interface RqVaeSchemeConfig extends FeatureConfig {
  /** Learned levels. Default 3. */
  levels: number;
  /** Codebook size of every learned level. Default 256. */
  size: number;
  /** Encoder hidden sizes, comma separated (the decoder mirrors them). Default "512,256,128". */
  hidden: string;
  latentDim: number;
  /** Commitment weight. Default 0.25. */
  beta: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  kmeansInit: boolean;
  deadCodeReset: boolean;
  /** Safety cap on training seconds (0 = none); reaching it is reported in diagnostics. */
  maxTrainSeconds: number;
  collisions: CollisionMode;
}

/**
 * The common fields, with the rqvae defaults (sized to train on Beauty in minutes on 2 CPU cores).
 * letter spreads them with its own `collisions`.
 */
export const RQVAE_SPEC: ConfigSpec<RqVaeSchemeConfig> = {
  levels: { kind: 'int', default: 3, min: 1, max: 8, doc: 'learned levels (a dedup level may be appended)' },
  size: { kind: 'int', default: 256, min: 2, max: 4096, doc: 'codebook size of every learned level' },
  hidden: {
    kind: 'string',
    default: '512,256,128',
    nonEmpty: true,
    doc: 'encoder hidden layer sizes, comma separated (decoder mirrors them)',
  },
  latentDim: { kind: 'int', default: 32, min: 1, max: 1024, doc: 'latent (code embedding) dimension' },
  beta: { kind: 'number', default: 0.25, min: 0, max: 10, doc: 'commitment loss weight' },
  epochs: { kind: 'int', default: 100, min: 1, max: 100000, doc: 'training epochs over all items' },
  batchSize: { kind: 'int', default: 512, min: 2, max: 65536, doc: 'items per mini-batch' },
  learningRate: { kind: 'number', default: 1e-3, min: 1e-7, max: 1, doc: 'Adam learning rate' },
  kmeansInit: {
    kind: 'bool',
    default: true,
    doc: 'initialise codebooks by residual k-means over the initial latents',
  },
  deadCodeReset: { kind: 'bool', default: true, doc: 'move codes unused for an epoch to random residuals' },
  maxTrainSeconds: {
    kind: 'number',
    default: 0,
    min: 0,
    doc: 'stop training after this many seconds (0 = no cap; reaching it breaks same-seed determinism and is reported)',
  },
  ...featureFields(128),
  collisions: collisionsField('sinkhorn'),
};

/** The cross-field rules of the common fields (hidden sizes, features). */
export const RQVAE_RULES: readonly ConfigRule<RqVaeSchemeConfig>[] = [
  { needs: ['hidden'], check: (c) => rqVaeProblems(c) },
  FEATURE_RULE,
];

/** Parses the `hidden` field; undefined when malformed. */
export function parseHidden(s: string): number[] | undefined {
  const parts = s.split(',').map((p) => p.trim());
  const v = parts.map(Number);
  return parts.length > 0 && v.every((x) => Number.isInteger(x) && x >= 1 && x <= 16384) ? v : undefined;
}

/** Cross-field problems of the common fields. */
export function rqVaeProblems(c: RqVaeSchemeConfig): string[] {
  return parseHidden(c.hidden)
    ? []
    : [`hidden must be comma-separated positive integers such as "512,256,128", got "${c.hidden}"`];
}

/** The training config derived from a scheme config. */
export function trainConfig(c: RqVaeSchemeConfig, sinkhorn?: { epsilon: number; iters: number }): RqVaeTrainConfig {
  return {
    hidden: parseHidden(c.hidden) ?? [],
    latentDim: c.latentDim,
    levelSizes: new Array<number>(c.levels).fill(c.size),
    beta: c.beta,
    epochs: c.epochs,
    batchSize: c.batchSize,
    learningRate: c.learningRate,
    kmeansInit: c.kmeansInit,
    kmeansIters: 10,
    deadCodeReset: c.deadCodeReset,
    lastLevelSinkhorn: sinkhorn !== undefined,
    sinkhornEpsilon: sinkhorn?.epsilon ?? 0.003,
    sinkhornIters: sinkhorn?.iters ?? 50,
    maxTrainSeconds: c.maxTrainSeconds,
  };
}

/**
 * Fits an RQ-VAE scheme: item vectors, training, nearest codes, collision handling.
 * @param letter builds LETTER's terms from the item vectors' row count (collaborative embeddings).
 */
export async function fitRqVaeScheme(
  input: FitInput,
  c: RqVaeSchemeConfig,
  opts: {
    sinkhorn?: { epsilon: number; iters: number };
    letter?: () => Promise<LetterTerms>;
    extra?: Record<string, unknown>;
  } = {},
): Promise<FittedIndex> {
  const startedAt = performance.now();
  const n = input.items.length;
  if (n < 2) throw new SemidError('SEMID_ERR_BAD_INPUT', `an RQ-VAE index needs at least 2 items, got ${n}`);
  const vec = await itemVectors(input.items, c, input.rng, input.log);
  const letter = opts.letter ? await opts.letter() : undefined;
  const trained = await trainRqVae(vec.data, n, vec.dim, trainConfig(c, opts.sinkhorn), input.rng, {
    ...(letter ? { letter } : {}),
    ...(input.log ? { log: input.log } : {}),
  });
  const { codes, lastDistances } = trained.encoder.encodeWithDistances(vec.data, n);
  const raw: number[][] = [];
  for (let i = 0; i < n; i++) raw.push(Array.from(codes.subarray(i * c.levels, (i + 1) * c.levels)));
  const first = trained.history[0];
  const last = trained.history[trained.history.length - 1];
  const { table, diagnostics } = finalizeCodes(raw, trained.encoder.levelSizes, c.collisions, {
    items: input.items,
    startedAt,
    ...(c.collisions === 'sinkhorn' ? { lastLevelDistances: lastDistances } : {}),
    extra: {
      reconstructionError: trained.reconstructionError,
      epochsRun: trained.epochsRun,
      stoppedByTimeCap: trained.stoppedByTimeCap,
      lossFirstEpoch: first,
      lossLastEpoch: last,
      featureSource: vec.source,
      featureDim: vec.dim,
      ...opts.extra,
    },
  });
  return {
    table,
    diagnostics,
    itemEmbeddings: { dim: vec.dim, data: vec.data },
    saveState: async (dir) => {
      await saveFeatures(dir, vec);
      await trained.encoder.save(dir);
    },
  };
}

/** Loads the encoder of an rqvae / letter index (features + encoder + codebooks) for new items. */
export async function loadRqVaeItemEncoder(dir: string): Promise<ItemEncoder> {
  const feats = await loadFeatureEncoder(dir);
  const enc = await RqVaeEncoder.load(dir);
  const L = enc.levelSizes.length;
  return {
    encode: async (items: readonly Item[]) => {
      const codes = enc.encode(await feats.embed(items), items.length);
      return items.map((_, i) => Array.from(codes.subarray(i * L, (i + 1) * L)));
    },
  };
}
