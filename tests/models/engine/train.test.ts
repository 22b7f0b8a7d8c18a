/**
 * The engines inside `trainModel`: the same run on the onnx and the tfjs engine ends with the same
 * weights (within 1e-3 after two epochs with dropout off), both save artifacts that load and export
 * the same way, a checkpoint written by one engine resumes on the other, and each engine is recorded
 * in the manifest.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../../models/config.js';
import { loadModel, readModelManifest } from '../../../models/io.js';
import { exportOnnx } from '../../../models/onnx/export.js';
import { OnnxModel } from '../../../models/onnx/runtime.js';
import { trainModel } from '../../../models/train.js';
import type { CodeTransformer } from '../../../models/transformer.js';
import { initTf } from '../../../src/core/tf.js';
import { codesOf, ruleSequences, tinyConfig, tinySplit, tinyTable } from '../helpers.js';

const table = tinyTable();
const split = tinySplit(ruleSequences(8, 8));
let dir: string;

beforeAll(async () => {
  await initTf();
  dir = await mkdtemp(join(tmpdir(), 'semid-engine-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function maxDiff(a: CodeTransformer, b: CodeTransformer): number {
  const va = a.values();
  const vb = b.values();
  let d = 0;
  for (const [k, x] of va) {
    const y = vb.get(k) as Float32Array;
    for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs((x[i] as number) - (y[i] as number)));
  }
  return d;
}

describe('training engines in trainModel', () => {
  const cases: Record<string, Partial<ModelConfig>> = {
    'decoder-only': tinyConfig({ epochs: 2 }),
    'item-level with a dense head and repeat bias': tinyConfig({
      arch: 'item',
      epochs: 2,
      codeBuckets: 31,
      dense: 0.5,
      denseRepeat: true,
    }),
  };
  for (const [label, config] of Object.entries(cases)) {
    it(`${label}: onnx and tfjs end with the same weights; both artifacts load and export alike`, async () => {
      const runs = [];
      for (const engine of ['onnx', 'tfjs'] as const) {
        const out = join(dir, `${label}-${engine}`);
        const r = await trainModel({ table, data: split, config, workers: 0, engine, out });
        expect(r.engine).toBe(engine);
        expect((await readModelManifest(out)).training?.engine).toBe(engine);
        runs.push({ r, out });
      }
      const [onnx, tfjs] = runs as [(typeof runs)[0], (typeof runs)[0]];
      expect(onnx.r.steps).toBe(tfjs.r.steps);
      expect(maxDiff(onnx.r.model, tfjs.r.model)).toBeLessThan(1e-3);
      const history = codesOf(table, ['i0', 'i1', 'i2']);
      const firstRows: Float32Array[] = [];
      for (const { r, out } of runs) {
        const loaded = await loadModel(out);
        expect(maxDiff(loaded, r.model)).toBe(0);
        loaded.dispose();
        await exportOnnx(out);
        const m = await OnnxModel.load(out, { intraOpNumThreads: 1 });
        const session = await m.begin([history]);
        const [row] = await session.next([{ user: 0, prefix: [] }]);
        firstRows.push(row as Float32Array);
        session.dispose();
        m.dispose();
        r.model.dispose();
      }
      const [a, b] = firstRows as [Float32Array, Float32Array];
      let d = 0;
      for (let i = 0; i < a.length; i++)
        if ((a[i] as number) > -1e8) d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
      expect(d).toBeLessThan(1e-2);
    });
  }

  it('a tfjs checkpoint resumes on the onnx engine like an uninterrupted run', async () => {
    const cfg = tinyConfig({ epochs: 2, decay: 'none', warmup: 3 });
    const whole = await trainModel({ table, data: split, config: cfg, workers: 0, engine: 'tfjs' });
    const out = join(dir, 'cross-resume');
    const first = await trainModel({
      table,
      data: split,
      config: { ...cfg, epochs: 1 },
      workers: 0,
      engine: 'tfjs',
      out,
    });
    first.model.dispose();
    const second = await trainModel({ table, data: split, config: cfg, engine: 'onnx', out, resume: true });
    expect(second.steps).toBe(whole.steps);
    expect(maxDiff(second.model, whole.model)).toBeLessThan(1e-3);
    whole.model.dispose();
    second.model.dispose();
  });

  it('defaults to onnx where it has a training graph and to tfjs for encdec', async () => {
    const item = await trainModel({ table, data: split, config: tinyConfig({ arch: 'item', epochs: 1 }), maxSteps: 1 });
    const encdec = await trainModel({
      table,
      data: split,
      config: tinyConfig({ arch: 'encdec', epochs: 1 }),
      workers: 0,
      maxSteps: 1,
    });
    expect([item.engine, encdec.engine]).toEqual(['onnx', 'tfjs']);
    item.model.dispose();
    encdec.model.dispose();
  });
});
