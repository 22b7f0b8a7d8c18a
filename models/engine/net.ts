/**
 * The code transformer's building blocks on a differentiable ONNX graph (autodiff.ts), op for op as
 * models/transformer.ts computes them in TensorFlow.js: pre-LayerNorm blocks (eps 1e-5), fused QKV
 * projection, scores (q.k) * 1/sqrt(dh) plus an additive mask, softmax, ReLU FFN, dropout on the
 * embedding sum and on each sublayer's output. Activations are 2-D [rows, d] (rows = b*t); attention
 * reshapes them to [b, h, t, dh] with the runtime b and t read off the mask input.
 *
 * Every weight of `paramSpecs` is a graph input; dropout masks are graph inputs too (`dropoutSites`),
 * drawn by the engine from semid's seeded RNG, so a run is reproducible.
 */
import { TokenLayout } from '../../src/core/codes.js';
import { SemidError } from '../../src/core/errors.js';
import type { ModelConfig } from '../config.js';
import { paramSpecs } from '../transformer.js';
import { DiffGraph, type Dim, type Value } from './autodiff.js';
import { type AdamWConstants, appendAdamW } from './update.js';

/** LayerNorm epsilon of models/ops.ts. */
export const LN_EPS = 1e-5;

/** A dropout mask input: its graph input name and shape ([rows, d] with a symbolic rows name). */
export interface DropoutSite {
  name: string;
  rows: Dim;
  cols: number;
}

/** The rows symbol of a training graph: positions of the batch (b*t). */
export const ROWS = 'rows';

/** A training graph under construction: the model's weights as inputs, its blocks as methods. */
export class TrainNet {
  readonly dg: DiffGraph;
  readonly d: number;
  readonly h: number;
  readonly dh: number;
  readonly layout: TokenLayout;
  /** Weight inputs by name, in paramSpecs order. */
  readonly params = new Map<string, Value>();
  /** Dropout mask inputs, in the order they were added. */
  readonly dropoutSites: DropoutSite[] = [];

  constructor(
    name: string,
    readonly config: ModelConfig,
    levelSizes: readonly number[],
  ) {
    this.dg = new DiffGraph(name);
    this.d = config.dModel;
    this.h = config.heads;
    this.dh = this.d / this.h;
    this.layout = new TokenLayout(levelSizes);
    for (const s of paramSpecs(config, this.layout.levels, this.layout.vocabSize)) {
      this.params.set(s.name, this.dg.param(s.name, s.shape));
    }
  }

  /** The weight input `name`. */
  p(name: string): Value {
    const v = this.params.get(name);
    if (!v) throw new SemidError('SEMID_ERR_INTERNAL', `no weight "${name}" in this model`);
    return v;
  }

  /** x . W + b of the weights `${prefix}.w?`-style names given in full. */
  linear(x: Value, w: string, b: string): Value {
    return this.dg.linear(x, this.p(w), this.p(b));
  }

  /** LayerNorm with `${prefix}.g` and `${prefix}.b`. */
  ln(x: Value, prefix: string): Value {
    return this.dg.layerNorm(x, this.p(`${prefix}.g`), this.p(`${prefix}.b`), LN_EPS);
  }

  /** Inverted dropout of [rows, d] values: times a mask input (0 or 1/(1-rate)); identity when rate is 0. */
  dropout(x: Value): Value {
    if (this.config.dropout <= 0) return x;
    const site: DropoutSite = {
      name: `dropout_${this.dropoutSites.length}`,
      rows: x.shape[0] as Dim,
      cols: x.shape[1] as number,
    };
    this.dropoutSites.push(site);
    return this.dg.mul(x, this.dg.input(site.name, 'FLOAT', [site.rows, site.cols]));
  }

  /**
   * The runtime shape [b, t, h, dh] for splitting heads, from an additive mask input [b, 1, t, t].
   */
  headShape(mask: Value): string {
    const g = this.dg.g;
    const s = g.shape(mask.name);
    return g.concat([g.gather(s, g.i64([0])), g.gather(s, g.i64([3])), g.i64([this.h, this.dh])], 0);
  }

  /**
   * Self-attention sublayer of block `p` with residual: x [rows, d], additive mask [b, 1, t, t].
   * @param bthd the runtime shape from `headShape`
   */
  selfAttention(p: string, x: Value, mask: Value, bthd: string): Value {
    const dg = this.dg;
    const h = this.ln(x, `${p}.ln1`);
    // three products with slices of the small fused weight, not one product split along the wide activation
    const [q, k, v] = [0, 1, 2].map((j) => {
      const w = dg.sliceStatic(this.p(`${p}.attn.wqkv`), 1, j * this.d, (j + 1) * this.d);
      return dg.linear(h, w, dg.sliceStatic(this.p(`${p}.attn.bqkv`), 0, j * this.d, (j + 1) * this.d));
    }) as [Value, Value, Value];
    const split = (y: Value) => dg.reshape(y, ['b', 't', this.h, this.dh], bthd);
    const q4 = dg.transpose(split(q), [0, 2, 1, 3]); // [b,h,t,dh]
    const kT = dg.transpose(split(k), [0, 2, 3, 1]); // [b,h,dh,t]
    const v4 = dg.transpose(split(v), [0, 2, 1, 3]); // [b,h,t,dh]
    const scores = dg.add(dg.scale(dg.matmul(q4, kT), 1 / Math.sqrt(this.dh)), mask);
    const o = dg.matmul(dg.softmax(scores), v4); // [b,h,t,dh]
    const merged = dg.reshape(dg.transpose(o, [0, 2, 1, 3]), [x.shape[0] as Dim, this.d], [-1, this.d]);
    return dg.add(x, this.dropout(this.linear(merged, `${p}.attn.wo`, `${p}.attn.bo`)));
  }

  /** The residual ReLU FFN sublayer of block `p` (`code` for the item-level code head). */
  ffn(p: string, x: Value): Value {
    const h = this.dg.relu(this.linear(this.ln(x, `${p}.ln2`), `${p}.ffn.w1`, `${p}.ffn.b1`));
    return this.dg.add(x, this.dropout(this.linear(h, `${p}.ffn.w2`, `${p}.ffn.b2`)));
  }

  /** One pre-LayerNorm block: attention then FFN. */
  block(p: string, x: Value, mask: Value, bthd: string): Value {
    return this.ffn(p, this.selfAttention(p, x, mask, bthd));
  }

  /** The output head of final states x [n, d] for vocabulary columns [lo, hi): LN(x; ln_f) . W + b. */
  head(x: Value, lo: number, hi: number): Value {
    const dg = this.dg;
    const V = this.layout.vocabSize;
    const full = lo === 0 && hi === V;
    const b = full ? this.p('head.b') : dg.sliceStatic(this.p('head.b'), 0, lo, hi);
    if (this.config.tiedHead) {
      const e = full ? this.p('tok_emb') : dg.sliceStatic(this.p('tok_emb'), 0, lo, hi);
      return dg.add(dg.linearT(x, e), b);
    }
    const w = full ? this.p('head.w') : dg.sliceStatic(this.p('head.w'), 1, lo, hi);
    return dg.linear(x, w, b);
  }

  /**
   * Declares the graph's outputs and returns the model bytes: the loss and either every weight's
   * gradient (`grad.<name>`) or, with `update`, the AdamW step (update.ts: `grad_norm`, `next.<name>`,
   * `next_m.<name>`, `next_v.<name>`).
   */
  finish(loss: Value, meta: Record<string, string>, update?: AdamWConstants): Uint8Array {
    const g = this.dg.g;
    const params = [...this.params.values()];
    const grads = this.dg.gradients(loss, params);
    g.output(loss.name, 'loss', 'FLOAT', []);
    if (update) appendAdamW(g, params, grads, update);
    else {
      params.forEach((p, i) => {
        g.output(grads[i] as string, `grad.${p.name}`, 'FLOAT', p.shape);
      });
    }
    return g.toModel({ metadata: meta });
  }
}
