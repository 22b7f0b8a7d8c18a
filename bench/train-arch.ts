/**
 * Training cost of the architectures on the same batch, measured in one run: the reference shape of
 * bench/train-step.ts (d_model 128, 4 heads, 2 layers, FFN 512, 64 windows of 16 items with 4-level
 * codes over a 1,024-token vocabulary), one thread. Reports seconds per step and items (next-item
 * targets) per second for each architecture, and each one's speed relative to the decoder-only model.
 *
 *   npx tsx bench/train-arch.ts [--seconds 15] [--json]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { decoderBatch, itemBatch, type TrainBatch, targetCount } from '../models/batch.js';
import { type ModelArch, resolveModelConfig } from '../models/config.js';
import { computeGrads } from '../models/grad.js';
import { AdamW } from '../models/optim.js';
import { CodeTransformer } from '../models/transformer.js';
import { createRng } from '../src/core/rng.js';
import { initTf } from '../src/core/tf.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '15' }, json: { type: 'boolean' } },
});
const seconds = Number(values.seconds);
const backend = await initTf();
const levelSizes = [256, 256, 256, 253];
const rng = createRng(1);
const windows = Array.from({ length: 64 }, () => Array.from({ length: 16 }, () => levelSizes.map((s) => rng.int(s))));

interface Row {
  arch: ModelArch;
  secondsPerStep: number;
  itemsPerSecond: number;
  steps: number;
}

async function measure(arch: ModelArch): Promise<Row> {
  const cfg = resolveModelConfig({ arch, dModel: 128, heads: 4, layers: 2, ffn: 512, dropout: 0, maxHistory: 15 });
  const model = CodeTransformer.create(cfg, levelSizes);
  const batch: TrainBatch = arch === 'item' ? itemBatch(model.layout, windows) : decoderBatch(model.layout, windows);
  const items = targetCount(batch) / levelSizes.length; // next-item targets per step
  const decayed = new Set(model.specs.filter((s) => s.decay).map((s) => s.name));
  const opt = new AdamW(model.weights, decayed, {
    lr: 1e-3,
    warmup: 10,
    totalSteps: 1000,
    decay: 'cosine',
    weightDecay: 0.01,
    clipNorm: 1,
  });
  const step = () => {
    const { grads } = computeGrads(model, batch, targetCount(batch), undefined);
    opt.apply(grads);
    for (const g of grads.values()) g.dispose();
  };
  step(); // warm-up (kernel set-up)
  let steps = 0;
  const t0 = performance.now();
  while ((performance.now() - t0) / 1000 < seconds) {
    step();
    steps++;
  }
  const secondsPerStep = (performance.now() - t0) / 1000 / steps;
  opt.dispose();
  model.dispose();
  return { arch, secondsPerStep, itemsPerSecond: items / secondsPerStep, steps };
}

const rows: Row[] = [];
for (const arch of ['decoder', 'item'] as const) rows.push(await measure(arch));
const base = rows[0] as Row;
const out = {
  backend,
  load: loadavg()[0] ?? 0,
  rows: rows.map((r) => ({ ...r, speedVsDecoder: r.itemsPerSecond / base.itemsPerSecond })),
};
if (values.json) console.log(JSON.stringify(out, null, 2));
else {
  console.log(`backend ${backend}, load ${out.load.toFixed(2)}, ${seconds} s per architecture, one thread`);
  for (const r of out.rows) {
    console.log(
      `${r.arch.padEnd(8)} ${r.secondsPerStep.toFixed(3)} s/step  ${r.itemsPerSecond.toFixed(0)} items/s  ` +
        `x${r.speedVsDecoder.toFixed(2)} vs decoder (${r.steps} steps)`,
    );
  }
}
