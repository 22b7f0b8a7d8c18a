/**
 * `category` (SemID in Hua et al. 2023): the item's path in the category tree, one level per depth,
 * plus a suffix (dedup) level that numbers the items of each leaf category. Leading levels that every
 * item shares (Beauty's root "Beauty") carry no information and are skipped by default. Per level,
 * value 0 means "the path ends above this level", 1 "a category unknown at fit time" (for new items)
 * and 2.. the category names seen at that depth, most frequent first. Items with several paths use
 * their flattened list as given by the dataset (see the data README).
 */

import { type ConfigSpec, defaultsOf, resolveConfig } from '../src/core/config.js';
import type { Item } from '../src/core/types.js';
import { finalizeCodes } from './shared/collisions.js';
import { COLLISIONS_FIELD, SUFFIX_HEADROOM_FIELD } from './shared/config.js';
import { isStringArray, loadJsonState, saveJsonState } from './shared/state.js';
import type { CollisionMode, IndexingScheme, ItemEncoder } from './types.js';

/** Config of the category scheme. */
export interface CategoryConfig {
  /** Category levels kept (after skipped root levels). Default 4. */
  maxDepth: number;
  /** Skip leading levels on which every item has the same category. Default true. */
  skipCommonRoot: boolean;
  /** Spare values of the suffix level beyond the largest group, for encoding new items later. Default 1. */
  suffixHeadroom: number;
  /** Collision handling. Default dedup-level. */
  collisions: CollisionMode;
}

const SPEC: ConfigSpec<CategoryConfig> = {
  maxDepth: { kind: 'int', default: 4, min: 1, max: 16, doc: 'category levels kept, after the skipped root levels' },
  skipCommonRoot: { kind: 'bool', default: true, doc: 'skip leading levels that every item shares' },
  suffixHeadroom: SUFFIX_HEADROOM_FIELD,
  collisions: COLLISIONS_FIELD,
};

interface CategoryState {
  skip: number;
  /** Per level, the names in value order (value = position + 2). */
  levels: string[][];
}

/** Encodes items with a category state (value lookups through one map per level). */
function encoderOf(s: CategoryState): (item: Item) => number[] {
  const index = s.levels.map((names) => new Map(names.map((n, i) => [n, i + 2])));
  return (item) => {
    const path = (item.categories ?? []).slice(s.skip);
    return index.map((m, l) => {
      const name = path[l];
      return name === undefined ? 0 : (m.get(name) ?? 1);
    });
  };
}

/** The category scheme (SemID). */
export const category: IndexingScheme<CategoryConfig> = {
  name: 'category',
  description: 'category path levels plus a suffix level (SemID, Hua et al. 2023)',
  spec: SPEC,
  defaults: defaultsOf(SPEC),
  resolve(partial) {
    return resolveConfig('category', SPEC, partial);
  },
  async fit(input, c) {
    const startedAt = performance.now();
    const paths = input.items.map((it) => it.categories ?? []);
    let skip = 0;
    if (c.skipCommonRoot) {
      while (paths.length > 0 && paths.every((p) => p.length > skip + 1 && p[skip] === (paths[0] as string[])[skip]))
        skip++;
    }
    const depth = Math.max(1, Math.min(c.maxDepth, Math.max(0, ...paths.map((p) => p.length - skip))));
    const levels: string[][] = [];
    for (let l = 0; l < depth; l++) {
      const count = new Map<string, number>();
      for (const p of paths) {
        const name = p[skip + l];
        if (name !== undefined) count.set(name, (count.get(name) ?? 0) + 1);
      }
      levels.push([...count.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([n]) => n));
    }
    const state: CategoryState = { skip, levels };
    const raw = input.items.map(encoderOf(state));
    const sizes = levels.map((names) => names.length + 2);
    const { table, diagnostics } = finalizeCodes(raw, sizes, c.collisions, {
      items: input.items,
      startedAt,
      dedup: 'always',
      dedupHeadroom: c.suffixHeadroom,
      extra: { skippedRootLevels: skip },
    });
    return { table, diagnostics, saveState: (dir) => saveJsonState(dir, 'category.json', state) };
  },
  async loadEncoder(dir): Promise<ItemEncoder> {
    const s = await loadJsonState<CategoryState>(
      dir,
      'category.json',
      (v) => {
        const o = v as Partial<CategoryState>;
        return Number.isInteger(o?.skip) && Array.isArray(o.levels) && o.levels.every(isStringArray);
      },
      '{"skip": number, "levels": string[][]}',
    );
    const encode = encoderOf(s);
    return { encode: async (items) => items.map(encode) };
  },
};
