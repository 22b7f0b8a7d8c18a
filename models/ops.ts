/**
 * Transformer building blocks on raw TensorFlow.js ops, shaped for the wasm backend's strengths:
 * its 2-D float32 matMul goes through XNNPACK (~30 GFLOP/s on one core here), while its batched
 * matMul (batch > 1) is a plain loop (~3 GFLOP/s) and its 2-D transpose is cache-unfriendly. So:
 *  - `linear` has a hand-written gradient whose weight gradient uses a blocked transpose (3-4x faster);
 *  - `attention` runs one 2-D matMul per (sequence, head) when the blocks are big (training), and
 *    the batched matMul only when they are tiny (decoding steps);
 *  - `layerNorm` and `softmaxCrossEntropy` have closed-form gradients (few ops, no logSumExp).
 * Every function is pure (no variables created); callers own tidy/dispose.
 */
import { SemidError } from '../src/core/errors.js';
import { type Tensor, tf } from '../src/core/tf.js';

// tf.customGrad's declared parameter type is variadic and does not accept a typed signature.
const customGrad = (f: (...args: any[]) => { value: Tensor; gradFunc: (dy: Tensor, saved: Tensor[]) => Tensor[] }) =>
  tf.customGrad(f as never) as (...inputs: Tensor[]) => Tensor;

/**
 * Transposes a 2-D matrix [m, n] -> [n, m] in two cache-friendly steps (blocks of `blk` rows), which
 * the wasm backend runs 3-4x faster than one 2-D transpose. Same values as tf.transpose.
 */
export function transpose2d(x: tf.Tensor2D, blk = 64): tf.Tensor2D {
  const [m, n] = x.shape;
  if (m % blk !== 0 || m <= blk) return tf.transpose(x);
  const a = tf.reshape(x, [m / blk, blk, n]);
  const b = tf.transpose(a, [0, 2, 1]);
  const c = tf.transpose(b, [1, 0, 2]);
  return tf.reshape(c, [n, m]);
}

/**
 * Column sums of a 2-D matrix [n, m] -> [m] as a [1, n] x [n, m] matMul: the wasm backend reduces only
 * along the last axis, so tf.sum(x, 0) transposes first and is ~10x slower.
 */
export function colSum(x: Tensor): Tensor {
  const n = x.shape[0] as number;
  const m = x.size / n;
  return tf.reshape(tf.matMul(tf.ones([1, n]), tf.reshape(x, [n, m])), [m]);
}

const linearBias = customGrad((x: Tensor, w: Tensor, b: Tensor, save: (t: Tensor[]) => void) => {
  const y = tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b);
  save([x, w]);
  return {
    value: y,
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const d = dy as tf.Tensor2D;
      return [tf.matMul(d, tf.transpose(ws)), tf.matMul(transpose2d(xs), d), colSum(d)];
    },
  };
});

const linearBiasRelu = customGrad((x: Tensor, w: Tensor, b: Tensor, save: (t: Tensor[]) => void) => {
  const y = tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b));
  save([x, w, y]);
  return {
    value: y,
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [xs, ws, ys] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const d = tf.mul(dy, tf.step(ys)) as tf.Tensor2D;
      return [tf.matMul(d, tf.transpose(ws)), tf.matMul(transpose2d(xs), d), colSum(d)];
    },
  };
});

const linearNoBias = customGrad((x: Tensor, w: Tensor, save: (t: Tensor[]) => void) => {
  const y = tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
  save([x, w]);
  return {
    value: y,
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const d = dy as tf.Tensor2D;
      return [tf.matMul(d, tf.transpose(ws)), tf.matMul(transpose2d(xs), d)];
    },
  };
});

/**
 * y = x . w (+ b), optionally ReLU.
 * @param x [n, in] float32
 * @param w [in, out] float32
 * @param b [out] float32 or undefined
 * @returns [n, out] float32
 */
export function linear(x: Tensor, w: Tensor, b?: Tensor, relu = false): tf.Tensor2D {
  if (b === undefined) return linearNoBias(x, w) as tf.Tensor2D;
  return (relu ? linearBiasRelu(x, w, b) : linearBias(x, w, b)) as tf.Tensor2D;
}

const LN_EPS = 1e-5;

const layerNormOp = customGrad((x: Tensor, g: Tensor, b: Tensor, save: (t: Tensor[]) => void) => {
  const d = x.shape[x.shape.length - 1] as number;
  const mean = tf.mean(x, -1, true);
  const xc = tf.sub(x, mean);
  const r = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), LN_EPS));
  const xhat = tf.mul(xc, r);
  save([xhat, r, g]);
  return {
    value: tf.add(tf.mul(xhat, g), b),
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [xh, rs, gs] = saved as [Tensor, Tensor, Tensor];
      const dxh = tf.mul(dy, gs);
      const m1 = tf.mean(dxh, -1, true);
      const m2 = tf.mean(tf.mul(dxh, xh), -1, true);
      const dx = tf.mul(rs, tf.sub(tf.sub(dxh, m1), tf.mul(xh, m2)));
      const dg = colSum(tf.reshape(tf.mul(dy, xh), [-1, d]));
      const db = colSum(tf.reshape(dy, [-1, d]));
      return [dx, dg, db];
    },
  };
});

/**
 * LayerNorm over the last axis (eps 1e-5, biased variance, as torch.nn.LayerNorm).
 * @param x [..., d] float32; g, b [d] float32
 */
export function layerNorm(x: Tensor, g: Tensor, b: Tensor): Tensor {
  return layerNormOp(x, g, b);
}

/**
 * Per-block 2-D matMuls are only worth it when the second operand is reused: wasm creates (and
 * packs) an XNNPACK operator for every new right-hand tensor (~0.5 ms), so a loop over fresh
 * per-head blocks is ~10x slower than the batched kernel. Kept for reference; off by default.
 */
const LOOP_MIN_BLOCK = Number.POSITIVE_INFINITY;

function bmm(a: tf.Tensor3D, b: tf.Tensor3D, useLoop: boolean): tf.Tensor3D {
  if (!useLoop) return tf.matMul(a, b);
  const as = tf.unstack(a) as tf.Tensor2D[];
  const bs = tf.unstack(b) as tf.Tensor2D[];
  return tf.stack(as.map((ai, i) => tf.matMul(ai, bs[i] as tf.Tensor2D))) as tf.Tensor3D;
}

/**
 * Scaled dot-product attention for `n` sequences of `h` heads.
 * @param q [n*h, tq, dh] float32, sequence-major then head
 * @param kT [n*h, dh, tk] float32 (keys already transposed, so no transpose is needed per block)
 * @param v [n*h, tk, dh] float32
 * @param mask [n or 1, 1, tq, tk] float32 additive (0 = attend, -1e9 = blocked)
 * @returns [n*h, tq, dh] float32
 */
export function attention(
  q: tf.Tensor3D,
  kT: tf.Tensor3D,
  v: tf.Tensor3D,
  mask: Tensor,
  n: number,
  h: number,
): tf.Tensor3D {
  const [, tq, dh] = q.shape;
  const tk = kT.shape[2];
  const useLoop = tq * tk * dh >= LOOP_MIN_BLOCK;
  const s = tf.reshape(tf.mul(bmm(q, kT, useLoop), 1 / Math.sqrt(dh)), [n, h, tq, tk]);
  const p = tf.reshape(tf.softmax(tf.add(s, mask)), [n * h, tq, tk]) as tf.Tensor3D;
  return bmm(p, v, useLoop);
}

/** Additive mask value for blocked attention (finite, so fully blocked rows stay NaN-free). */
export const NEG = -1e9;

/**
 * Mean next-token cross-entropy with label smoothing, closed-form gradient (softmax - target).
 * loss = sum_i w_i * [ -(1-eps) log p_i[y_i] - eps/V sum_v log p_i[v] ] / denom.
 * `log p[y]` is taken from the softmax and floored at 1e-30 (display only: the gradient is exact).
 * @param logits [n, V] float32
 * @param labels [n] int32 target tokens
 * @param weights [n] float32, 1 for real targets and 0 for padding
 * @param denom the normaliser (target count of the whole batch, so shards of a batch sum to the whole)
 * @returns scalar float32
 */
export function softmaxCrossEntropy(
  logits: Tensor,
  labels: tf.Tensor1D,
  weights: tf.Tensor1D,
  denom: number,
  eps: number,
): tf.Scalar {
  const [n, V] = logits.shape as [number, number];
  const op = customGrad((lg: Tensor, save: (t: Tensor[]) => void) => {
    const p = tf.softmax(lg);
    save([p, labels, weights]);
    const flat = tf.add(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(V, 'int32')), labels);
    const py = tf.gather(tf.reshape(p, [-1]), flat);
    const logPy = tf.log(tf.maximum(py, 1e-30));
    let perRow = tf.neg(logPy);
    if (eps > 0) {
      // sum_v log p_v = sum_v logits_v - V * lse, and lse = logit_y - log p_y
      const ly = tf.gather(tf.reshape(lg, [-1]), flat);
      const lse = tf.sub(ly, logPy);
      const sumLog = tf.sub(tf.sum(lg, -1), tf.mul(lse, V));
      perRow = tf.sub(tf.mul(perRow, 1 - eps), tf.mul(sumLog, eps / V));
    }
    const value = tf.div(tf.sum(tf.mul(perRow, weights)), denom) as tf.Scalar;
    return {
      value,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [ps, ys, ws] = saved as [Tensor, tf.Tensor1D, tf.Tensor1D];
        // wasm's OneHot writes int32 bit patterns when asked for float32: build int32, then cast
        const hot = tf.cast(tf.oneHot(ys, V), 'float32');
        const target = eps > 0 ? tf.add(tf.mul(hot, 1 - eps), eps / V) : hot;
        const scale = tf.mul(tf.reshape(ws, [n, 1]), tf.div(dy, denom));
        return [tf.mul(tf.sub(ps, target), scale)];
      },
    };
  });
  return op(logits) as tf.Scalar;
}

/**
 * `base` [n, m] plus a learned offset at listed cells: out[rows[p], cols[p]] += table[which[p]]
 * (`cells` is [P*2] int32 row, col pairs, all distinct; `which` [P] int32 indices into `table` [R]).
 * The dense head's repeat bias. Gradient: dy to `base`; to table[r] the sum of dy over its cells.
 */
export function addAtCells(base: Tensor, table: Tensor, cells: Int32Array, which: Int32Array): Tensor {
  const P = which.length;
  if (cells.length !== 2 * P)
    throw new SemidError('SEMID_ERR_INTERNAL', `addAtCells: ${cells.length / 2} cells for ${P} table indices`);
  if (P === 0) return tf.add(base, tf.mul(tf.sum(table), 0)); // keeps the table on the tape
  const [n, m] = base.shape as [number, number];
  const R = table.shape[0] as number;
  const op = customGrad((b: Tensor, v: Tensor, save: (t: Tensor[]) => void) => {
    const idx = tf.tensor2d(cells, [P, 2], 'int32');
    const w = tf.tensor1d(which, 'int32');
    save([idx, w]);
    return {
      value: tf.add(b, tf.scatterND(idx, tf.gather(v, w), [n, m])),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [ix, ws] = saved as [tf.Tensor2D, tf.Tensor1D];
        return [dy, tf.unsortedSegmentSum(tf.gatherND(dy, ix) as tf.Tensor1D, ws, R)];
      },
    };
  });
  return op(base, table);
}

/**
 * The cells of a learned repeat bias over causal rows of `t` slots: for every slot i with a target
 * (`weights[i]` 1), each distinct item of slots i, i-1, ... of its row (walking back until a slot
 * whose `items` entry is negative: the row's start or padding), as (i, item) with recency i - src
 * (0 = slot i's own item), the most recent occurrence when an item appears twice. For `addAtCells`.
 */
export function recencyCells(
  t: number,
  weights: Float32Array,
  items: Int32Array,
): { cells: Int32Array; which: Int32Array } {
  const cells: number[] = [];
  const which: number[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] !== 1) continue;
    seen.clear();
    const row0 = i - (i % t);
    for (let src = i; src >= row0 && (items[src] as number) >= 0; src--) {
      const item = items[src] as number;
      if (seen.has(item)) continue;
      seen.add(item);
      cells.push(i, item);
      which.push(i - src);
    }
  }
  return { cells: Int32Array.from(cells), which: Int32Array.from(which) };
}

/**
 * Sum of embedding lookups, out[i] = sum_k tables[k][ids[k][i]], computed on the JS side: the wasm
 * gather kernel is ~10x slower than typed-array row copies for these shapes, and its gradient
 * (UnsortedSegmentSum) is a JS loop anyway. The gradient scatters rows back into each table. A table
 * may appear in several terms (an item's L code tokens all read `tok_emb`): it is read once and gets
 * one gradient, accumulated over its terms.
 * @param tables k tensors [rows_k, d] float32 (the same tensor may repeat)
 * @param ids k Int32Arrays of the same length n, each id < rows_k; -1 adds nothing (a missing term)
 * @returns [n, d] float32
 */
export function embedSum(tables: Tensor[], ids: Int32Array[]): tf.Tensor2D {
  const n = (ids[0] as Int32Array).length;
  const d = tables[0]?.shape[1] as number;
  const distinct = [...new Set(tables)];
  const of = tables.map((t) => distinct.indexOf(t));
  const op = customGrad((...args: unknown[]) => {
    const ts = args.slice(0, distinct.length) as Tensor[];
    const values = ts.map((t) => t.dataSync() as Float32Array);
    const out = new Float32Array(n * d);
    of.forEach((u, k) => {
      const tv = values[u] as Float32Array;
      const rows = (ts[u] as Tensor).shape[0] as number;
      const idk = ids[k] as Int32Array;
      for (let i = 0; i < n; i++) {
        const r = idk[i] as number;
        if (r === -1) continue;
        if (r < 0 || r >= rows)
          throw new SemidError('SEMID_ERR_INTERNAL', `embedding id ${r} outside [0, ${rows}) of table ${u}`);
        const src = r * d;
        const dst = i * d;
        for (let j = 0; j < d; j++) out[dst + j] = (out[dst + j] as number) + (tv[src + j] as number);
      }
    });
    return {
      value: tf.tensor2d(out, [n, d]),
      gradFunc: (dy: Tensor) => {
        const g = dy.dataSync() as Float32Array;
        const accs = ts.map((t) => new Float32Array((t.shape[0] as number) * d));
        of.forEach((u, k) => {
          const acc = accs[u] as Float32Array;
          const idk = ids[k] as Int32Array;
          for (let i = 0; i < n; i++) {
            if (idk[i] === -1) continue;
            const dst = (idk[i] as number) * d;
            const src = i * d;
            for (let j = 0; j < d; j++) acc[dst + j] = (acc[dst + j] as number) + (g[src + j] as number);
          }
        });
        return accs.map((acc, u) => tf.tensor2d(acc, [(ts[u] as Tensor).shape[0] as number, d]));
      },
    };
  });
  return op(...distinct) as tf.Tensor2D;
}

/** Inverted dropout with an explicit seed; identity when rate is 0 or not training. */
export function dropout(x: Tensor, rate: number, seed: number | undefined): Tensor {
  if (rate <= 0 || seed === undefined) return x;
  return tf.dropout(x, rate, undefined, seed);
}
