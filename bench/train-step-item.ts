/**
 * Training step of the item-level model on Beauty's default-recipe shape, the onnx engine against the
 * TensorFlow.js engine in the same run: `rqvae`'s 3 x 256 codes, 4 layers, d_model 128, FFN 512,
 * dropout 0.2, hashed code buckets (65,521), the dense item head over a 12,101-item catalogue (weight 0.5)
 * with its learned repeat bias; 64 windows of 9 items (synthetic codes, no data needed). The engines
 * alternate, `--rounds` rounds each, every round the median step time over `--seconds`; each reports
 * the median of its rounds as seconds per step and next-item targets per second, and the onnx/tfjs ratio.
 *
 *   npx tsx bench/train-step-item.ts [--seconds 20] [--rounds 3] [--threads <cores>] [--workers 1] \
 *     [--levels 256,256,256] [--layers 4] [--items 9] [--buckets 65521] [--dense 12101] [--no-repeat] [--json]
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { itemBatch, itemCatalogue, targetCount } from '../models/batch.js';
import { resolveModelConfig } from '../models/config.js';
import { OnnxEngine, TfjsEngine, type TrainingEngine } from '../models/engine/trainer.js';
import { CodeTransformer } from '../models/transformer.js';
import { initTf } from '../src/core/tf.js';
import { syntheticWindows } from './synthetic.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(availableParallelism()) },
    workers: { type: 'string', default: '1' },
    levels: { type: 'string', default: '256,256,256' },
    layers: { type: 'string', default: '4' },
    items: { type: 'string', default: '9' },
    buckets: { type: 'string', default: '65521' },
    dense: { type: 'string', default: '12101' },
    'no-repeat': { type: 'boolean', default: false },
    json: { type: 'boolean' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
await initTf();
const levelSizes = (values.levels as string).split(',').map(Number);
const denseItems = Number(values.dense);
const cfg = resolveModelConfig({
  arch: 'item',
  dModel: 128,
  heads: 4,
  layers: Number(values.layers),
  ffn: 512,
  dropout: 0.2,
  maxHistory: 20,
  codeBuckets: Number(values.buckets),
  dense: denseItems > 0 ? 0.5 : 0,
  denseRepeat: denseItems > 0 && !values['no-repeat'],
});
const { catalogue, windows } = syntheticWindows(levelSizes, denseItems, Number(values.items));
const adam = { lr: 2e-3, warmup: 100, totalSteps: 1_000_000, decay: 'cosine' as const, weightDecay: 0.01, clipNorm: 1 };

const models = [CodeTransformer.create(cfg, levelSizes), CodeTransformer.create(cfg, levelSizes)];
const layout = (models[0] as CodeTransformer).layout;
const dense = cfg.dense > 0 ? itemCatalogue(layout, catalogue, cfg.codeBuckets) : undefined;
const batch = itemBatch(layout, windows, cfg.codeBuckets, dense);
const targets = targetCount(batch) / layout.levels;
const threads = Number(values.threads);
const workers = Number(values.workers);
const engines: [string, TrainingEngine][] = [
  [
    `onnx (${threads} threads)`,
    await OnnxEngine.create(models[0] as CodeTransformer, { ...adam }, dense?.catalogue.n ?? 0, { threads }),
  ],
  [`tfjs (main + ${workers} workers)`, await TfjsEngine.create(models[1] as CodeTransformer, { ...adam }, workers)],
];

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
let seed = 1;
async function timeEngine(e: TrainingEngine): Promise<number> {
  for (let i = 0; i < 2; i++) await e.step(batch, seed++);
  const times: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end || times.length < 3) {
    const t0 = performance.now();
    await e.step(batch, seed++);
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

const samples = new Map<string, number[]>();
for (let r = 0; r < rounds; r++) {
  for (const [name, e] of engines) {
    const s = await timeEngine(e);
    samples.set(name, [...(samples.get(name) ?? []), s]);
    process.stderr.write(`round ${r + 1}: ${name} ${s.toFixed(4)} s/step\n`);
  }
}
for (const [, e] of engines) await e.close();
for (const m of models) m.dispose();

const results = Object.fromEntries(
  [...samples].map(([k, xs]) => [
    k,
    { secondsPerStep: median(xs), targetsPerSecond: targets / median(xs), rounds: xs },
  ]),
);
const [onnxName, tfjsName] = engines.map(([n]) => n) as [string, string];
const ratio = (results[onnxName]?.targetsPerSecond as number) / (results[tfjsName]?.targetsPerSecond as number);
const out = {
  config: cfg,
  levelSizes,
  catalogue: dense?.catalogue.n ?? 0,
  loadAverage: loadavg(),
  results,
  onnxOverTfjs: ratio,
};
if (values.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
else {
  for (const [k, r] of Object.entries(results)) {
    process.stdout.write(
      `${k.padEnd(26)} ${r.secondsPerStep.toFixed(4)} s/step  ${r.targetsPerSecond.toFixed(0)} next-item targets/s\n`,
    );
  }
  process.stdout.write(
    `onnx / tfjs: ${ratio.toFixed(2)}x; load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}\n`,
  );
}
