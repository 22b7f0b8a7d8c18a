/**
 * The item-level architecture (`arch: "item"`): causal self-attention over one slot per item
 * [start, item1, item2, ...] (a slot's embedding: the sum of its code tokens' embeddings, with
 * `codeBuckets` also a hashed per-code vector, plus its position), so the stack runs on L times fewer
 * positions than the decoder-only model. The state s at a slot predicts the next item's code level by
 * level through a small code head:
 *   z = s + lvl_emb[l] + tok_emb[BOS] + sum_{j<l} tok_emb[c_j]; z += FFN(LN(z)); logits = head(LN(z)),
 * normalised over level l's tokens only. Optional terms: an unlikelihood term on recent history items
 * and a dense item head (SASRec-style full softmax over the catalogue, with a learned repeat bias),
 * whose score re-ranks finished codes in decoding (models/README.md).
 */
import { BOS, recencyOf } from '../../src/core/codes.js';
import { SemidError } from '../../src/core/errors.js';
import type { BeamRow, DecodingSession } from '../../src/core/model.js';
import { type Tensor, tf, tidyData } from '../../src/core/tf.js';
import type { Code } from '../../src/core/types.js';
import { codeRows, type ItemBatch, itemSlots } from '../batch.js';
import { blockSpecs, buildMask, type Drop, ffnSpecs, NO_DROP } from '../blocks.js';
import { addAtCells, embedSum, layerNorm, linear, NEG, recencyCells, softmaxCrossEntropy } from '../ops.js';
import { checkRows } from '../sessions.js';
import type { Architecture, CodeTransformer } from '../transformer.js';

/**
 * The embedSum terms of items' input embeddings without position (what an item slot adds up): each
 * code token's `tok_emb` row and, with code buckets, the `code_emb` bucket row.
 * @param tokens [m*L] int32 code tokens, row-major (-1: no term)
 * @param bucket [m] int32 code buckets (-1: none)
 */
function itemTerms(
  m: CodeTransformer,
  tokens: Int32Array,
  bucket: Int32Array,
): { tables: Tensor[]; ids: Int32Array[] } {
  const L = m.layout.levels;
  const n = bucket.length;
  const ids: Int32Array[] = Array.from({ length: L }, (_, l) => {
    const a = new Int32Array(n);
    for (let i = 0; i < n; i++) a[i] = tokens[i * L + l] as number;
    return a;
  });
  const tables: Tensor[] = ids.map(() => m.w('tok_emb'));
  if (m.config.codeBuckets > 0) {
    tables.push(m.w('code_emb'));
    ids.push(bucket);
  }
  return { tables, ids };
}

/** Items' input embeddings without position [n, d] (see `itemTerms`). */
export function itemEmbeddings(m: CodeTransformer, tokens: Int32Array, bucket: Int32Array): Tensor {
  const { tables, ids } = itemTerms(m, tokens, bucket);
  return embedSum(tables, ids);
}

/** Item-level forward over slots (models/batch.ts itemSlots): hidden states [b*t, d] before ln_f. */
export function itemForward(
  m: CodeTransformer,
  batch: Pick<ItemBatch, 'b' | 't' | 'slotTokens' | 'pos' | 'keep' | 'bucket'>,
  drop: Drop,
): Tensor {
  const { b, t } = batch;
  const item = itemTerms(m, batch.slotTokens, batch.bucket);
  const x = drop.apply(embedSum([...item.tables, m.w('pos_emb')], [...item.ids, batch.pos]));
  return m.blocks.stack('blk', m.config.layers, x, b, t, buildMask(batch.keep, b, t, t, true), drop).x;
}

/**
 * The code head for `rows` requests: z = state + lvl_emb[level] + tok_emb[BOS] + the sum of the
 * prefix tokens' embeddings, then the residual code FFN. Returns [rows, d] before ln_f.
 * @param state [rows, d] each row's user state
 * @param level per row, the level predicted (= prefix length)
 * @param prefix per row, L-1 token ids (-1 past the prefix)
 */
export function codeHead(m: CodeTransformer, state: Tensor, level: Int32Array, prefix: Int32Array, drop: Drop): Tensor {
  const L = m.layout.levels;
  const n = level.length;
  const tok = m.w('tok_emb');
  const ids: Int32Array[] = [new Int32Array(n).fill(BOS)];
  for (let j = 0; j < L - 1; j++) {
    const a = new Int32Array(n);
    for (let i = 0; i < n; i++) a[i] = prefix[i * (L - 1) + j] as number;
    ids.push(a);
  }
  const e = embedSum([...ids.map(() => tok), m.w('lvl_emb')], [...ids, level]);
  return m.blocks.ffn('code', tf.add(state, e), drop);
}

/** ln_f'd states [n, d] through the head columns of level `l` only: logits [n, size_l] over that level's tokens. */
function levelHead(m: CodeTransformer, h: Tensor, l: number): Tensor {
  const lo = m.layout.token(l, 0);
  const size = m.layout.levelSizes[l] as number;
  const d = m.config.dModel;
  const w = m.config.tiedHead
    ? tf.transpose(tf.slice(m.w('tok_emb'), [lo, 0], [size, d]))
    : tf.slice(m.w('head.w'), [0, lo], [d, size]);
  return linear(h, w, tf.slice(m.w('head.b'), [lo], [size]));
}

/**
 * Logits of codes given per-row states, teacher-forced: per level l, [n, size_l] over level l's
 * tokens, where row i's prefix is the first l tokens of `codes` row i.
 * @param state [n, d] states
 * @param codes [n*L] int32 code tokens per row
 */
export function codeLogits(m: CodeTransformer, state: Tensor, codes: Int32Array, drop: Drop): Tensor[] {
  const L = m.layout.levels;
  const n = state.shape[0] as number;
  const level = new Int32Array(n * L);
  const prefix = new Int32Array(n * L * Math.max(0, L - 1)).fill(-1);
  for (let l = 0; l < L; l++) {
    for (let i = 0; i < n; i++) {
      const r = l * n + i; // level-major rows: each level's rows are one contiguous block
      level[r] = l;
      for (let j = 0; j < l; j++) prefix[r * (L - 1) + j] = codes[i * L + j] as number;
    }
  }
  const base =
    L === 1
      ? state
      : tf.concat(
          Array.from({ length: L }, () => state),
          0,
        );
  const z = layerNorm(codeHead(m, base, level, prefix, drop), m.w('ln_f.g'), m.w('ln_f.b'));
  const d = m.config.dModel;
  return Array.from({ length: L }, (_, l) => levelHead(m, tf.slice(z, [l * n, 0], [n, d]), l));
}

/** The dense item head's user vectors: its layer norm of the states [n, d]. */
function denseUser(m: CodeTransformer, state: Tensor): Tensor {
  return layerNorm(state, m.w('dense.ln.g'), m.w('dense.ln.b'));
}

/**
 * The dense item head's loss: full-softmax cross-entropy of each target slot's item over the batch's
 * catalogue (dot products of the user vector with every item's input embedding), weighted by
 * `dense` and normalised by `denom` as the code levels are (so `dense` 1 weighs the dense item NLL
 * like the code's whole NLL).
 */
function denseLoss(m: CodeTransformer, batch: ItemBatch, state: Tensor, denom: number): tf.Scalar {
  const cat = batch.catalogue;
  const rows = batch.targetItem;
  if (cat === undefined || rows === undefined) {
    throw new SemidError('SEMID_ERR_INTERNAL', 'dense head on, but the item batch carries no catalogue');
  }
  const items = itemEmbeddings(m, cat.tokens, cat.bucket); // [N, d]
  let logits: Tensor = linear(denseUser(m, state), tf.transpose(items)); // [b*t, N]
  if (m.config.denseRepeat) {
    if (batch.slotItem === undefined) {
      throw new SemidError('SEMID_ERR_INTERNAL', 'dense repeat bias on, but the item batch carries no slot items');
    }
    // each slot's context: its own item and the earlier item slots of its row (slotItem -1 at the start)
    const { cells, which } = recencyCells(batch.t, batch.weights, batch.slotItem);
    logits = addAtCells(logits, m.w('dense.repeat'), cells, which);
  }
  const labels = Int32Array.from(rows, (r) => Math.max(0, r));
  return softmaxCrossEntropy(
    logits,
    tf.tensor1d(labels, 'int32'),
    tf.tensor1d(batch.weights, 'float32'),
    denom / m.config.dense,
    0,
  );
}

/**
 * The unlikelihood term of an item batch: for every slot with a target and each of its
 * `unlikelihoodItems` most recent context items c (the slot's own item, the one before, ...),
 * other than the slot's target, -log(1 - p(code of c)), summed, weighted by `unlikelihood` and
 * normalised per target slot. Where users never interact with an item twice (Amazon reviews,
 * MovieLens ratings), this teaches the model what masking history items at inference would impose.
 * Returns undefined when no slot has such a context item.
 */
function unlikelihood(
  m: CodeTransformer,
  batch: ItemBatch,
  state: Tensor,
  denom: number,
  drop: Drop,
): tf.Scalar | undefined {
  const L = m.layout.levels;
  const { t } = batch;
  const rowsOf: number[] = [];
  const codes: number[] = [];
  for (let i = 0; i < batch.b * t; i++) {
    if (batch.weights[i] !== 1) continue;
    for (let r = 0; r < m.config.unlikelihoodItems; r++) {
      const src = i - r;
      if (Math.floor(src / t) !== Math.floor(i / t) || src < 0 || batch.pos[src] === 0) break;
      let isTarget = true; // a repeat that is the actual next item is not penalised
      for (let l = 0; l < L; l++) isTarget &&= batch.slotTokens[src * L + l] === batch.targets[i * L + l];
      if (isTarget) continue;
      rowsOf.push(i);
      for (let l = 0; l < L; l++) codes.push(batch.slotTokens[src * L + l] as number);
    }
  }
  const n = rowsOf.length;
  if (n === 0) return undefined;
  const own = tf.gather(state, tf.tensor1d(Int32Array.from(rowsOf), 'int32'));
  const codeArr = Int32Array.from(codes);
  let logp: Tensor | undefined;
  codeLogits(m, own, codeArr, drop).forEach((lg, l) => {
    const size = m.layout.levelSizes[l] as number;
    const lo = m.layout.token(l, 0);
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = (codeArr[i * L + l] as number) - lo;
    const hot = tf.cast(tf.oneHot(tf.tensor1d(idx, 'int32'), size), 'float32');
    const lp = tf.sum(tf.mul(tf.logSoftmax(lg), hot), 1);
    logp = logp ? tf.add(logp, lp) : lp;
  });
  const p = tf.exp(logp as Tensor);
  const ul = tf.neg(tf.log(tf.maximum(tf.sub(1, p), 1e-6)));
  return tf.mul(tf.sum(ul), m.config.unlikelihood / (denom / L)) as tf.Scalar;
}

/** Each history's state (the last slot's hidden state), [b*d] on the host. */
export function itemStates(m: CodeTransformer, histories: readonly (readonly Code[])[]): Float32Array {
  const slots = itemSlots(m.layout, histories, m.config.codeBuckets);
  const b = histories.length;
  return tidyData(() => m.blocks.lastRows(itemForward(m, { b, ...slots }, NO_DROP), b, slots.t));
}

/**
 * The dense item head's scores: per i, `denseFusion` * u(user_i) . e(code_i), where u is the head's
 * user vector of that user's state and e the code's item embedding (any valid code, also an item
 * added after training), plus, with `denseRepeat`, the learned repeat bias of the code's recency in
 * its user's history (inside the `denseFusion` factor). Empty unless `dense` > 0.
 * @param states [b*d] states from itemStates
 * @param histories the users' histories as the states read them (cut to maxHistory), oldest first
 */
export function denseScores(
  m: CodeTransformer,
  states: Float32Array,
  users: readonly number[],
  codes: readonly Code[],
  histories: readonly (readonly Code[])[],
): Float32Array {
  if (m.config.dense <= 0 || codes.length === 0) return new Float32Array(0);
  const L = m.layout.levels;
  const d = m.config.dModel;
  const n = codes.length;
  const B = states.length / d;
  const state = new Float32Array(n * d);
  users.forEach((u, i) => {
    if (!Number.isInteger(u) || u < 0 || u >= B) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `item score user ${u} outside [0, ${B})`);
    }
    state.set(states.subarray(u * d, (u + 1) * d), i * d);
  });
  for (const c of codes) {
    if (c.length !== L) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `code [${c}] has ${c.length} levels, the model expects ${L}`);
    }
  }
  const { tokens, bucket } = codeRows(m.layout, codes, m.config.codeBuckets);
  const dot = tidyData(() => {
    const u = denseUser(m, tf.tensor2d(state, [n, d]));
    return tf.sum(tf.mul(u, itemEmbeddings(m, tokens, bucket)), 1);
  });
  if (m.config.denseRepeat) {
    const bias = m.w('dense.repeat').dataSync() as Float32Array;
    recencyOf(histories, users, codes).forEach((r, i) => {
      if (r >= 0 && r < bias.length) dot[i] = (dot[i] as number) + (bias[r] as number);
    });
  }
  for (let i = 0; i < n; i++) dot[i] = (dot[i] as number) * m.config.denseFusion;
  return dot;
}

/** One step: next-token logits [rows, V] from each row's user state and prefix, NEG outside the row's level. */
function step(m: CodeTransformer, states: Float32Array, rows: readonly BeamRow[]): Float32Array {
  const L = m.layout.levels;
  const n = rows.length;
  const d = m.config.dModel;
  const V = m.vocabSize;
  const state = new Float32Array(n * d);
  const level = new Int32Array(n);
  const prefix = new Int32Array(n * Math.max(0, L - 1)).fill(-1);
  rows.forEach((r, i) => {
    state.set(states.subarray(r.user * d, (r.user + 1) * d), i * d);
    level[i] = r.prefix.length;
    r.prefix.forEach((tk, j) => {
      prefix[i * (L - 1) + j] = tk;
    });
  });
  const h = tidyData(() => m.head(codeHead(m, tf.tensor2d(state, [n, d]), level, prefix, NO_DROP)));
  for (let i = 0; i < n; i++) {
    const l = level[i] as number;
    const lo = m.layout.token(l, 0);
    const hi = lo + (m.layout.levelSizes[l] as number);
    h.fill(NEG, i * V, i * V + lo);
    h.fill(NEG, i * V + hi, (i + 1) * V);
  }
  return h;
}

/** Rows per code-head pass of a step (no cache to gather, so larger chunks than the other sessions). */
const ITEM_STEP_CHUNK = 4096;

/** Decoding session of the item-level model: one state per user; each step runs only the small code head. */
class ItemSession implements DecodingSession {
  private readonly users: number;
  /** Present when the model has a dense item head (DecodingSession.itemScores). */
  readonly itemScores?: (users: readonly number[], codes: readonly Code[]) => Promise<Float32Array>;
  constructor(
    private readonly model: CodeTransformer,
    private readonly states: Float32Array,
    histories: readonly (readonly Code[])[],
  ) {
    this.users = states.length / model.config.dModel;
    if (model.config.dense > 0)
      this.itemScores = async (users, codes) => denseScores(model, states, users, codes, histories);
  }
  async next(rows: readonly BeamRow[]): Promise<Float32Array[]> {
    checkRows(rows, this.users, this.model.layout.levels);
    const V = this.model.vocabSize;
    const out: Float32Array[] = [];
    for (let c = 0; c < rows.length; c += ITEM_STEP_CHUNK) {
      const flat = step(this.model, this.states, rows.slice(c, c + ITEM_STEP_CHUNK));
      for (let i = 0; i < flat.length / V; i++) out.push(flat.subarray(i * V, (i + 1) * V)); // rows never overlap
    }
    return out;
  }
  dispose(): void {}
}

/** The item-level architecture. */
export const itemArch: Architecture<ItemBatch> = {
  batch: 'item',
  params(list, cfg) {
    const d = cfg.dModel;
    list.emb('pos_emb', [cfg.maxHistory + 1, d]);
    if (cfg.codeBuckets > 0) list.emb('code_emb', [cfg.codeBuckets, d]);
    for (let i = 0; i < cfg.layers; i++) blockSpecs(list, `blk${i}`, d, cfg.ffn, false);
    if (cfg.dense > 0) list.ln('dense.ln', d);
    if (cfg.dense > 0 && cfg.denseRepeat) list.vec('dense.repeat', cfg.maxHistory, 'zeros');
    ffnSpecs(list, 'code', d, cfg.ffn);
  },
  loss(m, batch, denom, drop) {
    const L = m.layout.levels;
    const n = batch.b * batch.t;
    const w = tf.tensor1d(batch.weights, 'float32');
    let total: tf.Scalar | undefined;
    const state = itemForward(m, batch, drop);
    codeLogits(m, state, batch.targets, drop).forEach((lg, l) => {
      const labels = new Int32Array(n);
      const lo = m.layout.token(l, 0);
      for (let i = 0; i < n; i++) labels[i] = batch.weights[i] === 1 ? (batch.targets[i * L + l] as number) - lo : 0;
      const ce = softmaxCrossEntropy(lg, tf.tensor1d(labels, 'int32'), w, denom, m.config.labelSmoothing);
      total = total ? (tf.add(total, ce) as tf.Scalar) : ce;
    });
    if (m.config.dense > 0) total = tf.add(total as tf.Scalar, denseLoss(m, batch, state, denom)) as tf.Scalar;
    const ul = m.config.unlikelihood > 0 ? unlikelihood(m, batch, state, denom, drop) : undefined;
    return (ul ? tf.add(total as tf.Scalar, ul) : total) as tf.Scalar;
  },
  logits(m, batch) {
    const L = m.layout.levels;
    const n = batch.b * batch.t;
    const V = m.vocabSize;
    const state = itemForward(m, batch, NO_DROP);
    const per = codeLogits(m, state, batch.targets, NO_DROP).map((lg) => lg.dataSync() as Float32Array);
    const out = new Float32Array(n * L * V).fill(NEG);
    per.forEach((lg, l) => {
      const lo = m.layout.token(l, 0);
      const size = m.layout.levelSizes[l] as number;
      for (let i = 0; i < n; i++) out.set(lg.subarray(i * size, (i + 1) * size), (i * L + l) * V + lo);
    });
    return tf.tensor2d(out, [n * L, V]);
  },
  begin(m, histories) {
    return new ItemSession(m, itemStates(m, histories), histories);
  },
};
