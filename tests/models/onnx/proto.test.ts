import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { type Dim, GraphBuilder, ProtoWriter } from '../../../models/onnx/proto.js';

/** Runs a builder's graph in onnxruntime-node on the given float32 inputs. */
async function run(
  g: GraphBuilder,
  feeds: Record<string, { data: Float32Array | BigInt64Array; dims: number[] }>,
): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const session = await ort.InferenceSession.create(g.toModel(), { intraOpNumThreads: 1 });
  try {
    const inputs: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) {
      inputs[k] = new ort.Tensor(v.data instanceof Float32Array ? 'float32' : 'int64', v.data, v.dims);
    }
    const out = await session.run(inputs);
    const res: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
    for (const [k, t] of Object.entries(out)) res[k] = { data: t.data as Float32Array, dims: t.dims };
    return res;
  } finally {
    await session.release();
  }
}

function close(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++)
    expect(Math.abs((actual[i] as number) - (expected[i] as number))).toBeLessThan(tol);
}

/** A one-input one-output graph around `body`. */
function unary(dims: Dim[], body: (g: GraphBuilder, x: string) => string, outDims: Dim[] = dims): GraphBuilder {
  const g = new GraphBuilder('t');
  const x = g.input('x', 'FLOAT', dims);
  g.output(body(g, x), 'y', 'FLOAT', outDims);
  return g;
}

describe('ProtoWriter wire format', () => {
  it('encodes varints as in the protobuf spec', () => {
    const w = new ProtoWriter();
    w.varint(1);
    w.varint(300);
    w.varint(-1);
    expect([...w.finish()]).toEqual([0x01, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  });

  it('encodes tagged fields: int, string, float, nested message', () => {
    const w = new ProtoWriter();
    w.int(1, 150); // 08 96 01
    w.string(2, 'hi'); // 12 02 68 69
    w.float(3, 1); // 1d 00 00 80 3f
    w.message(4, (m) => m.int(1, 2)); // 22 02 08 02
    expect([...w.finish()]).toEqual([
      0x08, 0x96, 0x01, 0x12, 0x02, 0x68, 0x69, 0x1d, 0x00, 0x00, 0x80, 0x3f, 0x22, 0x02, 0x08, 0x02,
    ]);
  });
});

describe('GraphBuilder ops run in onnxruntime-node', () => {
  it('matmul + add with an initializer (hand-computed)', async () => {
    const g = new GraphBuilder('t');
    const x = g.input('x', 'FLOAT', ['n', 2]);
    const w = g.weight('w', Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    const b = g.weight('b', Float32Array.from([0.5, -1, 2]), [3]);
    g.output(g.add(g.matmul(x, w), b), 'y', 'FLOAT', ['n', 3]);
    const { y } = await run(g, { x: { data: Float32Array.from([1, 0, 2, -1]), dims: [2, 2] } });
    // [1,0]W = [1,2,3]; [2,-1]W = [2-4, 4-5, 6-6] = [-2,-1,0]
    expect(y?.dims).toEqual([2, 3]);
    close(y!.data, [1.5, 1, 5, -1.5, -2, 2]);
  });

  it('layerNorm matches the definition', async () => {
    const g = new GraphBuilder('t');
    const x = g.input('x', 'FLOAT', [1, 4]);
    const s = g.weight('s', Float32Array.from([1, 2, 1, 1]), [4]);
    const b = g.weight('b', Float32Array.from([0, 0, 1, 0]), [4]);
    g.output(g.layerNorm(x, s, b, 1e-5), 'y', 'FLOAT', [1, 4]);
    const { y } = await run(g, { x: { data: Float32Array.from([1, 2, 3, 4]), dims: [1, 4] } });
    // mean 2.5, var 1.25
    const sd = Math.sqrt(1.25 + 1e-5);
    close(y!.data, [-1.5 / sd, (2 * -0.5) / sd, 0.5 / sd + 1, 1.5 / sd]);
  });

  it('gather rows of an embedding by int64 ids', async () => {
    const g = new GraphBuilder('t');
    const ids = g.input('ids', 'INT64', [3]);
    const e = g.weight('e', Float32Array.from([0, 1, 10, 11, 20, 21]), [3, 2]);
    g.output(g.gather(e, ids), 'y', 'FLOAT', [3, 2]);
    const { y } = await run(g, { ids: { data: BigInt64Array.from([2n, 0n, 2n]), dims: [3] } });
    close(y!.data, [20, 21, 0, 1, 20, 21]);
  });

  it('softmax over the last axis', async () => {
    const g = unary([2, 2], (g, x) => g.softmax(x, -1));
    const { y } = await run(g, { x: { data: Float32Array.from([0, Math.log(3), 5, 5]), dims: [2, 2] } });
    close(y!.data, [0.25, 0.75, 0.5, 0.5]);
  });

  it('reshape, transpose and concat move values as expected', async () => {
    const g = new GraphBuilder('t');
    const x = g.input('x', 'FLOAT', [2, 3]);
    const t = g.transpose(x, [1, 0]); // [3,2]
    const r = g.reshape(t, [1, -1]); // [1,6]
    g.output(g.concat([r, r], 0), 'y', 'FLOAT', [2, 6]);
    const { y } = await run(g, { x: { data: Float32Array.from([1, 2, 3, 4, 5, 6]), dims: [2, 3] } });
    expect(y?.dims).toEqual([2, 6]);
    close(y!.data, [1, 4, 2, 5, 3, 6, 1, 4, 2, 5, 3, 6]);
  });

  it('gelu (erf form) and tanh form agree with the formulas', async () => {
    const xs = [-2, -0.5, 0, 0.7, 3];
    const erfGelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));
    const tanhGelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    const a = await run(
      unary([5], (g, x) => g.gelu(x)),
      { x: { data: Float32Array.from(xs), dims: [5] } },
    );
    close(a.y!.data, xs.map(erfGelu), 1e-5);
    const b = await run(
      unary([5], (g, x) => g.geluTanh(x)),
      { x: { data: Float32Array.from(xs), dims: [5] } },
    );
    close(b.y!.data, xs.map(tanhGelu), 1e-5);
  });

  it('slice, unsqueeze, squeeze, where and cast', async () => {
    const g = new GraphBuilder('t');
    const x = g.input('x', 'FLOAT', [2, 4]);
    const s = g.slice(x, [1], [3], [1]); // [2,2]: cols 1..2
    const u = g.squeeze(g.unsqueeze(s, [0]), [0]);
    const pos = g.less(g.f32([0], []), u); // u > 0
    const y = g.where(pos, u, g.cast(g.f32([-7], []), 'FLOAT'));
    g.output(y, 'y', 'FLOAT', [2, 2]);
    const { y: out } = await run(g, { x: { data: Float32Array.from([0, 1, -2, 3, 4, -5, 6, 7]), dims: [2, 4] } });
    close(out!.data, [1, -7, -7, 6]);
  });

  it('writes model metadata onnxruntime can read back', async () => {
    const g = unary([1], (g, x) => g.relu(x));
    const session = await ort.InferenceSession.create(g.toModel({ metadata: { semid: 'yes' } }));
    expect(session.inputNames).toEqual(['x']);
    expect(session.outputNames).toEqual(['y']);
    await session.release();
  });
});

/** erf by its Maclaurin series: exact to double precision for the |x| <= 3 used here. */
function erf(x: number): number {
  let sum = 0;
  let term = x;
  for (let n = 0; n < 200; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
