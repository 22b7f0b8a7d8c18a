/**
 * Non-learned baselines under the same protocol as the models (see evaluate.ts). Most-popular is
 * the floor every model must clear; its counts come from the TRAIN sequences only, so no valid/test
 * target leaks into the ranking.
 */
import { SemidError } from '../core/errors.js';
import type { ItemId } from '../core/types.js';
import type { ItemRanker } from './evaluate.js';
import { popularity } from './evaluate.js';

/**
 * Most-popular: every user gets the catalogue ranked by its number of occurrences in the train
 * sequences (ties in catalogue order). Whether history items are removed is the evaluator's
 * `excludeHistory` option (off by default, matching the usual protocol).
 */
export function mostPopular(catalogue: readonly ItemId[], trainSequences: readonly (readonly ItemId[])[]): ItemRanker {
  if (catalogue.length === 0) throw new SemidError('SEMID_ERR_BAD_INPUT', 'most-popular needs a non-empty catalogue');
  const counts = popularity(trainSequences);
  const items = [...catalogue];
  /** [items.length] float32: train count per catalogue item. */
  const scores = Float32Array.from(items, (item) => counts.get(item) ?? 0);
  return {
    items,
    async score(histories) {
      // Same vector for every user; callers only read it, so one shared copy is enough.
      return histories.map(() => scores);
    },
  };
}
