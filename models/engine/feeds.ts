/**
 * Training batches (models/batch.ts) laid out as the inputs of the training graphs (graphs.ts): int64
 * ids, the additive attention mask, per-row loss weights with the normaliser folded in, and dropout
 * masks drawn from semid's seeded RNG (so a run with the same seed draws the same masks).
 */
import * as ort from 'onnxruntime-node';
import { BOS, type TokenLayout } from '../../src/core/codes.js';
import { SemidError } from '../../src/core/errors.js';
import { createRng } from '../../src/core/rng.js';
import type { DecoderBatch, ItemBatch } from '../batch.js';
import type { ModelConfig } from '../config.js';
import { NEG, recencyCells } from '../ops.js';
import type { DropoutSite } from './net.js';

/** Named graph inputs. */
export type Feeds = Record<string, ort.Tensor>;

const i64 = (a: Int32Array, dims: readonly number[]): ort.Tensor =>
  new ort.Tensor(
    'int64',
    BigInt64Array.from(a, (v) => BigInt(v)),
    dims,
  );
const f32 = (a: Float32Array, dims: readonly number[]): ort.Tensor => new ort.Tensor('float32', a, dims);

/**
 * The additive self-attention mask [b, 1, t, t]: 0 where query i may see key j (j <= i and the key is
 * a real position), NEG elsewhere. Same values as models/transformer.ts buildMask with causal on.
 */
export function causalMask(keep: Float32Array, b: number, t: number): Float32Array {
  const m = new Float32Array(b * t * t).fill(NEG);
  for (let r = 0; r < b; r++) {
    for (let i = 0; i < t; i++) {
      const row = (r * t + i) * t;
      for (let j = 0; j <= i; j++) if (keep[r * t + j] === 1) m[row + j] = 0;
    }
  }
  return m;
}

/** Row weights over the normaliser: w_i * scale / denom. */
function rowWeights(weights: Float32Array, denom: number, scale = 1): Float32Array {
  return Float32Array.from(weights, (w) => (w * scale) / denom);
}

/** Inputs of the decoder-only training graph for `batch`, normalised by `denom` targets. */
export function decoderFeeds(batch: DecoderBatch, denom: number): Feeds {
  const { b, t } = batch;
  const n = b * t;
  return {
    tokens: i64(batch.tokens, [n]),
    pos: i64(batch.pos, [n]),
    lvl: i64(batch.lvl, [n]),
    labels: i64(batch.targets, [n]),
    weights: f32(rowWeights(batch.weights, denom), [n]),
    mask: f32(causalMask(batch.keep, b, t), [b, 1, t, t]),
  };
}

/**
 * Inputs of the item-level training graph for `batch`, normalised by `denom` targets.
 * @param catalogueFeeds the dense head's constant catalogue inputs (`catalogueFeeds`), when the head is on
 */
export function itemFeeds(
  batch: ItemBatch,
  denom: number,
  config: ModelConfig,
  layout: TokenLayout,
  catalogueFeeds?: Feeds,
): Feeds {
  const { b, t } = batch;
  const n = b * t;
  const L = layout.levels;
  /** Ids with -1 ("no term") read row 0, and a 0/1 weight per id keeps or drops the term. */
  const terms = (ids: Int32Array, dims: readonly number[]) => ({
    ids: i64(
      Int32Array.from(ids, (v) => Math.max(0, v)),
      dims,
    ),
    weight: f32(
      Float32Array.from(ids, (v) => (v < 0 ? 0 : 1)),
      [...dims, 1],
    ),
  });
  const codeTokens = new Int32Array(L * n * L).fill(-1);
  const codeLevel = new Int32Array(L * n);
  for (let l = 0; l < L; l++) {
    for (let i = 0; i < n; i++) {
      const r = l * n + i;
      codeLevel[r] = l;
      codeTokens[r * L] = BOS;
      for (let j = 0; j < l; j++) codeTokens[r * L + 1 + j] = batch.targets[i * L + j] as number;
    }
  }
  const slot = terms(batch.slotTokens, [n, L]);
  const code = terms(codeTokens, [L * n, L]);
  const feeds: Feeds = {
    slot_tokens: slot.ids,
    slot_token_weight: slot.weight,
    pos: i64(batch.pos, [n]),
    mask: f32(causalMask(batch.keep, b, t), [b, 1, t, t]),
    code_tokens: code.ids,
    code_token_weight: code.weight,
    code_level: i64(codeLevel, [L * n]),
    weights: f32(rowWeights(batch.weights, denom), [n]),
  };
  if (config.codeBuckets > 0) {
    const bucket = terms(batch.bucket, [n]);
    feeds.bucket = bucket.ids;
    feeds.bucket_weight = bucket.weight;
  }
  for (let l = 0; l < L; l++) {
    const lo = layout.token(l, 0);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) labels[i] = batch.weights[i] === 1 ? (batch.targets[i * L + l] as number) - lo : 0;
    feeds[`labels_${l}`] = i64(labels, [n]);
  }
  if (config.dense > 0) {
    if (!catalogueFeeds || !batch.targetItem)
      throw new SemidError('SEMID_ERR_INTERNAL', 'dense head on, but the item batch carries no catalogue');
    Object.assign(feeds, catalogueFeeds);
    feeds.dense_labels = i64(
      Int32Array.from(batch.targetItem, (r) => Math.max(0, r)),
      [n],
    );
    feeds.dense_weights = f32(rowWeights(batch.weights, denom, config.dense), [n]);
    if (config.denseRepeat) {
      if (!batch.slotItem)
        throw new SemidError('SEMID_ERR_INTERNAL', 'dense repeat bias on, but the item batch carries no slot items');
      const { cells, which } = recencyCells(t, batch.weights, batch.slotItem);
      feeds.repeat_cells = i64(cells, [which.length, 2]);
      feeds.repeat_which = i64(which, [which.length]);
    }
  }
  return feeds;
}

/** The dense head's constant inputs: the catalogue's code tokens and (with buckets) code buckets. */
export function catalogueFeeds(batch: ItemBatch, config: ModelConfig, layout: TokenLayout): Feeds {
  const cat = batch.catalogue;
  if (!cat) throw new SemidError('SEMID_ERR_INTERNAL', 'dense head on, but the item batch carries no catalogue');
  const out: Feeds = { catalogue: i64(cat.tokens, [cat.n, layout.levels]) };
  if (config.codeBuckets > 0) out.catalogue_bucket = i64(cat.bucket, [cat.n]);
  return out;
}

/**
 * Dropout masks for the graph's sites: each element 1/(1-rate) with probability 1-rate, else 0. The
 * bits come from an sfc32 generator inlined in the loop (millions of draws per step), its state seeded
 * from semid's RNG at `seed`: same seed, same masks.
 * @param rows the value of each symbolic rows name
 */
export function dropoutFeeds(
  sites: readonly DropoutSite[],
  rate: number,
  seed: number,
  rows: Readonly<Record<string, number>>,
): Feeds {
  const rng = createRng(seed);
  let [a, b, c, d] = [rng.seed(), rng.seed(), rng.seed(), rng.seed()];
  const keep = rate > 0 ? 1 / (1 - rate) : 1;
  const threshold = Math.floor(rate * 4294967296);
  const out: Feeds = {};
  for (const s of sites) {
    const r = typeof s.rows === 'number' ? s.rows : rows[s.rows];
    if (r === undefined) throw new SemidError('SEMID_ERR_INTERNAL', `no row count for dropout rows "${s.rows}"`);
    const m = new Float32Array(r * s.cols);
    if (rate <= 0) m.fill(1);
    else {
      for (let i = 0; i < m.length; i++) {
        const t = (((a + b) >>> 0) + d) >>> 0;
        d = (d + 1) >>> 0;
        a = b ^ (b >>> 9);
        b = (c + (c << 3)) >>> 0;
        c = (c << 21) | (c >>> 11);
        c = (c + t) >>> 0;
        m[i] = t < threshold ? 0 : keep;
      }
    }
    out[s.name] = f32(m, [r, s.cols]);
  }
  return out;
}
