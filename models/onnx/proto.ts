/**
 * A minimal ONNX writer: the protobuf wire format by hand (varints, length-delimited fields, float
 * data as raw little-endian bytes) for the subset of onnx.proto semid needs (ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto, ValueInfoProto), and a `GraphBuilder` that keeps graph code
 * readable: `g.matmul(a, b)`, `g.layerNorm(x, scale, bias)`, ... Writing only, no dependency.
 *
 * Field numbers follow onnx/onnx.proto (IR version 8, default-domain opset 17). Repeated scalars are
 * written unpacked (the proto2 default), which every protobuf parser accepts.
 */
import { SemidError } from '../../src/core/errors.js';

/** ONNX IR version written into every model (8 pairs with opset 17). */
export const IR_VERSION = 8;
/** Default-domain opset written into every model; LayerNormalization needs 17. */
export const OPSET = 17;

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9 } as const;
/** An element type name the builder accepts. */
export type ElemType = keyof typeof DataType;

/** A tensor dimension: a fixed size, or a symbolic name (e.g. "batch") for a dynamic one. */
export type Dim = number | string;

// ---------------------------------------------------------------------------------------------------
// Wire format

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** A growable byte buffer with protobuf field writers. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  /** Writes an unsigned or signed integer as a varint (negatives as 10-byte two's complement, as int64). */
  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    if (typeof v === 'number' && !Number.isSafeInteger(v)) {
      throw new SemidError('SEMID_ERR_INTERNAL', `varint needs a safe integer, got ${v}`);
    }
    while (x >= 0x80n) {
      this.byte(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.byte(Number(x));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** An int32/int64/enum field. */
  int(field: number, v: number | bigint): void {
    this.tag(field, WIRE_VARINT);
    this.varint(v);
  }

  /** A float field (fixed32). */
  float(field: number, v: number): void {
    this.tag(field, WIRE_I32);
    this.reserve(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, v, true);
    this.len += 4;
  }

  /** A bytes field. */
  bytes(field: number, b: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.varint(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** A string field (UTF-8). */
  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }

  /** An embedded message field. */
  message(field: number, fill: (w: ProtoWriter) => void): void {
    const inner = new ProtoWriter();
    fill(inner);
    this.bytes(field, inner.finish());
  }

  /** The bytes written so far. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

// ---------------------------------------------------------------------------------------------------
// Messages (plain data) and their encoders

/** A constant tensor (TensorProto): `data` is stored as raw_data. */
export interface TensorSpec {
  name: string;
  dims: readonly number[];
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array;
  type: ElemType;
}

/** A node attribute value, tagged with its AttributeProto kind (build them with `Attr`). */
export type AttrValue =
  | { kind: 'i'; v: number }
  | { kind: 'f'; v: number }
  | { kind: 's'; v: string }
  | { kind: 'ints'; v: readonly number[] }
  | { kind: 'floats'; v: readonly number[] }
  | { kind: 't'; v: TensorSpec };

/** Attribute constructors, so `{ axis: Attr.i(-1) }` reads like the ONNX spec. */
export const Attr = {
  i: (v: number): AttrValue => ({ kind: 'i', v }),
  f: (v: number): AttrValue => ({ kind: 'f', v }),
  s: (v: string): AttrValue => ({ kind: 's', v }),
  ints: (v: readonly number[]): AttrValue => ({ kind: 'ints', v }),
  floats: (v: readonly number[]): AttrValue => ({ kind: 'floats', v }),
  t: (v: TensorSpec): AttrValue => ({ kind: 't', v }),
};

/** A graph node (NodeProto). */
export interface NodeSpec {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name: string;
  attrs: Record<string, AttrValue>;
}

/** A graph input or output (ValueInfoProto with a tensor type). */
export interface ValueInfoSpec {
  name: string;
  type: ElemType;
  dims: readonly Dim[];
}

const ATTR_TYPE = { f: 1, i: 2, s: 3, t: 4, floats: 6, ints: 7 } as const;

function writeTensor(w: ProtoWriter, t: TensorSpec): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, DataType[t.type]);
  w.string(8, t.name);
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function writeAttr(w: ProtoWriter, name: string, a: AttrValue): void {
  w.string(1, name);
  switch (a.kind) {
    case 'f':
      w.float(2, a.v);
      break;
    case 'i':
      w.int(3, a.v);
      break;
    case 's':
      w.string(4, a.v);
      break;
    case 't':
      w.message(5, (m) => writeTensor(m, a.v));
      break;
    case 'floats':
      for (const v of a.v) w.float(7, v);
      break;
    case 'ints':
      for (const v of a.v) w.int(8, v);
      break;
  }
  w.int(20, ATTR_TYPE[a.kind]);
}

function writeNode(w: ProtoWriter, n: NodeSpec): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs)) w.message(5, (m) => writeAttr(m, k, v));
}

function writeValueInfo(w: ProtoWriter, v: ValueInfoSpec): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, DataType[v.type]);
      tt.message(2, (shape) => {
        for (const d of v.dims) {
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        }
      });
    }),
  );
}

/** Model-level metadata written into ModelProto. */
export interface ModelMeta {
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  /** Free key/value pairs (metadata_props); onnxruntime exposes them as customMetadataMap. */
  metadata?: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------------
// Builder

type Input = string;

/**
 * Builds one ONNX graph. Every op method adds a node and returns the name of its output, so graph
 * code composes like expressions. Names are made unique with a counter; pass `name` to pin an output
 * name (graph outputs).
 */
export class GraphBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly inputs: ValueInfoSpec[] = [];
  readonly outputs: ValueInfoSpec[] = [];
  readonly initializers: TensorSpec[] = [];
  private counter = 0;
  private readonly constCache = new Map<string, string>();

  constructor(readonly name: string) {}

  /** A fresh unique value name with a readable stem. */
  fresh(stem: string): string {
    return `${stem}_${this.counter++}`;
  }

  /** Declares a graph input and returns its name. */
  input(name: string, type: ElemType, dims: readonly Dim[]): string {
    this.inputs.push({ name, type, dims: [...dims] });
    return name;
  }

  /** Declares `value` as a graph output named `name` (through an Identity if the names differ). */
  output(value: string, name: string, type: ElemType, dims: readonly Dim[]): string {
    if (value !== name) this.node('Identity', [value], {}, name);
    this.outputs.push({ name, type, dims: [...dims] });
    return name;
  }

  /** Adds a float32 initializer (a weight) and returns its name. */
  weight(name: string, data: Float32Array, dims: readonly number[]): string {
    const n = dims.reduce((a, b) => a * b, 1);
    if (data.length !== n) {
      throw new SemidError('SEMID_ERR_INTERNAL', `weight ${name}: ${data.length} values for dims [${dims}] (${n})`);
    }
    this.initializers.push({ name, dims: [...dims], data, type: 'FLOAT' });
    return name;
  }

  /** An int64 constant (shapes, axes, indices); identical constants are shared. */
  i64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims}:${values}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.fresh('const_i64');
    this.initializers.push({
      name,
      dims: [...dims],
      data: BigInt64Array.from(values, (v) => BigInt(v)),
      type: 'INT64',
    });
    this.constCache.set(key, name);
    return name;
  }

  /** A float32 constant; identical constants are shared. `dims` [] makes a scalar. */
  f32(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `f32:${dims}:${values}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.fresh('const_f32');
    this.initializers.push({ name, dims: [...dims], data: Float32Array.from(values), type: 'FLOAT' });
    this.constCache.set(key, name);
    return name;
  }

  /** Adds a node with one output and returns the output's name. */
  node(op: string, inputs: readonly Input[], attrs: Record<string, AttrValue> = {}, out?: string): string {
    const o = out ?? this.fresh(op.toLowerCase());
    this.nodes.push({ op, inputs: [...inputs], outputs: [o], name: `${op}_${this.counter++}`, attrs });
    return o;
  }

  /** Adds a node with several outputs and returns their names. */
  nodeMulti(op: string, inputs: readonly Input[], nOut: number, attrs: Record<string, AttrValue> = {}): string[] {
    const outs = Array.from({ length: nOut }, () => this.fresh(op.toLowerCase()));
    this.nodes.push({ op, inputs: [...inputs], outputs: outs, name: `${op}_${this.counter++}`, attrs });
    return outs;
  }

  /** Splits `x` along `axis` into pieces of the given sizes. */
  split(x: Input, sizes: readonly number[], axis: number): string[] {
    return this.nodeMulti('Split', [x, this.i64(sizes)], sizes.length, { axis: Attr.i(axis) });
  }
  /** Cumulative sum along `axis` (a constant); `exclusive` leaves out the element itself, `reverse` sums from the end. */
  cumsum(x: Input, axis: number, opts: { exclusive?: boolean; reverse?: boolean } = {}): string {
    const attrs: Record<string, AttrValue> = {};
    if (opts.exclusive) attrs.exclusive = Attr.i(1);
    if (opts.reverse) attrs.reverse = Attr.i(1);
    return this.node('CumSum', [x, this.i64([axis], [])], attrs);
  }
  /** Sum over `axes`, keeping them as size 1 when `keepdims`. */
  reduceSum(x: Input, axes: readonly number[], keepdims = false): string {
    return this.node('ReduceSum', [x, this.i64(axes)], { keepdims: Attr.i(keepdims ? 1 : 0) });
  }

  // Elementwise and matrix ops with ONNX (numpy) broadcasting; each returns its output's name.

  /** MatMul: batched over leading dims with broadcasting. */
  matmul(a: Input, b: Input): string {
    return this.node('MatMul', [a, b]);
  }
  add(a: Input, b: Input): string {
    return this.node('Add', [a, b]);
  }
  sub(a: Input, b: Input): string {
    return this.node('Sub', [a, b]);
  }
  mul(a: Input, b: Input): string {
    return this.node('Mul', [a, b]);
  }
  div(a: Input, b: Input): string {
    return this.node('Div', [a, b]);
  }
  relu(x: Input): string {
    return this.node('Relu', [x]);
  }
  tanh(x: Input): string {
    return this.node('Tanh', [x]);
  }
  erf(x: Input): string {
    return this.node('Erf', [x]);
  }
  sqrt(x: Input): string {
    return this.node('Sqrt', [x]);
  }
  /** Exact GELU, 0.5 x (1 + erf(x / sqrt 2)) (the Gelu op only exists from opset 20). */
  gelu(x: Input): string {
    const inner = this.erf(this.mul(x, this.f32([Math.SQRT1_2], [])));
    return this.mul(this.mul(x, this.f32([0.5], [])), this.add(inner, this.f32([1], [])));
  }
  /** GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
  geluTanh(x: Input): string {
    const x3 = this.mul(this.mul(x, x), x);
    const u = this.mul(this.add(x, this.mul(x3, this.f32([0.044715], []))), this.f32([Math.sqrt(2 / Math.PI)], []));
    return this.mul(this.mul(x, this.f32([0.5], [])), this.add(this.tanh(u), this.f32([1], [])));
  }
  /** LayerNormalization over the last axis (opset 17): (x - mean) / sqrt(var + eps) * scale + bias. */
  layerNorm(x: Input, scale: Input, bias: Input, epsilon = 1e-5, axis = -1): string {
    return this.node('LayerNormalization', [x, scale, bias], { axis: Attr.i(axis), epsilon: Attr.f(epsilon) });
  }
  /** Gather along `axis` (indices int64 or int32). */
  gather(data: Input, indices: Input, axis = 0): string {
    return this.node('Gather', [data, indices], { axis: Attr.i(axis) });
  }
  softmax(x: Input, axis = -1): string {
    return this.node('Softmax', [x], { axis: Attr.i(axis) });
  }
  /** Reshape to a constant shape (0 copies the input dim, -1 is inferred). */
  reshape(x: Input, shape: readonly number[] | Input): string {
    const s = typeof shape === 'string' ? shape : this.i64(shape);
    return this.node('Reshape', [x, s]);
  }
  transpose(x: Input, perm: readonly number[]): string {
    return this.node('Transpose', [x], { perm: Attr.ints(perm) });
  }
  concat(xs: readonly Input[], axis: number): string {
    return this.node('Concat', xs, { axis: Attr.i(axis) });
  }
  unsqueeze(x: Input, axes: readonly number[]): string {
    return this.node('Unsqueeze', [x, this.i64(axes)]);
  }
  squeeze(x: Input, axes: readonly number[]): string {
    return this.node('Squeeze', [x, this.i64(axes)]);
  }
  /** Slice [starts, ends) along `axes` (constant bounds; use a large end for "to the end"). */
  slice(x: Input, starts: readonly number[], ends: readonly number[], axes: readonly number[]): string {
    return this.node('Slice', [x, this.i64(starts), this.i64(ends), this.i64(axes)]);
  }
  /** Slice with bounds given as int64 tensors (dynamic). */
  sliceDyn(x: Input, starts: Input, ends: Input, axes: Input): string {
    return this.node('Slice', [x, starts, ends, axes]);
  }
  cast(x: Input, to: ElemType): string {
    return this.node('Cast', [x], { to: Attr.i(DataType[to]) });
  }
  where(cond: Input, a: Input, b: Input): string {
    return this.node('Where', [cond, a, b]);
  }
  equal(a: Input, b: Input): string {
    return this.node('Equal', [a, b]);
  }
  less(a: Input, b: Input): string {
    return this.node('Less', [a, b]);
  }
  /** The shape of `x` as an int64 vector. */
  shape(x: Input): string {
    return this.node('Shape', [x]);
  }
  expand(x: Input, shape: Input): string {
    return this.node('Expand', [x, shape]);
  }
  /** GatherElements along `axis`. */
  gatherElements(data: Input, indices: Input, axis: number): string {
    return this.node('GatherElements', [data, indices], { axis: Attr.i(axis) });
  }
  /** Gemm: alpha A' B' + beta C (A' = A^T when transA, likewise B). 2-D only. */
  gemm(a: Input, b: Input, c?: Input, opts: { transA?: boolean; transB?: boolean } = {}): string {
    const attrs: Record<string, AttrValue> = {};
    if (opts.transA) attrs.transA = Attr.i(1);
    if (opts.transB) attrs.transB = Attr.i(1);
    return this.node('Gemm', c === undefined ? [a, b] : [a, b, c], attrs);
  }
  /** Range(start, limit, delta), scalars of one type. */
  range(start: Input, limit: Input, delta: Input): string {
    return this.node('Range', [start, limit, delta]);
  }

  /** Encodes a GraphProto. */
  writeGraph(w: ProtoWriter): void {
    for (const n of this.nodes) w.message(1, (m) => writeNode(m, n));
    w.string(2, this.name);
    for (const t of this.initializers) w.message(5, (m) => writeTensor(m, t));
    for (const v of this.inputs) w.message(11, (m) => writeValueInfo(m, v));
    for (const v of this.outputs) w.message(12, (m) => writeValueInfo(m, v));
  }

  /** Serialises this graph as a complete ModelProto (IR_VERSION, default-domain OPSET). */
  toModel(meta: ModelMeta = {}): Uint8Array {
    const w = new ProtoWriter();
    w.int(1, IR_VERSION);
    w.string(2, meta.producerName ?? 'semid');
    w.string(3, meta.producerVersion ?? '0.1.0');
    if (meta.docString) w.string(6, meta.docString);
    w.message(7, (g) => this.writeGraph(g));
    w.message(8, (op) => {
      op.string(1, '');
      op.int(2, OPSET);
    });
    for (const [k, v] of Object.entries(meta.metadata ?? {})) {
      w.message(14, (e) => {
        e.string(1, k);
        e.string(2, v);
      });
    }
    return w.finish();
  }
}
