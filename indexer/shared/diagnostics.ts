/**
 * Index quality statistics shared by every scheme: per-level utilization and perplexity, collision
 * counts, and prefix coherence (do items sharing a first-level code share their top category?); the
 * types of diagnostics.json and of the collision modes.
 */
import type { Item } from '../../src/core/types.js';

/** How codes that several items share are made unique. */
export type CollisionMode = 'dedup-level' | 'sinkhorn' | 'report';

/** Per-level statistics of an index. */
export interface LevelDiagnostics {
  size: number;
  used: number;
  /** used / size */
  utilization: number;
  /** exp(entropy) of the value distribution at this level. */
  perplexity: number;
}

/** diagnostics.json of an index artifact. */
export interface Diagnostics {
  items: number;
  levels: LevelDiagnostics[];
  /** Share of items whose code before collision handling is shared with another item. */
  collisionRateBefore: number;
  /** Items sharing a code after handling: always 0 in a built index. */
  collisionsAfter: number;
  maxItemsPerCode: number;
  /** Share of items that needed a non-zero dedup value (dedup-level mode). */
  dedupShare: number;
  /** Mean squared reconstruction error for RQ schemes. */
  reconstructionError?: number;
  /** How often items sharing a first-level code share their top category. */
  prefixCoherence?: number;
  buildSeconds: number;
  /** Degenerate levels found at build time, each naming the level and the option to change. */
  warnings?: string[];
  [extra: string]: unknown;
}

/** The category that prefix coherence compares: the second path entry (the first is usually a root such as "Beauty"), else the first. */
export function topCategory(item: Item): string | undefined {
  const c = item.categories;
  if (!c || c.length === 0) return undefined;
  return c[1] ?? c[0];
}

/** Usage and perplexity (exp of the entropy of the value distribution) per level. */
export function levelDiagnostics(
  codes: readonly (readonly number[])[],
  levelSizes: readonly number[],
): LevelDiagnostics[] {
  return levelSizes.map((size, l) => {
    const counts = new Map<number, number>();
    for (const c of codes) counts.set(c[l] as number, (counts.get(c[l] as number) ?? 0) + 1);
    let h = 0;
    const n = codes.length;
    for (const k of counts.values()) {
      const p = k / n;
      h -= p * Math.log(p);
    }
    return { size, used: counts.size, utilization: counts.size / size, perplexity: n === 0 ? 0 : Math.exp(h) };
  });
}

/** Groups item positions by their full code; only the groups with more than one item. */
export function sharedCodeGroups(codes: readonly (readonly number[])[]): number[][] {
  const byKey = new Map<string, number[]>();
  codes.forEach((c, i) => {
    const k = c.join(',');
    const g = byKey.get(k);
    if (g) g.push(i);
    else byKey.set(k, [i]);
  });
  return [...byKey.values()].filter((g) => g.length > 1);
}

/** Collision counts of a code list. */
export interface CollisionStats {
  /** Items whose code is shared with at least one other item. */
  collidingItems: number;
  /** Size of the largest group of items sharing one code (1 when all codes are unique). */
  maxItemsPerCode: number;
  groups: number[][];
}

/** Counts items that share codes. */
export function collisionStats(codes: readonly (readonly number[])[]): CollisionStats {
  const groups = sharedCodeGroups(codes);
  let colliding = 0;
  let max = codes.length > 0 ? 1 : 0;
  for (const g of groups) {
    colliding += g.length;
    max = Math.max(max, g.length);
  }
  return { collidingItems: colliding, maxItemsPerCode: max, groups };
}

/**
 * Pairwise prefix coherence: among pairs of items with the same first-level value (both with a
 * category), the share whose top categories are equal. `baseline` is the same share over all pairs
 * of the catalogue, so a value well above the baseline means the first level follows categories.
 * Undefined when no item has a category or no two items share a first-level value.
 */
export function prefixCoherence(
  codes: readonly (readonly number[])[],
  items: readonly Item[],
): { coherence: number; baseline: number } | undefined {
  const groups = new Map<number, Map<string, number>>();
  const all = new Map<string, number>();
  codes.forEach((c, i) => {
    const cat = topCategory(items[i] as Item);
    if (cat === undefined) return;
    const v = c[0] as number;
    let g = groups.get(v);
    if (!g) {
      g = new Map();
      groups.set(v, g);
    }
    g.set(cat, (g.get(cat) ?? 0) + 1);
    all.set(cat, (all.get(cat) ?? 0) + 1);
  });
  const pairShare = (counts: Iterable<Map<string, number>>): [number, number] => {
    let same = 0;
    let total = 0;
    for (const m of counts) {
      let n = 0;
      for (const k of m.values()) {
        same += k * (k - 1);
        n += k;
      }
      total += n * (n - 1);
    }
    return [same, total];
  };
  const [same, total] = pairShare(groups.values());
  const [bs, bt] = pairShare([all]);
  if (total === 0 || bt === 0) return undefined;
  return { coherence: same / total, baseline: bs / bt };
}
