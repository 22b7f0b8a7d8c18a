/**
 * The reference training step (d_model 128, 4 heads, 2 layers, FFN 512, sequence 64, batch 64,
 * vocabulary 1024; forward + backward + AdamW) on semid's onnx engine, against PyTorch
 * (../shared/bench/torch_step.py, Debian's python3-torch; a benchmark tool, not a semid dependency)
 * and semid's TensorFlow.js engine, measured in the same run: the engines alternate, `--rounds`
 * rounds each, every round the median step time of `--seconds` of steps, and each engine reports the
 * median over its rounds. PyTorch runs once per thread count in `--torch-threads`; its best is the
 * baseline of the ratio.
 *
 *   npx tsx bench/train-step-torch.ts [--seconds 20] [--rounds 3] [--threads <cores>] \
 *     [--torch-threads 1,2] [--workers 1] [--spinning] [--no-tfjs] [--json]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decoderBatch } from '../models/batch.js';
import { resolveModelConfig } from '../models/config.js';
import { OnnxEngine, TfjsEngine, type TrainingEngine } from '../models/engine/trainer.js';
import { CodeTransformer } from '../models/transformer.js';
import { createRng } from '../src/core/rng.js';
import { initTf } from '../src/core/tf.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(availableParallelism()) },
    'torch-threads': { type: 'string', default: `1,${availableParallelism()}` },
    workers: { type: 'string', default: '1' },
    spinning: { type: 'boolean', default: false },
    'no-tfjs': { type: 'boolean', default: false },
    torch: { type: 'string', default: join(import.meta.dirname, '..', '..', 'shared', 'bench', 'torch_step.py') },
    python: { type: 'string', default: existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3' },
    json: { type: 'boolean' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const threads = Number(values.threads);
const torchThreads = [...new Set((values['torch-threads'] as string).split(',').map(Number))];

await initTf();
const levelSizes = [256, 256, 256, 253]; // 3 specials + 1021 code tokens = vocabulary 1024
const cfg = resolveModelConfig({ dModel: 128, heads: 4, layers: 2, ffn: 512, dropout: 0, maxHistory: 15, batch: 64 });
const rng = createRng(1);
const windows = Array.from({ length: 64 }, () => Array.from({ length: 16 }, () => levelSizes.map((s) => rng.int(s))));
const adam = { lr: 1e-3, warmup: 10, totalSteps: 1_000_000, decay: 'cosine' as const, weightDecay: 0.01, clipNorm: 1 };

const onnxModel = CodeTransformer.create(cfg, levelSizes);
const batch = decoderBatch(onnxModel.layout, windows);
const tokens = batch.b * batch.t;
const engines: { name: string; engine: TrainingEngine; model: CodeTransformer }[] = [
  {
    name: `onnx (${threads} threads)`,
    engine: await OnnxEngine.create(onnxModel, { ...adam }, 0, { threads, spinning: values.spinning }),
    model: onnxModel,
  },
];
if (!values['no-tfjs']) {
  const m = CodeTransformer.create(cfg, levelSizes);
  const workers = Number(values.workers);
  engines.push({
    name: `tfjs (main + ${workers} workers)`,
    engine: await TfjsEngine.create(m, { ...adam }, workers),
    model: m,
  });
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Median seconds per step over `seconds` of steps (after two warm-up steps). */
async function timeEngine(e: TrainingEngine): Promise<number> {
  for (let i = 0; i < 2; i++) await e.step(batch);
  const times: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end || times.length < 3) {
    const t0 = performance.now();
    await e.step(batch);
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

/** Stops with a message (an exception here would surface through TensorFlow.js's wasm handlers). */
function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

const probe = spawnSync(values.python as string, ['-c', 'import torch'], { encoding: 'utf8' });
if (!existsSync(values.torch as string)) fail(`no PyTorch reference at ${values.torch} (--torch)`);
if (probe.status !== 0)
  fail(`${values.python} cannot import torch (apt-get install -y python3-torch, or --python): ${probe.stderr}`);

function timeTorch(n: number): number {
  const r = spawnSync(
    values.python as string,
    [values.torch as string, '--threads', String(n), '--seconds', String(seconds)],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) fail(`torch_step.py failed: ${r.stderr}`);
  return (JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as { sPerStep: number }).sPerStep;
}

const samples = new Map<string, number[]>();
const note = (k: string, s: number) => {
  samples.set(k, [...(samples.get(k) ?? []), s]);
  process.stderr.write(`${k}: ${s.toFixed(4)} s/step\n`);
};
for (let r = 0; r < rounds; r++) {
  process.stderr.write(`round ${r + 1}/${rounds}\n`);
  for (const e of engines) note(e.name, await timeEngine(e.engine));
  for (const n of torchThreads) note(`pytorch (${n} threads)`, timeTorch(n));
}
for (const e of engines) {
  await e.engine.close();
  e.model.dispose();
}

const results = Object.fromEntries(
  [...samples].map(([k, xs]) => {
    const s = median(xs);
    return [k, { secondsPerStep: s, tokensPerSecond: tokens / s, rounds: xs }];
  }),
);
const onnxKey = engines[0]?.name as string;
const onnxTps = results[onnxKey]?.tokensPerSecond as number;
const torchBest = Math.max(...torchThreads.map((n) => results[`pytorch (${n} threads)`]?.tokensPerSecond as number));
const tfjsKey = engines[1]?.name;
const ratios = {
  onnxOverPytorchBest: onnxTps / torchBest,
  ...Object.fromEntries(
    torchThreads.map((n) => [
      `onnxOverPytorch${n}`,
      onnxTps / (results[`pytorch (${n} threads)`]?.tokensPerSecond as number),
    ]),
  ),
  ...(tfjsKey ? { onnxOverTfjs: onnxTps / (results[tfjsKey]?.tokensPerSecond as number) } : {}),
};
const out = {
  shape: { dModel: 128, heads: 4, layers: 2, ffn: 512, seq: batch.t, batch: batch.b, vocab: onnxModel.vocabSize },
  loadAverage: loadavg(),
  results,
  ratios,
};
if (values.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
else {
  process.stdout.write(`reference step: B ${batch.b}, T ${batch.t}, d 128, vocabulary ${onnxModel.vocabSize}\n`);
  for (const [k, r] of Object.entries(results)) {
    process.stdout.write(
      `${k.padEnd(28)} ${r.secondsPerStep.toFixed(4)} s/step  ${r.tokensPerSecond.toFixed(0)} tokens/s\n`,
    );
  }
  for (const [k, v] of Object.entries(ratios)) process.stdout.write(`${k.padEnd(28)} ${v.toFixed(3)}\n`);
  process.stdout.write(
    `load average at the end: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}\n`,
  );
}
