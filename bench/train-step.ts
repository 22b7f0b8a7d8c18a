/**
 * The reference training step (the shape bench/train-profile.ts also uses): d_model 128, 4 heads, 2 layers, FFN 512, sequence 64,
 * batch 64, vocabulary 1024 (about 13.7 GFLOP: 3x the forward matmul FLOPs). Reports seconds/step,
 * tokens/s, achieved GFLOP/s and the ratio to the CPU's fp32 peak (540 GFLOP/s, 2 cores AVX-512),
 * single-thread and data-parallel, plus a per-phase split of the single-thread step.
 *
 *   npx tsx bench/train-step.ts [--seconds 20] [--workers 1] [--json]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { decoderBatch } from '../models/batch.js';
import { resolveModelConfig } from '../models/config.js';
import { computeGrads } from '../models/grad.js';
import { AdamW } from '../models/optim.js';
import { DataParallel } from '../models/parallel.js';
import { CodeTransformer } from '../models/transformer.js';
import { createRng } from '../src/core/rng.js';
import { initTf, tf } from '../src/core/tf.js';

const PEAK = 540;
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    workers: { type: 'string', default: '1' },
    json: { type: 'boolean' },
  },
});
const seconds = Number(values.seconds);
const workers = Number(values.workers);

const backend = await initTf();
const levelSizes = [256, 256, 256, 253]; // 3 specials + 1021 code tokens = vocab 1024
const cfg = resolveModelConfig({ dModel: 128, heads: 4, layers: 2, ffn: 512, dropout: 0, maxHistory: 15, batch: 64 });
const model = CodeTransformer.create(cfg, levelSizes);
const rng = createRng(1);
const windows = Array.from({ length: 64 }, () => Array.from({ length: 16 }, () => levelSizes.map((s) => rng.int(s))));
const batch = decoderBatch(model.layout, windows);
const T = batch.t; // 64
const B = batch.b;
const tokens = B * T;
const V = model.vocabSize;
const d = cfg.dModel;
// forward FLOPs: 2 * tokens * (matmul params) + attention (QK^T and PV: 2 * 2 * B * T^2 * d per layer)
const matParams = cfg.layers * (3 * d * d + d * d + 2 * d * cfg.ffn) + d * V;
const fwd = 2 * tokens * matParams + cfg.layers * 4 * B * T * T * d;
const stepFlops = 3 * fwd;

const vars = model.weights;
const decayed = new Set(model.specs.filter((s) => s.decay).map((s) => s.name));
const opt = new AdamW(vars, decayed, {
  lr: 1e-3,
  warmup: 10,
  totalSteps: 1000,
  decay: 'cosine',
  weightDecay: 0.01,
  clipNorm: 1,
});

async function timeIt(label: string, f: () => Promise<void> | void, budget: number): Promise<number> {
  await f();
  await f();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < budget * 1000 || n < 2) {
    await f();
    n++;
  }
  const s = (performance.now() - t0) / n / 1000;
  process.stderr.write(`${label}: ${s.toFixed(3)} s (${n} reps)\n`);
  return s;
}

const before = tf.memory().numTensors;
const phase = {
  forward: await timeIt(
    'forward (loss only)',
    () => tf.tidy(() => void model.loss(batch, tokens).dataSync()),
    seconds / 4,
  ),
  forwardBackward: await timeIt(
    'forward+backward',
    () => {
      const { grads } = computeGrads(model, batch, tokens, undefined);
      for (const g of grads.values()) g.dispose();
    },
    seconds / 4,
  ),
};
const results: Record<string, { secondsPerStep: number; tokensPerSecond: number; gflops: number; peakRatio: number }> =
  {};
// Single-thread and data-parallel rounds alternate, so a change in the other jobs' load hits both alike;
// each setting reports the median over its rounds.
const rounds = 3;
const modes = [0, workers].filter((w, i, a) => a.indexOf(w) === i);
const pools = new Map<number, DataParallel>();
for (const w of modes) pools.set(w, await DataParallel.create(model, w));
const samples = new Map<number, number[]>(modes.map((w) => [w, []]));
for (let r = 0; r < rounds; r++) {
  for (const w of modes) {
    const dp = pools.get(w) as DataParallel;
    const s = await timeIt(
      `round ${r + 1}: train step, ${w} worker(s)`,
      async () => {
        const { grads } = await dp.grads(batch, undefined);
        opt.apply(grads);
        for (const g of grads.values()) g.dispose();
      },
      seconds / (2 * rounds),
    );
    samples.get(w)?.push(s);
  }
}
for (const dp of pools.values()) await dp.close();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
for (const w of modes) {
  const s = median(samples.get(w) as number[]);
  const gflops = stepFlops / s / 1e9;
  results[w === 0 ? 'single' : `dataParallel${w + 1}`] = {
    secondsPerStep: s,
    tokensPerSecond: tokens / s,
    gflops,
    peakRatio: gflops / PEAK,
  };
}
const leaked = tf.memory().numTensors - before;
const out = {
  backend,
  loadAverage: loadavg(),
  shape: { dModel: d, heads: cfg.heads, layers: cfg.layers, ffn: cfg.ffn, seq: T, batch: B, vocab: V },
  stepGflop: stepFlops / 1e9,
  phaseSeconds: phase,
  results,
  leakedTensors: leaked,
};
if (values.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
else {
  process.stdout.write(
    `backend ${backend}; step = ${(stepFlops / 1e9).toFixed(2)} GFLOP (B ${B}, T ${T}, d ${d}, vocab ${V})\n`,
  );
  process.stdout.write(
    `load average at the end: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}\n`,
  );
  for (const [k, r] of Object.entries(results)) {
    process.stdout.write(
      `${k.padEnd(14)} ${r.secondsPerStep.toFixed(3)} s/step  ${r.tokensPerSecond.toFixed(0)} tokens/s  ${r.gflops.toFixed(1)} GFLOP/s  ${(100 * r.peakRatio).toFixed(1)} % of ${PEAK} GFLOP/s peak\n`,
    );
  }
}
opt.dispose();
model.dispose();
