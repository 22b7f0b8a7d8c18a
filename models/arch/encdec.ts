/**
 * The encoder-decoder architecture (`arch: "encdec"`, TIGER, Rajput et al. 2023): a bidirectional
 * encoder reads [BOS, history tokens] (left-padded, positions counted back from the most recent
 * token); a causal decoder with cross-attention emits the next item's L tokens after BOS.
 * Difference from the paper: ReLU FFN and learned absolute positions instead of T5 relative buckets.
 * Decoding caches the encoder memory's cross-attention keys/values; each step reruns the decoder on
 * [BOS, prefix].
 */

import { BOS } from '../../src/core/codes.js';
import type { BeamRow, DecodingSession } from '../../src/core/model.js';
import { type Tensor, tf, tidyData } from '../../src/core/tf.js';
import type { Code } from '../../src/core/types.js';
import { type EncDecBatch, flatten } from '../batch.js';
import { blockSpecs, buildMask, type Drop, type KV, NO_DROP } from '../blocks.js';
import { layerNorm, softmaxCrossEntropy } from '../ops.js';
import { checkRows, disposeKV, gatherKV, type HostKV, hostKV, stepRows } from '../sessions.js';
import type { Architecture, CodeTransformer } from '../transformer.js';

/** Encoder forward: memory [b*te, d] after enc.ln_f. */
export function encoderForward(
  m: CodeTransformer,
  b: number,
  te: number,
  input: { tokens: Int32Array; pos: Int32Array; lvl: Int32Array; keep: Float32Array },
  drop: Drop,
): Tensor {
  const x0 = drop.apply(m.embed(input.tokens, input.pos, input.lvl, 'enc.pos_emb'));
  const mask = buildMask(input.keep, b, te, te, false);
  const { x } = m.blocks.stack('enc.blk', m.config.layers, x0, b, te, mask, drop);
  return layerNorm(x, m.w('enc.ln_f.g'), m.w('enc.ln_f.b'));
}

/** Cross-attention keys/values of every decoder layer over encoder memory [b*te, d]. */
export function crossKVs(m: CodeTransformer, memory: Tensor, b: number, te: number): KV[] {
  return Array.from({ length: m.config.layers }, (_, i) => m.blocks.crossKV(`dec.blk${i}`, memory, b, te));
}

/** Decoder stack over inputs [n, t] (all rows the same length), with cross K/V per layer: [n*t, d] before ln_f. */
export function encdecDecoder(
  m: CodeTransformer,
  n: number,
  t: number,
  tokens: Int32Array,
  cross: KV[],
  crossKeep: Float32Array,
  drop: Drop,
): Tensor {
  const L = m.layout.levels;
  const pos = new Int32Array(n * t);
  const lvl = new Int32Array(n * t);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < t; j++) {
      pos[r * t + j] = j;
      lvl[r * t + j] = j === 0 ? L : j - 1;
    }
  }
  let x = drop.apply(m.embed(tokens, pos, lvl, 'dec.pos_emb'));
  const selfMask = buildMask(new Float32Array(n * t).fill(1), n, t, t, true);
  const te = cross[0]?.kT.shape[3] as number;
  const crossMask = buildMask(crossKeep, n, t, te, false);
  for (let i = 0; i < m.config.layers; i++) {
    const p = `dec.blk${i}`;
    x = m.blocks.selfAttn(p, x, n, t, selfMask, drop).x;
    x = m.blocks.crossAttn(p, x, n, t, cross[i] as KV, crossMask, drop);
    x = m.blocks.ffn(p, x, drop);
  }
  return x;
}

/** Teacher-forced decoder hidden states [b*L, d] of a batch. */
function forward(m: CodeTransformer, eb: EncDecBatch, drop: Drop): Tensor {
  const enc = { tokens: eb.encTokens, pos: eb.encPos, lvl: eb.encLvl, keep: eb.encKeep };
  const memory = encoderForward(m, eb.b, eb.te, enc, drop);
  return encdecDecoder(m, eb.b, eb.levels, eb.decIn, crossKVs(m, memory, eb.b, eb.te), eb.encKeep, drop);
}

/** Encoder prefill of a session: cross K/V per decoder layer and key flags. */
function prefill(
  m: CodeTransformer,
  histories: readonly (readonly Code[])[],
): { cross: KV[]; keep: Float32Array; te: number } {
  const b = histories.length;
  const seqs = histories.map((h) => flatten(m.layout, h));
  const te = Math.max(...seqs.map((s) => s.tokens.length));
  const tokens = new Int32Array(b * te);
  const pos = new Int32Array(b * te);
  const lvl = new Int32Array(b * te).fill(m.layout.levels);
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
    const memory = encoderForward(m, b, te, { tokens, pos, lvl, keep }, NO_DROP);
    return crossKVs(m, memory, b, te).flatMap((kv) => [kv.kT, kv.v]);
  });
  const cross: KV[] = [];
  for (let i = 0; i < flat.length; i += 2) cross.push({ kT: flat[i] as Tensor, v: flat[i + 1] as Tensor });
  return { cross, keep, te };
}

type Cache = ReturnType<typeof prefill> & { hosts: HostKV[] };

/** One step for rows sharing prefix length p >= 0: logits [rows, V]. */
function step(m: CodeTransformer, cache: Cache, rows: readonly BeamRow[], p: number): Float32Array {
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
    const x = encdecDecoder(m, n, t, tokens, cross, keep, NO_DROP);
    return m.head(m.blocks.lastRows(x, n, t));
  });
}

/** Decoding session of the encoder-decoder model: encoder memory's cross K/V cached; the decoder reruns on [BOS, prefix]. */
class EncDecSession implements DecodingSession {
  private readonly cache: Cache;
  private readonly users: number;
  constructor(
    private readonly model: CodeTransformer,
    histories: readonly (readonly Code[])[],
  ) {
    this.users = histories.length;
    const c = prefill(model, histories);
    this.cache = { ...c, hosts: c.cross.map(hostKV) };
  }
  async next(rows: readonly BeamRow[]): Promise<Float32Array[]> {
    checkRows(rows, this.users, this.model.layout.levels);
    return stepRows(rows, this.model.vocabSize, (chunk, p) => step(this.model, this.cache, chunk, p));
  }
  dispose(): void {
    disposeKV(this.cache.cross);
  }
}

/** The encoder-decoder architecture. */
export const encdecArch: Architecture<EncDecBatch> = {
  batch: 'encdec',
  params(list, cfg, levels) {
    const d = cfg.dModel;
    list.emb('enc.pos_emb', [1 + cfg.maxHistory * levels, d]);
    list.emb('dec.pos_emb', [levels + 1, d]);
    for (let i = 0; i < cfg.layers; i++) blockSpecs(list, `enc.blk${i}`, d, cfg.ffn, false);
    list.ln('enc.ln_f', d);
    for (let i = 0; i < cfg.layers; i++) blockSpecs(list, `dec.blk${i}`, d, cfg.ffn, true);
  },
  loss(m, eb, denom, drop) {
    const logits = m.head(forward(m, eb, drop));
    const w = tf.ones([eb.b * eb.levels], 'float32') as tf.Tensor1D;
    return softmaxCrossEntropy(logits, tf.tensor1d(eb.decTargets, 'int32'), w, denom, m.config.labelSmoothing);
  },
  logits(m, eb) {
    return m.head(forward(m, eb, NO_DROP));
  },
  begin(m, histories) {
    return new EncDecSession(m, histories);
  },
};
