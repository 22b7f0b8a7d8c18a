/**
 * Offline text embeddings for items: TF-IDF over title + categories + brand + description, reduced
 * by truncated SVD (latent semantic analysis) to `dim` dimensions and L2-normalised. The fitted
 * vectoriser (vocabulary, idf, projection) is serialisable, so NEW items can be embedded later with
 * exactly the same mapping.
 *
 * TF-IDF follows scikit-learn's defaults: raw counts (or 1 + ln(tf) with `sublinearTf`), smooth idf
 * ln((1 + n) / (1 + df)) + 1, rows L2-normalised. The SVD is randomized (Halko et al. 2011).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readF32, writeF32 } from '../../src/core/artifact.js';
import { SemidError } from '../../src/core/errors.js';
import { track } from '../../src/core/progress.js';
import type { Rng } from '../../src/core/rng.js';
import type { Item } from '../../src/core/types.js';
import { type Csr, csrFromRows, csrMul, randomizedSvd } from '../shared/linalg.js';
import { itemText, words } from './tokenize.js';

/** Options of the TF-IDF + LSA vectoriser. */
export interface TfidfOptions {
  /** Output dimension after SVD (capped at min(items, vocabulary)). Default 64. */
  dim: number;
  /** Words must appear in at least this many items. Default 1. */
  minDf: number;
  /** Keep at most this many words (the most frequent by document frequency). Default 50000. */
  maxFeatures: number;
  /** Use 1 + ln(tf) instead of raw counts. Default true. */
  sublinearTf: boolean;
  /** Randomized SVD power iterations. Default 4. */
  powerIters: number;
}

/** The defaults of TfidfOptions. */
export const TFIDF_DEFAULTS: TfidfOptions = { dim: 64, minDf: 1, maxFeatures: 50000, sublinearTf: true, powerIters: 4 };

/** A fitted TF-IDF vocabulary: words and their idf weights. */
export interface TfidfModel {
  vocab: string[];
  /** [vocab] float32 idf weight per word. */
  idf: Float32Array;
  sublinearTf: boolean;
}

/** Fits the TF-IDF vocabulary and idf on documents (one string per item). */
export function fitTfidf(
  docs: readonly string[],
  opts: Pick<TfidfOptions, 'minDf' | 'maxFeatures' | 'sublinearTf'>,
): TfidfModel {
  const df = new Map<string, number>();
  for (const d of docs) for (const w of new Set(words(d))) df.set(w, (df.get(w) ?? 0) + 1);
  const kept = [...df.entries()]
    .filter(([, c]) => c >= opts.minDf)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, opts.maxFeatures)
    .map(([w]) => w)
    .sort();
  const n = docs.length;
  const idf = new Float32Array(kept.length);
  kept.forEach((w, i) => {
    idf[i] = Math.log((1 + n) / (1 + (df.get(w) as number))) + 1;
  });
  return { vocab: kept, idf, sublinearTf: opts.sublinearTf };
}

/** TF-IDF rows (L2-normalised) of documents under a fitted model, as a sparse matrix [docs, vocab]. */
export function tfidfMatrix(model: TfidfModel, docs: readonly string[]): Csr {
  const index = new Map(model.vocab.map((w, i) => [w, i]));
  const rows = docs.map((d) => {
    const tf = new Map<number, number>();
    for (const w of words(d)) {
      const j = index.get(w);
      if (j !== undefined) tf.set(j, (tf.get(j) ?? 0) + 1);
    }
    let norm = 0;
    for (const [j, c] of tf) {
      const v = (model.sublinearTf ? 1 + Math.log(c) : c) * (model.idf[j] as number);
      tf.set(j, v);
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    if (norm > 0) for (const [j, v] of tf) tf.set(j, v / norm);
    return tf;
  });
  return csrFromRows(rows, model.vocab.length);
}

/** L2-normalises each row of a row-major [rows, dim] matrix in place (zero rows stay zero). */
export function l2NormalizeRows(a: Float32Array, dim: number): Float32Array {
  for (let o = 0; o < a.length; o += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += (a[o + j] as number) ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) a[o + j] = (a[o + j] as number) * inv;
  }
  return a;
}

/** A fitted TF-IDF + LSA vectoriser: embeds any item's text, including items not seen in the fit. */
export class TextVectorizer {
  constructor(
    readonly tfidf: TfidfModel,
    /** [vocab, dim] float32 projection (right singular vectors). */
    readonly projection: Float32Array,
    readonly dim: number,
  ) {}

  /** Fits on the catalogue's text. */
  static fit(items: readonly Item[], options: Partial<TfidfOptions>, rng: Rng): TextVectorizer {
    const o = { ...TFIDF_DEFAULTS, ...options };
    const progress = track(`text features: TF-IDF over ${items.length} items`, 2, { unit: 'step' });
    const docs = items.map(itemText);
    const tfidf = fitTfidf(docs, o);
    progress.update(1);
    if (tfidf.vocab.length === 0) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `no word of the ${items.length} items' text passes minDf=${o.minDf}; items need a title, categories, brand or description`,
      );
    }
    const X = tfidfMatrix(tfidf, docs);
    progress.done();
    const svd = randomizedSvd(X, o.dim, rng, { powerIters: o.powerIters });
    return new TextVectorizer(tfidf, Float32Array.from(svd.V), svd.rank);
  }

  /** @returns [items, dim] float32, L2-normalised rows (an item with no known word gets a zero row). */
  embed(items: readonly Item[]): Float32Array {
    return this.embedTexts(items.map(itemText));
  }

  /** @returns [texts, dim] float32, L2-normalised rows. */
  embedTexts(texts: readonly string[]): Float32Array {
    const X = tfidfMatrix(this.tfidf, texts);
    return l2NormalizeRows(Float32Array.from(csrMul(X, Float64Array.from(this.projection), this.dim)), this.dim);
  }

  /** Writes `vectorizer.json` and `projection.f32` into `dir`. */
  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'vectorizer.json'),
      JSON.stringify({
        kind: 'tfidf-lsa',
        dim: this.dim,
        sublinearTf: this.tfidf.sublinearTf,
        vocab: this.tfidf.vocab,
        idf: [...this.tfidf.idf],
      }),
    );
    await writeF32(join(dir, 'projection.f32'), this.projection);
  }

  /** Reads what `save` wrote. @throws SEMID_ERR_ARTIFACT_MISSING / SEMID_ERR_ARTIFACT_CORRUPT */
  static async load(dir: string): Promise<TextVectorizer> {
    const path = join(dir, 'vectorizer.json');
    let j: { kind?: string; dim?: number; sublinearTf?: boolean; vocab?: unknown; idf?: unknown };
    try {
      j = JSON.parse(await readFile(path, 'utf8'));
    } catch (e) {
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
      throw new SemidError(
        missing ? 'SEMID_ERR_ARTIFACT_MISSING' : 'SEMID_ERR_ARTIFACT_CORRUPT',
        missing ? `text vectoriser not found: ${path}` : `text vectoriser ${path} is not valid JSON`,
      );
    }
    if (
      j.kind !== 'tfidf-lsa' ||
      !Number.isInteger(j.dim) ||
      !Array.isArray(j.vocab) ||
      !Array.isArray(j.idf) ||
      j.vocab.length !== j.idf.length
    ) {
      throw new SemidError(
        'SEMID_ERR_ARTIFACT_CORRUPT',
        `${path} is not a tfidf-lsa vectoriser (needs kind, dim, vocab, idf)`,
      );
    }
    const dim = j.dim as number;
    const vocab = j.vocab as string[];
    const projection = await readF32(join(dir, 'projection.f32'), vocab.length * dim);
    return new TextVectorizer(
      { vocab, idf: Float32Array.from(j.idf as number[]), sublinearTf: j.sublinearTf !== false },
      projection,
      dim,
    );
  }
}

/**
 * TF-IDF + LSA text embeddings of the catalogue.
 * @returns the vectoriser and the embeddings `[numItems, dim]` float32, L2-normalised rows
 */
export function textEmbeddings(
  items: readonly Item[],
  options: Partial<TfidfOptions>,
  rng: Rng,
): { vectorizer: TextVectorizer; embeddings: Float32Array; dim: number } {
  const vectorizer = TextVectorizer.fit(items, options, rng);
  return { vectorizer, embeddings: vectorizer.embed(items), dim: vectorizer.dim };
}
