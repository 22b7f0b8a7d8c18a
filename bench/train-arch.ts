/**
 * Training cost of the architectures on the same batch, measured in one run: the reference shape of
 * bench/train-step.ts (d_model 128, 4 heads, 2 layers, FFN 512, 64 windows of 16 items with 4-level
 * codes over a 1,024-token vocabulary), one thread. Reports seconds per step and items (next-item
 * targets) per second for each architecture, and each one's speed relative to the decoder-only model.
 *
 * `--levels` / `--layers` / `--items` change the code shape, depth and window length (e.g. Beauty's
 * CID+IID index: --levels 16,16,16,12101 --layers 4 --items 9). `--buckets M` gives the item-level
 * model hashed code embeddings; `--dense N` adds a row for the item-level model with a dense item head
 * over a catalogue of N items (the windows' items among them), e.g. Beauty's: --dense 12101, and one with
 * that head plus its learned repeat bias (`denseRepeat`).
 *
 *   npx tsx bench/train-arch.ts [--seconds 15] [--levels 256,256,256,253] [--layers 2] [--items 16] [--arch decoder,item] [--buckets 0] [--dense 0] [--json]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { decoderBatch, itemBatch, itemCatalogue, type TrainBatch, targetCount } from '../models/batch.js';
import { type ModelArch, resolveModelConfig } from '../models/config.js';
import { computeGrads } from '../models/grad.js';
import { AdamW } from '../models/optim.js';
import { CodeTransformer } from '../models/transformer.js';
import { initTf } from '../src/core/tf.js';
import { syntheticWindows } from './synthetic.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    levels: { type: 'string', default: '256,256,256,253' },
    layers: { type: 'string', default: '2' },
    items: { type: 'string', default: '16' },
    arch: { type: 'string', default: 'decoder,item' },
    buckets: { type: 'string', default: '0' },
    dense: { type: 'string', default: '0' },
    json: { type: 'boolean' },
  },
});
const seconds = Number(values.seconds);
const backend = await initTf();
const levelSizes = (values.levels as string).split(',').map(Number);
const layers = Number(values.layers);
const buckets = Number(values.buckets);
const denseItems = Number(values.dense);
// a catalogue of distinct codes (at least the windows' 64 * items draws); windows draw from it
const { catalogue, windows } = syntheticWindows(levelSizes, denseItems, Number(values.items));

type RowName = ModelArch | 'item+dense' | 'item+dense+repeat';

interface Row {
  arch: RowName;
  secondsPerStep: number;
  itemsPerSecond: number;
  steps: number;
}

async function measure(name: RowName): Promise<Row> {
  const arch: ModelArch = name.startsWith('item') ? 'item' : (name as ModelArch);
  const dense = name.startsWith('item+dense') ? 1 : 0;
  const cfg = resolveModelConfig({
    arch,
    dModel: 128,
    heads: 4,
    layers,
    ffn: 512,
    dropout: 0,
    maxHistory: 20,
    codeBuckets: arch === 'item' ? buckets : 0,
    dense,
    denseRepeat: name === 'item+dense+repeat',
  });
  const model = CodeTransformer.create(cfg, levelSizes);
  const cat = dense > 0 ? itemCatalogue(model.layout, catalogue, buckets) : undefined;
  const batch: TrainBatch =
    arch === 'item' ? itemBatch(model.layout, windows, buckets, cat) : decoderBatch(model.layout, windows);
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
  return { arch: name, secondsPerStep, itemsPerSecond: items / secondsPerStep, steps };
}

const rows: Row[] = [];
for (const arch of (values.arch as string).split(',') as ModelArch[]) rows.push(await measure(arch));
if (denseItems > 0) {
  rows.push(await measure('item+dense'));
  rows.push(await measure('item+dense+repeat'));
}
const base = rows.find((r) => r.arch === 'decoder') ?? (rows[0] as Row);
const out = {
  backend,
  load: loadavg()[0] ?? 0,
  rows: rows.map((r) => ({ ...r, speedVsDecoder: r.itemsPerSecond / base.itemsPerSecond })),
};
if (values.json) console.log(JSON.stringify(out, null, 2));
else {
  console.log(
    `backend ${backend}, load ${out.load.toFixed(2)}, levels [${levelSizes}], ${layers} layers, buckets ${buckets}, ` +
      `dense catalogue ${denseItems}, ${seconds} s per architecture, one thread`,
  );
  for (const r of out.rows) {
    console.log(
      `${r.arch.padEnd(17)} ${r.secondsPerStep.toFixed(3)} s/step  ${r.itemsPerSecond.toFixed(0)} items/s  ` +
        `x${r.speedVsDecoder.toFixed(2)} vs ${base.arch} (${r.steps} steps)`,
    );
  }
}
