/**
 * `title` (TID in Hua et al. 2023): the item's title as a code of its first `maxWords` words, one word
 * per level, padded with an END value, made unique by a suffix (dedup) level. Words come from a
 * vocabulary of the `vocabSize` most frequent title words (stop words dropped, HTML entities decoded);
 * rarer words become an OOV value. Every level shares the same word list, but each level is its own
 * token range (TokenLayout). Difference from the paper: TID feeds the raw title to an LLM's subword
 * tokenizer; here whole words are the tokens and the length is fixed.
 */

import { type ConfigSpec, defaultsOf, resolveConfig } from '../src/core/config.js';
import type { Item } from '../src/core/types.js';
import { words } from './features/tokenize.js';
import { finalizeCodes } from './shared/collisions.js';
import { COLLISIONS_FIELD, SUFFIX_HEADROOM_FIELD } from './shared/config.js';
import { isStringArray, loadJsonState, saveJsonState } from './shared/state.js';
import type { CollisionMode, IndexingScheme, ItemEncoder } from './types.js';

/** Config of the title scheme. */
export interface TitleConfig {
  /** Words per code (levels before the suffix). Default 4. */
  maxWords: number;
  /** Vocabulary size: the most frequent title words; others map to OOV. Default 4096. */
  vocabSize: number;
  /** Spare values of the suffix level beyond the largest group, for encoding new items later. Default 1. */
  suffixHeadroom: number;
  /** Collision handling for items with the same leading words. Default dedup-level. */
  collisions: CollisionMode;
}

const SPEC: ConfigSpec<TitleConfig> = {
  maxWords: { kind: 'int', default: 4, min: 1, max: 32, doc: 'words per code, before the suffix level' },
  vocabSize: {
    kind: 'int',
    default: 4096,
    min: 1,
    max: 1 << 20,
    doc: 'the most frequent title words kept; the others are OOV',
  },
  suffixHeadroom: SUFFIX_HEADROOM_FIELD,
  collisions: COLLISIONS_FIELD,
};

/** Value 0 pads codes of short titles. */
export const END = 0;
/** Value 1 stands for a word outside the vocabulary. */
export const OOV = 1;

/** Title words of an item as values (END-padded, OOV for unknown words). */
export function titleCode(item: Item, index: ReadonlyMap<string, number>, maxWords: number): number[] {
  const ws = words(item.title ?? '').slice(0, maxWords);
  const code = ws.map((w) => index.get(w) ?? OOV);
  while (code.length < maxWords) code.push(END);
  return code;
}

/** The title vocabulary: the `size` most frequent words (ties alphabetical). */
export function titleVocabulary(items: readonly Item[], size: number): string[] {
  const count = new Map<string, number>();
  for (const it of items) for (const w of words(it.title ?? '')) count.set(w, (count.get(w) ?? 0) + 1);
  return [...count.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, size)
    .map(([w]) => w);
}

const vocabIndex = (vocab: readonly string[]) => new Map(vocab.map((w, i) => [w, i + 2]));

/** The title scheme (TID). */
export const title: IndexingScheme<TitleConfig> = {
  name: 'title',
  description: 'the first title words as tokens, END-padded, plus a suffix level (TID)',
  spec: SPEC,
  defaults: defaultsOf(SPEC),
  resolve(partial) {
    return resolveConfig('title', SPEC, partial);
  },
  async fit(input, c) {
    const startedAt = performance.now();
    const vocab = titleVocabulary(input.items, c.vocabSize);
    const index = vocabIndex(vocab);
    const raw = input.items.map((it) => titleCode(it, index, c.maxWords));
    const sizes = new Array<number>(c.maxWords).fill(vocab.length + 2);
    const { table, diagnostics } = finalizeCodes(raw, sizes, c.collisions, {
      items: input.items,
      startedAt,
      dedup: 'always',
      dedupHeadroom: c.suffixHeadroom,
      extra: { vocabulary: vocab.length },
    });
    return { table, diagnostics, saveState: (dir) => saveJsonState(dir, 'title.json', { vocab }) };
  },
  async loadEncoder(dir, c): Promise<ItemEncoder> {
    const s = await loadJsonState<{ vocab: string[] }>(
      dir,
      'title.json',
      (v) => isStringArray((v as { vocab?: unknown })?.vocab),
      '{"vocab": string[]}',
    );
    const index = vocabIndex(s.vocab);
    return { encode: async (items) => items.map((it) => titleCode(it, index, c.maxWords)) };
  },
};
