/**
 * `sequential` (SID in Hua et al. 2023; P5's sequential indexing): items are numbered in order of
 * first appearance when the TRAINING sequences are read user by user, each oldest first, and the
 * number is written as base-b digits. Items co-consumed early get numbers with shared leading digits.
 * Items that never appear in a training sequence are numbered last, in catalogue order. Difference
 * from P5: P5 writes decimal digits for a subword tokenizer; here the base is configurable and each
 * digit is one level.
 */

import { type ConfigSpec, defaultsOf, resolveConfig } from '../src/core/config.js';
import { finalizeCodes } from './shared/collisions.js';
import { digitsNeeded, toDigits } from './shared/digits.js';
import type { IndexingScheme } from './types.js';

/** Config of the sequential scheme. */
export interface SequentialConfig {
  /** Digit base = codebook size of every level. Default 256 (two levels up to 65,536 items). */
  base: number;
}

const SPEC: ConfigSpec<SequentialConfig> = {
  base: { kind: 'int', default: 256, min: 2, max: 1 << 20, doc: 'digit base (codebook size of every level)' },
};

/** The sequential scheme (SID). */
export const sequential: IndexingScheme<SequentialConfig> = {
  name: 'sequential',
  description: 'items numbered by first appearance in the training sequences, as base-b digits (SID)',
  spec: SPEC,
  defaults: defaultsOf(SPEC),
  resolve(partial) {
    return resolveConfig('sequential', SPEC, partial);
  },
  async fit(input, c) {
    const startedAt = performance.now();
    const n = input.items.length;
    const index = new Map(input.items.map((it, i) => [it.id, i]));
    const number = new Int32Array(n).fill(-1);
    let next = 0;
    for (const seq of input.trainSequences) {
      for (const id of seq) {
        const i = index.get(id);
        if (i !== undefined && number[i] === -1) number[i] = next++;
      }
    }
    const seen = next;
    for (let i = 0; i < n; i++) if (number[i] === -1) number[i] = next++;
    const L = digitsNeeded(n, c.base);
    const raw = input.items.map((_, i) => toDigits(number[i] as number, c.base, L));
    const { table, diagnostics } = finalizeCodes(raw, new Array<number>(L).fill(c.base), 'dedup-level', {
      items: input.items,
      startedAt,
      extra: { unseenItems: n - seen },
    });
    return { table, diagnostics };
  },
};
