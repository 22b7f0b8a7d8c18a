/** Synthetic item codes for the training benchmarks (no data needed). */
import { createRng } from '../src/core/rng.js';

/**
 * A catalogue of at least `items` distinct random codes over `levelSizes` (fewer when the code space is
 * smaller) and 64 windows of `windowItems` items drawn from it, seeded by 1.
 */
export function syntheticWindows(
  levelSizes: readonly number[],
  items: number,
  windowItems: number,
): { catalogue: number[][]; windows: number[][][] } {
  const rng = createRng(1);
  const catalogue: number[][] = [];
  const seen = new Set<string>();
  const wanted = Math.max(items, 64 * windowItems);
  for (let tries = 0; catalogue.length < wanted && tries < wanted * 20; tries++) {
    const c = levelSizes.map((s) => rng.int(s));
    if (seen.has(c.join(','))) continue;
    seen.add(c.join(','));
    catalogue.push(c);
  }
  const windows = Array.from({ length: 64 }, () =>
    Array.from({ length: windowItems }, () => catalogue[rng.int(catalogue.length)] as number[]),
  );
  return { catalogue, windows };
}
