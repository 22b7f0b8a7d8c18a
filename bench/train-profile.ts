/**
 * Per-kernel profile of one training step (forward + backward) of the reference shape
 * (d_model 128, 4 heads, 2 layers, FFN 512, sequence 64, batch 64, vocabulary 1024): the kernels
 * that dominate, with their input shapes, summed over the step. Custom-gradient wrappers appear as
 * "forward" rows and include the kernels inside them, so the total double-counts.
 *
 *   npx tsx bench/train-profile.ts [--top 30]
 */
import { parseArgs } from 'node:util';
import { decoderBatch } from '../models/batch.js';
import { resolveModelConfig } from '../models/config.js';
import { computeGrads } from '../models/grad.js';
import { CodeTransformer } from '../models/transformer.js';
import { createRng } from '../src/core/rng.js';
import { initTf, tf } from '../src/core/tf.js';

const { values } = parseArgs({ options: { top: { type: 'string', default: '30' } } });
const backend = await initTf();
const levelSizes = [256, 256, 256, 253];
const cfg = resolveModelConfig({ dModel: 128, heads: 4, layers: 2, ffn: 512, dropout: 0, maxHistory: 15, batch: 64 });
const model = CodeTransformer.create(cfg, levelSizes);
const rng = createRng(1);
const windows = Array.from({ length: 64 }, () => Array.from({ length: 16 }, () => levelSizes.map((s) => rng.int(s))));
const batch = decoderBatch(model.layout, windows);
const tokens = batch.b * batch.t;
const step = () => {
  const { grads } = computeGrads(model, batch, tokens, undefined);
  for (const g of grads.values()) g.dispose();
};
for (let i = 0; i < 3; i++) step();
const t0 = performance.now();
const prof = await tf.profile(step);
const wall = performance.now() - t0;
const agg = new Map<string, { ms: number; n: number }>();
for (const k of prof.kernels) {
  const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
  const e = agg.get(key) ?? { ms: 0, n: 0 };
  e.ms += k.kernelTimeMs as number;
  e.n++;
  agg.set(key, e);
}
process.stdout.write(
  `backend ${backend}, profiled step ${wall.toFixed(0)} ms wall\nms\tcalls\tkernel [input shapes]\n`,
);
for (const [k, v] of [...agg.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(values.top))) {
  process.stdout.write(`${v.ms.toFixed(1)}\t${v.n}\t${k}\n`);
}
