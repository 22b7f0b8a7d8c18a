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
 */
import { join } from 'node:path';
import { TokenLayout } from '../../src/core/codes.js';
import { SemidError } from '../../src/core/errors.js';
import { type ModelConfig, resolveModelConfig } from '../config.js';
import { readModelManifest, readWeights } from '../io.js';
import { paramSpecs } from '../transformer.js';
import { type OnnxManifestFields, writeOnnxDir } from './format.js';
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

/** The two serialised graphs of an export. */
export interface OnnxGraphs {
  encode: Uint8Array;
  step: Uint8Array;
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

  /** [n, h, t, dh] -> [n, t, d] */
  merge(o: string): string {
    return this.g.reshape(this.g.transpose(o, [0, 2, 1, 3]), [0, 0, this.d]);
  }

  /** (q . k^T) * 1/sqrt(dh) + bias, as models/ops.ts attention orders it. q [n,h,tq,dh], k [n,h,tk,dh]. */
  scores(q: string, k: string, bias: string): string {
    const s = this.g.matmul(q, this.g.transpose(k, [0, 1, 3, 2]));
    return this.g.add(this.g.mul(s, this.g.f32([1 / Math.sqrt(this.dh)], [])), bias);
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

  /** LN1 and the fused QKV projection of block `p`: q, k, v as [n, h, t, dh]. */
  qkv(p: string, x: string): [string, string, string] {
    const qkv = this.linear(this.ln(x, `${p}.ln1`), `${p}.attn.wqkv`, `${p}.attn.bqkv`);
    const [q, k, v] = this.g.split(qkv, [this.d, this.d, this.d], -1) as [string, string, string];
    return [this.heads(q), this.heads(k), this.heads(v)];
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

  /** The last position of [n, t, d] as [n, d]. */
  last(x: string): string {
    return this.g.reshape(this.g.slice(x, [-1], [END], [1]), [-1, this.d]);
  }

  /** [t, t] float: 0 where key <= query, NEG above the diagonal; t from dimension `axis` of `like`. */
  causal(like: string, axis: number): string {
    const g = this.g;
    const t = g.gather(g.shape(like), g.i64([axis], []));
    const r = g.range(g.i64([0], []), t, g.i64([1], []));
    const blocked = g.less(g.unsqueeze(r, [1]), g.unsqueeze(r, [0]));
    return g.where(blocked, g.f32([NEG], []), g.f32([0], []));
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
    const [q, k, v] = e.qkv(p, x);
    g.output(k, `past_key_${i}`, 'FLOAT', ['batch', e.h, 'T', e.dh]);
    g.output(v, `past_value_${i}`, 'FLOAT', ['batch', e.h, 'T', e.dh]);
    if (i === layers - 1) break; // the last layer's output feeds nothing the step graph needs
    const o = g.matmul(g.softmax(e.scores(q, k, bias)), v);
    x = e.ffn(p, e.attnOut(p, x, o, 'attn'));
  }
  g.output(e.keyBias(mask), 'past_bias', 'FLOAT', ['batch', 'T']);
  g.output(g.reduceSum(mask, [1]), 'past_length', 'INT64', ['batch']);

  // ---- step: [last history token, prefix...] against the cached keys/values
  const s = new Net('semid_decoder_step', w);
  const sg = s.g;
  const pastK = Array.from({ length: layers }, (_, i) => sg.input(`past_key_${i}`, 'FLOAT', ['batch', s.h, 'T', s.dh]));
  const pastV = Array.from({ length: layers }, (_, i) =>
    sg.input(`past_value_${i}`, 'FLOAT', ['batch', s.h, 'T', s.dh]),
  );
  const pastBias = sg.input('past_bias', 'FLOAT', ['batch', 'T']);
  const pastLen = sg.input('past_length', 'INT64', ['batch']);
  const user = sg.input('user', 'INT64', ['rows']);
  const tokens = sg.input('tokens', 'INT64', ['rows', 'S']);
  const S = sg.gather(sg.shape(tokens), sg.i64([1], []));
  const offs = sg.range(sg.i64([0], []), S, sg.i64([1], []));
  const spos = sg.add(sg.unsqueeze(sg.gather(pastLen, user), [1]), sg.unsqueeze(offs, [0])); // [R,S]
  let y = s.embed(tokens, spos, 'pos_emb', sg.i64(lvlTable));
  const biasPast = sg.unsqueeze(sg.gather(pastBias, user), [1, 2]); // [R,1,1,T]
  const causal = s.causal(tokens, 1); // [S,S]
  for (let i = 0; i < layers; i++) {
    const p = `blk${i}`;
    const [q, k, v] = s.qkv(p, y);
    const pk = sg.gather(pastK[i] as string, user);
    const pv = sg.gather(pastV[i] as string, user);
    const sc = sg.concat([s.scores(q, pk, biasPast), s.scores(q, k, causal)], -1); // [R,h,S,T+S]
    const o = sg.matmul(sg.softmax(sc), sg.concat([pv, v], 2));
    y = s.ffn(p, s.attnOut(p, y, o, 'attn'));
  }
  sg.output(s.head(s.last(y)), 'logits', 'FLOAT', ['rows', V]);

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
    const [q, k, v] = e.qkv(p, x);
    const o = g.matmul(g.softmax(e.scores(q, k, bias)), v);
    x = e.ffn(p, e.attnOut(p, x, o, 'attn'));
  }
  const memory = e.ln(x, 'enc.ln_f');
  for (let i = 0; i < layers; i++) {
    const p = `dec.blk${i}`;
    const kv = e.linear(memory, `${p}.cross.wkv`, `${p}.cross.bkv`);
    const [k, v] = g.split(kv, [e.d, e.d], -1) as [string, string];
    g.output(e.heads(k), `cross_key_${i}`, 'FLOAT', ['batch', e.h, 'T', e.dh]);
    g.output(e.heads(v), `cross_value_${i}`, 'FLOAT', ['batch', e.h, 'T', e.dh]);
  }
  g.output(keyBias, 'cross_bias', 'FLOAT', ['batch', 'T']);

  // ---- step: the decoder over [BOS, prefix...]
  const s = new Net('semid_encdec_step', w);
  const sg = s.g;
  const crossK = Array.from({ length: layers }, (_, i) =>
    sg.input(`cross_key_${i}`, 'FLOAT', ['batch', s.h, 'T', s.dh]),
  );
  const crossV = Array.from({ length: layers }, (_, i) =>
    sg.input(`cross_value_${i}`, 'FLOAT', ['batch', s.h, 'T', s.dh]),
  );
  const crossBias = sg.input('cross_bias', 'FLOAT', ['batch', 'T']);
  const user = sg.input('user', 'INT64', ['rows']);
  const tokens = sg.input('tokens', 'INT64', ['rows', 'S']);
  const S = sg.gather(sg.shape(tokens), sg.i64([1], []));
  const spos = sg.unsqueeze(sg.range(sg.i64([0], []), S, sg.i64([1], [])), [0]); // [1,S]
  let y = s.embed(tokens, spos, 'dec.pos_emb', sg.i64(lvlTable));
  const causal = s.causal(tokens, 1);
  const cb = sg.unsqueeze(sg.gather(crossBias, user), [1, 2]); // [R,1,1,T]
  for (let i = 0; i < layers; i++) {
    const p = `dec.blk${i}`;
    const [q, k, v] = s.qkv(p, y);
    y = s.attnOut(p, y, sg.matmul(sg.softmax(s.scores(q, k, causal)), v), 'attn');
    const cq = s.heads(s.linear(s.ln(y, `${p}.lnc`), `${p}.cross.wq`, `${p}.cross.bq`));
    const ck = sg.gather(crossK[i] as string, user);
    const cv = sg.gather(crossV[i] as string, user);
    y = s.attnOut(p, y, sg.matmul(sg.softmax(s.scores(cq, ck, cb)), cv), 'cross');
    y = s.ffn(p, y);
  }
  sg.output(s.head(s.last(y)), 'logits', 'FLOAT', ['rows', V]);

  const meta = { metadata: { semid_arch: 'encdec' } };
  return { encode: g.toModel(meta), step: sg.toModel(meta) };
}

/** The manifest fields of an export of a model with this config and index. */
export function onnxManifestFields(config: ModelConfig, levelSizes: readonly number[]): OnnxManifestFields {
  const decoder = config.arch === 'decoder';
  return {
    vocabSize: new TokenLayout(levelSizes).vocabSize,
    levelSizes: [...levelSizes],
    maxHistory: config.maxHistory,
    history: { bos: true, sepAfterItem: false, start: decoder ? 'last' : 'bos' },
    source: {
      producer: 'semid models/onnx/export.ts',
      arch: config.arch,
      dModel: config.dModel,
      layers: config.layers,
      heads: config.heads,
      ffn: config.ffn,
      tiedHead: config.tiedHead,
    },
  };
}

/** Builds the graphs for the model's architecture. */
export function buildGraphs(w: TransformerWeights): OnnxGraphs {
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
  const { encode, step } = buildGraphs(w);
  const fields = onnxManifestFields(w.config, w.levelSizes);
  await writeOnnxDir(outDir, { ...fields, source: { ...fields.source, ...source } }, encode, step);
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
