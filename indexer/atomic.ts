/**
 * `atomic` (IID in Hua et al. 2023): one token per item, a single level as large as the catalogue,
 * numbered in catalogue order. The classic ID-based recommender's vocabulary; no sharing between
 * items, so nothing generalises across items.
 */

import { type ConfigSpec, defaultsOf, resolveConfig } from '../src/core/config.js';
import { finalizeCodes } from './shared/collisions.js';
import type { IndexingScheme } from './types.js';

/** Config of the atomic scheme: it has no options. */
export type AtomicConfig = Record<string, never>;

const SPEC: ConfigSpec<AtomicConfig> = {};

/** The atomic scheme (IID). */
export const atomic: IndexingScheme<AtomicConfig> = {
  name: 'atomic',
  description: 'one token per item (IID)',
  spec: SPEC,
  defaults: defaultsOf(SPEC),
  resolve(partial) {
    return resolveConfig('atomic', SPEC, partial);
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
