/**
 * The cost budget of one request, so no single request can hold the decoder for long. Cost is
 * counted in beam rows: a recommendation decodes up to `max(k, beamWidth)` rows at each of the
 * code's levels, so it costs `max(k, beamWidth) x levels`; a batch costs the sum of its requests;
 * scoring costs `candidates x levels` (one row per candidate prefix at most). A request over the
 * budget is refused with 422 SEMID_ERR_OVER_BUDGET before any decoding.
 */
import { SemidError } from '../src/core/errors.js';
import type { RecommendOptions } from './types.js';

/**
 * Default budget in beam rows: 8,192, e.g. 64 histories at beam 32 over 4 levels, or one history at
 * the largest beam (200) over up to 40 levels.
 */
export const DEFAULT_MAX_COST = 8192;

/** Beam rows decoded for recommendation requests over codes of `levels` levels. */
export function recommendCost(levels: number, requests: readonly Pick<RecommendOptions, 'k' | 'beamWidth'>[]): number {
  let cost = 0;
  for (const r of requests) cost += Math.max(r.k, r.beamWidth) * levels;
  return cost;
}

/** Rows decoded for scoring `candidates` items over codes of `levels` levels. */
export const scoreCost = (levels: number, candidates: number): number => candidates * levels;

/** @throws SEMID_ERR_OVER_BUDGET when `cost` exceeds `max`. */
export function checkBudget(cost: number, max: number, what: string): void {
  if (cost > max) {
    throw new SemidError(
      'SEMID_ERR_OVER_BUDGET',
      `${what} costs ${cost} beam rows (max(k, beamWidth) x code levels, summed over a batch), over this server's budget of ${max}; lower k, beamWidth or the batch size, or split the request`,
      { cost, budget: max },
    );
  }
}
