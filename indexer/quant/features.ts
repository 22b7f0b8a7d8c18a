/**
 * Item vectors for the quantisation schemes (rqkmeans, rqvae, letter): TF-IDF + LSA text embeddings
 * (indexer/features/text.ts) by default, the built-in Universal Sentence Encoder (`embeddings: "use"`,
 * indexer/features/use.ts), or external embeddings (`.npy` + id list, or JSONL) that users bring from
 * Sentence-T5 or an LLM, as TIGER and LETTER do. Also saves/loads what is needed to embed NEW items
 * later (the text vectoriser, or the encoder's name; external embeddings cannot embed new text).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeJson } from '../../src/core/artifact.js';
import type { ConfigRule, ConfigSpec } from '../../src/core/config.js';
import { SemidError } from '../../src/core/errors.js';
import type { Rng } from '../../src/core/rng.js';
import type { Item } from '../../src/core/types.js';
import { alignEmbeddings, readJsonlEmbeddings, readNpyEmbeddings } from '../features/external.js';
import { TextVectorizer } from '../features/text.js';
import { commonCategories, USE_DIM, useEmbed } from '../features/use.js';

/** The `embeddings` value that selects the built-in Universal Sentence Encoder. */
export const USE = 'use';

/** Where the item vectors come from. */
export interface FeatureConfig {
  /** TF-IDF + LSA output dimension (used when `embeddings` is empty). */
  textDim: number;
  /**
   * Empty = TF-IDF + LSA text; `use` = the built-in Universal Sentence Encoder; otherwise the path of
   * external embeddings (`.npy` with `embeddingIds`, or `.jsonl` lines {id, embedding}).
   */
  embeddings: string;
  /** For a `.npy`: file with one item id per line, in row order. */
  embeddingIds: string;
}

/**
 * The feature fields of a scheme's config spec.
 * @param textDim the default TF-IDF + LSA dimension; `minTextDim` its lower bound.
 */
export function featureFields(textDim: number, minTextDim = 2): ConfigSpec<FeatureConfig> {
  return {
    textDim: {
      kind: 'int',
      default: textDim,
      min: minTextDim,
      max: 4096,
      doc: 'TF-IDF + LSA dimension of the text embeddings',
    },
    embeddings: {
      kind: 'string',
      default: '',
      doc: 'item embeddings: empty = TF-IDF + LSA text, "use" = the built-in Universal Sentence Encoder, or a file (.npy with embeddingIds, or .jsonl {id, embedding})',
    },
    embeddingIds: { kind: 'string', default: '', doc: 'for a .npy: file with one item id per row' },
  };
}

/** The cross-field rule of the feature fields (see `featureProblems`). */
export const FEATURE_RULE: ConfigRule<FeatureConfig> = {
  needs: ['embeddings', 'embeddingIds'],
  check: (c) => featureProblems(c),
};

/** Item vectors in catalogue order. */
export interface ItemVectors {
  /** [items, dim] float32. */
  data: Float32Array;
  dim: number;
  source: 'tfidf' | 'use' | 'external';
  /** The fitted text vectoriser (tfidf only). */
  vectorizer?: TextVectorizer;
  /** Categories left out of every item's text (use only; needed to embed new items the same way). */
  commonCategories?: string[];
}

/** Builds the item vectors described by `c`. */
export async function itemVectors(
  items: readonly Item[],
  c: FeatureConfig,
  rng: Rng,
  log?: (line: string) => void,
): Promise<ItemVectors> {
  if (c.embeddings === USE) {
    const common = commonCategories(items);
    const data = await useEmbed(items, { common, ...(log ? { log } : {}) });
    return { data, dim: USE_DIM, source: 'use', commonCategories: [...common] };
  }
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
  if (c.embeddings !== '' && c.embeddings !== USE && !/\.(npy|jsonl)$/.test(c.embeddings))
    p.push(
      `embeddings must be "" (TF-IDF), "use" (Universal Sentence Encoder) or a .npy / .jsonl path, got "${c.embeddings}"`,
    );
  if (c.embeddings.endsWith('.npy') && c.embeddingIds === '')
    p.push('embeddings is a .npy file: embeddingIds (one item id per line) is required');
  return p;
}

/** Writes `features.json` (+ the vectoriser under `text/`) into an index artifact directory. */
export async function saveFeatures(dir: string, v: ItemVectors): Promise<void> {
  await writeJson(join(dir, 'features.json'), {
    source: v.source,
    dim: v.dim,
    ...(v.commonCategories ? { commonCategories: v.commonCategories } : {}),
  });
  if (v.vectorizer) await v.vectorizer.save(join(dir, 'text'));
}

/**
 * Loads a function embedding NEW items as the index was built.
 * @throws SEMID_ERR_BAD_INPUT when the index was built on external embeddings (no text model to embed new items)
 */
export async function loadFeatureEncoder(
  dir: string,
): Promise<{ dim: number; embed: (items: readonly Item[]) => Promise<Float32Array> }> {
  const meta = await readJson<{ source: string; dim: number; commonCategories?: unknown }>(
    join(dir, 'features.json'),
    'feature description',
  );
  if (meta?.source === 'tfidf' && existsSync(join(dir, 'text'))) {
    const v = await TextVectorizer.load(join(dir, 'text'));
    return { dim: v.dim, embed: async (items) => v.embed(items) };
  }
  if (meta?.source === 'use') {
    const common = new Set(Array.isArray(meta.commonCategories) ? meta.commonCategories.map(String) : []);
    return { dim: USE_DIM, embed: (items) => useEmbed(items, { common }) };
  }
  if (meta?.source === 'external') {
    return {
      dim: meta.dim,
      embed: async () => {
        throw new SemidError(
          'SEMID_ERR_BAD_INPUT',
          `the index at ${dir} was built on external embeddings, so it cannot embed new items from their text; rebuild it with TF-IDF features (embeddings: "") or the built-in encoder (embeddings: "use") to encode new items`,
        );
      },
    };
  }
  throw new SemidError(
    'SEMID_ERR_ARTIFACT_CORRUPT',
    `${dir}/features.json has an unknown source ${JSON.stringify(meta?.source)}`,
  );
}
