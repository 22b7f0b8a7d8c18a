/**
 * Exports a trained CodeTransformer (models/transformer.ts) to the ONNX directory format of
 * docs/ONNX.md, mirroring its computation op for op:
 *  - embeddings tok_emb[token] + pos_emb[position] + lvl_emb[level] (level from a token -> level
 *    table: code tokens their level, specials the extra level L);
 *  - pre-LayerNorm blocks (eps 1e-5), fused QKV projection, scores (q.k) * 1/sqrt(dh) plus an additive
 *    -1e9 mask, softmax, ReLU FFN; final ln_f and the head (tied to tok_emb when configured).
 *
 * Decoder-only ("start": "last"): encode runs the causal stack over [BOS, history tokens] minus the last
 * token and outputs every layer's keys/values; step runs [last history token, prefix...] against them.
 * Positions count from BOS (left padding is skipped, as in models/batch.ts).
 * Encoder-decoder ("start": "bos"): encode runs the bidirectional encoder (positions counted back from
 * the most recent token) and outputs every decoder layer's cross-attention keys/values; step runs the
 * decoder over [BOS, prefix...].
 * Item-level ("start": "bos", no BOS in the history row): encode groups the history tokens into items
 * of L tokens, runs the causal stack over [start, items...] and outputs each user's state (the last
 * slot); step runs the code head on the state and [BOS, prefix...], with every token outside the
 * predicted level at -1e9.
 * Step graphs work in a "user layout" [B, h, K*S, dh]: the K beams of a user attend to its cache in
 * one product, and to their own tokens through a block-diagonal causal mask (so no row sees another).
 * Same values as the per-row computation; the parity test checks it against TensorFlow.js.
 */
import { join } from 'node:path';
import { readManifest } from '../../src/core/artifact.js';
import { BOS, TokenLayout } from '../../src/core/codes.js';
import { SemidError } from '../../src/core/errors.js';
import { type ModelConfig, resolveModelConfig } from '../config.js';
import { readModelManifest, readWeights } from '../io.js';
import { paramSpecs } from '../transformer.js';
import { ONNX_KIND, type OnnxManifest, type OnnxManifestFields, writeOnnxDir } from './format.js';
import { GraphBuilder } from './proto.js';

/** Additive mask value of a blocked attention entry; the same as models/ops.ts NEG. */
const NEG = -1e9;
/** LayerNorm epsilon of models/ops.ts. */
const LN_EPS = 1e-5;
/** "To the end" bound of a Slice. */
const END = Number.MAX_SAFE_INTEGER;

/** What the exporter reads from a model: its config, code length and weight values by name. */
export interface TransformerWeights {
  config: ModelConfig;
  /** Codebook size per level (the TokenLayout the model was trained with). */
  levelSizes: readonly number[];
  /** Weight values by name (models/transformer.ts paramSpecs), float32, row-major. */
  values: ReadonlyMap<string, Float32Array>;
}

/** The serialised graphs of an export. */
export interface OnnxGraphs {
  encode: Uint8Array;
  step: Uint8Array;
  /** The item-level model's dense item head (config.dense > 0), else absent. */
  score?: Uint8Array;
}

/** Graph-building helpers that know the weights and the model's dimensions. */
class Net {
  readonly g: GraphBuilder;
  readonly d: number;
  readonly h: number;
  readonly dh: number;
  private readonly added = new Set<string>();

  constructor(
    name: string,
    private readonly w: TransformerWeights,
  ) {
    this.g = new GraphBuilder(name);
    this.d = w.config.dModel;
    this.h = w.config.heads;
    this.dh = this.d / this.h;
  }

  /** The initializer of weight `name` (added on first use), checked against its spec shape. */
  p(name: string): string {
    if (!this.added.has(name)) {
      const spec = paramSpecs(
        this.w.config,
        this.w.levelSizes.length,
        new TokenLayout(this.w.levelSizes).vocabSize,
      ).find((s) => s.name === name);
      const v = this.w.values.get(name);
      if (!spec || !v)
        throw new SemidError('SEMID_ERR_ARTIFACT_CORRUPT', `the model has no weight "${name}" to export`);
      this.g.weight(name, v, spec.shape);
      this.added.add(name);
    }
    return name;
  }

  /** x [..., in] @ W [in, out] + b. */
  linear(x: string, w: string, b: string): string {
    return this.g.add(this.g.matmul(x, this.p(w)), this.p(b));
  }

  ln(x: string, prefix: string): string {
    return this.g.layerNorm(x, this.p(`${prefix}.g`), this.p(`${prefix}.b`), LN_EPS);
  }

  /** [n, t, d] -> [n, h, t, dh] */
  heads(x: string): string {
    return this.g.transpose(this.g.reshape(x, [0, 0, this.h, this.dh]), [0, 2, 1, 3]);
  }

  /** [n, t, d] -> [n, h, dh, t]: keys, transposed once so every score product reads them directly. */
  headsT(x: string): string {
    return this.g.transpose(this.g.reshape(x, [0, 0, this.h, this.dh]), [0, 2, 3, 1]);
  }

  /** (q . kT) * 1/sqrt(dh) + bias with keys already transposed: q [..., tq, dh], kT [..., dh, tk]. */
  scoresT(q: string, kT: string, bias: string): string {
    return this.g.add(this.g.mul(this.g.matmul(q, kT), this.g.f32([1 / Math.sqrt(this.dh)], [])), bias);
  }

  /** [n, h, t, dh] -> [n, t, d] */
  merge(o: string): string {
    return this.g.reshape(this.g.transpose(o, [0, 2, 1, 3]), [0, 0, this.d]);
  }

  /** (q . k^T) * 1/sqrt(dh) + bias, as models/ops.ts attention orders it: q [n, h, tq, dh], k [n, h, tk, dh]. */
  scores(q: string, k: string, bias: string): string {
    return this.scoresT(q, this.g.transpose(k, [0, 1, 3, 2]), bias);
  }

  /** The embedding sum for int64 tokens and positions [n, t]: [n, t, d]. */
  embed(tokens: string, pos: string, posName: string, levelTable: string): string {
    const g = this.g;
    const lvl = g.gather(levelTable, tokens);
    return g.add(
      g.add(g.gather(this.p('tok_emb'), tokens), g.gather(this.p(posName), pos)),
      g.gather(this.p('lvl_emb'), lvl),
    );
  }

  /** The residual FFN sublayer of block `p`. */
  ffn(p: string, x: string): string {
    const hdn = this.g.relu(this.linear(this.ln(x, `${p}.ln2`), `${p}.ffn.w1`, `${p}.ffn.b1`));
    return this.g.add(x, this.linear(hdn, `${p}.ffn.w2`, `${p}.ffn.b2`));
  }

  /** LN1 and the fused QKV projection of block `p`: q [n,h,t,dh], keys transposed [n,h,dh,t], v [n,h,t,dh]. */
  qkv(p: string, x: string): [string, string, string] {
    const qkv = this.linear(this.ln(x, `${p}.ln1`), `${p}.attn.wqkv`, `${p}.attn.bqkv`);
    const [q, k, v] = this.g.split(qkv, [this.d, this.d, this.d], -1) as [string, string, string];
    return [this.heads(q), this.headsT(k), this.heads(v)];
  }

  /** Output projection and residual of self-attention output o [n,h,t,dh]. */
  attnOut(p: string, x: string, o: string, which: 'attn' | 'cross'): string {
    return this.g.add(x, this.linear(this.merge(o), `${p}.${which}.wo`, `${p}.${which}.bo`));
  }

  /** ln_f and the output head on [n, d]: logits [n, V]. */
  head(x: string): string {
    const h = this.ln(x, 'ln_f');
    if (!this.w.config.tiedHead) return this.g.add(this.g.matmul(h, this.p('head.w')), this.p('head.b'));
    const V = new TokenLayout(this.w.levelSizes).vocabSize;
    const emb = this.w.values.get('tok_emb');
    if (!emb) throw new SemidError('SEMID_ERR_ARTIFACT_CORRUPT', 'the model has no weight "tok_emb" to export');
    return this.g.add(
      this.g.matmul(h, this.g.weight('head.w.tied', transpose(emb, V, this.d), [this.d, V])),
      this.p('head.b'),
    );
  }

  /** [t, t] float: 0 where key <= query, NEG above the diagonal; t from dimension `axis` of `like`. */
  causal(like: string, axis: number): string {
    const g = this.g;
    const t = g.gather(g.shape(like), g.i64([axis], []));
    const r = g.range(g.i64([0], []), t, g.i64([1], []));
    const blocked = g.less(g.unsqueeze(r, [1]), g.unsqueeze(r, [0]));
    return g.where(blocked, g.f32([NEG], []), g.f32([0], []));
  }

  // ---- step graphs: rows grouped per user, tokens [B, K, S], hidden states [B, K, S, d]

  /**
   * [B, K, S, d] -> [B, h, K*S, dh]: the user layout, where all K rows of a user attend together (one
   * matrix product per user and head against that user's cached keys, no per-row copy of the cache).
   */
  userHeads(x: string): string {
    return this.g.reshape(this.g.transpose(this.g.reshape(x, [0, 0, 0, this.h, this.dh]), [0, 3, 1, 2, 4]), [
      0,
      0,
      -1,
      this.dh,
    ]);
  }

  /** [B, h, K*S, dh] -> [B, K, S, d]; `toRows` is the int64 shape [0, 0, K, -1, dh]. */
  userMerge(o: string, toRows: string): string {
    return this.g.reshape(this.g.transpose(this.g.reshape(o, toRows), [0, 2, 3, 1, 4]), [0, 0, 0, this.d]);
  }

  /** The last position of every row of user-layout queries [B, h, K*S, dh] -> [B, h, K, dh]. */
  lastQuery(q: string, toRows: string): string {
    return this.g.reshape(this.g.slice(this.g.reshape(q, toRows), [-1], [END], [3]), [0, 0, -1, this.dh]);
  }

  /** LN1 and the fused QKV projection of block `p` on [B, K, S, d]: q, k, v in the user layout [B, h, K*S, dh]. */
  userQkv(p: string, x: string): [string, string, string] {
    const qkv = this.linear(this.ln(x, `${p}.ln1`), `${p}.attn.wqkv`, `${p}.attn.bqkv`);
    const [q, k, v] = this.g.split(qkv, [this.d, this.d, this.d], -1) as [string, string, string];
    return [this.userHeads(q), this.userHeads(k), this.userHeads(v)];
  }

  /**
   * The additive mask [K*Sq, K*S] among the current tokens of a user's K rows in the user layout:
   * a query sees only its own row's keys, causally. With `lastOnly` the queries are each row's last
   * position (Sq = 1), which sees its whole row.
   */
  rowCausal(Kd: string, Sd: string, lastOnly: boolean): string {
    const g = this.g;
    const one = g.i64([1], []);
    const K = g.squeeze(Kd, [0]);
    const S = g.squeeze(Sd, [0]);
    const Sq = lastOnly ? one : S;
    const rq = g.range(g.i64([0], []), g.mul(K, Sq), one);
    const rc = g.range(g.i64([0], []), g.mul(K, S), one);
    const kq = g.unsqueeze(g.div(rq, Sq), [1]);
    const iq = g.unsqueeze(g.add(g.node('Mod', [rq, Sq]), g.sub(S, Sq)), [1]); // position within the row
    const kc = g.unsqueeze(g.div(rc, S), [0]);
    const jc = g.unsqueeze(g.node('Mod', [rc, S]), [0]);
    const allowed = g.node('And', [g.equal(kq, kc), g.node('LessOrEqual', [jc, iq])]);
    return g.where(allowed, g.f32([0], []), g.f32([NEG], []));
  }

  /** Dimension `axis` of `x` as an int64 vector of length 1. */
  dim(x: string, axis: number): string {
    return this.g.gather(this.g.shape(x), this.g.i64([axis]));
  }

  /** An int64 shape vector from constant and dynamic parts. */
  shapeOf(parts: readonly (number | string)[]): string {
    return this.g.concat(
      parts.map((p) => (typeof p === 'number' ? this.g.i64([p]) : p)),
      0,
    );
  }

  /** ln_f and the head at the last position of [B, K, S, d]: logits [B, K, V]. */
  rowLogits(x: string): string {
    return this.head(this.g.reshape(this.g.slice(x, [-1], [END], [2]), [0, 0, this.d]));
  }

  /** [n, t] int64 mask -> additive key bias [n, t] float: 0 for real tokens, NEG for padding. */
  keyBias(mask: string): string {
    const g = this.g;
    return g.where(g.equal(mask, g.i64([0], [])), g.f32([NEG], []), g.f32([0], []));
  }
}

/** Row-major transpose of an [r, c] matrix. */
function transpose(a: Float32Array, r: number, c: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = a[i * c + j] as number;
  return out;
}

/** The token -> level table [V] int64: code tokens their level, specials (PAD/BOS/SEP) level L. */
function levelTable(levelSizes: readonly number[]): number[] {
  const layout = new TokenLayout(levelSizes);
  return Array.from({ length: layout.vocabSize }, (_, t) => layout.parse(t)?.[0] ?? layout.levels);
}

function checkWeights(w: TransformerWeights): void {
  const specs = paramSpecs(w.config, w.levelSizes.length, new TokenLayout(w.levelSizes).vocabSize);
  const problems: string[] = [];
  for (const s of specs) {
    const v = w.values.get(s.name);
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (!v) problems.push(`missing "${s.name}"`);
    else if (v.length !== n) problems.push(`"${s.name}" has ${v.length} values, expected ${n} [${s.shape}]`);
  }
  if (problems.length > 0) {
    throw new SemidError(
      'SEMID_ERR_ARTIFACT_CORRUPT',
      `cannot export: weights do not match the config: ${problems.join('; ')}`,
    );
  }
}

/** Builds the decoder-only encode/step graphs (docs/ONNX.md, "start": "last"). */
export function buildDecoderGraphs(w: TransformerWeights): OnnxGraphs {
  checkWeights(w);
  const layers = w.config.layers;
  const V = new TokenLayout(w.levelSizes).vocabSize;
  const lvlTable = levelTable(w.levelSizes);

  // ---- encode: causal stack over the history (without its last token), outputs K/V per layer
  const e = new Net('semid_decoder_encode', w);
  const g = e.g;
  const hist = g.input('history', 'INT64', ['batch', 'T']);
  const mask = g.input('history_mask', 'INT64', ['batch', 'T']);
  const pos = g.mul(g.sub(g.cumsum(mask, 1), g.i64([1], [])), mask);
  let x = e.embed(hist, pos, 'pos_emb', g.i64(lvlTable));
  const bias = g.add(g.unsqueeze(e.keyBias(mask), [1, 2]), e.causal(hist, 1)); // [B,1,T,T]
  for (let i = 0; i < layers; i++) {
    const p = `blk${i}`;
    const [q, kT, v] = e.qkv(p, x);
    g.output(kT, `past_key_${i}`, 'FLOAT', ['batch', e.h, e.dh, 'T']);
    g.output(v, `past_value_${i}`, 'FLOAT', ['batch', e.h, 'T', e.dh]);
    if (i === layers - 1) break; // the last layer's output feeds nothing the step graph needs
    const o = g.matmul(g.softmax(e.scoresT(q, kT, bias)), v);
    x = e.ffn(p, e.attnOut(p, x, o, 'attn'));
  }
  g.output(e.keyBias(mask), 'past_bias', 'FLOAT', ['batch', 'T']);
  g.output(g.reduceSum(mask, [1]), 'past_length', 'INT64', ['batch']);

  // ---- step: per user, K rows of [last history token, prefix...] against the user's cached keys/values
  const s = new Net('semid_decoder_step', w);
  const sg = s.g;
  const pastK = Array.from({ length: layers }, (_, i) => sg.input(`past_key_${i}`, 'FLOAT', ['batch', s.h, s.dh, 'T']));
  const pastV = Array.from({ length: layers }, (_, i) =>
    sg.input(`past_value_${i}`, 'FLOAT', ['batch', s.h, 'T', s.dh]),
  );
  const pastBias = sg.input('past_bias', 'FLOAT', ['batch', 'T']);
  const pastLen = sg.input('past_length', 'INT64', ['batch']);
  const tokens = sg.input('tokens', 'INT64', ['batch', 'beams', 'S']);
  const [Kd, Sd, Td] = [s.dim(tokens, 1), s.dim(tokens, 2), s.dim(pastBias, 1)];
  const offs = sg.range(sg.i64([0], []), sg.squeeze(Sd, [0]), sg.i64([1], []));
  const spos = sg.add(sg.unsqueeze(pastLen, [1, 2]), sg.unsqueeze(offs, [0, 1])); // [B,1,S]
  let y = s.embed(tokens, spos, 'pos_emb', sg.i64(lvlTable)); // [B,K,S,d]
  const biasPast = sg.unsqueeze(pastBias, [1, 2]); // [B,1,1,T]
  const toRows = s.shapeOf([0, 0, Kd, -1, s.dh]); // [B,h,K*Sq,dh] -> [B,h,K,Sq,dh]
  for (let i = 0; i < layers; i++) {
    const p = `blk${i}`;
    // In the last layer only each row's last position feeds the logits: only its query goes on.
    const lastLayer = i === layers - 1;
    const [qAll, k, v] = s.userQkv(p, y); // [B,h,K*S,dh]
    const q = lastLayer ? s.lastQuery(qAll, toRows) : qAll; // [B,h,K*Sq,dh]
    const yIn = lastLayer ? sg.slice(y, [-1], [END], [2]) : y; // [B,K,Sq,d]
    const sPast = s.scoresT(q, pastK[i] as string, biasPast); // [B,h,K*Sq,T]
    const sCur = s.scores(q, k, s.rowCausal(Kd, Sd, lastLayer)); // [B,h,K*Sq,K*S]
    const prob = sg.softmax(sg.concat([sPast, sCur], -1));
    const pPast = sg.sliceDyn(prob, sg.i64([0]), Td, sg.i64([-1]));
    const pCur = sg.sliceDyn(prob, Td, sg.i64([END]), sg.i64([-1]));
    const o = sg.add(sg.matmul(pPast, pastV[i] as string), sg.matmul(pCur, v)); // [B,h,K*Sq,dh]
    y = s.ffn(p, sg.add(yIn, s.linear(s.userMerge(o, toRows), `${p}.attn.wo`, `${p}.attn.bo`)));
  }
  sg.output(s.rowLogits(y), 'logits', 'FLOAT', ['batch', 'beams', V]);

  const meta = { metadata: { semid_arch: 'decoder' } };
  return { encode: g.toModel(meta), step: sg.toModel(meta) };
}

/** Builds the encoder-decoder (TIGER) encode/step graphs (docs/ONNX.md, "start": "bos"). */
export function buildEncDecGraphs(w: TransformerWeights): OnnxGraphs {
  checkWeights(w);
  const layers = w.config.layers;
  const V = new TokenLayout(w.levelSizes).vocabSize;
  const lvlTable = levelTable(w.levelSizes);

  // ---- encode: bidirectional encoder, then every decoder layer's cross-attention keys/values
  const e = new Net('semid_encdec_encode', w);
  const g = e.g;
  const hist = g.input('history', 'INT64', ['batch', 'T']);
  const mask = g.input('history_mask', 'INT64', ['batch', 'T']);
  const pos = g.mul(g.cumsum(mask, 1, { exclusive: true, reverse: true }), mask); // 0 = most recent
  let x = e.embed(hist, pos, 'enc.pos_emb', g.i64(lvlTable));
  const keyBias = e.keyBias(mask);
  const bias = g.unsqueeze(keyBias, [1, 2]); // [B,1,1,T]
  for (let i = 0; i < layers; i++) {
    const p = `enc.blk${i}`;
    const [q, kT, v] = e.qkv(p, x);
    const o = g.matmul(g.softmax(e.scoresT(q, kT, bias)), v);
    x = e.ffn(p, e.attnOut(p, x, o, 'attn'));
  }
  const memory = e.ln(x, 'enc.ln_f');
  for (let i = 0; i < layers; i++) {
    const p = `dec.blk${i}`;
    const kv = e.linear(memory, `${p}.cross.wkv`, `${p}.cross.bkv`);
    const [k, v] = g.split(kv, [e.d, e.d], -1) as [string, string];
    g.output(e.headsT(k), `cross_key_${i}`, 'FLOAT', ['batch', e.h, e.dh, 'T']);
    g.output(e.heads(v), `cross_value_${i}`, 'FLOAT', ['batch', e.h, 'T', e.dh]);
  }
  g.output(keyBias, 'cross_bias', 'FLOAT', ['batch', 'T']);

  // ---- step: the decoder over K rows of [BOS, prefix...] per user
  const s = new Net('semid_encdec_step', w);
  const sg = s.g;
  const crossK = Array.from({ length: layers }, (_, i) =>
    sg.input(`cross_key_${i}`, 'FLOAT', ['batch', s.h, s.dh, 'T']),
  );
  const crossV = Array.from({ length: layers }, (_, i) =>
    sg.input(`cross_value_${i}`, 'FLOAT', ['batch', s.h, 'T', s.dh]),
  );
  const crossBias = sg.input('cross_bias', 'FLOAT', ['batch', 'T']);
  const tokens = sg.input('tokens', 'INT64', ['batch', 'beams', 'S']);
  const [Kd, Sd] = [s.dim(tokens, 1), s.dim(tokens, 2)];
  const spos = sg.range(sg.i64([0], []), sg.squeeze(Sd, [0]), sg.i64([1], [])); // [S]
  let y = s.embed(tokens, spos, 'dec.pos_emb', sg.i64(lvlTable)); // [B,K,S,d]
  const cb = sg.unsqueeze(crossBias, [1, 2]); // [B,1,1,T]
  const toRows = s.shapeOf([0, 0, Kd, -1, s.dh]); // [B,h,K*Sq,dh] -> [B,h,K,Sq,dh]
  for (let i = 0; i < layers; i++) {
    const p = `dec.blk${i}`;
    const lastLayer = i === layers - 1;
    const [qAll, k, v] = s.userQkv(p, y);
    const q = lastLayer ? s.lastQuery(qAll, toRows) : qAll;
    const yIn = lastLayer ? sg.slice(y, [-1], [END], [2]) : y; // [B,K,Sq,d]
    const self = sg.matmul(sg.softmax(s.scores(q, k, s.rowCausal(Kd, Sd, lastLayer))), v); // [B,h,K*Sq,dh]
    y = sg.add(yIn, s.linear(s.userMerge(self, toRows), `${p}.attn.wo`, `${p}.attn.bo`));
    const cq = s.userHeads(s.linear(s.ln(y, `${p}.lnc`), `${p}.cross.wq`, `${p}.cross.bq`));
    const cross = sg.matmul(sg.softmax(s.scoresT(cq, crossK[i] as string, cb)), crossV[i] as string); // [B,h,K*Sq,dh]
    y = s.ffn(p, sg.add(y, s.linear(s.userMerge(cross, toRows), `${p}.cross.wo`, `${p}.cross.bo`)));
  }
  sg.output(s.rowLogits(y), 'logits', 'FLOAT', ['batch', 'beams', V]);

  const meta = { metadata: { semid_arch: 'encdec' } };
  return { encode: g.toModel(meta), step: sg.toModel(meta) };
}

/** Builds the item-level encode/step graphs (docs/ONNX.md, "start": "bos", history without BOS). */
export function buildItemGraphs(w: TransformerWeights): OnnxGraphs {
  checkWeights(w);
  const layers = w.config.layers;
  const layout = new TokenLayout(w.levelSizes);
  const V = layout.vocabSize;
  const L = layout.levels;

  /** Items' input embeddings without position: codes [..., L] int64 -> [..., d] (transformer.ts itemEmbeddings). */
  const itemEmbeddings = (net: Net, codes: string): string => {
    const g = net.g;
    const axis = 2; // codes are [B, n, L] in both graphs
    let emb = g.reduceSum(g.gather(net.p('tok_emb'), codes), [axis]);
    const M = w.config.codeBuckets;
    if (M > 0) {
      // models/batch.ts codeBucket: h = (h * V + token) mod M, coarse to fine
      let h = g.i64([0], []);
      for (let l = 0; l < L; l++) {
        const t = g.squeeze(g.slice(codes, [l], [l + 1], [axis]), [axis]);
        h = g.node('Mod', [g.add(g.mul(h, g.i64([V], [])), t), g.i64([M], [])]);
      }
      emb = g.add(emb, g.gather(net.p('code_emb'), h));
    }
    return emb;
  };

  // ---- encode: items of L tokens -> slots [start, items...] -> causal stack -> the last slot's state
  const e = new Net('semid_item_encode', w);
  const g = e.g;
  const hist = g.input('history', 'INT64', ['batch', 'T']);
  const mask = g.input('history_mask', 'INT64', ['batch', 'T']);
  const tok3 = g.reshape(hist, [0, -1, L]); // [B,n,L]
  const itemMask = g.squeeze(g.slice(g.reshape(mask, [0, -1, L]), [0], [1], [2]), [2]); // [B,n]
  const pos = g.mul(g.cumsum(itemMask, 1), itemMask); // items 1..n, padding 0
  const itemEmb = g.add(itemEmbeddings(e, tok3), g.gather(e.p('pos_emb'), pos));
  const start = g.add(g.gather(e.p('tok_emb'), g.i64([BOS], [])), g.gather(e.p('pos_emb'), g.i64([0], []))); // [d]
  const isItem = g.unsqueeze(g.equal(itemMask, g.i64([1], [])), [2]);
  const slots = g.where(isItem, itemEmb, start); // padding slots look like the start
  const Bd = e.dim(hist, 0);
  let x = g.concat([g.expand(g.reshape(start, [1, 1, e.d]), e.shapeOf([Bd, 1, e.d])), slots], 1); // [B,n+1,d]
  const keep = g.concat([g.expand(g.i64([1], [1, 1]), e.shapeOf([Bd, 1])), itemMask], 1);
  const bias = g.add(g.unsqueeze(e.keyBias(keep), [1, 2]), e.causal(x, 1)); // [B,1,n+1,n+1]
  for (let i = 0; i < layers; i++) {
    const p = `blk${i}`;
    const [q, kT, v] = e.qkv(p, x);
    const o = g.matmul(g.softmax(e.scoresT(q, kT, bias)), v);
    x = e.ffn(p, e.attnOut(p, x, o, 'attn'));
  }
  g.output(g.reshape(g.slice(x, [-1], [END], [1]), [0, e.d]), 'state', 'FLOAT', ['batch', e.d]);

  // ---- step: the code head on each row's user state and [BOS, prefix...]
  const s = new Net('semid_item_step', w);
  const sg = s.g;
  const state = sg.input('state', 'FLOAT', ['batch', s.d]);
  const tokens = sg.input('tokens', 'INT64', ['batch', 'beams', 'S']);
  const P = sg.sub(s.dim(tokens, 2), sg.i64([1])); // [1]: the level predicted
  const z = sg.add(
    sg.add(sg.unsqueeze(state, [1]), sg.reduceSum(sg.gather(s.p('tok_emb'), tokens), [2])),
    sg.gather(s.p('lvl_emb'), P),
  ); // [B,K,d]
  const live = Array.from({ length: L }, (_, l) => {
    const lo = layout.token(l, 0);
    return Array.from({ length: V }, (_, t) => (t >= lo && t < lo + (w.levelSizes[l] as number) ? 1 : 0));
  }).flat();
  const levelLive = sg.equal(sg.gather(sg.i64(live, [L, V]), P), sg.i64([1], [])); // [1,V]
  const logits = sg.where(levelLive, s.head(s.ffn('code', z)), sg.f32([NEG], []));
  sg.output(logits, 'logits', 'FLOAT', ['batch', 'beams', V]);

  const meta = { metadata: { semid_arch: 'item' } };
  if (!(w.config.dense > 0)) return { encode: g.toModel(meta), step: sg.toModel(meta) };

  // ---- score: the dense item head, LN_dense(state) . item embedding, per candidate code (the runtime
  // weighs it by the manifest's scoreWeight, the config's denseFusion)
  const c = new Net('semid_item_score', w);
  const cg = c.g;
  const cstate = cg.input('state', 'FLOAT', ['batch', c.d]);
  const codes = cg.input('codes', 'INT64', ['batch', 'items', L]);
  const u = cg.unsqueeze(c.ln(cstate, 'dense.ln'), [2]); // [B,d,1]
  let score = cg.squeeze(cg.matmul(itemEmbeddings(c, codes), u), [2]); // [B,K]
  if (w.config.denseRepeat) {
    // the learned repeat bias: `recency` [B,K] int64 in [0, maxHistory], maxHistory = not in the history
    const recency = cg.input('recency', 'INT64', ['batch', 'items']);
    const table = cg.concat([c.p('dense.repeat'), cg.f32([0], [1])], 0); // [maxHistory + 1]
    score = cg.add(score, cg.gather(table, recency));
  }
  cg.output(score, 'score', 'FLOAT', ['batch', 'items']);
  return { encode: g.toModel(meta), step: sg.toModel(meta), score: cg.toModel(meta) };
}

/** The manifest fields of an export of a model with this config and index. */
export function onnxManifestFields(config: ModelConfig, levelSizes: readonly number[]): OnnxManifestFields {
  const history = {
    decoder: { bos: true, sepAfterItem: false, start: 'last' },
    encdec: { bos: true, sepAfterItem: false, start: 'bos' },
    item: { bos: false, sepAfterItem: false, start: 'bos' },
  } as const;
  return {
    vocabSize: new TokenLayout(levelSizes).vocabSize,
    levelSizes: [...levelSizes],
    maxHistory: config.maxHistory,
    history: history[config.arch],
    ...(config.arch === 'item' && config.dense > 0 ? { scoreWeight: config.denseFusion } : {}),
    source: {
      producer: 'semid models/onnx/export.ts',
      arch: config.arch,
      dModel: config.dModel,
      layers: config.layers,
      heads: config.heads,
      ffn: config.ffn,
      tiedHead: config.tiedHead,
      ...(config.dense > 0 ? { dense: config.dense, denseFusion: config.denseFusion } : {}),
    },
  };
}

/** Builds the graphs for the model's architecture. */
export function buildGraphs(w: TransformerWeights): OnnxGraphs {
  if (w.config.arch === 'item') return buildItemGraphs(w);
  return w.config.arch === 'decoder' ? buildDecoderGraphs(w) : buildEncDecGraphs(w);
}

/**
 * Exports weights to an ONNX directory (written atomically; see docs/ONNX.md), loadable with
 * `OnnxModel.load(outDir)`.
 * @param source extra informational fields for the manifest's `source`
 */
export async function exportWeights(
  w: TransformerWeights,
  outDir: string,
  source: Record<string, unknown> = {},
): Promise<void> {
  const { encode, step, score } = buildGraphs(w);
  const fields = onnxManifestFields(w.config, w.levelSizes);
  await writeOnnxDir(outDir, { ...fields, source: { ...fields.source, ...source } }, encode, step, score);
}

/**
 * Exports a saved model directory (models/io.ts format) to ONNX. Reads the weight files directly;
 * TensorFlow.js is not initialised.
 * @param outDir defaults to `<modelDir>/onnx`, where `OnnxModel.load(modelDir)` looks; the model's
 *   createdAt is recorded so the runtime can refuse an export older than the weights next to it
 * @returns the directory written
 */
export async function exportOnnx(modelDir: string, outDir: string = join(modelDir, 'onnx')): Promise<string> {
  const m = await readModelManifest(modelDir);
  const config = resolveModelConfig(m.config);
  const values = await readWeights(modelDir, m.params);
  await exportWeights({ config, levelSizes: m.levelSizes, values }, outDir, { modelCreatedAt: m.createdAt });
  return outDir;
}

/**
 * Makes sure `<modelDir>/onnx` holds an export of the model's current weights: exports when it is
 * missing, unreadable, or from an earlier save of the model; otherwise leaves it alone.
 * @returns the export directory (`OnnxModel.load(modelDir)` finds it)
 */
export async function ensureOnnx(modelDir: string): Promise<string> {
  const model = await readModelManifest(modelDir);
  const dir = join(modelDir, 'onnx');
  try {
    const m = await readManifest<OnnxManifest>(dir, ONNX_KIND);
    if (m.source?.modelCreatedAt === model.createdAt) return dir;
  } catch {
    // missing or unreadable: export below
  }
  return exportOnnx(modelDir, dir);
}
