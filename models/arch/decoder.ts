/**
 * The decoder-only architecture (`arch: "decoder"`): causal self-attention over
 * [BOS, item1 tokens (L), item2 tokens, ...], left-padded; every position predicts the next token,
 * so one pass trains on every item of a window. Decoding feeds the history once (its keys/values
 * cached per layer), then each step runs only the short prefix of generated tokens.
 */

import type { BeamRow, DecodingSession } from '../../src/core/model.js';
import { type Tensor, tf, tidyData } from '../../src/core/tf.js';
import type { Code } from '../../src/core/types.js';
import { type DecoderBatch, flatten } from '../batch.js';
import { blockSpecs, buildMask, type Drop, type KV, NO_DROP } from '../blocks.js';
import { softmaxCrossEntropy } from '../ops.js';
import { checkRows, disposeKV, gatherKV, type HostKV, hostKV, stepRows } from '../sessions.js';
import type { Architecture, CodeTransformer } from '../transformer.js';

/** Number of decoder-only positions: BOS plus (maxHistory + 1) items of L tokens. */
export function decoderPositions(maxHistory: number, levels: number): number {
  return 1 + (maxHistory + 1) * levels;
}

/**
 * Decoder-only forward over a left-padded batch.
 * @returns hidden states [b*t, d] before ln_f, and per-layer K/V (for the decoding cache)
 */
export function decoderForward(
  m: CodeTransformer,
  batch: Pick<DecoderBatch, 'b' | 't' | 'tokens' | 'pos' | 'lvl' | 'keep'>,
  drop: Drop,
): { x: Tensor; kvs: KV[] } {
  const { b, t } = batch;
  const x = drop.apply(m.embed(batch.tokens, batch.pos, batch.lvl, 'pos_emb'));
  return m.blocks.stack('blk', m.config.layers, x, b, t, buildMask(batch.keep, b, t, t, true), drop);
}

/** Prefill of a decoder-only session: per-layer K/V, key keep-flags, lengths, first logits. */
function prefill(
  m: CodeTransformer,
  histories: readonly (readonly Code[])[],
): { kvs: KV[]; keep: Float32Array; lens: Int32Array; t: number; first: Float32Array } {
  const b = histories.length;
  const seqs = histories.map((h) => flatten(m.layout, h));
  const t = Math.max(...seqs.map((s) => s.tokens.length));
  const tokens = new Int32Array(b * t);
  const pos = new Int32Array(b * t);
  const lvl = new Int32Array(b * t).fill(m.layout.levels);
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
    const { x, kvs } = decoderForward(m, { b, t, tokens, pos, lvl, keep }, NO_DROP);
    first = m.head(m.blocks.lastRows(x, b, t)).dataSync() as Float32Array;
    return kvs.flatMap((kv) => [kv.kT, kv.v]);
  });
  const out: KV[] = [];
  for (let i = 0; i < kvs.length; i += 2) out.push({ kT: kvs[i] as Tensor, v: kvs[i + 1] as Tensor });
  return { kvs: out, keep, lens, t, first };
}

type Cache = ReturnType<typeof prefill> & { hosts: HostKV[] };

/** One decoder-only step for rows sharing prefix length p >= 1: logits [rows, V]. */
function step(m: CodeTransformer, cache: Cache, rows: readonly BeamRow[], p: number): Float32Array {
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
    let x = m.embed(tokens, pos, lvl, 'pos_emb');
    const mask = buildMask(keep, n, p, th + p, true, th);
    for (let i = 0; i < m.config.layers; i++) {
      const past = gatherKV(cache.hosts[i] as HostKV, users);
      x = m.blocks.ffn(`blk${i}`, m.blocks.selfAttn(`blk${i}`, x, n, p, mask, NO_DROP, past).x, NO_DROP);
    }
    return m.head(m.blocks.lastRows(x, n, p));
  });
}

/** Decoding session of the decoder-only model: history K/V cached per layer; each step recomputes only the short prefix. */
class DecoderSession implements DecodingSession {
  private readonly cache: Cache;
  private readonly users: number;
  constructor(
    private readonly model: CodeTransformer,
    histories: readonly (readonly Code[])[],
  ) {
    this.users = histories.length;
    const c = prefill(model, histories);
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
      return step(this.model, this.cache, chunk, p);
    });
  }
  dispose(): void {
    disposeKV(this.cache.kvs);
  }
}

/** The decoder-only architecture. */
export const decoderArch: Architecture<DecoderBatch> = {
  batch: 'decoder',
  params(list, cfg, levels) {
    list.emb('pos_emb', [decoderPositions(cfg.maxHistory, levels), cfg.dModel]);
    for (let i = 0; i < cfg.layers; i++) blockSpecs(list, `blk${i}`, cfg.dModel, cfg.ffn, false);
  },
  loss(m, batch, denom, drop) {
    const logits = m.head(decoderForward(m, batch, drop).x);
    return softmaxCrossEntropy(
      logits,
      tf.tensor1d(batch.targets, 'int32'),
      tf.tensor1d(batch.weights, 'float32'),
      denom,
      m.config.labelSmoothing,
    );
  },
  logits(m, batch) {
    return m.head(decoderForward(m, batch, NO_DROP).x);
  },
  begin(m, histories) {
    return new DecoderSession(m, histories);
  },
};
