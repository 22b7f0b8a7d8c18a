/**
 * `random` (RID in Hua et al. 2023, "How to Index Item IDs for Recommendation Foundation Models"):
 * every item gets an independent uniformly random code of `levels` values in [0, size). Random
 * codes carry no meaning; they are the baseline semantic IDs must beat. Codes that happen to collide
 * are made unique by the collision mode. Difference from the paper: RID draws a random integer and
 * lets the LLM's tokenizer split it; here the levels are drawn directly.
 */

import { type ConfigSpec, defaultsOf, resolveConfig } from '../src/core/config.js';
import { finalizeCodes } from './shared/collisions.js';
import { COLLISIONS_FIELD } from './shared/config.js';
import type { CollisionMode, IndexingScheme } from './types.js';

/** Config of the random scheme. */
export interface RandomConfig {
  /** Levels per code. Default 2. */
  levels: number;
  /** Codebook size of every level. Default 256. */
  size: number;
  /** Collision handling. Default dedup-level. */
  collisions: CollisionMode;
}

const SPEC: ConfigSpec<RandomConfig> = {
  levels: { kind: 'int', default: 2, min: 1, max: 16, doc: 'levels per code' },
  size: { kind: 'int', default: 256, min: 2, max: 1 << 20, doc: 'codebook size of every level' },
  collisions: COLLISIONS_FIELD,
};

/** The random scheme (RID). */
export const random: IndexingScheme<RandomConfig> = {
  name: 'random',
  description: 'random codes of L levels x size values (RID, Hua et al. 2023)',
  spec: SPEC,
  defaults: defaultsOf(SPEC),
  resolve(partial) {
    return resolveConfig('random', SPEC, partial);
  },
  async fit(input, c) {
    const startedAt = performance.now();
    const raw = input.items.map(() => Array.from({ length: c.levels }, () => input.rng.int(c.size)));
    const sizes = new Array<number>(c.levels).fill(c.size);
    const { table, diagnostics } = finalizeCodes(raw, sizes, c.collisions, { items: input.items, startedAt });
    return { table, diagnostics };
  },
};
