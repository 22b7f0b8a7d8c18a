/**
 * Beam-search overhead in pure TypeScript: constrained beam search on a Beauty-sized trie (12,101
 * items, 4 levels of 256 values, vocabulary 1027) with a fake DecodingSession whose logits cost
 * next to nothing (a copy of a precomputed random row). What remains is the decoding's own cost:
 * full-vocabulary log-softmax, trie masking and top-k selection, per user.
 *
 *   nice npx tsx bench/decode-beam.ts [--users 1024] [--beam 20] [--topk 20] [--batch 64] [--seconds 60] [--exclude]
 *
 * Prints one JSON line. Compare its ms/user with the model's forward time per user (same beam) to
 * get decoding's share of evaluation time (docs/parts/eval.md).
 */
import { parseArgs } from 'node:util';
import { TokenLayout } from '../src/core/codes.js';
import { beamSearch, logSoftmaxInPlace } from '../src/core/decoding.js';
import type { BeamRow, DecodingSession } from '../src/core/model.js';
import { createRng } from '../src/core/rng.js';
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
  },
});
const USERS = Number(values.users);
const BEAM = Number(values.beam);
const TOPK = Number(values.topk);
const BATCH = Number(values.batch);
const SECONDS = Number(values.seconds);
const ITEMS = Number(values.items);
const SIZES = [256, 256, 256, 256];

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
  seconds = 0;
  rows = 0;
  async next(rows: readonly BeamRow[]): Promise<Float32Array[]> {
    const t0 = performance.now();
    const out = rows.map((r) => {
      let h = r.user * 31 + r.prefix.length;
      for (const t of r.prefix) h = (h * 131 + t) % 1_000_003;
      return (pool[h % POOL] as Float32Array).slice();
    });
    this.rows += rows.length;
    this.seconds += (performance.now() - t0) / 1000;
    return out;
  }
  dispose(): void {}
}

const histories = Array.from({ length: USERS }, () => {
  const set = new Set<string>();
  for (let i = 0; i < 20; i++) set.add(`item${rng.int(trie.size)}`);
  return set;
});

// Warm-up (JIT), not timed.
await beamSearch(new FakeSession(), Math.min(BATCH, USERS), { layout, trie, beamWidth: BEAM, topK: TOPK });

let done = 0;
let sessionSeconds = 0;
let rows = 0;
let returned = 0;
const t0 = performance.now();
while (done < USERS && (performance.now() - t0) / 1000 < SECONDS) {
  const n = Math.min(BATCH, USERS - done);
  const s = new FakeSession();
  const recs = await beamSearch(s, n, {
    layout,
    trie,
    beamWidth: BEAM,
    topK: TOPK,
    exclude: values.exclude ? histories.slice(done, done + n) : undefined,
  });
  for (const r of recs) returned += r.length;
  sessionSeconds += s.seconds;
  rows += s.rows;
  done += n;
}
const total = (performance.now() - t0) / 1000;

// The floor any decoder normalising full rows pays: log-softmax alone over the same number of rows.
const probe = pool.map((r) => r.slice());
const t1 = performance.now();
for (let i = 0; i < rows; i++) logSoftmaxInPlace(probe[i % POOL] as Float32Array);
const softmaxSeconds = (performance.now() - t1) / 1000;

const decodeSeconds = total - sessionSeconds;
console.log(
  JSON.stringify({
    bench: 'decode-beam',
    items: trie.size,
    levels: SIZES.length,
    vocab: layout.vocabSize,
    beam: BEAM,
    topK: TOPK,
    batch: BATCH,
    exclude: values.exclude,
    users: done,
    rowsPerUser: rows / done,
    meanReturned: returned / done,
    msPerUser: (1000 * decodeSeconds) / done,
    fakeSessionMsPerUser: (1000 * sessionSeconds) / done,
    logSoftmaxShare: softmaxSeconds / decodeSeconds,
    seconds: total,
  }),
);
