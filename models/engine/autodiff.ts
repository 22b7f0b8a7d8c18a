/**
 * Reverse-mode differentiation over an ONNX graph. `DiffGraph` records each forward op it adds to a
 * `GraphBuilder` together with a backward rule written in standard ONNX ops (opset 17: Gemm, MatMul,
 * Transpose, Softmax, LayerNormalization, ScatterND/GatherND with add-reduction, Where, ReduceSum, ...);
 * `gradients(loss, wrt)` walks the tape backwards and adds the gradient nodes to the same graph, so one
 * onnxruntime session computes the loss and every gradient in a single run.
 *
 * Values carry their shape (numbers, or symbolic names such as "rows" for batch-dependent sizes), so a
 * broadcast operand's gradient is summed back over the axes it was broadcast along. A value needs a
 * gradient when it is a parameter or computed from one; batch inputs and constants do not.
 */
import { SemidError } from '../../src/core/errors.js';
import { Attr, type ElemType, GraphBuilder } from '../onnx/proto.js';

/** A tensor dimension: a fixed size or a symbolic name (equal names are equal sizes). */
export type Dim = number | string;

/** A value of the graph being differentiated. */
export interface Value {
  /** Its name in the ONNX graph. */
  readonly name: string;
  readonly shape: readonly Dim[];
  /** Whether gradients flow into it (a parameter or computed from one). */
  readonly grad: boolean;
}

/** One recorded op: given its outputs' gradients (undefined = zero), the gradients of its inputs. */
interface TapeEntry {
  ins: readonly Value[];
  outs: readonly Value[];
  back: (dys: readonly (string | undefined)[]) => readonly (string | undefined)[];
}

/** Broadcast shape of two operands (numpy rules); a symbolic dim meets 1 or itself. */
function broadcastShape(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else throw new SemidError('SEMID_ERR_INTERNAL', `cannot broadcast [${a}] with [${b}]`);
  }
  return out;
}

/**
 * A graph under construction whose ops are differentiable. Op methods mirror the ONNX op they add;
 * composite ops (`linear`, `layerNorm`, `crossEntropy`) carry hand-derived closed-form gradients.
 */
export class DiffGraph {
  readonly g: GraphBuilder;
  private readonly tape: TapeEntry[] = [];

  constructor(name: string) {
    this.g = new GraphBuilder(name);
  }

  /** A trainable float32 graph input. */
  param(name: string, shape: readonly number[]): Value {
    return { name: this.g.input(name, 'FLOAT', shape), shape, grad: true };
  }

  /** A graph input that gets no gradient (batch data, masks). */
  input(name: string, type: ElemType, shape: readonly Dim[]): Value {
    return { name: this.g.input(name, type, shape), shape, grad: false };
  }

  /** A float32 constant (no gradient). */
  constant(values: readonly number[], shape: readonly number[]): Value {
    return { name: this.g.f32(values, shape), shape, grad: false };
  }

  private record(ins: readonly Value[], outs: Value[], back: TapeEntry['back']): void {
    if (ins.some((v) => v.grad)) this.tape.push({ ins, outs, back });
  }

  private value(name: string, shape: readonly Dim[], ins: readonly Value[]): Value {
    return { name, shape, grad: ins.some((v) => v.grad) };
  }

  /** Sums `grad` (shaped like an op output `from`) down to the shape `to` of a broadcast operand. */
  private unbroadcast(grad: string, from: readonly Dim[], to: readonly Dim[]): string {
    const lead = from.length - to.length;
    const axes: number[] = [];
    for (let i = 0; i < to.length; i++) if (to[i] === 1 && from[lead + i] !== 1) axes.push(lead + i);
    let out = grad;
    if (axes.length > 0) out = this.g.reduceSum(out, axes, true);
    if (lead > 0)
      out = this.g.reduceSum(
        out,
        Array.from({ length: lead }, (_, i) => i),
        false,
      );
    return out;
  }

  /** Zeros shaped like `v` (for an op output that got no gradient). */
  private zerosLike(v: Value): string {
    const zero = Attr.t({ name: 'zero', dims: [1], data: new Float32Array([0]), type: 'FLOAT' });
    return this.g.node('ConstantOfShape', [this.g.shape(v.name)], { value: zero });
  }

  // ---------------------------------------------------------------- elementwise

  /** a + b, broadcasting. */
  add(a: Value, b: Value): Value {
    const out = this.value(this.g.add(a.name, b.name), broadcastShape(a.shape, b.shape), [a, b]);
    this.record([a, b], [out], ([dy]) => [
      this.unbroadcast(dy as string, out.shape, a.shape),
      this.unbroadcast(dy as string, out.shape, b.shape),
    ]);
    return out;
  }

  /** The sum of same-shaped values (one Sum node). */
  sum(xs: readonly Value[]): Value {
    if (xs.length === 1) return xs[0] as Value;
    const out = this.value(
      this.g.node(
        'Sum',
        xs.map((x) => x.name),
      ),
      (xs[0] as Value).shape,
      xs,
    );
    this.record(xs, [out], ([dy]) => xs.map(() => dy));
    return out;
  }

  /** a * b elementwise, broadcasting. */
  mul(a: Value, b: Value): Value {
    const out = this.value(this.g.mul(a.name, b.name), broadcastShape(a.shape, b.shape), [a, b]);
    this.record([a, b], [out], ([dy]) => [
      a.grad ? this.unbroadcast(this.g.mul(dy as string, b.name), out.shape, a.shape) : undefined,
      b.grad ? this.unbroadcast(this.g.mul(dy as string, a.name), out.shape, b.shape) : undefined,
    ]);
    return out;
  }

  /** x * c for a constant c. */
  scale(x: Value, c: number): Value {
    const k = this.g.f32([c], []);
    const out = this.value(this.g.mul(x.name, k), x.shape, [x]);
    this.record([x], [out], ([dy]) => [this.g.mul(dy as string, k)]);
    return out;
  }

  /** max(x, 0); gradient dy where the output is positive. */
  relu(x: Value): Value {
    const out = this.value(this.g.relu(x.name), x.shape, [x]);
    this.record([x], [out], ([dy]) => [
      this.g.where(this.g.node('Greater', [out.name, this.g.f32([0], [])]), dy as string, this.g.f32([0], [])),
    ]);
    return out;
  }

  // ---------------------------------------------------------------- products

  /**
   * x [n, in] . w [in, out] (+ b [out]) as one Gemm. dx = dy . w^T, dw = x^T . dy, db = column sums of dy.
   */
  linear(x: Value, w: Value, b?: Value): Value {
    this.expectRank(x, 2, 'linear input');
    const ins = b ? [x, w, b] : [x, w];
    const out = this.value(this.g.gemm(x.name, w.name, b?.name), [x.shape[0] as Dim, w.shape[1] as Dim], ins);
    this.record(ins, [out], ([dy]) => {
      const d = dy as string;
      return [
        x.grad ? this.g.gemm(d, w.name, undefined, { transB: true }) : undefined,
        w.grad ? this.g.gemm(x.name, d, undefined, { transA: true }) : undefined,
        b?.grad ? this.g.reduceSum(d, [0]) : undefined,
      ];
    });
    return out;
  }

  /** a [n, k] . b^T for b [m, k]: [n, m] (a dot product of every row of a with every row of b). */
  linearT(a: Value, b: Value): Value {
    this.expectRank(a, 2, 'linearT input');
    const out = this.value(
      this.g.gemm(a.name, b.name, undefined, { transB: true }),
      [a.shape[0] as Dim, b.shape[0] as Dim],
      [a, b],
    );
    this.record([a, b], [out], ([dy]) => {
      const d = dy as string;
      return [
        a.grad ? this.g.gemm(d, b.name) : undefined,
        b.grad ? this.g.gemm(d, a.name, undefined, { transA: true }) : undefined,
      ];
    });
    return out;
  }

  /** Batched a [..., m, k] . b [..., k, n] with equal batch dims (attention's products). */
  matmul(a: Value, b: Value): Value {
    const r = a.shape.length;
    if (r !== b.shape.length || r < 3)
      throw new SemidError('SEMID_ERR_INTERNAL', `matmul wants equal ranks >= 3, got [${a.shape}] and [${b.shape}]`);
    const shape = [...a.shape.slice(0, -1), b.shape[r - 1] as Dim];
    const out = this.value(this.g.matmul(a.name, b.name), shape, [a, b]);
    const swap = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
    this.record([a, b], [out], ([dy]) => {
      const d = dy as string;
      return [
        a.grad ? this.g.matmul(d, this.g.transpose(b.name, swap)) : undefined,
        b.grad ? this.g.matmul(this.g.transpose(a.name, swap), d) : undefined,
      ];
    });
    return out;
  }

  // ---------------------------------------------------------------- normalisation

  /** Softmax over the last axis; dx = p * (dy - sum(dy * p)). */
  softmax(x: Value): Value {
    const out = this.value(this.g.softmax(x.name, -1), x.shape, [x]);
    this.record([x], [out], ([dy]) => {
      const p = out.name;
      const dot = this.g.reduceSum(this.g.mul(dy as string, p), [-1], true);
      return [this.g.mul(p, this.g.sub(dy as string, dot))];
    });
    return out;
  }

  /**
   * LayerNormalization over the last axis (eps, biased variance) with scale g and bias b [d]. Backward
   * from the op's own mean and inverse standard deviation: x^ = (x - mean) * r,
   * dx = r * (dy*g - mean(dy*g) - x^ * mean(dy*g * x^)), dg = sum(dy * x^), db = sum(dy).
   */
  layerNorm(x: Value, gain: Value, bias: Value, eps: number): Value {
    const [y, mean, inv] = this.g.nodeMulti('LayerNormalization', [x.name, gain.name, bias.name], 3, {
      axis: Attr.i(-1),
      epsilon: Attr.f(eps),
    }) as [string, string, string];
    const out = this.value(y, x.shape, [x, gain, bias]);
    const lead = Array.from({ length: x.shape.length - 1 }, (_, i) => i);
    this.record([x, gain, bias], [out], ([dy]) => {
      const g = this.g;
      const d = dy as string;
      const xhat = g.mul(g.sub(x.name, mean), inv);
      let dx: string | undefined;
      if (x.grad) {
        const dxh = g.mul(d, gain.name);
        const m1 = g.node('ReduceMean', [dxh], { axes: Attr.ints([-1]), keepdims: Attr.i(1) });
        const m2 = g.node('ReduceMean', [g.mul(dxh, xhat)], { axes: Attr.ints([-1]), keepdims: Attr.i(1) });
        dx = g.mul(inv, g.sub(g.sub(dxh, m1), g.mul(xhat, m2)));
      }
      return [
        dx,
        gain.grad ? g.reduceSum(g.mul(d, xhat), lead) : undefined,
        bias.grad ? g.reduceSum(d, lead) : undefined,
      ];
    });
    return out;
  }

  // ---------------------------------------------------------------- layout

  /**
   * Reshape to `shape` (the tracked shape) using `target`, an int64 shape tensor name or constant
   * (0 copies a dim, -1 is inferred). The gradient is reshaped back to the input's runtime shape.
   */
  reshape(x: Value, shape: readonly Dim[], target: string | readonly number[]): Value {
    const out = this.value(this.g.reshape(x.name, target), shape, [x]);
    this.record([x], [out], ([dy]) => [this.g.reshape(dy as string, this.g.shape(x.name))]);
    return out;
  }

  /** Transpose by `perm`; the gradient goes through the inverse permutation. */
  transpose(x: Value, perm: readonly number[]): Value {
    const out = this.value(
      this.g.transpose(x.name, perm),
      perm.map((p) => x.shape[p] as Dim),
      [x],
    );
    const inv = perm.map((_, i) => perm.indexOf(i));
    this.record([x], [out], ([dy]) => [this.g.transpose(dy as string, inv)]);
    return out;
  }

  /** Splits `x` along the last axis into pieces of fixed `sizes`; the gradient is their concatenation. */
  split(x: Value, sizes: readonly number[]): Value[] {
    const r = x.shape.length;
    const names = this.g.split(x.name, sizes, -1);
    const outs = names.map((n, i) => this.value(n, [...x.shape.slice(0, r - 1), sizes[i] as number], [x]));
    this.record([x], outs, (dys) => [
      this.g.concat(
        dys.map((d, i) => d ?? this.zerosLike(outs[i] as Value)),
        -1,
      ),
    ]);
    return outs;
  }

  /** Splits `x` along axis 0 into `parts` equal pieces (a dynamic size); the gradient is their concatenation. */
  splitRows(x: Value, parts: number, rows: Dim): Value[] {
    const names = this.g.nodeMulti('Split', [x.name], parts, { axis: Attr.i(0) });
    const outs = names.map((n) => this.value(n, [rows, ...x.shape.slice(1)], [x]));
    this.record([x], outs, (dys) => [
      this.g.concat(
        dys.map((d, i) => d ?? this.zerosLike(outs[i] as Value)),
        0,
      ),
    ]);
    return outs;
  }

  /** Concatenation along axis 0; each input's gradient is its block of rows of dy. */
  concatRows(xs: readonly Value[], rows: Dim): Value {
    const out = this.value(
      this.g.concat(
        xs.map((x) => x.name),
        0,
      ),
      [rows, ...(xs[0] as Value).shape.slice(1)],
      xs,
    );
    this.record(xs, [out], ([dy]) => {
      if (xs.length === 1) return [dy];
      const sizes = xs.map((x) => this.g.gather(this.g.shape(x.name), this.g.i64([0])));
      return this.g.nodeMulti('Split', [dy as string, this.g.concat(sizes, 0)], xs.length, { axis: Attr.i(0) });
    });
    return out;
  }

  /** A static slice [start, end) of axis `axis` of a fixed-shape value; the gradient is zero-padded back. */
  sliceStatic(x: Value, axis: number, start: number, end: number): Value {
    const size = x.shape[axis];
    if (typeof size !== 'number')
      throw new SemidError('SEMID_ERR_INTERNAL', `sliceStatic needs a fixed axis ${axis} in [${x.shape}]`);
    const shape = x.shape.map((d, i) => (i === axis ? end - start : d));
    const out = this.value(this.g.slice(x.name, [start], [end], [axis]), shape, [x]);
    const r = x.shape.length;
    const pads = new Array<number>(2 * r).fill(0);
    pads[axis] = start;
    pads[r + axis] = size - end;
    this.record([x], [out], ([dy]) => [this.g.node('Pad', [dy as string, this.g.i64(pads)])]);
    return out;
  }

  /** Sum over `axes` (non-negative), dropping them; the gradient is broadcast back. */
  reduceSum(x: Value, axes: readonly number[]): Value {
    const shape = x.shape.filter((_, i) => !axes.includes(i));
    const out = this.value(this.g.reduceSum(x.name, axes, false), shape, [x]);
    this.record([x], [out], ([dy]) => [this.g.expand(this.g.unsqueeze(dy as string, axes), this.g.shape(x.name))]);
    return out;
  }

  // ---------------------------------------------------------------- sparse

  /**
   * Rows of `table` [rows, ...] at int64 `ids` (any shape): [...ids, ...]. The gradient scatters dy back
   * into a zero table with add-reduction (ScatterND), so repeated ids accumulate.
   */
  gather(table: Value, ids: Value): Value {
    const out = this.value(this.g.gather(table.name, ids.name), [...ids.shape, ...table.shape.slice(1)], [table]);
    this.record([table, ids], [out], ([dy]) => [
      this.g.node('ScatterND', [this.zerosLike(table), this.g.unsqueeze(ids.name, [-1]), dy as string], {
        reduction: Attr.s('add'),
      }),
      undefined,
    ]);
    return out;
  }

  /**
   * Rows of one `table` [rows, d] for several int64 id tensors at once: one Gather over all ids, split
   * back into [...ids_i, d] per tensor. The gradient is one ScatterND (add) into the table, however many
   * id tensors read it, instead of one full-size table per use summed afterwards.
   */
  gatherMany(table: Value, ids: readonly Value[]): Value[] {
    const g = this.g;
    const d = table.shape[1] as Dim;
    const flat = g.concat(
      ids.map((v) => g.reshape(v.name, [-1])),
      0,
    );
    const sizes = g.concat(
      ids.map((v) => g.reshape(g.node('Size', [v.name]), [1])),
      0,
    );
    const rows = g.gather(table.name, flat);
    const parts = ids.length === 1 ? [rows] : g.nodeMulti('Split', [rows, sizes], ids.length, { axis: Attr.i(0) });
    const outs = parts.map((p, i) => {
      const v = ids[i] as Value;
      const shape = g.concat([g.shape(v.name), g.i64([-1])], 0);
      return this.value(g.reshape(p, shape), [...v.shape, d], [table]);
    });
    this.record([table, ...ids], outs, (dys) => {
      const pieces = dys.map((dy, i) => g.reshape(dy ?? this.zerosLike(outs[i] as Value), [-1, d as number]));
      const all = pieces.length === 1 ? (pieces[0] as string) : g.concat(pieces, 0);
      const dt = g.node('ScatterND', [this.zerosLike(table), g.unsqueeze(flat, [-1]), all], {
        reduction: Attr.s('add'),
      });
      return [dt, ...ids.map(() => undefined)];
    });
    return outs;
  }

  /**
   * `base` plus `updates` [P] added at the distinct int64 cells `indices` [P, rank] (ScatterND, add).
   * Gradients: dy to the base; to the updates, dy read at the cells (GatherND).
   */
  addAt(base: Value, indices: Value, updates: Value): Value {
    const out = this.value(
      this.g.node('ScatterND', [base.name, indices.name, updates.name], { reduction: Attr.s('add') }),
      base.shape,
      [base, updates],
    );
    this.record([base, indices, updates], [out], ([dy]) => [
      dy,
      undefined,
      updates.grad ? this.g.node('GatherND', [dy as string, indices.name]) : undefined,
    ]);
    return out;
  }

  // ---------------------------------------------------------------- loss

  /**
   * Label-smoothed softmax cross-entropy, summed with per-row weights:
   * loss = sum_i w_i [ -(1-eps) log p_i[y_i] - eps/V sum_v log p_i[v] ]  over logits [n, V].
   * Closed-form gradient: w_i (p_i - (1-eps) onehot(y_i) - eps/V) * dy, the one-hot part as a ScatterElements add.
   * @param labels [n] int64 class per row (any valid class where the weight is 0)
   * @param weights [n] float32 row weights (the caller folds the normaliser in)
   * @returns a scalar
   */
  crossEntropy(logits: Value, labels: Value, weights: Value, eps: number): Value {
    const g = this.g;
    const V = logits.shape[1];
    if (typeof V !== 'number') throw new SemidError('SEMID_ERR_INTERNAL', 'crossEntropy needs a fixed class count');
    const lsm = g.node('LogSoftmax', [logits.name], { axis: Attr.i(-1) });
    const lab = g.unsqueeze(labels.name, [1]);
    let per = g.squeeze(g.gatherElements(lsm, lab, 1), [1]); // log p[y]
    per = g.mul(per, g.f32([-(1 - eps)], []));
    if (eps > 0) {
      const meanLog = g.node('ReduceMean', [lsm], { axes: Attr.ints([1]), keepdims: Attr.i(0) });
      per = g.sub(per, g.mul(meanLog, g.f32([eps], [])));
    }
    const out = this.value(g.reduceSum(g.mul(per, weights.name), [0]), [], [logits]);
    this.record([logits, labels, weights], [out], ([dy]) => {
      // w (p - eps/V) everywhere, then -(1-eps) w added at each row's label (no one-hot matrix)
      const w = g.mul(weights.name, dy as string);
      const wCol = g.unsqueeze(w, [1]);
      const p = g.node('Exp', [lsm]);
      const spread = g.mul(eps > 0 ? g.sub(p, g.f32([eps / V], [])) : p, wCol);
      const atLabel = g.mul(wCol, g.f32([-(1 - eps)], []));
      const dx = g.node('ScatterElements', [spread, lab, atLabel], { axis: Attr.i(1), reduction: Attr.s('add') });
      return [dx, undefined, undefined];
    });
    return out;
  }

  // ---------------------------------------------------------------- backward

  private expectRank(x: Value, r: number, what: string): void {
    if (x.shape.length !== r)
      throw new SemidError('SEMID_ERR_INTERNAL', `${what} must have rank ${r}, got [${x.shape}]`);
  }

  /**
   * Adds the gradient of the scalar `loss` with respect to each of `wrt` to the graph (reverse mode
   * over the tape). A value the loss does not depend on gets zeros.
   * @returns the gradient value name per `wrt` entry, in order
   */
  gradients(loss: Value, wrt: readonly Value[]): string[] {
    const parts = new Map<string, string[]>();
    const push = (v: Value, grad: string) => {
      const list = parts.get(v.name);
      if (list) list.push(grad);
      else parts.set(v.name, [grad]);
    };
    const total = (v: Value): string | undefined => {
      const list = parts.get(v.name);
      if (!list) return undefined;
      const sum = list.length === 1 ? (list[0] as string) : this.g.node('Sum', list);
      parts.set(v.name, [sum]);
      return sum;
    };
    push(loss, this.g.f32([1], []));
    for (let i = this.tape.length - 1; i >= 0; i--) {
      const e = this.tape[i] as TapeEntry;
      const dys = e.outs.map(total);
      if (dys.every((d) => d === undefined)) continue;
      const dxs = e.back(dys);
      e.ins.forEach((v, k) => {
        const d = dxs[k];
        if (v.grad && d !== undefined) push(v, d);
      });
    }
    return wrt.map((v) => total(v) ?? this.zerosLike(v));
  }
}
