/**
 * Item vectors for the quantisation schemes (rqkmeans, rqvae, letter): TF-IDF + LSA text embeddings
 * (indexer/features/text.ts) by default, or external embeddings (`.npy` + id list, or JSONL) that
 * users bring from Sentence-T5 or an LLM, as TIGER and LETTER do. Also saves/loads what is needed to
 * embed NEW items later (the text vectoriser; external embeddings cannot embed new text).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeJson } from '../../src/core/artifact.js';
import { SemidError } from '../../src/core/errors.js';
import type { Rng } from '../../src/core/rng.js';
import type { Item } from '../../src/core/types.js';
import { alignEmbeddings, readJsonlEmbeddings, readNpyEmbeddings } from '../features/external.js';
import { TextVectorizer } from '../features/text.js';

/** Where the item vectors come from. */
export interface FeatureConfig {
  /** TF-IDF + LSA output dimension (used when `embeddings` is empty). */
  textDim: number;
  /** Path of external embeddings (`.npy` with `embeddingIds`, or `.jsonl` lines {id, embedding}); empty = TF-IDF text. */
  embeddings: string;
  /** For a `.npy`: file with one item id per line, in row order. */
  embeddingIds: string;
}

/** Item vectors in catalogue order. */
export interface ItemVectors {
  /** [items, dim] float32. */
  data: Float32Array;
  dim: number;
  source: 'tfidf' | 'external';
  /** The fitted text vectoriser (tfidf only). */
  vectorizer?: TextVectorizer;
}

/** Builds the item vectors described by `c`. */
export async function itemVectors(items: readonly Item[], c: FeatureConfig, rng: Rng): Promise<ItemVectors> {
  if (c.embeddings === '') {
    const vectorizer = TextVectorizer.fit(items, { dim: c.textDim }, rng);
    return { data: vectorizer.embed(items), dim: vectorizer.dim, source: 'tfidf', vectorizer };
  }
  let ext: Awaited<ReturnType<typeof readJsonlEmbeddings>>;
  if (c.embeddings.endsWith('.npy')) {
    if (c.embeddingIds === '') {
      throw new SemidError(
        'SEMID_ERR_BAD_CONFIG',
        `embeddings ${c.embeddings} is a .npy file: also give embeddingIds, a file with one item id per row`,
      );
    }
    ext = await readNpyEmbeddings(c.embeddings, c.embeddingIds);
  } else if (c.embeddings.endsWith('.jsonl')) {
    ext = await readJsonlEmbeddings(c.embeddings);
  } else {
    throw new SemidError('SEMID_ERR_BAD_CONFIG', `embeddings must be a .npy or .jsonl path, got "${c.embeddings}"`);
  }
  return { data: alignEmbeddings(items, ext), dim: ext.dim, source: 'external' };
}

/** Config problems of the feature fields (for a scheme's cross-field check). */
export function featureProblems(c: FeatureConfig): string[] {
  const p: string[] = [];
  if (c.embeddings !== '' && !/\.(npy|jsonl)$/.test(c.embeddings))
    p.push(`embeddings must end in .npy or .jsonl, got "${c.embeddings}"`);
  if (c.embeddings.endsWith('.npy') && c.embeddingIds === '')
    p.push('embeddings is a .npy file: embeddingIds (one item id per line) is required');
  return p;
}

/** Writes `features.json` (+ the vectoriser under `text/`) into an index artifact directory. */
export async function saveFeatures(dir: string, v: ItemVectors): Promise<void> {
  await writeJson(join(dir, 'features.json'), { source: v.source, dim: v.dim });
  if (v.vectorizer) await v.vectorizer.save(join(dir, 'text'));
}

/**
 * Loads a function embedding NEW items as the index was built.
 * @throws SEMID_ERR_BAD_INPUT when the index was built on external embeddings (no text model to embed new items)
 */
export async function loadFeatureEncoder(
  dir: string,
): Promise<{ dim: number; embed: (items: readonly Item[]) => Float32Array }> {
  const meta = await readJson<{ source: string; dim: number }>(join(dir, 'features.json'), 'feature description');
  if (meta?.source === 'tfidf' && existsSync(join(dir, 'text'))) {
    const v = await TextVectorizer.load(join(dir, 'text'));
    return { dim: v.dim, embed: (items) => v.embed(items) };
  }
  if (meta?.source === 'external') {
    return {
      dim: meta.dim,
      embed: () => {
        throw new SemidError(
          'SEMID_ERR_BAD_INPUT',
          `the index at ${dir} was built on external embeddings, so it cannot embed new items from their text; rebuild it with TF-IDF features (embeddings: "") to encode new items`,
        );
      },
    };
  }
  throw new SemidError(
    'SEMID_ERR_ARTIFACT_CORRUPT',
    `${dir}/features.json has an unknown source ${JSON.stringify(meta?.source)}`,
  );
}
