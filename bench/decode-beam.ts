/**
 * Beam-search overhead in pure TypeScript: constrained beam search on a Beauty-sized trie (12,101
 * items, 4 levels of 256 values, vocabulary 1027) with a fake DecodingSession whose logits cost
 * next to nothing (a copy of a precomputed random row). What remains is the decoding's own cost:
 * full-vocabulary log-softmax, trie masking and top-k selection, per user.
 *
 *   nice npx tsx bench/decode-beam.ts [--users 1024] [--beam 20] [--topk 20] [--batch 64] [--seconds 60]
 *     [--exclude] [--runtime fake|onnx|tfjs]
 *
 * With `--runtime onnx` or `tfjs` the logits come from a randomly initialised default CodeTransformer
 * (d 128, 2 layers; speed does not depend on the weights) over 20-item histories, and the same run
 * reports the share of evaluation time spent in beam search versus inside the model (begin + next).
 * Prints one JSON line (docs/BENCHMARKS.md "Beam-search overhead").
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveModelConfig } from '../models/config.js';
import { exportWeights } from '../models/onnx/export.js';
import { OnnxModel } from '../models/onnx/runtime.js';
import { CodeTransformer } from '../models/transformer.js';
import { TokenLayout } from '../src/core/codes.js';
import { beamSearch, logSoftmaxInPlace } from '../src/core/decoding.js';
import type { BeamRow, DecodingSession, GenerativeModel } from '../src/core/model.js';
import { createRng } from '../src/core/rng.js';
import { initTf } from '../src/core/tf.js';
import { CodeTrie } from '../src/core/trie.js';
import type { Code } from '../src/core/types.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '1024' },
    beam: { type: 'string', default: '20' },
    topk: { type: 'string', default: '20' },
    batch: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '60' },
    items: { type: 'string', default: '12101' },
    exclude: { type: 'boolean', default: false },
    runtime: { type: 'string', default: 'fake' },
  },
});
const USERS = Number(values.users);
const BEAM = Number(values.beam);
const TOPK = Number(values.topk);
const BATCH = Number(values.batch);
const SECONDS = Number(values.seconds);
const ITEMS = Number(values.items);
const SIZES = [256, 256, 256, 256];
const RUNTIME = values.runtime as string;
if (!['fake', 'onnx', 'tfjs'].includes(RUNTIME))
  throw new Error(`--runtime must be fake, onnx or tfjs, got ${RUNTIME}`);

const rng = createRng(42);
const layout = new TokenLayout(SIZES);
const trie = new CodeTrie(SIZES);
let tries = 0;
// Skewed first level (as learned codes are): a few coarse values hold many items.
while (trie.size < ITEMS && tries++ < ITEMS * 10) {
  const code: Code = [Math.floor(256 * rng.next() ** 2), rng.int(256), rng.int(256), rng.int(256)];
  if (trie.item(code) === undefined) trie.add(`item${trie.size}`, code);
}

const POOL = 257;
const pool = Array.from({ length: POOL }, () =>
  Float32Array.from({ length: layout.vocabSize }, () => 2 * rng.normal()),
);

/** Constant-time logits: a copy of a pool row picked from (user, prefix). */
class FakeSession implements DecodingSession {
  async next(rows: readonly BeamRow[]): Promise<Float32Array[]> {
    return rows.map((r) => {
      let h = r.user * 31 + r.prefix.length;
      for (const t of r.prefix) h = (h * 131 + t) % 1_000_003;
      return (pool[h % POOL] as Float32Array).slice();
    });
  }
  dispose(): void {}
}

/** Counts the time and rows spent inside the wrapped session. */
class TimedSession implements DecodingSession {
  seconds = 0;
  rows = 0;
  constructor(private readonly inner: DecodingSession) {}
  async next(rows: readonly BeamRow[]): Promise<Float32Array[]> {
    const t0 = performance.now();
    const out = await this.inner.next(rows);
    this.rows += rows.length;
    this.seconds += (performance.now() - t0) / 1000;
    return out;
  }
  dispose(): void {
    this.inner.dispose();
  }
}

const entries = [...trie.entries()];
const histories = Array.from({ length: USERS }, () =>
  Array.from({ length: 20 }, () => entries[rng.int(entries.length)] as [string, Code]),
);

let model: GenerativeModel | undefined;
let tmp: string | undefined;
let backend = '';
if (RUNTIME !== 'fake') {
  backend = await initTf();
  const cfg = resolveModelConfig({ dropout: 0 });
  const tfModel = CodeTransformer.create(cfg, SIZES);
  if (RUNTIME === 'onnx') {
    tmp = await mkdtemp(join(tmpdir(), 'semid-decode-bench-'));
    await exportWeights({ config: cfg, levelSizes: SIZES, values: tfModel.values() }, join(tmp, 'onnx'));
    model = await OnnxModel.load(tmp);
    tfModel.dispose();
  } else {
    model = tfModel;
  }
}

/** A session for users [from, from + n): begin time counts as model time. */
async function open(from: number, n: number): Promise<{ s: TimedSession; begin: number }> {
  if (model === undefined) return { s: new TimedSession(new FakeSession()), begin: 0 };
  const t0 = performance.now();
  const inner = await model.begin(histories.slice(from, from + n).map((h) => h.map(([, c]) => c)));
  return { s: new TimedSession(inner), begin: (performance.now() - t0) / 1000 };
}

// Warm-up (JIT), not timed.
{
  const { s } = await open(0, Math.min(BATCH, USERS));
  await beamSearch(s, Math.min(BATCH, USERS), { layout, trie, beamWidth: BEAM, topK: TOPK });
  s.dispose();
}

let done = 0;
let modelSeconds = 0;
let rows = 0;
let returned = 0;
const t0 = performance.now();
while (done < USERS && (performance.now() - t0) / 1000 < SECONDS) {
  const n = Math.min(BATCH, USERS - done);
  const { s, begin } = await open(done, n);
  const recs = await beamSearch(s, n, {
    layout,
    trie,
    beamWidth: BEAM,
    topK: TOPK,
    exclude: values.exclude ? histories.slice(done, done + n).map((h) => new Set(h.map(([i]) => i))) : undefined,
  });
  s.dispose();
  for (const r of recs) returned += r.length;
  modelSeconds += begin + s.seconds;
  rows += s.rows;
  done += n;
}
const total = (performance.now() - t0) / 1000;
model?.dispose();
if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });

// The floor any decoder normalising full rows pays: log-softmax alone over the same number of rows.
const probe = pool.map((r) => r.slice());
const t1 = performance.now();
for (let i = 0; i < rows; i++) logSoftmaxInPlace(probe[i % POOL] as Float32Array);
const softmaxSeconds = (performance.now() - t1) / 1000;

const decodeSeconds = total - modelSeconds;
console.log(
  JSON.stringify({
    bench: 'decode-beam',
    items: trie.size,
    levels: SIZES.length,
    vocab: layout.vocabSize,
    beam: BEAM,
    topK: TOPK,
    batch: BATCH,
    runtime: RUNTIME,
    backend,
    exclude: values.exclude,
    users: done,
    rowsPerUser: rows / done,
    meanReturned: returned / done,
    beamSearchMsPerUser: (1000 * decodeSeconds) / done,
    modelMsPerUser: (1000 * modelSeconds) / done,
    beamSearchShareOfTotal: decodeSeconds / total,
    logSoftmaxShare: softmaxSeconds / decodeSeconds,
    seconds: total,
  }),
);
