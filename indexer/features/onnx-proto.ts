/**
 * A minimal protobuf writer for ONNX ModelProto: enough to build small graphs (initializers, nodes,
 * typed inputs/outputs with symbolic dimensions) for tests of the ONNX text encoder. Field numbers
 * follow onnx/onnx.proto.
 */

/** ONNX TensorProto element types used here. */
export const ONNX_FLOAT = 1;
/** int64 element type. */
export const ONNX_INT64 = 7;

class Writer {
  private readonly parts: number[] = [];
  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x > 0n) b |= 0x80;
      this.parts.push(b);
    } while (x > 0n);
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  int(field: number, v: number | bigint): this {
    return this.tag(field, 0).varint(v);
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }
  str(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  msg(field: number, m: Writer): this {
    return this.bytes(field, m.finish());
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** A graph input or output: name, element type and shape (numbers, or strings for symbolic dims). */
export interface ValueInfo {
  name: string;
  elemType: number;
  shape: readonly (number | string)[];
}

/** One graph node. */
export interface NodeSpec {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  /** Integer attributes (e.g. Gather's axis). */
  intAttrs?: Record<string, number>;
  /** Integer-list attributes (e.g. ReduceMean's axes). */
  intsAttrs?: Record<string, readonly number[]>;
}

/** A float32 initializer. */
export interface FloatInit {
  name: string;
  dims: readonly number[];
  data: Float32Array;
}

function valueInfo(v: ValueInfo): Writer {
  const shape = new Writer();
  for (const d of v.shape) shape.msg(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().str(2, d));
  const tensorType = new Writer().int(1, v.elemType).msg(2, shape);
  return new Writer().str(1, v.name).msg(2, new Writer().msg(1, tensorType));
}

/** Serialises an ONNX model (opset 13 by default) with the given graph. */
export function encodeModel(g: {
  name?: string;
  nodes: readonly NodeSpec[];
  initializers: readonly FloatInit[];
  inputs: readonly ValueInfo[];
  outputs: readonly ValueInfo[];
  opset?: number;
}): Uint8Array {
  const graph = new Writer();
  g.nodes.forEach((n, i) => {
    const node = new Writer();
    for (const x of n.inputs) node.str(1, x);
    for (const x of n.outputs) node.str(2, x);
    node.str(3, `${n.op}_${i}`).str(4, n.op);
    for (const [name, v] of Object.entries(n.intAttrs ?? {}))
      node.msg(5, new Writer().str(1, name).int(3, v).int(20, 2));
    for (const [name, vs] of Object.entries(n.intsAttrs ?? {})) {
      const a = new Writer().str(1, name);
      for (const v of vs) a.int(8, v);
      node.msg(5, a.int(20, 7));
    }
    graph.msg(1, node);
  });
  graph.str(2, g.name ?? 'graph');
  for (const t of g.initializers) {
    const tp = new Writer();
    for (const d of t.dims) tp.int(1, d);
    tp.int(2, ONNX_FLOAT)
      .str(8, t.name)
      .bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    graph.msg(5, tp);
  }
  for (const v of g.inputs) graph.msg(11, valueInfo(v));
  for (const v of g.outputs) graph.msg(12, valueInfo(v));
  return new Writer()
    .int(1, 8)
    .str(2, 'semid')
    .msg(7, graph)
    .msg(8, new Writer().str(1, '').int(2, g.opset ?? 13))
    .finish();
}
