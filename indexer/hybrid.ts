/**
 * `hybrid`: combinations of semantic and collaborative codes (Hua et al. 2023 found CID+IID best).
 * - `cid+iid`: the collaborative cluster path (see collaborative.ts) followed by one atomic level that
 *   names the item (size = catalogue size). Unique by construction, no dedup level.
 * - `text+cid`: a semantic prefix, then collaborative levels: item text embeddings (TF-IDF + LSA,
 *   features/text.ts) are clustered by residual k-means into `prefixLevels` levels of `prefixClusters`
 *   codes; inside every semantic cluster the co-occurrence graph restricted to its items is clustered
 *   recursively (CID); a suffix level numbers the items of each leaf.
 * Text embeddings are TF-IDF + LSA by default, or external ones (`embeddings`, as for rqkmeans).
 * - `rq-fused`: residual k-means (indexer/quant/residual.ts) over fused embeddings, the L2-normalised
 *   text embedding scaled by sqrt(1 - collabWeight) concatenated with an L2-normalised collaborative
 *   embedding scaled by sqrt(collabWeight). The collaborative embedding is either `learned` (a
 *   next-item model trained with TensorFlow.js on the training sequences, features/collab.ts) or
 *   `spectral` (top `collabDim` eigenvectors of the training co-occurrence graph's normalised
 *   adjacency, no training).
 *   Collisions are handled by the chosen mode, with last-level distances for `sinkhorn`.
 * All collaborative signal comes from the TRAINING sequences only.
 */
import { type ConfigSpec, defaultsOf, resolveConfig } from '../src/core/config.js';
import type { Rng } from '../src/core/rng.js';
import type { Item } from '../src/core/types.js';
import { CID_SPEC, type CidOptions, cidCodes, trainGraph } from './collaborative.js';
import { learnCollabEmbeddings } from './features/collab.js';
import { l2NormalizeRows } from './features/text.js';
import { FEATURE_RULE, type FeatureConfig, featureFields, itemVectors } from './quant/features.js';
import { fitResidualKmeans } from './quant/residual.js';
import { finalizeCodes } from './shared/collisions.js';
import { COLLISIONS_FIELD } from './shared/config.js';
import { sqDistances } from './shared/kmeans.js';
import { spectralEmbedding } from './shared/spectral.js';
import type { CollisionMode, IndexingScheme } from './types.js';

/** The hybrid variants. */
export type HybridVariant = 'cid+iid' | 'text+cid' | 'rq-fused';

/** Config of the hybrid scheme. */
export interface HybridConfig extends CidOptions, FeatureConfig {
  /** Which combination. Default cid+iid. */
  variant: HybridVariant;
  /** text+cid: codes per semantic prefix level. Default 16. */
  prefixClusters: number;
  /** text+cid: semantic prefix levels (residual k-means). Default 1. */
  prefixLevels: number;
  /** rq-fused: residual k-means levels. Default 3. */
  rqLevels: number;
  /** rq-fused: codes per level. Default 256. */
  rqSize: number;
  /** rq-fused: collaborative embedding dimension. Default 32. */
  collabDim: number;
  /** rq-fused: where the collaborative embedding comes from. Default learned. */
  collabSource: 'learned' | 'spectral';
  /** rq-fused, learned: training epochs of the collaborative model. Default 8. */
  collabEpochs: number;
  /** rq-fused: weight of the collaborative part (0 = text only, 1 = collaborative only). Default 0.5. */
  collabWeight: number;
  /** rq-fused: balanced k-means at every level. Default false. */
  balanced: boolean;
  /** Collision handling. Default dedup-level. */
  collisions: CollisionMode;
}

const SPEC: ConfigSpec<HybridConfig> = {
  variant: {
    kind: 'enum',
    values: ['cid+iid', 'text+cid', 'rq-fused'],
    default: 'cid+iid',
    doc: 'which combination of codes',
  },
  ...CID_SPEC,
  ...featureFields(64, 1),
  prefixClusters: { kind: 'int', default: 16, min: 2, max: 65536, doc: 'text+cid: codes per semantic prefix level' },
  prefixLevels: { kind: 'int', default: 1, min: 1, max: 8, doc: 'text+cid: semantic prefix levels' },
  rqLevels: { kind: 'int', default: 3, min: 1, max: 16, doc: 'rq-fused: residual k-means levels' },
  rqSize: { kind: 'int', default: 256, min: 2, max: 65536, doc: 'rq-fused: codes per level' },
  collabDim: {
    kind: 'int',
    default: 32,
    min: 1,
    max: 1024,
    doc: 'rq-fused: collaborative (spectral) embedding dimension',
  },
  collabSource: {
    kind: 'enum',
    values: ['learned', 'spectral'],
    default: 'learned',
    doc: 'rq-fused: collaborative embedding learned with TensorFlow.js, or spectral (co-occurrence graph eigenvectors)',
  },
  collabEpochs: {
    kind: 'int',
    default: 8,
    min: 0,
    max: 1000,
    doc: 'rq-fused, learned: training epochs of the collaborative model',
  },
  collabWeight: { kind: 'number', default: 0.5, min: 0, max: 1, doc: 'rq-fused: weight of the collaborative part' },
  balanced: { kind: 'bool', default: false, doc: 'rq-fused: balanced k-means at every level' },
  collisions: COLLISIONS_FIELD,
};

/** Concatenates two row-major matrices scaled by a and b. @returns [n, da + db] float32 */
function concatScaled(
  A: Float32Array,
  da: number,
  a: number,
  B: Float32Array,
  db: number,
  b: number,
  n: number,
): Float32Array {
  const out = new Float32Array(n * (da + db));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < da; j++) out[i * (da + db) + j] = (A[i * da + j] as number) * a;
    for (let j = 0; j < db; j++) out[i * (da + db) + da + j] = (B[i * db + j] as number) * b;
  }
  return out;
}

async function textPrefix(items: readonly Item[], c: HybridConfig, rng: Rng) {
  const { data: embeddings, dim } = await itemVectors(items, c, rng);
  const sizes = new Array<number>(c.prefixLevels).fill(c.prefixClusters);
  const fit = fitResidualKmeans(embeddings, items.length, dim, { levelSizes: sizes }, rng);
  const L = c.prefixLevels;
  const codes = items.map((_, i) => Array.from(fit.codes.subarray(i * L, (i + 1) * L)));
  return { codes, sizes };
}

/** The hybrid scheme. */
export const hybrid: IndexingScheme<HybridConfig> = {
  name: 'hybrid',
  description:
    'combined codes: cid+iid, text+cid (semantic prefix + collaborative levels), rq-fused (RQ over text + collaborative embeddings)',
  spec: SPEC,
  defaults: defaultsOf(SPEC),
  resolve(partial) {
    return resolveConfig('hybrid', SPEC, partial, { rules: [FEATURE_RULE] });
  },
  async fit(input, c) {
    const startedAt = performance.now();
    const { items, rng } = input;
    const n = items.length;
    const A = trainGraph(items, input.trainSequences, c.window);
    if (c.variant === 'cid+iid') {
      const { codes, levels } = cidCodes(A, c, rng);
      const raw = codes.map((code, i) => [...code, i]);
      const { table, diagnostics } = finalizeCodes(
        raw,
        [...new Array<number>(levels).fill(c.clusters), Math.max(1, n)],
        c.collisions,
        {
          items,
          startedAt,
          extra: { variant: c.variant },
        },
      );
      return { table, diagnostics };
    }
    if (c.variant === 'text+cid') {
      const prefix = await textPrefix(items, c, rng);
      const groups = new Map<string, number[]>();
      prefix.codes.forEach((p, i) => {
        const k = p.join(',');
        const g = groups.get(k);
        if (g) g.push(i);
        else groups.set(k, [i]);
      });
      const tails: number[][] = new Array(n);
      let levels = 1;
      for (const members of groups.values()) {
        const r = cidCodes(A, c, rng, members);
        members.forEach((i, r2) => {
          tails[i] = r.codes[r2] as number[];
        });
        levels = Math.max(levels, r.levels);
      }
      const raw = prefix.codes.map((p, i) => {
        const t = tails[i] as number[];
        return [...p, ...t, ...new Array<number>(levels - t.length).fill(0)];
      });
      const sizes = [...prefix.sizes, ...new Array<number>(levels).fill(c.clusters)];
      const { table, diagnostics } = finalizeCodes(raw, sizes, c.collisions, {
        items,
        startedAt,
        dedup: 'always',
        extra: { variant: c.variant },
      });
      return { table, diagnostics };
    }
    // rq-fused
    const vec = await itemVectors(items, c, rng);
    const text = { embeddings: l2NormalizeRows(new Float32Array(vec.data), vec.dim), dim: vec.dim };
    const cd = Math.min(c.collabDim, n);
    const collab =
      c.collabSource === 'spectral'
        ? spectralEmbedding(A, cd, rng, c.iters)
        : l2NormalizeRows(
            await learnCollabEmbeddings(
              input.trainSequences,
              items,
              { dim: cd, epochs: c.collabEpochs, ...(input.log ? { log: input.log } : {}) },
              rng,
            ),
            cd,
          );
    const fused = concatScaled(
      text.embeddings,
      text.dim,
      Math.sqrt(1 - c.collabWeight),
      collab,
      cd,
      Math.sqrt(c.collabWeight),
      n,
    );
    const d = text.dim + cd;
    const sizes = new Array<number>(c.rqLevels).fill(c.rqSize);
    const fit = fitResidualKmeans(fused, n, d, { levelSizes: sizes, balanced: c.balanced, log: input.log }, rng);
    const L = c.rqLevels;
    const raw = items.map((_, i) => Array.from(fit.codes.subarray(i * L, (i + 1) * L)));
    // Distances of every item's last residual to the last codebook, for sinkhorn re-assignment.
    const partial = fit.quantizer.reconstruct(fit.codes, n, L - 1);
    const residual = new Float32Array(fused.length);
    for (let j = 0; j < fused.length; j++) residual[j] = (fused[j] as number) - (partial[j] as number);
    const lastLevelDistances = sqDistances(residual, n, d, fit.quantizer.codebooks[L - 1] as Float32Array, c.rqSize);
    const { table, diagnostics } = finalizeCodes(raw, sizes, c.collisions, {
      items,
      startedAt,
      lastLevelDistances,
      extra: {
        variant: c.variant,
        reconstructionError: fit.errorByLevel.at(-1),
        reconstructionErrorByLevel: fit.errorByLevel,
        collabSource: c.collabSource,
      },
    });
    return { table, diagnostics, itemEmbeddings: { dim: d, data: fused } };
  },
};
