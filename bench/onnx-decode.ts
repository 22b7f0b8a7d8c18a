/**
 * ONNX (onnxruntime-node) vs TensorFlow.js decoding speed, measured in the same run, on a Beauty-sized
 * model: 4 levels of 256 values (vocabulary 1027), 12,101 random item codes in the trie, histories of
 * 20 items, constrained beam search with beam 20, the default CodeTransformer (d 128, 2 layers, 4
 * heads, FFN 512), randomly initialised (speed does not depend on the weights).
 *
 * Reports, per runtime (times as median and minimum: the machine is shared, so the minimum shows the
 * uncontended speed and the median what a user saw during the run):
 *  - single-user latency of a whole recommendation (encode + 4 steps + beam search), and the part
 *    spent inside the model (begin + next);
 *  - per-step latency of `next` with 20 beam rows (1 row at level 0), per prefix length;
 *  - throughput in users/s with batches of `--batch` users;
 *  - achieved GFLOP/s (multiply-add = 2 FLOP, counted analytically over the work each runtime
 *    actually executes, divided by the time spent inside the model, begin + next, excluding the
 *    TypeScript beam search) and its ratio to the CPU's fp32 peak (~540 GFLOP/s, 2 cores AVX-512);
 *  - the ORT / TF.js speed ratio.
 * Every loop is bounded in time. Usage:
 *   nice npx tsx bench/onnx-decode.ts [--arch decoder|encdec] [--threads 2] [--batch 16] [--seconds 3] [--spinning] [--ort-only]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ModelConfig, resolveModelConfig } from '../models/config.js';
import { exportWeights } from '../models/onnx/export.js';
import { OnnxModel } from '../models/onnx/runtime.js';
import { CodeTransformer } from '../models/transformer.js';
import { TokenLayout } from '../src/core/codes.js';
import { beamSearch } from '../src/core/decoding.js';
import type { BeamRow, DecodingSession, GenerativeModel } from '../src/core/model.js';
import { createRng } from '../src/core/rng.js';
import { initTf } from '../src/core/tf.js';
import { CodeTrie } from '../src/core/trie.js';
import type { Code } from '../src/core/types.js';

const PEAK_GFLOPS = 540;
const { values: args } = parseArgs({
  options: {
    arch: { type: 'string', default: 'decoder' },
    threads: { type: 'string', default: '2' },
    batch: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '3' },
    items: { type: 'string', default: '12101' },
    spinning: { type: 'boolean', default: false },
    'ort-only': { type: 'boolean', default: false },
  },
});
const arch = args.arch as ModelConfig['arch'];
const threads = Number(args.threads);
const batch = Number(args.batch);
const seconds = Number(args.seconds);
const levelSizes = [256, 256, 256, 256];
const layout = new TokenLayout(levelSizes);
const L = levelSizes.length;
const HIST = 20;
const BEAM = 20;

const backend = await initTf();
const cfg = resolveModelConfig({ arch, dropout: 0 });
const model = CodeTransformer.create(cfg, levelSizes);
const dir = await mkdtemp(join(tmpdir(), 'semid-onnx-bench-'));
await exportWeights({ config: cfg, levelSizes, values: model.values() }, join(dir, 'onnx'));
const spinning = args.spinning === true;
const onnx = await OnnxModel.load(dir, { intraOpNumThreads: threads, spinning });

const rng = createRng(42);
const entries: [string, Code][] = [];
const seen = new Set<string>();
while (entries.length < Number(args.items)) {
  const c = levelSizes.map((s) => rng.int(s));
  const k = c.join(',');
  if (seen.has(k)) continue;
  seen.add(k);
  entries.push([`i${entries.length}`, c]);
}
const trie = new CodeTrie(levelSizes, entries);
const history = (): Code[] =>
  Array.from({ length: HIST }, () => (entries[rng.int(entries.length)] as [string, Code])[1]);

// ------------------------------------------------------------------ analytic FLOPs (2 per multiply-add)
const d = cfg.dModel;
const V = layout.vocabSize;
const T = 1 + HIST * L; // [BOS, 20 items x 4 tokens]
/** Dense FLOPs per token of a block: QKV, output projection, FFN. */
const dense = (n: number) => n * (2 * d * 3 * d + 2 * d * d + 4 * d * cfg.ffn);
const qkvOnly = (n: number) => n * 2 * d * 3 * d;
/** Scores and weighted values of `nq` queries over `nk` keys. */
const attn = (nq: number, nk: number) => 4 * nq * nk * d;
/** Cross-attention query and output projections per token. */
const crossDense = (n: number) => n * 4 * d * d;
const head = (n: number) => 2 * n * d * V;
const layers = cfg.layers;

/**
 * FLOPs of a whole recommendation for `users` users (encode + every step) as each runtime executes
 * it. TF.js (models/transformer.ts) prefills all T history tokens and reuses the last position's
 * logits for level 0; its steps run the P prefix tokens of every row. The ONNX graphs encode T-1
 * tokens, and each step runs [last history token, prefix] per row, users' rows together (each query
 * also scores the K*S current keys of its user, masked to its own row), with only the last position
 * through the last layer.
 */
function recommendFlops(runtime: 'tfjs' | 'onnx', users: number): number {
  let f = 0;
  const dec = arch === 'decoder';
  if (runtime === 'tfjs') {
    f += users * layers * (dense(T) + attn(T, T));
    f += dec ? users * head(1) : users * layers * 2 * T * d * 2 * d;
    for (let p = dec ? 1 : 0; p < L; p++) {
      const R = users * (p === 0 ? 1 : BEAM);
      const s = dec ? p : p + 1;
      const perLayer = dec
        ? dense(R * s) + attn(R * s, T + s)
        : dense(R * s) + attn(R * s, s) + crossDense(R * s) + attn(R * s, T);
      f += layers * perLayer + head(R);
    }
    return f;
  }
  const Te = dec ? T - 1 : T;
  f += dec
    ? users * ((layers - 1) * (dense(Te) + attn(Te, Te)) + qkvOnly(Te))
    : users * (layers * (dense(T) + attn(T, T)) + layers * 2 * T * d * 2 * d);
  for (let p = 0; p < L; p++) {
    const K = p === 0 ? 1 : BEAM;
    const R = users * K;
    const s = p + 1;
    const keys = (dec ? Te : 0) + K * s;
    const full = dense(R * s) + attn(R * s, keys) + (dec ? 0 : crossDense(R * s) + attn(R * s, T));
    const last = qkvOnly(R * s) + dense(R) - qkvOnly(R) + attn(R, keys) + (dec ? 0 : crossDense(R) + attn(R, T));
    f += (layers - 1) * full + last + head(R);
  }
  return f;
}

// ------------------------------------------------------------------ measurement helpers
const quantile = (xs: readonly number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
};

/** Runs `f` repeatedly for about `seconds` (at least 5 times, at most 500) after 2 warm-ups. */
async function repeat(f: () => Promise<void>): Promise<void> {
  await f();
  await f();
  const end = performance.now() + seconds * 1000;
  for (let n = 0; (n < 5 || performance.now() < end) && n < 500; n++) await f();
}

/** Timings of one `recommend` call: end to end, and inside the model (begin + every next). */
interface Timing {
  total: number;
  model: number;
}

/** One recommendation for `histories`, timed. */
async function recommend(m: GenerativeModel, histories: Code[][]): Promise<Timing> {
  const start = performance.now();
  const inner = await m.begin(histories);
  let model = performance.now() - start;
  const timed: DecodingSession = {
    next: async (rows) => {
      const t = performance.now();
      const out = await inner.next(rows);
      model += performance.now() - t;
      return out;
    },
    dispose: () => inner.dispose(),
  };
  await beamSearch(timed, histories.length, { layout, trie, beamWidth: BEAM, topK: BEAM });
  timed.dispose();
  return { total: performance.now() - start, model };
}

/** Timings of repeated recommendations for fresh histories of `users` users (warm-ups dropped). */
async function timeRecommend(m: GenerativeModel, users: number): Promise<Timing[]> {
  const out: Timing[] = [];
  await repeat(async () => {
    out.push(await recommend(m, Array.from({ length: users }, history)));
  });
  return out.slice(2);
}

/** Per-call times of `next` with BEAM rows of one user (one row at level 0), per prefix length. */
async function stepTimes(m: GenerativeModel): Promise<number[][]> {
  const s: DecodingSession = await m.begin([history()]);
  const out: number[][] = [];
  for (let p = 0; p < L; p++) {
    const rows: BeamRow[] = Array.from({ length: p === 0 ? 1 : BEAM }, () => ({
      user: 0,
      prefix: layout.tokens(levelSizes.map((sz) => rng.int(sz))).slice(0, p),
    }));
    const times: number[] = [];
    await repeat(async () => {
      const t = performance.now();
      await s.next(rows);
      times.push(performance.now() - t);
    });
    out.push(times.slice(2));
  }
  s.dispose();
  return out;
}

interface Result {
  single: Timing[];
  steps: number[][];
  batched: Timing[];
}

async function measure(m: GenerativeModel): Promise<Result> {
  return { single: await timeRecommend(m, 1), steps: await stepTimes(m), batched: await timeRecommend(m, batch) };
}

const t0 = performance.now();
const tfRes = args['ort-only'] ? undefined : await measure(model);
const ortRes = await measure(onnx);
const wall = (performance.now() - t0) / 1000;

const ms = (xs: readonly number[]) => `${quantile(xs, 0.5).toFixed(2)} (${quantile(xs, 0).toFixed(2)})`;
/** Model-only GFLOP/s of the batched runs, at the median and at the best run. */
const gflops = (name: 'tfjs' | 'onnx', r: Result) => {
  const f = recommendFlops(name, batch) / 1e9;
  const model = r.batched.map((t) => t.model / 1000);
  return [f / quantile(model, 0.5), f / quantile(model, 0)] as const;
};
const row = (name: 'tfjs' | 'onnx', label: string, r: Result) => {
  const [g50, gBest] = gflops(name, r);
  const usersPerS =
    (batch * 1000) /
    quantile(
      r.batched.map((t) => t.total),
      0.5,
    );
  return `| ${label} | ${ms(r.single.map((t) => t.total))} | ${ms(r.single.map((t) => t.model))} | ${r.steps
    .map((x) => quantile(x, 0.5).toFixed(2))
    .join(
      ' / ',
    )} | ${ms(r.batched.map((t) => t.total))} | ${ms(r.batched.map((t) => t.model))} | ${usersPerS.toFixed(1)} | ${g50.toFixed(2)} (${gBest.toFixed(2)}) | ${(
    (100 * g50) / PEAK_GFLOPS
  ).toFixed(2)} % |`;
};
console.log(
  `arch ${arch}, d ${d}, layers ${cfg.layers}, heads ${cfg.heads}, ffn ${cfg.ffn}, vocab ${V}, items ${entries.length}, history ${HIST} items (${T} tokens), beam ${BEAM}, batch ${batch}`,
);
console.log(
  `TF.js backend ${backend}; onnxruntime-node intraOpNumThreads ${threads}, spinning ${spinning}; load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}; wall ${wall.toFixed(1)} s`,
);
console.log('Times in ms as p50 (min); GFLOP/s over the time inside the model, batched runs, p50 (best).');
console.log(
  `| runtime | 1-user recommendation ms | of which in the model ms | next() ms at level 0/1/2/3 (p50) | ${batch}-user batch ms | of which in the model ms | users/s (batched) | model GFLOP/s | p50 of peak |`,
);
console.log('|---|---|---|---|---|---|---|---|---|');
if (tfRes) console.log(row('tfjs', `TF.js (${backend})`, tfRes));
console.log(row('onnx', 'onnxruntime-node', ortRes));
if (tfRes) {
  const ratio = (a: Result, b: Result, f: (r: Result) => number[]) =>
    (quantile(f(a), 0.5) / quantile(f(b), 0.5)).toFixed(2);
  console.log(
    `ORT speed-up over TF.js (ratio of p50 times): 1-user recommendation ${ratio(tfRes, ortRes, (r) => r.single.map((t) => t.total))}x, ` +
      `model time ${ratio(tfRes, ortRes, (r) => r.single.map((t) => t.model))}x, batch of ${batch} ${ratio(
        tfRes,
        ortRes,
        (r) => r.batched.map((t) => t.total),
      )}x`,
  );
}

onnx.dispose();
model.dispose();
await rm(dir, { recursive: true, force: true });
