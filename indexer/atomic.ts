/**
 * `atomic` (IID in Hua et al. 2023): one token per item, a single level as large as the catalogue,
 * numbered in catalogue order. The classic ID-based recommender's vocabulary; no sharing between
 * items, so nothing generalises across items.
 */

import { finalizeCodes } from './shared/collisions.js';
import { type ConfigSpec, resolveConfig } from './shared/config.js';
import type { IndexingScheme } from './types.js';

/** Config of the atomic scheme: it has no options. */
export type AtomicConfig = Record<string, never>;

const SPEC: ConfigSpec<AtomicConfig> = {};

/** The atomic scheme (IID). */
export const atomic: IndexingScheme<AtomicConfig> = {
  name: 'atomic',
  description: 'one token per item (IID)',
  defaults: {},
  resolve(partial) {
    return resolveConfig('atomic', this.defaults, SPEC, partial);
  },
  async fit(input) {
    const startedAt = performance.now();
    const n = input.items.length;
    const raw = input.items.map((_, i) => [i]);
    const { table, diagnostics } = finalizeCodes(raw, [Math.max(1, n)], 'dedup-level', {
      items: input.items,
      startedAt,
    });
    return { table, diagnostics };
  },
};
