/**
 * `keywords`: short textual IDs made of each item's most distinctive title words, in the spirit of
 * IDGenRec's textual IDs (Tan et al. 2024) but without a learned ID generator: the `words` title words
 * with the highest TF-IDF weight (idf over the catalogue's titles), one word per level, END-padded,
 * made unique by a suffix level. With `order: general-first` the chosen words are written from the most
 * to the least common, so items sharing a general word share a prefix (coarse to fine); `score`
 * keeps them in decreasing TF-IDF order. Words outside the vocabulary (document frequency below
 * `minDf` or above `maxDfShare`, or beyond the `vocabSize` most frequent) are never chosen.
 */

import { type ConfigSpec, defaultsOf, resolveConfig } from '../src/core/config.js';
import type { Item } from '../src/core/types.js';
import { words } from './features/tokenize.js';
import { finalizeCodes } from './shared/collisions.js';
import { COLLISIONS_FIELD, SUFFIX_HEADROOM_FIELD } from './shared/config.js';
import { isStringArray, loadJsonState, saveJsonState } from './shared/state.js';
import type { CollisionMode, IndexingScheme, ItemEncoder } from './types.js';

/** Config of the keywords scheme. */
export interface KeywordsConfig {
  /** Keywords per code (levels before the suffix). Default 3. */
  words: number;
  /** Vocabulary size (the words of highest document frequency within the df bounds). Default 4096. */
  vocabSize: number;
  /** Minimum document frequency of a keyword. Default 2 (a word of one title generalises to nothing). */
  minDf: number;
  /** Maximum share of titles containing a keyword. Default 0.5. */
  maxDfShare: number;
  /** Level order of the chosen words. Default general-first. */
  order: 'general-first' | 'score';
  /** Spare values of the suffix level beyond the largest group, for encoding new items later. Default 1. */
  suffixHeadroom: number;
  /** Collision handling. Default dedup-level. */
  collisions: CollisionMode;
}

const SPEC: ConfigSpec<KeywordsConfig> = {
  words: { kind: 'int', default: 3, min: 1, max: 16, doc: 'keywords per code, before the suffix level' },
  vocabSize: { kind: 'int', default: 4096, min: 1, max: 1 << 20, doc: 'keyword vocabulary size' },
  minDf: { kind: 'int', default: 2, min: 1, doc: 'minimum number of titles containing a keyword' },
  maxDfShare: { kind: 'number', default: 0.5, min: 0, max: 1, doc: 'maximum share of titles containing a keyword' },
  order: {
    kind: 'enum',
    default: 'general-first',
    values: ['general-first', 'score'],
    doc: 'level order of the chosen words',
  },
  suffixHeadroom: SUFFIX_HEADROOM_FIELD,
  collisions: COLLISIONS_FIELD,
};

interface KeywordsState {
  /** Vocabulary, value = position + 1 (0 = END). */
  vocab: string[];
  /** Document frequency of each vocabulary word. */
  df: number[];
  /** Titles the idf was computed on. */
  docs: number;
}

/** The keywords of one item as values, END-padded. */
function keywordCode(s: KeywordsState, index: ReadonlyMap<string, number>, item: Item, c: KeywordsConfig): number[] {
  const tf = new Map<number, { count: number; first: number }>();
  words(item.title ?? '').forEach((w, pos) => {
    const j = index.get(w);
    if (j === undefined) return;
    const e = tf.get(j);
    if (e) e.count++;
    else tf.set(j, { count: 1, first: pos });
  });
  const idf = (j: number) => Math.log((1 + s.docs) / (1 + (s.df[j] as number))) + 1;
  const chosen = [...tf.entries()]
    .map(([j, e]) => ({ j, score: e.count * idf(j), first: e.first }))
    .sort((a, b) => b.score - a.score || a.first - b.first)
    .slice(0, c.words);
  if (c.order === 'general-first') chosen.sort((a, b) => (s.df[b.j] as number) - (s.df[a.j] as number) || a.j - b.j);
  const code = chosen.map((x) => x.j + 1);
  while (code.length < c.words) code.push(0);
  return code;
}

const indexOf = (s: KeywordsState) => new Map(s.vocab.map((w, i) => [w, i]));

/** The keywords scheme. */
export const keywords: IndexingScheme<KeywordsConfig> = {
  name: 'keywords',
  description: "the item's most distinctive title words by TF-IDF plus a suffix level (IDGenRec-style textual IDs)",
  spec: SPEC,
  defaults: defaultsOf(SPEC),
  resolve(partial) {
    return resolveConfig('keywords', SPEC, partial);
  },
  async fit(input, c) {
    const startedAt = performance.now();
    const n = input.items.length;
    const df = new Map<string, number>();
    for (const it of input.items) for (const w of new Set(words(it.title ?? ''))) df.set(w, (df.get(w) ?? 0) + 1);
    const kept = [...df.entries()]
      .filter(([, d]) => d >= c.minDf && d <= c.maxDfShare * n)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, c.vocabSize);
    const state: KeywordsState = { vocab: kept.map(([w]) => w), df: kept.map(([, d]) => d), docs: n };
    const index = indexOf(state);
    const raw = input.items.map((it) => keywordCode(state, index, it, c));
    const sizes = new Array<number>(c.words).fill(state.vocab.length + 1);
    const { table, diagnostics } = finalizeCodes(raw, sizes, c.collisions, {
      items: input.items,
      startedAt,
      dedup: 'always',
      dedupHeadroom: c.suffixHeadroom,
      extra: { vocabulary: state.vocab.length },
    });
    return { table, diagnostics, saveState: (dir) => saveJsonState(dir, 'keywords.json', state) };
  },
  async loadEncoder(dir, c): Promise<ItemEncoder> {
    const s = await loadJsonState<KeywordsState>(
      dir,
      'keywords.json',
      (v) => {
        const o = v as Partial<KeywordsState>;
        return (
          isStringArray(o?.vocab) && Array.isArray(o.df) && o.df.length === o.vocab.length && Number.isInteger(o.docs)
        );
      },
      '{"vocab": string[], "df": number[], "docs": number}',
    );
    const index = indexOf(s);
    return { encode: async (items) => items.map((it) => keywordCode(s, index, it, c)) };
  },
};
