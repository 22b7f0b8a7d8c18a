/**
 * The code transformer: a small pre-LayerNorm transformer over code tokens, in three architectures
 * behind one class (see models/README.md for the weight names and shapes, which the ONNX export reads):
 *  - 'decoder' (default): causal over [BOS, item1 tokens, item2 tokens, ...]; every position predicts
 *    the next token, so one pass trains on every item of a window. Decoding = history, then L tokens.
 *  - 'encdec' (TIGER, Rajput et al. 2023): a bidirectional encoder reads [BOS, history tokens]; a
 *    causal decoder with cross-attention emits the next item's L tokens after BOS. Difference from the
 *    paper: ReLU FFN and learned absolute positions instead of T5 relative buckets.
 *  - 'item': causal over one slot per item [start, item1, item2, ...] (a slot's embedding: the sum of
 *    its code tokens' embeddings plus its position), so the stack runs on L times fewer positions. The
 *    state s at a slot predicts the next item's code level by level through a small code head:
 *    z = s + lvl_emb[l] + tok_emb[BOS] + sum_{j<l} tok_emb[c_j]; z += FFN(LN(z)); logits = head(LN(z)),
 *    normalised over level l's tokens only.
 * Embedding (decoder, encdec) = token + position + level (the position inside a code; BOS has level L).
 */
import { BOS, recencyOf, TokenLayout } from '../src/core/codes.js';
import { SemidError } from '../src/core/errors.js';
import type { BeamRow, DecodingSession, GenerativeModel } from '../src/core/model.js';
import { createRng } from '../src/core/rng.js';
import { type Tensor, tf, tidyData } from '../src/core/tf.js';
import type { Code } from '../src/core/types.js';
import type { DecoderBatch, EncDecBatch, ItemBatch, TrainBatch } from './batch.js';
import { codeRows, flatten, itemSlots } from './batch.js';
import type { ModelConfig } from './config.js';
import {
  addAtCells,
  attention,
  dropout,
  embedSum,
  layerNorm,
  linear,
  NEG,
  recencyCells,
  softmaxCrossEntropy,
} from './ops.js';

/** One weight tensor's name, shape and initialisation. */
export interface ParamSpec {
  name: string;
  shape: number[];
  init: 'normal' | 'zeros' | 'ones';
  /** Whether AdamW weight decay applies (matrices only). */
  decay: boolean;
}

/** Standard deviation of the normal initialisation (GPT-2 style). */
export const INIT_STD = 0.02;

/** Number of decoder-only positions: BOS plus (maxHistory + 1) items of L tokens. */
export function decoderPositions(maxHistory: number, levels: number): number {
  return 1 + (maxHistory + 1) * levels;
}

/** The list of weights of a model with this config and code length, in a fixed order. */
export function paramSpecs(cfg: ModelConfig, levels: number, vocabSize: number): ParamSpec[] {
  const d = cfg.dModel;
  const specs: ParamSpec[] = [];
  const mat = (name: string, shape: number[]) => specs.push({ name, shape, init: 'normal', decay: true });
  const emb = (name: string, shape: number[]) => specs.push({ name, shape, init: 'normal', decay: false });
  const vec = (name: string, n: number, init: 'zeros' | 'ones') => specs.push({ name, shape: [n], init, decay: false });
  const ln = (p: string) => {
    vec(`${p}.g`, d, 'ones');
    vec(`${p}.b`, d, 'zeros');
  };
  const block = (p: string, cross: boolean) => {
    ln(`${p}.ln1`);
    mat(`${p}.attn.wqkv`, [d, 3 * d]);
    vec(`${p}.attn.bqkv`, 3 * d, 'zeros');
    mat(`${p}.attn.wo`, [d, d]);
    vec(`${p}.attn.bo`, d, 'zeros');
    if (cross) {
      ln(`${p}.lnc`);
      mat(`${p}.cross.wq`, [d, d]);
      vec(`${p}.cross.bq`, d, 'zeros');
      mat(`${p}.cross.wkv`, [d, 2 * d]);
      vec(`${p}.cross.bkv`, 2 * d, 'zeros');
      mat(`${p}.cross.wo`, [d, d]);
      vec(`${p}.cross.bo`, d, 'zeros');
    }
    ln(`${p}.ln2`);
    mat(`${p}.ffn.w1`, [d, cfg.ffn]);
    vec(`${p}.ffn.b1`, cfg.ffn, 'zeros');
    mat(`${p}.ffn.w2`, [cfg.ffn, d]);
    vec(`${p}.ffn.b2`, d, 'zeros');
  };
  emb('tok_emb', [vocabSize, d]);
  emb('lvl_emb', [levels + 1, d]);
  if (cfg.arch === 'decoder') {
    emb('pos_emb', [decoderPositions(cfg.maxHistory, levels), d]);
    for (let i = 0; i < cfg.layers; i++) block(`blk${i}`, false);
  } else if (cfg.arch === 'item') {
    emb('pos_emb', [cfg.maxHistory + 1, d]);
    if (cfg.codeBuckets > 0) emb('code_emb', [cfg.codeBuckets, d]);
    for (let i = 0; i < cfg.layers; i++) block(`blk${i}`, false);
    if (cfg.dense > 0) ln('dense.ln');
    if (cfg.dense > 0 && cfg.denseRepeat) vec('dense.repeat', cfg.maxHistory, 'zeros');
    ln('code.ln2');
    mat('code.ffn.w1', [d, cfg.ffn]);
    vec('code.ffn.b1', cfg.ffn, 'zeros');
    mat('code.ffn.w2', [cfg.ffn, d]);
    vec('code.ffn.b2', d, 'zeros');
  } else {
    emb('enc.pos_emb', [1 + cfg.maxHistory * levels, d]);
    emb('dec.pos_emb', [levels + 1, d]);
    for (let i = 0; i < cfg.layers; i++) block(`enc.blk${i}`, false);
    ln('enc.ln_f');
    for (let i = 0; i < cfg.layers; i++) block(`dec.blk${i}`, true);
  }
  ln('ln_f');
  if (!cfg.tiedHead) mat('head.w', [d, vocabSize]);
  vec('head.b', vocabSize, 'zeros');
  return specs;
}

/** Per-layer cache of one attention's keys and values. */
interface KV {
  /** [n, h, dh, tk] float32 keys, transposed. */
  kT: Tensor;
  /** [n, h, tk, dh] float32 values. */
  v: Tensor;
}

/** Dropout seeds for one forward pass (undefined = inference). */
class Drop {
  private i = 0;
  constructor(
    private readonly rate: number,
    private readonly base: number | undefined,
  ) {}
  apply(x: Tensor): Tensor {
    if (this.base === undefined || this.rate <= 0) return x;
    this.i++;
    return dropout(x, this.rate, (this.base + this.i * 7919) >>> 0);
  }
}

/**
 * Additive attention mask [n, 1, tq, tk] from key keep-flags [n*tk], causal when `causal` (query j
 * sees keys up to `offset + j`).
 */
function buildMask(keep: Float32Array, n: number, tq: number, tk: number, causal: boolean, offset = 0): Tensor {
  const m = new Float32Array(n * tq * tk);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < tq; i++) {
      const row = (r * tq + i) * tk;
      for (let j = 0; j < tk; j++) {
        const ok = keep[r * tk + j] === 1 && (!causal || j <= offset + i);
        m[row + j] = ok ? 0 : NEG;
      }
    }
  }
  return tf.tensor4d(m, [n, 1, tq, tk]);
}

/**
 * The code transformer with its weights (tf.Variables it owns). Implements GenerativeModel for
 * decoding; `loss` is what training differentiates.
 */
export class CodeTransformer implements GenerativeModel {
  /** The resolved config; only `denseFusion` changes after construction (setDenseFusion). */
  config: ModelConfig;
  readonly layout: TokenLayout;
  readonly vocabSize: number;
  readonly maxHistory: number;
  readonly specs: ParamSpec[];
  /** name -> variable, in `specs` order. */
  readonly weights: Map<string, tf.Variable>;
  private readonly heads: number;
  private readonly dh: number;

  private constructor(config: ModelConfig, levelSizes: readonly number[], values?: Map<string, Float32Array>) {
    this.config = config;
    this.layout = new TokenLayout(levelSizes);
    this.vocabSize = this.layout.vocabSize;
    this.maxHistory = config.maxHistory;
    this.heads = config.heads;
    this.dh = config.dModel / config.heads;
    this.specs = paramSpecs(config, this.layout.levels, this.vocabSize);
    this.weights = new Map();
    const rng = createRng(config.seed);
    // a unique name prefix per instance: tf.variable names are global in the engine
    const uid = `m${Math.floor(rng.next() * 1e9)}_${instanceCounter++}`;
    for (const s of this.specs) {
      const seed = rng.seed();
      const given = values?.get(s.name);
      const init = tf.tidy(() => {
        if (given !== undefined) return tf.tensor(given, s.shape, 'float32');
        if (s.init === 'zeros') return tf.zeros(s.shape);
        if (s.init === 'ones') return tf.ones(s.shape);
        return tf.truncatedNormal(s.shape, 0, INIT_STD, 'float32', seed);
      });
      this.weights.set(s.name, tf.variable(init, true, `${uid}/${s.name}`));
      init.dispose();
    }
  }

  /** A freshly initialised model (seeded by config.seed). */
  static create(config: ModelConfig, levelSizes: readonly number[]): CodeTransformer {
    return new CodeTransformer(config, levelSizes);
  }

  /** A model with the given weight values (every spec name must be present, with the right size). */
  static fromValues(
    config: ModelConfig,
    levelSizes: readonly number[],
    values: Map<string, Float32Array>,
  ): CodeTransformer {
    const specs = paramSpecs(config, levelSizes.length, new TokenLayout(levelSizes).vocabSize);
    const problems: string[] = [];
    for (const s of specs) {
      const v = values.get(s.name);
      const n = s.shape.reduce((a, b) => a * b, 1);
      if (v === undefined) problems.push(`missing weight "${s.name}"`);
      else if (v.length !== n) problems.push(`weight "${s.name}" has ${v.length} values, expected ${n} [${s.shape}]`);
    }
    if (problems.length > 0) {
      throw new SemidError(
        'SEMID_ERR_ARTIFACT_CORRUPT',
        `model weights do not match the config: ${problems.join('; ')}`,
      );
    }
    return new CodeTransformer(config, levelSizes, values);
  }

  /** Number of trainable scalars. */
  get parameterCount(): number {
    return this.specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  }

  /** The variable called `name` (throws on an unknown name: a programming error). */
  w(name: string): tf.Variable {
    const v = this.weights.get(name);
    if (!v) throw new SemidError('SEMID_ERR_INTERNAL', `no weight "${name}" in this model`);
    return v;
  }

  /** Copies of every weight's values, by name. */
  values(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [k, v] of this.weights) out.set(k, v.dataSync() as Float32Array);
    return out;
  }

  /** Sets the weight of the dense item head's score in decoding (a decoding choice; no weight changes). */
  setDenseFusion(weight: number): void {
    if (!(weight >= 0) || !Number.isFinite(weight)) {
      throw new SemidError('SEMID_ERR_BAD_CONFIG', `denseFusion must be a number >= 0, got ${weight}`);
    }
    this.config = { ...this.config, denseFusion: weight };
  }

  /** Overwrites the weights with `values` (same names and sizes). */
  assign(values: Map<string, Float32Array>): void {
    for (const s of this.specs) {
      const v = values.get(s.name);
      if (v === undefined) continue;
      const t = tf.tensor(v, s.shape, 'float32');
      this.w(s.name).assign(t);
      t.dispose();
    }
  }

  // ---------------------------------------------------------------- building blocks

  private embed(tokens: Int32Array, pos: Int32Array, lvl: Int32Array, posName: string): Tensor {
    return embedSum([this.w('tok_emb'), this.w(posName), this.w('lvl_emb')], [tokens, pos, lvl]);
  }

  /** [n*t, d] -> [n*h, t, dh] */
  private splitHeads(x: Tensor, n: number, t: number): tf.Tensor3D {
    return tf.reshape(tf.transpose(tf.reshape(x, [n, t, this.heads, this.dh]), [0, 2, 1, 3]), [
      n * this.heads,
      t,
      this.dh,
    ]);
  }
  /** [n*t, d] -> [n, h, dh, t] (keys, transposed) */
  private splitHeadsT(x: Tensor, n: number, t: number): Tensor {
    return tf.transpose(tf.reshape(x, [n, t, this.heads, this.dh]), [0, 2, 3, 1]);
  }
  /** [n*h, t, dh] -> [n*t, d] */
  private mergeHeads(o: Tensor, n: number, t: number): Tensor {
    return tf.reshape(tf.transpose(tf.reshape(o, [n, this.heads, t, this.dh]), [0, 2, 1, 3]), [
      n * t,
      this.config.dModel,
    ]);
  }

  /**
   * Self-attention sublayer with residual. `past` (decoding) holds cached keys/values of earlier
   * positions, gathered per row; the new keys/values are returned for caching.
   */
  private selfAttn(
    p: string,
    x: Tensor,
    n: number,
    t: number,
    mask: Tensor,
    drop: Drop,
    past?: KV,
  ): { x: Tensor; kv: KV } {
    const d = this.config.dModel;
    const h = layerNorm(x, this.w(`${p}.ln1.g`), this.w(`${p}.ln1.b`));
    // slicing the small weight, not the [n, 3d] activation: wasm's split along axis 1 is very slow
    const [wq, wk, wv] = tf.split(this.w(`${p}.attn.wqkv`), [d, d, d], 1) as [Tensor, Tensor, Tensor];
    const [bq, bk, bv] = tf.split(this.w(`${p}.attn.bqkv`), [d, d, d], 0) as [Tensor, Tensor, Tensor];
    const q2 = linear(h, wq, bq);
    const k2 = linear(h, wk, bk);
    const v2 = linear(h, wv, bv);
    const q = this.splitHeads(q2, n, t);
    const kvNew: KV = {
      kT: this.splitHeadsT(k2, n, t),
      v: tf.reshape(this.splitHeads(v2, n, t), [n, this.heads, t, this.dh]),
    };
    const kT = past ? tf.concat([past.kT, kvNew.kT], 3) : kvNew.kT;
    const v = past ? tf.concat([past.v, kvNew.v], 2) : kvNew.v;
    const tk = kT.shape[3] as number;
    const o = attention(
      q,
      tf.reshape(kT, [n * this.heads, this.dh, tk]),
      tf.reshape(v, [n * this.heads, tk, this.dh]),
      mask,
      n,
      this.heads,
    );
    const y = linear(this.mergeHeads(o, n, t), this.w(`${p}.attn.wo`), this.w(`${p}.attn.bo`));
    return { x: tf.add(x, drop.apply(y)), kv: kvNew };
  }

  /** Cross-attention keys/values of encoder memory [n*te, d] for decoder block `p`. */
  private crossKV(p: string, memory: Tensor, n: number, te: number): KV {
    const d = this.config.dModel;
    const [wk, wv] = tf.split(this.w(`${p}.cross.wkv`), [d, d], 1) as [Tensor, Tensor];
    const [bk, bv] = tf.split(this.w(`${p}.cross.bkv`), [d, d], 0) as [Tensor, Tensor];
    const k2 = linear(memory, wk, bk);
    const v2 = linear(memory, wv, bv);
    return { kT: this.splitHeadsT(k2, n, te), v: tf.reshape(this.splitHeads(v2, n, te), [n, this.heads, te, this.dh]) };
  }

  private crossAttn(p: string, x: Tensor, n: number, t: number, kv: KV, mask: Tensor, drop: Drop): Tensor {
    const h = layerNorm(x, this.w(`${p}.lnc.g`), this.w(`${p}.lnc.b`));
    const q = this.splitHeads(linear(h, this.w(`${p}.cross.wq`), this.w(`${p}.cross.bq`)), n, t);
    const te = kv.kT.shape[3] as number;
    const o = attention(
      q,
      tf.reshape(kv.kT, [n * this.heads, this.dh, te]),
      tf.reshape(kv.v, [n * this.heads, te, this.dh]),
      mask,
      n,
      this.heads,
    );
    const y = linear(this.mergeHeads(o, n, t), this.w(`${p}.cross.wo`), this.w(`${p}.cross.bo`));
    return tf.add(x, drop.apply(y));
  }

  private ffn(p: string, x: Tensor, drop: Drop): Tensor {
    const h = layerNorm(x, this.w(`${p}.ln2.g`), this.w(`${p}.ln2.b`));
    const f = linear(
      linear(h, this.w(`${p}.ffn.w1`), this.w(`${p}.ffn.b1`), true),
      this.w(`${p}.ffn.w2`),
      this.w(`${p}.ffn.b2`),
    );
    return tf.add(x, drop.apply(f));
  }

  /** Output head on final hidden states [m, d] -> logits [m, V]. */
  private head(x: Tensor): Tensor {
    const h = layerNorm(x, this.w('ln_f.g'), this.w('ln_f.b'));
    const w = this.config.tiedHead ? tf.transpose(this.w('tok_emb')) : this.w('head.w');
    return linear(h, w, this.w('head.b'));
  }

  // ---------------------------------------------------------------- forward passes

  /**
   * Decoder-only forward over a left-padded batch.
   * @returns hidden states [b*t, d] before ln_f, and per-layer K/V (for the decoding cache)
   */
  private decoderForward(
    batch: Pick<DecoderBatch, 'b' | 't' | 'tokens' | 'pos' | 'lvl' | 'keep'>,
    drop: Drop,
  ): { x: Tensor; kvs: KV[] } {
    const { b, t } = batch;
    let x = drop.apply(this.embed(batch.tokens, batch.pos, batch.lvl, 'pos_emb'));
    const mask = buildMask(batch.keep, b, t, t, true);
    const kvs: KV[] = [];
    for (let i = 0; i < this.config.layers; i++) {
      const r = this.selfAttn(`blk${i}`, x, b, t, mask, drop);
      kvs.push(r.kv);
      x = this.ffn(`blk${i}`, r.x, drop);
    }
    return { x, kvs };
  }

  /** Item-level forward over slots (models/batch.ts itemSlots): hidden states [b*t, d] before ln_f. */
  private itemForward(
    batch: Pick<ItemBatch, 'b' | 't' | 'slotTokens' | 'pos' | 'keep' | 'bucket'>,
    drop: Drop,
  ): Tensor {
    const { b, t } = batch;
    const item = this.itemTerms(batch.slotTokens, batch.bucket);
    let x = drop.apply(embedSum([...item.tables, this.w('pos_emb')], [...item.ids, batch.pos]));
    const mask = buildMask(batch.keep, b, t, t, true);
    for (let i = 0; i < this.config.layers; i++) {
      x = this.ffn(`blk${i}`, this.selfAttn(`blk${i}`, x, b, t, mask, drop).x, drop);
    }
    return x;
  }

  /**
   * The item-level code head for `rows` requests: z = state + lvl_emb[level] + tok_emb[BOS] + the sum
   * of the prefix tokens' embeddings, then the residual code FFN. Returns [rows, d] before ln_f.
   * @param state [rows, d] each row's user state
   * @param level per row, the level predicted (= prefix length)
   * @param prefix per row, L-1 token ids (-1 past the prefix)
   */
  private codeHead(state: Tensor, level: Int32Array, prefix: Int32Array, drop: Drop): Tensor {
    const L = this.layout.levels;
    const n = level.length;
    const tok = this.w('tok_emb');
    const ids: Int32Array[] = [new Int32Array(n).fill(BOS)];
    for (let j = 0; j < L - 1; j++) {
      const a = new Int32Array(n);
      for (let i = 0; i < n; i++) a[i] = prefix[i * (L - 1) + j] as number;
      ids.push(a);
    }
    const e = embedSum([...ids.map(() => tok), this.w('lvl_emb')], [...ids, level]);
    return this.ffn('code', tf.add(state, e), drop);
  }

  /** ln_f and the head columns of level `l` only: logits [m, size_l] over that level's tokens. */
  private levelHead(h: Tensor, l: number): Tensor {
    const lo = this.layout.token(l, 0);
    const size = this.layout.levelSizes[l] as number;
    const w = this.config.tiedHead
      ? tf.transpose(tf.slice(this.w('tok_emb'), [lo, 0], [size, this.config.dModel]))
      : tf.slice(this.w('head.w'), [0, lo], [this.config.dModel, size]);
    return linear(h, w, tf.slice(this.w('head.b'), [lo], [size]));
  }

  /**
   * Item-level logits of codes given per-row states, teacher-forced: per level l, [n, size_l] over
   * level l's tokens, where row i's prefix is the first l tokens of `codes` row i.
   * @param state [n, d] states
   * @param codes [n*L] int32 code tokens per row
   */
  private codeLogits(state: Tensor, codes: Int32Array, drop: Drop): Tensor[] {
    const L = this.layout.levels;
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
    const z = layerNorm(this.codeHead(base, level, prefix, drop), this.w('ln_f.g'), this.w('ln_f.b'));
    const d = this.config.dModel;
    return Array.from({ length: L }, (_, l) => this.levelHead(tf.slice(z, [l * n, 0], [n, d]), l));
  }

  /**
   * The embedSum terms of items' input embeddings without position (what an item slot adds up): each
   * code token's `tok_emb` row and, with code buckets, the `code_emb` bucket row.
   * @param tokens [m*L] int32 code tokens, row-major (-1: no term)
   * @param bucket [m] int32 code buckets (-1: none)
   */
  private itemTerms(tokens: Int32Array, bucket: Int32Array): { tables: Tensor[]; ids: Int32Array[] } {
    const L = this.layout.levels;
    const m = bucket.length;
    const ids: Int32Array[] = Array.from({ length: L }, (_, l) => {
      const a = new Int32Array(m);
      for (let i = 0; i < m; i++) a[i] = tokens[i * L + l] as number;
      return a;
    });
    const tables: Tensor[] = ids.map(() => this.w('tok_emb'));
    if (this.config.codeBuckets > 0) {
      tables.push(this.w('code_emb'));
      ids.push(bucket);
    }
    return { tables, ids };
  }

  /** Items' input embeddings without position [m, d] (see `itemTerms`). */
  private itemEmbeddings(tokens: Int32Array, bucket: Int32Array): Tensor {
    const { tables, ids } = this.itemTerms(tokens, bucket);
    return embedSum(tables, ids);
  }

  /** The dense item head's user vectors: its layer norm of the states [n, d]. */
  private denseUser(state: Tensor): Tensor {
    return layerNorm(state, this.w('dense.ln.g'), this.w('dense.ln.b'));
  }

  /**
   * The dense item head's loss: full-softmax cross-entropy of each target slot's item over the batch's
   * catalogue (dot products of the user vector with every item's input embedding), weighted by
   * `dense` and normalised by `denom` as the code levels are (so `dense` 1 weighs the dense item NLL
   * like the code's whole NLL).
   */
  private denseLoss(batch: ItemBatch, state: Tensor, denom: number): tf.Scalar {
    const cat = batch.catalogue;
    const rows = batch.targetItem;
    if (cat === undefined || rows === undefined) {
      throw new SemidError('SEMID_ERR_INTERNAL', 'dense head on, but the item batch carries no catalogue');
    }
    const items = this.itemEmbeddings(cat.tokens, cat.bucket); // [N, d]
    let logits: Tensor = linear(this.denseUser(state), tf.transpose(items)); // [b*t, N]
    if (this.config.denseRepeat) {
      if (batch.slotItem === undefined) {
        throw new SemidError('SEMID_ERR_INTERNAL', 'dense repeat bias on, but the item batch carries no slot items');
      }
      // each slot's context: its own item and the earlier item slots of its row (slotItem -1 at the start)
      const { cells, which } = recencyCells(batch.t, batch.weights, batch.slotItem);
      logits = addAtCells(logits, this.w('dense.repeat'), cells, which);
    }
    const labels = Int32Array.from(rows, (r) => Math.max(0, r));
    return softmaxCrossEntropy(
      logits,
      tf.tensor1d(labels, 'int32'),
      tf.tensor1d(batch.weights, 'float32'),
      denom / this.config.dense,
      0,
    );
  }

  /** Item-level training logits: per level l, [b*t, size_l] (teacher forcing on each slot's target). */
  private itemLevelLogits(batch: ItemBatch, drop: Drop, state = this.itemForward(batch, drop)): Tensor[] {
    return this.codeLogits(state, batch.targets, drop);
  }

  /**
   * The unlikelihood term of an item batch: for every slot with a target and each of its
   * `unlikelihoodItems` most recent context items c (the slot's own item, the one before, ...),
   * other than the slot's target, -log(1 - p(code of c)), summed, weighted by `unlikelihood` and
   * normalised per target slot. Where users never interact with an item twice (Amazon reviews,
   * MovieLens ratings), this teaches the model what masking history items at inference would impose.
   * Returns undefined when no slot has such a context item.
   */
  private unlikelihood(batch: ItemBatch, state: Tensor, denom: number, drop: Drop): tf.Scalar | undefined {
    const L = this.layout.levels;
    const { t } = batch;
    const rowsOf: number[] = [];
    const codes: number[] = [];
    for (let i = 0; i < batch.b * t; i++) {
      if (batch.weights[i] !== 1) continue;
      for (let r = 0; r < this.config.unlikelihoodItems; r++) {
        const src = i - r;
        if (Math.floor(src / t) !== Math.floor(i / t) || src < 0 || batch.pos[src] === 0) break;
        let isTarget = true; // a repeat that is the actual next item is not penalised
        for (let l = 0; l < L; l++) isTarget &&= batch.slotTokens[src * L + l] === batch.targets[i * L + l];
        if (isTarget) continue;
        rowsOf.push(i);
        for (let l = 0; l < L; l++) codes.push(batch.slotTokens[src * L + l] as number);
      }
    }
    const m = rowsOf.length;
    if (m === 0) return undefined;
    const own = tf.gather(state, tf.tensor1d(Int32Array.from(rowsOf), 'int32'));
    const codeArr = Int32Array.from(codes);
    let logp: Tensor | undefined;
    this.codeLogits(own, codeArr, drop).forEach((lg, l) => {
      const size = this.layout.levelSizes[l] as number;
      const lo = this.layout.token(l, 0);
      const idx = new Int32Array(m);
      for (let i = 0; i < m; i++) idx[i] = (codeArr[i * L + l] as number) - lo;
      const hot = tf.cast(tf.oneHot(tf.tensor1d(idx, 'int32'), size), 'float32');
      const lp = tf.sum(tf.mul(tf.logSoftmax(lg), hot), 1);
      logp = logp ? tf.add(logp, lp) : lp;
    });
    const p = tf.exp(logp as Tensor);
    const ul = tf.neg(tf.log(tf.maximum(tf.sub(1, p), 1e-6)));
    return tf.mul(tf.sum(ul), this.config.unlikelihood / (denom / L)) as tf.Scalar;
  }

  /** Encoder forward: memory [b*te, d] after enc.ln_f. */
  private encoderForward(
    b: number,
    te: number,
    tokens: Int32Array,
    pos: Int32Array,
    lvl: Int32Array,
    keep: Float32Array,
    drop: Drop,
  ): Tensor {
    let x = drop.apply(this.embed(tokens, pos, lvl, 'enc.pos_emb'));
    const mask = buildMask(keep, b, te, te, false);
    for (let i = 0; i < this.config.layers; i++) {
      x = this.ffn(`enc.blk${i}`, this.selfAttn(`enc.blk${i}`, x, b, te, mask, drop).x, drop);
    }
    return layerNorm(x, this.w('enc.ln_f.g'), this.w('enc.ln_f.b'));
  }

  /** Decoder stack of encdec over inputs [n, t] (all rows the same length), with cross K/V per layer. */
  private encdecDecoder(
    n: number,
    t: number,
    tokens: Int32Array,
    cross: KV[],
    crossKeep: Float32Array,
    drop: Drop,
  ): Tensor {
    const L = this.layout.levels;
    const pos = new Int32Array(n * t);
    const lvl = new Int32Array(n * t);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < t; j++) {
        pos[r * t + j] = j;
        lvl[r * t + j] = j === 0 ? L : j - 1;
      }
    }
    let x = drop.apply(this.embed(tokens, pos, lvl, 'dec.pos_emb'));
    const selfMask = buildMask(new Float32Array(n * t).fill(1), n, t, t, true);
    const te = cross[0]?.kT.shape[3] as number;
    const crossMask = buildMask(crossKeep, n, t, te, false);
    for (let i = 0; i < this.config.layers; i++) {
      const p = `dec.blk${i}`;
      x = this.selfAttn(p, x, n, t, selfMask, drop).x;
      x = this.crossAttn(p, x, n, t, cross[i] as KV, crossMask, drop);
      x = this.ffn(p, x, drop);
    }
    return x;
  }

  /**
   * Training loss of a batch (call inside tf.variableGrads / tidy).
   * @param denom loss normaliser: the target count of the whole batch (shards of one batch pass the
   *   whole batch's count, so their gradients sum to the whole batch's gradient)
   * @param dropSeed dropout seed for this pass; undefined disables dropout
   * @returns scalar float32 mean label-smoothed cross-entropy
   */
  loss(batch: TrainBatch, denom: number, dropSeed?: number): tf.Scalar {
    const drop = new Drop(this.config.dropout, dropSeed);
    const eps = this.config.labelSmoothing;
    if (batch.kind === 'item') {
      if (this.config.arch !== 'item') throw new SemidError('SEMID_ERR_INTERNAL', 'item batch given to a token model');
      const L = this.layout.levels;
      const n = batch.b * batch.t;
      const w = tf.tensor1d(batch.weights, 'float32');
      let total: tf.Scalar | undefined;
      const state = this.itemForward(batch, drop);
      this.itemLevelLogits(batch, drop, state).forEach((lg, l) => {
        const labels = new Int32Array(n);
        const lo = this.layout.token(l, 0);
        for (let i = 0; i < n; i++) labels[i] = batch.weights[i] === 1 ? (batch.targets[i * L + l] as number) - lo : 0;
        const ce = softmaxCrossEntropy(lg, tf.tensor1d(labels, 'int32'), w, denom, eps);
        total = total ? (tf.add(total, ce) as tf.Scalar) : ce;
      });
      if (this.config.dense > 0) total = tf.add(total as tf.Scalar, this.denseLoss(batch, state, denom)) as tf.Scalar;
      const ul = this.config.unlikelihood > 0 ? this.unlikelihood(batch, state, denom, drop) : undefined;
      return (ul ? tf.add(total as tf.Scalar, ul) : total) as tf.Scalar;
    }
    if (batch.kind === 'decoder') {
      if (this.config.arch !== 'decoder')
        throw new SemidError('SEMID_ERR_INTERNAL', `decoder batch given to a ${this.config.arch} model`);
      const { x } = this.decoderForward(batch, drop);
      const logits = this.head(x);
      return softmaxCrossEntropy(
        logits,
        tf.tensor1d(batch.targets, 'int32'),
        tf.tensor1d(batch.weights, 'float32'),
        denom,
        eps,
      );
    }
    if (this.config.arch !== 'encdec')
      throw new SemidError('SEMID_ERR_INTERNAL', `encdec batch given to a ${this.config.arch} model`);
    const eb = batch as EncDecBatch;
    const memory = this.encoderForward(eb.b, eb.te, eb.encTokens, eb.encPos, eb.encLvl, eb.encKeep, drop);
    const cross = Array.from({ length: this.config.layers }, (_, i) =>
      this.crossKV(`dec.blk${i}`, memory, eb.b, eb.te),
    );
    const x = this.encdecDecoder(eb.b, eb.levels, eb.decIn, cross, eb.encKeep, drop);
    const logits = this.head(x);
    const w = tf.ones([eb.b * eb.levels], 'float32') as tf.Tensor1D;
    return softmaxCrossEntropy(logits, tf.tensor1d(eb.decTargets, 'int32'), w, denom, eps);
  }

  /**
   * Teacher-forced next-token logits of a decoder-only batch: [b*t, V] float32 (for tests and export
   * checks). For encdec batches: the decoder's [b*L, V] logits. For item batches: [b*t*L, V], row
   * (slot, level) slot-major, with the tokens outside the row's level at NEG (as decoding gives them).
   */
  logits(batch: TrainBatch): Tensor {
    return tf.tidy(() => {
      const drop = new Drop(0, undefined);
      if (batch.kind === 'item') {
        const L = this.layout.levels;
        const n = batch.b * batch.t;
        const V = this.vocabSize;
        const per = this.itemLevelLogits(batch, drop).map((lg) => lg.dataSync() as Float32Array);
        const out = new Float32Array(n * L * V).fill(NEG);
        per.forEach((lg, l) => {
          const lo = this.layout.token(l, 0);
          const size = this.layout.levelSizes[l] as number;
          for (let i = 0; i < n; i++) out.set(lg.subarray(i * size, (i + 1) * size), (i * L + l) * V + lo);
        });
        return tf.tensor2d(out, [n * L, V]);
      }
      if (batch.kind === 'decoder') return this.head(this.decoderForward(batch, drop).x);
      const memory = this.encoderForward(
        batch.b,
        batch.te,
        batch.encTokens,
        batch.encPos,
        batch.encLvl,
        batch.encKeep,
        drop,
      );
      const cross = Array.from({ length: this.config.layers }, (_, i) =>
        this.crossKV(`dec.blk${i}`, memory, batch.b, batch.te),
      );
      return this.head(this.encdecDecoder(batch.b, batch.levels, batch.decIn, cross, batch.encKeep, drop));
    });
  }

  // ---------------------------------------------------------------- decoding

  /** Starts decoding for histories of item codes (oldest first; cut to the last maxHistory items). */
  async begin(histories: readonly (readonly Code[])[]): Promise<DecodingSession> {
    const cut = histories.map((h) => h.slice(Math.max(0, h.length - this.maxHistory)));
    for (const h of cut) {
      for (const c of h) {
        if (c.length !== this.layout.levels) {
          throw new SemidError(
            'SEMID_ERR_BAD_INPUT',
            `history code [${c}] has ${c.length} levels, the model expects ${this.layout.levels}`,
          );
        }
      }
    }
    if (this.config.arch === 'item') return new ItemSession(this, this.itemStates(cut), cut);
    return this.config.arch === 'decoder' ? new DecoderSession(this, cut) : new EncDecSession(this, cut);
  }

  /** @internal item-level prefill: each history's state (the last slot's hidden state), [b*d] on the host. */
  itemStates(histories: readonly (readonly Code[])[]): Float32Array {
    const slots = itemSlots(this.layout, histories, this.config.codeBuckets);
    const b = histories.length;
    const d = this.config.dModel;
    return tidyData(() => {
      const x = this.itemForward({ b, ...slots }, new Drop(0, undefined));
      return tf.reshape(tf.slice(tf.reshape(x, [b, slots.t, d]), [0, slots.t - 1, 0], [b, 1, d]), [b, d]);
    });
  }

  /**
   * @internal the dense item head's scores: per i, `denseFusion` * u(user_i) . e(code_i), where u is the
   * head's user vector of that user's state and e the code's item embedding (any valid code, also an
   * item added after training), plus, with `denseRepeat`, the learned repeat bias of
   * the code's recency in its user's history (inside the `denseFusion` factor). Empty unless `dense` > 0.
   * @param states [b*d] states from itemStates
   * @param histories the users' histories as the states read them (cut to maxHistory), oldest first
   */
  denseScores(
    states: Float32Array,
    users: readonly number[],
    codes: readonly Code[],
    histories: readonly (readonly Code[])[],
  ): Float32Array {
    if (this.config.dense <= 0 || codes.length === 0) return new Float32Array(0);
    const L = this.layout.levels;
    const d = this.config.dModel;
    const m = codes.length;
    const B = states.length / d;
    const state = new Float32Array(m * d);
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
    const { tokens, bucket } = codeRows(this.layout, codes, this.config.codeBuckets);
    const dot = tidyData(() => {
      const u = this.denseUser(tf.tensor2d(state, [m, d]));
      return tf.sum(tf.mul(u, this.itemEmbeddings(tokens, bucket)), 1);
    });
    if (this.config.denseRepeat) {
      const bias = this.w('dense.repeat').dataSync() as Float32Array;
      recencyOf(histories, users, codes).forEach((r, i) => {
        if (r >= 0 && r < bias.length) dot[i] = (dot[i] as number) + (bias[r] as number);
      });
    }
    for (let i = 0; i < m; i++) dot[i] = (dot[i] as number) * this.config.denseFusion;
    return dot;
  }

  /**
   * @internal one item-level step: next-token logits [rows, V] from each row's user state and prefix,
   * NEG outside the row's level.
   */
  stepItem(states: Float32Array, rows: readonly BeamRow[]): Float32Array {
    const L = this.layout.levels;
    const n = rows.length;
    const d = this.config.dModel;
    const V = this.vocabSize;
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
    const h = tidyData(() => {
      const z = this.codeHead(tf.tensor2d(state, [n, d]), level, prefix, new Drop(0, undefined));
      return this.head(z);
    });
    for (let i = 0; i < n; i++) {
      const l = level[i] as number;
      const lo = this.layout.token(l, 0);
      const hi = lo + (this.layout.levelSizes[l] as number);
      h.fill(NEG, i * V, i * V + lo);
      h.fill(NEG, i * V + hi, (i + 1) * V);
    }
    return h;
  }

  /** @internal prefill of a decoder-only session: per-layer K/V, key keep-flags, lengths, first logits. */
  prefillDecoder(histories: readonly (readonly Code[])[]): {
    kvs: KV[];
    keep: Float32Array;
    lens: Int32Array;
    t: number;
    first: Float32Array;
  } {
    const b = histories.length;
    const seqs = histories.map((h) => flatten(this.layout, h));
    const t = Math.max(...seqs.map((s) => s.tokens.length));
    const tokens = new Int32Array(b * t);
    const pos = new Int32Array(b * t);
    const lvl = new Int32Array(b * t).fill(this.layout.levels);
    const keep = new Float32Array(b * t);
    const lens = new Int32Array(b);
    seqs.forEach((s, r) => {
      const n = s.tokens.length;
      lens[r] = n;
      for (let j = 0; j < n; j++) {
        const o = r * t + t - n + j;
        tokens[o] = s.tokens[j] as number;
        pos[o] = j;
        lvl[o] = s.lvl[j] as number;
        keep[o] = 1;
      }
    });
    let first: Float32Array = new Float32Array(0);
    const kvs = tf.tidy(() => {
      const { x, kvs } = this.decoderForward({ b, t, tokens, pos, lvl, keep }, new Drop(0, undefined));
      const last = tf.reshape(
        tf.slice(tf.reshape(x, [b, t, this.config.dModel]), [0, t - 1, 0], [b, 1, this.config.dModel]),
        [b, this.config.dModel],
      );
      first = this.head(last).dataSync() as Float32Array;
      return kvs.flatMap((kv) => [kv.kT, kv.v]);
    });
    const out: KV[] = [];
    for (let i = 0; i < kvs.length; i += 2) out.push({ kT: kvs[i] as Tensor, v: kvs[i + 1] as Tensor });
    return { kvs: out, keep, lens, t, first };
  }

  /** @internal one decoder-only step for rows sharing prefix length p >= 1: logits [rows, V]. */
  stepDecoder(
    cache: { hosts: HostKV[]; keep: Float32Array; lens: Int32Array; t: number },
    rows: readonly BeamRow[],
    p: number,
  ): Float32Array {
    const n = rows.length;
    const th = cache.t;
    const tokens = new Int32Array(n * p);
    const pos = new Int32Array(n * p);
    const lvl = new Int32Array(n * p);
    const users = new Int32Array(n);
    const keep = new Float32Array(n * (th + p));
    rows.forEach((r, i) => {
      users[i] = r.user;
      for (let j = 0; j < p; j++) {
        tokens[i * p + j] = r.prefix[j] as number;
        pos[i * p + j] = (cache.lens[r.user] as number) + j;
        lvl[i * p + j] = j;
      }
      keep.set(cache.keep.subarray(r.user * th, (r.user + 1) * th), i * (th + p));
      keep.fill(1, i * (th + p) + th, (i + 1) * (th + p));
    });
    return tidyData(() => {
      const drop = new Drop(0, undefined);
      let x = this.embed(tokens, pos, lvl, 'pos_emb');
      const mask = buildMask(keep, n, p, th + p, true, th);
      for (let i = 0; i < this.config.layers; i++) {
        const past = gatherKV(cache.hosts[i] as HostKV, users);
        x = this.ffn(`blk${i}`, this.selfAttn(`blk${i}`, x, n, p, mask, drop, past).x, drop);
      }
      const d = this.config.dModel;
      const last = tf.reshape(tf.slice(tf.reshape(x, [n, p, d]), [0, p - 1, 0], [n, 1, d]), [n, d]);
      return this.head(last);
    });
  }

  /** @internal encoder prefill of an encdec session: cross K/V per decoder layer and key flags. */
  prefillEncDec(histories: readonly (readonly Code[])[]): { cross: KV[]; keep: Float32Array; te: number } {
    const b = histories.length;
    const seqs = histories.map((h) => flatten(this.layout, h));
    const te = Math.max(...seqs.map((s) => s.tokens.length));
    const tokens = new Int32Array(b * te);
    const pos = new Int32Array(b * te);
    const lvl = new Int32Array(b * te).fill(this.layout.levels);
    const keep = new Float32Array(b * te);
    seqs.forEach((s, r) => {
      const n = s.tokens.length;
      for (let j = 0; j < n; j++) {
        const o = r * te + te - n + j;
        tokens[o] = s.tokens[j] as number;
        pos[o] = n - 1 - j;
        lvl[o] = s.lvl[j] as number;
        keep[o] = 1;
      }
    });
    const flat = tf.tidy(() => {
      const memory = this.encoderForward(b, te, tokens, pos, lvl, keep, new Drop(0, undefined));
      return Array.from({ length: this.config.layers }, (_, i) => this.crossKV(`dec.blk${i}`, memory, b, te)).flatMap(
        (kv) => [kv.kT, kv.v],
      );
    });
    const cross: KV[] = [];
    for (let i = 0; i < flat.length; i += 2) cross.push({ kT: flat[i] as Tensor, v: flat[i + 1] as Tensor });
    return { cross, keep, te };
  }

  /** @internal one encdec step for rows sharing prefix length p >= 0: logits [rows, V]. */
  stepEncDec(
    cache: { hosts: HostKV[]; keep: Float32Array; te: number },
    rows: readonly BeamRow[],
    p: number,
  ): Float32Array {
    const n = rows.length;
    const t = p + 1;
    const tokens = new Int32Array(n * t);
    const users = new Int32Array(n);
    const keep = new Float32Array(n * cache.te);
    rows.forEach((r, i) => {
      users[i] = r.user;
      tokens[i * t] = BOS;
      for (let j = 0; j < p; j++) tokens[i * t + 1 + j] = r.prefix[j] as number;
      keep.set(cache.keep.subarray(r.user * cache.te, (r.user + 1) * cache.te), i * cache.te);
    });
    return tidyData(() => {
      const cross = cache.hosts.map((h) => gatherKV(h, users));
      const x = this.encdecDecoder(n, t, tokens, cross, keep, new Drop(0, undefined));
      const d = this.config.dModel;
      const last = tf.reshape(tf.slice(tf.reshape(x, [n, t, d]), [0, t - 1, 0], [n, 1, d]), [n, d]);
      return this.head(last);
    });
  }

  /** Frees every weight. */
  dispose(): void {
    for (const v of this.weights.values()) v.dispose();
    this.weights.clear();
  }
}

let instanceCounter = 0;

/**
 * Rows of a cached tensor for each of `users` (JS-side copy; wasm's gather kernel is ~50x slower
 * for these block copies). `host` is the cached tensor's data, `shape` its shape [n, ...].
 */
function gatherRows(host: Float32Array, shape: readonly number[], users: Int32Array): Tensor {
  const block = shape.slice(1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(users.length * block);
  for (let i = 0; i < users.length; i++) {
    const u = users[i] as number;
    out.set(host.subarray(u * block, (u + 1) * block), i * block);
  }
  return tf.tensor(out, [users.length, ...shape.slice(1)], 'float32');
}

/** A cached K/V pair with host copies for fast per-row gathers. */
interface HostKV {
  kv: KV;
  kT: Float32Array;
  v: Float32Array;
}

function hostKV(kv: KV): HostKV {
  return { kv, kT: kv.kT.dataSync() as Float32Array, v: kv.v.dataSync() as Float32Array };
}

function gatherKV(h: HostKV, users: Int32Array): KV {
  return { kT: gatherRows(h.kT, h.kv.kT.shape, users), v: gatherRows(h.v, h.kv.v.shape, users) };
}

/** Rows per forward pass in decoding steps (bounds the gathered K/V cache memory). */
const STEP_CHUNK = 512;

/** Splits rows into groups by prefix length and chunks, calls `step`, and scatters rows back in order. */
function stepRows(
  rows: readonly BeamRow[],
  vocab: number,
  step: (chunk: BeamRow[], p: number) => Float32Array,
): Float32Array[] {
  const out: Float32Array[] = new Array<Float32Array>(rows.length);
  const byLen = new Map<number, number[]>();
  rows.forEach((r, i) => {
    const g = byLen.get(r.prefix.length);
    if (g) g.push(i);
    else byLen.set(r.prefix.length, [i]);
  });
  for (const [p, idx] of byLen) {
    for (let c = 0; c < idx.length; c += STEP_CHUNK) {
      const part = idx.slice(c, c + STEP_CHUNK);
      const flat = step(
        part.map((i) => rows[i] as BeamRow),
        p,
      );
      part.forEach((i, k) => {
        out[i] = flat.slice(k * vocab, (k + 1) * vocab);
      });
    }
  }
  return out;
}

function checkRows(rows: readonly BeamRow[], users: number, levels: number): void {
  for (const r of rows) {
    if (!Number.isInteger(r.user) || r.user < 0 || r.user >= users) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `beam row user ${r.user} is outside [0, ${users}) of this session`);
    }
    if (r.prefix.length >= levels) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `beam row prefix has ${r.prefix.length} tokens; codes have ${levels}, so at most ${levels - 1}`,
      );
    }
  }
}

/** Decoding session of the decoder-only model: history K/V cached per layer; each step recomputes only the short prefix. */
class DecoderSession implements DecodingSession {
  private readonly cache: ReturnType<CodeTransformer['prefillDecoder']> & { hosts: HostKV[] };
  private readonly users: number;
  constructor(
    private readonly model: CodeTransformer,
    histories: readonly (readonly Code[])[],
  ) {
    this.users = histories.length;
    const c = model.prefillDecoder(histories);
    this.cache = { ...c, hosts: c.kvs.map(hostKV) };
  }
  async next(rows: readonly BeamRow[]): Promise<Float32Array[]> {
    checkRows(rows, this.users, this.model.layout.levels);
    const V = this.model.vocabSize;
    return stepRows(rows, V, (chunk, p) => {
      if (p === 0) {
        const out = new Float32Array(chunk.length * V);
        chunk.forEach((r, k) => {
          out.set(this.cache.first.subarray(r.user * V, (r.user + 1) * V), k * V);
        });
        return out;
      }
      return this.model.stepDecoder(this.cache, chunk, p);
    });
  }
  dispose(): void {
    for (const kv of this.cache.kvs) {
      kv.kT.dispose();
      kv.v.dispose();
    }
    this.cache.kvs.length = 0;
  }
}

/** Rows per code-head pass of an item-level step (no cache to gather, so larger chunks than STEP_CHUNK). */
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
      this.itemScores = async (users, codes) => model.denseScores(states, users, codes, histories);
  }
  async next(rows: readonly BeamRow[]): Promise<Float32Array[]> {
    checkRows(rows, this.users, this.model.layout.levels);
    const V = this.model.vocabSize;
    const out: Float32Array[] = [];
    for (let c = 0; c < rows.length; c += ITEM_STEP_CHUNK) {
      const flat = this.model.stepItem(this.states, rows.slice(c, c + ITEM_STEP_CHUNK));
      for (let i = 0; i < flat.length / V; i++) out.push(flat.subarray(i * V, (i + 1) * V)); // rows never overlap
    }
    return out;
  }
  dispose(): void {}
}

/** Decoding session of the encoder-decoder model: encoder memory's cross K/V cached; the decoder reruns on [BOS, prefix]. */
class EncDecSession implements DecodingSession {
  private readonly cache: ReturnType<CodeTransformer['prefillEncDec']> & { hosts: HostKV[] };
  private readonly users: number;
  constructor(
    private readonly model: CodeTransformer,
    histories: readonly (readonly Code[])[],
  ) {
    this.users = histories.length;
    const c = model.prefillEncDec(histories);
    this.cache = { ...c, hosts: c.cross.map(hostKV) };
  }
  async next(rows: readonly BeamRow[]): Promise<Float32Array[]> {
    checkRows(rows, this.users, this.model.layout.levels);
    return stepRows(rows, this.model.vocabSize, (chunk, p) => this.model.stepEncDec(this.cache, chunk, p));
  }
  dispose(): void {
    for (const kv of this.cache.cross) {
      kv.kT.dispose();
      kv.v.dispose();
    }
    this.cache.cross.length = 0;
  }
}
