/**
 * Every differentiable op of the ONNX autodiff (models/engine/autodiff.ts) against central finite
 * differences, on small shapes: loss = sum(op(inputs) * R) for a fixed random R, its gradient from
 * the graph's backward nodes, and (loss(x + h) - loss(x - h)) / 2h from forward runs of the same
 * onnxruntime session. float32 throughout, h = 1e-2: tolerance 3e-3 + 2e-2 * |finite difference|.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { DiffGraph, type Value } from '../../../models/engine/autodiff.js';
import { createRng } from '../../../src/core/rng.js';

const H = 1e-2;

interface Case {
  /** Trainable inputs and their shapes. */
  params: Record<string, number[]>;
  /** Integer (int64) inputs with their values and shapes. */
  ints?: Record<string, { values: number[]; shape: number[] }>;
  /** Builds the op's output from the graph inputs. */
  build: (dg: DiffGraph, p: Record<string, Value>, ints: Record<string, Value>) => Value;
  /** Value generator per param (default: standard normal). */
  init?: (name: string, rng: ReturnType<typeof createRng>) => number;
}

async function check(c: Case, seed = 1): Promise<number> {
  const rng = createRng(seed);
  const dg = new DiffGraph('op_test');
  const params: Record<string, Value> = {};
  for (const [k, shape] of Object.entries(c.params)) params[k] = dg.param(k, shape);
  const ints: Record<string, Value> = {};
  for (const [k, v] of Object.entries(c.ints ?? {})) ints[k] = dg.input(k, 'INT64', v.shape);
  const y = c.build(dg, params, ints);
  const dims = y.shape.map((d) => {
    if (typeof d !== 'number') throw new Error('test outputs need fixed shapes');
    return d;
  });
  const n = dims.reduce((a, b) => a * b, 1);
  const r = dg.constant(
    Array.from({ length: n }, () => rng.normal()),
    dims,
  );
  const loss =
    dims.length === 0
      ? dg.mul(y, r)
      : dg.reduceSum(
          dg.mul(y, r),
          dims.map((_, i) => i),
        );
  const wrt = Object.values(params);
  const grads = dg.gradients(loss, wrt);
  dg.g.output(loss.name, 'loss', 'FLOAT', []);
  wrt.forEach((p, i) => {
    dg.g.output(grads[i] as string, `grad.${p.name}`, 'FLOAT', p.shape);
  });
  const session = await ort.InferenceSession.create(dg.g.toModel(), { intraOpNumThreads: 1 });
  const values: Record<string, Float32Array> = {};
  for (const [k, shape] of Object.entries(c.params)) {
    const size = shape.reduce((a, b) => a * b, 1);
    values[k] = Float32Array.from({ length: size }, () => (c.init ? c.init(k, rng) : rng.normal()));
  }
  const feeds = (): Record<string, ort.Tensor> => {
    const f: Record<string, ort.Tensor> = {};
    for (const [k, shape] of Object.entries(c.params))
      f[k] = new ort.Tensor('float32', values[k] as Float32Array, shape);
    for (const [k, v] of Object.entries(c.ints ?? {}))
      f[k] = new ort.Tensor('int64', BigInt64Array.from(v.values, BigInt), v.shape);
    return f;
  };
  const lossAt = async () => ((await session.run(feeds())).loss as ort.Tensor).data[0] as number;
  const out = await session.run(feeds());
  let checked = 0;
  for (const k of Object.keys(c.params)) {
    const analytic = (out[`grad.${k}`] as ort.Tensor).data as Float32Array;
    const x = values[k] as Float32Array;
    expect(analytic.length).toBe(x.length);
    for (let i = 0; i < x.length; i++) {
      const x0 = x[i] as number;
      x[i] = x0 + H;
      const up = await lossAt();
      x[i] = x0 - H;
      const down = await lossAt();
      x[i] = x0;
      const fd = (up - down) / (2 * H);
      const tol = 3e-3 + 2e-2 * Math.abs(fd);
      if (Math.abs((analytic[i] as number) - fd) > tol) {
        throw new Error(`d loss / d ${k}[${i}]: graph ${analytic[i]}, finite difference ${fd}`);
      }
      checked++;
    }
  }
  await session.release();
  return checked;
}

describe('autodiff: each op against finite differences', () => {
  it('add and mul with broadcasting, scale, sum', async () => {
    await check({
      params: { a: [3, 4], b: [4], c: [3, 1] },
      build: (dg, p) =>
        dg.sum([dg.mul(dg.add(p.a as Value, p.b as Value), p.c as Value), dg.scale(p.a as Value, -0.7)]),
    });
  });

  it('relu (away from the kink)', async () => {
    await check({
      params: { x: [5, 3] },
      init: (_, rng) => (rng.next() < 0.5 ? -1 : 1) * (0.2 + rng.next()),
      build: (dg, p) => dg.relu(p.x as Value),
    });
  });

  it('linear with and without bias, linearT', async () => {
    await check({
      params: { x: [4, 3], w: [3, 5], b: [5], u: [2, 5] },
      build: (dg, p) =>
        dg.linearT(
          dg.add(dg.linear(p.x as Value, p.w as Value, p.b as Value), dg.linear(p.x as Value, p.w as Value)),
          p.u as Value,
        ),
    });
  });

  it('batched matmul, transpose and reshape', async () => {
    await check({
      params: { a: [2, 3, 4], b: [2, 4, 2] },
      build: (dg, p) => {
        const m = dg.matmul(p.a as Value, p.b as Value); // [2,3,2]
        const t = dg.transpose(m, [2, 0, 1]); // [2,2,3]
        return dg.reshape(t, [4, 3], [4, 3]);
      },
    });
  });

  it('softmax over the last axis', async () => {
    await check({ params: { x: [3, 5] }, build: (dg, p) => dg.softmax(p.x as Value) });
  });

  it('layer normalisation (input, gain and bias)', async () => {
    await check({
      params: { x: [4, 6], g: [6], b: [6] },
      build: (dg, p) => dg.layerNorm(p.x as Value, p.g as Value, p.b as Value, 1e-5),
    });
  });

  it('split, splitRows, concatRows and sliceStatic', async () => {
    await check({
      params: { x: [4, 6] },
      build: (dg, p) => {
        const x = p.x as Value;
        const [a, b] = dg.split(x, [2, 4]) as [Value, Value];
        const [r0, r1] = dg.splitRows(x, 2, 2) as [Value, Value];
        const rows = dg.concatRows([r1, r0], 4); // [4, 6]
        return dg.sum([dg.sliceStatic(rows, 1, 1, 3), a, dg.sliceStatic(b, 1, 2, 4)]);
      },
    });
  });

  it('reduceSum', async () => {
    await check({ params: { x: [2, 3, 4] }, build: (dg, p) => dg.reduceSum(p.x as Value, [1]) });
  });

  it('gather with repeated ids accumulates into the table', async () => {
    await check({
      params: { t: [5, 3] },
      ints: { ids: { values: [0, 2, 2, 4, 0, 2], shape: [2, 3] } },
      build: (dg, p, i) => dg.gather(p.t as Value, i.ids as Value),
    });
  });

  it('gatherMany: several id tensors read one table, one scatter back', async () => {
    await check({
      params: { t: [4, 3] },
      ints: {
        a: { values: [0, 3, 3, 1], shape: [2, 2] },
        b: { values: [3, 2, 0], shape: [3] },
      },
      build: (dg, p, i) => {
        const [x, y] = dg.gatherMany(p.t as Value, [i.a as Value, i.b as Value]) as [Value, Value];
        return dg.add(dg.reduceSum(x, [0]), dg.sliceStatic(dg.scale(y, 2), 0, 1, 3));
      },
    });
  });

  it('addAt: a learned value added at listed cells', async () => {
    await check({
      params: { base: [3, 4], table: [3] },
      ints: {
        cells: { values: [0, 1, 1, 1, 2, 3, 0, 0], shape: [4, 2] },
        which: { values: [0, 2, 2, 1], shape: [4] },
      },
      build: (dg, p, i) => dg.addAt(p.base as Value, i.cells as Value, dg.gather(p.table as Value, i.which as Value)),
    });
  });

  it('cross-entropy, with and without label smoothing', async () => {
    for (const eps of [0, 0.1]) {
      await check({
        params: { x: [4, 5] },
        ints: { y: { values: [0, 3, 4, 1], shape: [4] } },
        build: (dg, p, i) => dg.crossEntropy(p.x as Value, i.y as Value, dg.constant([0.5, 1, 0, 0.25], [4]), eps),
      });
    }
  });
});
