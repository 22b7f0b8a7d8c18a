/**
 * The transformer blocks every architecture is built from (the code transformer's decoder, encdec
 * and item stacks, and SASRec): pre-LayerNorm self-attention (with a decoding K/V cache),
 * cross-attention, the ReLU feed-forward sublayer, attention masks and seeded dropout. The weights
 * of block `p` are named `<p>.ln1`, `<p>.attn.*`, `<p>.lnc`, `<p>.cross.*`, `<p>.ln2`, `<p>.ffn.*`
 * (models/README.md).
 */
import { type Tensor, tf } from '../src/core/tf.js';
import { attention, dropout, layerNorm, linear, NEG } from './ops.js';
import type { SpecList } from './weights.js';

/** What blocks read weights from. */
export interface WeightSource {
  w(name: string): Tensor;
  has(name: string): boolean;
}

/** Per-layer cache of one attention's keys and values. */
export interface KV {
  /** [n, h, dh, tk] float32 keys, transposed. */
  kT: Tensor;
  /** [n, h, tk, dh] float32 values. */
  v: Tensor;
}

/** Dropout seeds for one forward pass (undefined base = inference: no dropout). */
export class Drop {
  private i = 0;
  constructor(
    private readonly rate: number,
    private readonly base: number | undefined,
  ) {}
  /** x with dropout applied (a new seed per call), or x itself at inference. */
  apply(x: Tensor): Tensor {
    if (this.base === undefined || this.rate <= 0) return x;
    this.i++;
    return dropout(x, this.rate, (this.base + this.i * 7919) >>> 0);
  }
}

/** No dropout (inference). */
export const NO_DROP = new Drop(0, undefined);

/**
 * Additive attention mask [n, 1, tq, tk] from key keep-flags [n*tk], causal when `causal` (query j
 * sees keys up to `offset + j`).
 */
export function buildMask(keep: Float32Array, n: number, tq: number, tk: number, causal: boolean, offset = 0): Tensor {
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
 * Adds the weights of block `p` of width d with an FFN of width `ffn` (fused q/k/v projection;
 * `cross` adds a cross-attention sublayer).
 */
export function blockSpecs(list: SpecList, p: string, d: number, ffn: number, cross: boolean): void {
  list.ln(`${p}.ln1`, d);
  list.mat(`${p}.attn.wqkv`, [d, 3 * d]);
  list.vec(`${p}.attn.bqkv`, 3 * d, 'zeros');
  list.mat(`${p}.attn.wo`, [d, d]);
  list.vec(`${p}.attn.bo`, d, 'zeros');
  if (cross) {
    list.ln(`${p}.lnc`, d);
    list.mat(`${p}.cross.wq`, [d, d]);
    list.vec(`${p}.cross.bq`, d, 'zeros');
    list.mat(`${p}.cross.wkv`, [d, 2 * d]);
    list.vec(`${p}.cross.bkv`, 2 * d, 'zeros');
    list.mat(`${p}.cross.wo`, [d, d]);
    list.vec(`${p}.cross.bo`, d, 'zeros');
  }
  ffnSpecs(list, p, d, ffn);
}

/** Adds the feed-forward sublayer `<p>.ln2`, `<p>.ffn.*` of width d and hidden width `ffn`. */
export function ffnSpecs(list: SpecList, p: string, d: number, ffn: number): void {
  list.ln(`${p}.ln2`, d);
  list.mat(`${p}.ffn.w1`, [d, ffn]);
  list.vec(`${p}.ffn.b1`, ffn, 'zeros');
  list.mat(`${p}.ffn.w2`, [ffn, d]);
  list.vec(`${p}.ffn.b2`, d, 'zeros');
}

/** The blocks over one model's weights, for width `dModel` split into `heads` heads. */
export class Blocks {
  readonly dh: number;
  constructor(
    private readonly src: WeightSource,
    readonly dModel: number,
    readonly heads: number,
  ) {
    this.dh = dModel / heads;
  }

  /** The weight called `name`. */
  w(name: string): Tensor {
    return this.src.w(name);
  }

  /** [n*t, d] -> [n*h, t, dh] */
  splitHeads(x: Tensor, n: number, t: number): tf.Tensor3D {
    return tf.reshape(tf.transpose(tf.reshape(x, [n, t, this.heads, this.dh]), [0, 2, 1, 3]), [
      n * this.heads,
      t,
      this.dh,
    ]);
  }
  /** [n*t, d] -> [n, h, dh, t] (keys, transposed) */
  splitHeadsT(x: Tensor, n: number, t: number): Tensor {
    return tf.transpose(tf.reshape(x, [n, t, this.heads, this.dh]), [0, 2, 3, 1]);
  }
  /** [n*h, t, dh] -> [n*t, d] */
  mergeHeads(o: Tensor, n: number, t: number): Tensor {
    return tf.reshape(tf.transpose(tf.reshape(o, [n, this.heads, t, this.dh]), [0, 2, 1, 3]), [n * t, this.dModel]);
  }

  /** The q, k, v projections of block `p`: fused (`attn.wqkv`) or separate (`attn.wq`, `wk`, `wv`). */
  private qkv(p: string): { w: Tensor[]; b: Tensor[] } {
    const d = this.dModel;
    if (this.src.has(`${p}.attn.wqkv`)) {
      // slicing the small weight, not the [n, 3d] activation: wasm's split along axis 1 is very slow
      return {
        w: tf.split(this.w(`${p}.attn.wqkv`), [d, d, d], 1),
        b: tf.split(this.w(`${p}.attn.bqkv`), [d, d, d], 0),
      };
    }
    return {
      w: ['wq', 'wk', 'wv'].map((k) => this.w(`${p}.attn.${k}`)),
      b: ['bq', 'bk', 'bv'].map((k) => this.w(`${p}.attn.${k}`)),
    };
  }

  /**
   * Self-attention sublayer with residual. `past` (decoding) holds cached keys/values of earlier
   * positions, gathered per row; the new keys/values are returned for caching.
   */
  selfAttn(p: string, x: Tensor, n: number, t: number, mask: Tensor, drop: Drop, past?: KV): { x: Tensor; kv: KV } {
    const h = layerNorm(x, this.w(`${p}.ln1.g`), this.w(`${p}.ln1.b`));
    const { w, b } = this.qkv(p);
    const q2 = linear(h, w[0] as Tensor, b[0] as Tensor);
    const k2 = linear(h, w[1] as Tensor, b[1] as Tensor);
    const v2 = linear(h, w[2] as Tensor, b[2] as Tensor);
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
  crossKV(p: string, memory: Tensor, n: number, te: number): KV {
    const d = this.dModel;
    const [wk, wv] = tf.split(this.w(`${p}.cross.wkv`), [d, d], 1) as [Tensor, Tensor];
    const [bk, bv] = tf.split(this.w(`${p}.cross.bkv`), [d, d], 0) as [Tensor, Tensor];
    const k2 = linear(memory, wk, bk);
    const v2 = linear(memory, wv, bv);
    return { kT: this.splitHeadsT(k2, n, te), v: tf.reshape(this.splitHeads(v2, n, te), [n, this.heads, te, this.dh]) };
  }

  /** Cross-attention sublayer with residual over cached encoder keys/values `kv`. */
  crossAttn(p: string, x: Tensor, n: number, t: number, kv: KV, mask: Tensor, drop: Drop): Tensor {
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

  /** Feed-forward sublayer with residual: x + drop(relu(LN(x) w1 + b1) w2 + b2). */
  ffn(p: string, x: Tensor, drop: Drop): Tensor {
    const h = layerNorm(x, this.w(`${p}.ln2.g`), this.w(`${p}.ln2.b`));
    const f = linear(
      linear(h, this.w(`${p}.ffn.w1`), this.w(`${p}.ffn.b1`), true),
      this.w(`${p}.ffn.w2`),
      this.w(`${p}.ffn.b2`),
    );
    return tf.add(x, drop.apply(f));
  }

  /** A stack of `layers` self-attention blocks `<prefix><i>` over x [n*t, d]; returns the output and each layer's K/V. */
  stack(
    prefix: string,
    layers: number,
    x: Tensor,
    n: number,
    t: number,
    mask: Tensor,
    drop: Drop,
  ): { x: Tensor; kvs: KV[] } {
    const kvs: KV[] = [];
    let y = x;
    for (let i = 0; i < layers; i++) {
      const r = this.selfAttn(`${prefix}${i}`, y, n, t, mask, drop);
      kvs.push(r.kv);
      y = this.ffn(`${prefix}${i}`, r.x, drop);
    }
    return { x: y, kvs };
  }

  /** The rows at the last position of each sequence: [n*t, d] -> [n, d]. */
  lastRows(x: Tensor, n: number, t: number): Tensor {
    const d = this.dModel;
    return tf.reshape(tf.slice(tf.reshape(x, [n, t, d]), [0, t - 1, 0], [n, 1, d]), [n, d]);
  }
}
