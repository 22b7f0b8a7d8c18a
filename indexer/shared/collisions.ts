/**
 * Collision handling: turns a scheme's raw codes (which several items may share) into a bijection.
 *
 * - `dedup-level` (TIGER): one level is appended; items sharing a raw code are numbered 0, 1, 2, ...
 *   in catalogue order, every other item gets 0. Its size is the largest group.
 * - `sinkhorn` (LC-Rec, LETTER): items sharing a code are moved to free values of the LAST level under
 *   the same prefix. The item closest to the shared code keeps it; the others are assigned to the
 *   free values by a Sinkhorn transport plan over their distances to those codes, rounded with
 *   capacity 1 (indexer/shared/sinkhorn.ts), when the scheme passes per-item distances to the
 *   last-level codes; without distances (schemes with no geometry) the free values are taken in
 *   ascending order. LC-Rec/LETTER re-run Sinkhorn over all items of the level; moving only the
 *   colliding ones keeps every non-colliding code as the scheme chose it. A prefix with more items
 *   than last-level values cannot be resolved that way: those items keep their raw code and a dedup
 *   level is appended (counted in `sinkhornUnresolved`).
 * - `report`: yields a bijection exactly like `dedup-level` (an index must be one), and additionally
 *   records every group of items that shared a raw code in `diagnostics.collisionGroups`.
 *
 * Every result is checked by constructing the CodeTable (which throws SEMID_ERR_COLLISION).
 */
import { CodeTable } from '../../src/core/codes.js';
import { SemidError } from '../../src/core/errors.js';
import type { Item } from '../../src/core/types.js';
import type { CollisionMode, Diagnostics } from './diagnostics.js';
import { collisionStats, levelDiagnostics, prefixCoherence } from './diagnostics.js';
import { sinkhornAssign } from './sinkhorn.js';

/** What `finalizeCodes` needs besides the codes. */
export interface FinalizeContext {
  /** The catalogue, aligned with the raw codes. */
  items: readonly Item[];
  /**
   * Per-item distances to every last-level code, row-major [items, levelSizes[L-1]] float32 (used by
   * `sinkhorn` to pick the nearest free value). Optional.
   */
  lastLevelDistances?: Float32Array;
  /** `always` appends the dedup level even when no code is shared (schemes whose codes are a prefix plus a suffix by design). Default `when-needed`. */
  dedup?: 'always' | 'when-needed';
  /**
   * Extra dedup values beyond the largest group (default 0), so new items whose prefix is taken can
   * still get a code later (cold start, `encodeNewItems`).
   */
  dedupHeadroom?: number;
  /** performance.now() when the fit started, for `buildSeconds`. */
  startedAt?: number;
  /** Scheme-specific diagnostics merged into the result (reconstruction error...). */
  extra?: Record<string, unknown>;
}

/** The finished index. */
export interface FinalizedCodes {
  table: CodeTable;
  diagnostics: Diagnostics;
  /** Whether a dedup level was appended (then new items get a free dedup value under their prefix). */
  dedupLevel: boolean;
}

/** Appends a dedup level numbering the items of each shared code in catalogue order. */
function appendDedup(codes: number[][], headroom: number): { codes: number[][]; size: number; nonZero: number } {
  const seen = new Map<string, number>();
  let size = 1;
  let nonZero = 0;
  const out = codes.map((c) => {
    const k = c.join(',');
    const v = seen.get(k) ?? 0;
    seen.set(k, v + 1);
    size = Math.max(size, v + 1);
    if (v > 0) nonZero++;
    return [...c, v];
  });
  return { codes: out, size: size + headroom, nonZero };
}

/**
 * Greedy nearest-free-value re-assignment on the last level. Returns the new codes and how many items
 * moved; items that found no free value keep their raw code.
 */
function reassignLastLevel(
  raw: readonly (readonly number[])[],
  levelSizes: readonly number[],
  dist: Float32Array | undefined,
): { codes: number[][]; moved: number } {
  const L = levelSizes.length;
  const K = levelSizes[L - 1] as number;
  const codes = raw.map((c) => [...c]);
  const d = (i: number, v: number) => (dist ? (dist[i * K + v] as number) : v);
  const byPrefix = new Map<string, number[]>();
  codes.forEach((c, i) => {
    const k = c.slice(0, L - 1).join(',');
    const g = byPrefix.get(k);
    if (g) g.push(i);
    else byPrefix.set(k, [i]);
  });
  let moved = 0;
  for (const members of byPrefix.values()) {
    const holders = new Map<number, number[]>();
    for (const i of members) {
      const v = codes[i]![L - 1] as number;
      const h = holders.get(v);
      if (h) h.push(i);
      else holders.set(v, [i]);
    }
    const movers: number[] = [];
    for (const [v, h] of holders) {
      if (h.length < 2) continue;
      // The item closest to the shared value keeps it (ties: catalogue order).
      h.sort((a, b) => d(a, v) - d(b, v) || a - b);
      movers.push(...h.slice(1));
    }
    if (movers.length === 0) continue;
    const free: number[] = [];
    for (let v = 0; v < K; v++) if (!holders.has(v)) free.push(v);
    const m = Math.min(movers.length, free.length);
    if (m === 0) continue;
    if (dist) {
      // Sinkhorn over the movers that fit (most confident holders first are already kept), capacity 1 per free value.
      const placedMovers = movers
        .map((i) => ({ i, best: Math.min(...free.map((v) => d(i, v))) }))
        .sort((a, b) => a.best - b.best || a.i - b.i)
        .slice(0, m)
        .map((x) => x.i);
      const cost = new Float32Array(m * free.length);
      placedMovers.forEach((i, r) => {
        free.forEach((v, c) => {
          cost[r * free.length + c] = d(i, v);
        });
      });
      const assign = sinkhornAssign(cost, m, free.length, { capacity: 1 });
      placedMovers.forEach((i, r) => {
        codes[i]![L - 1] = free[assign[r] as number] as number;
        moved++;
      });
    } else {
      // Without distances every free value is as good as another: ascending order, movers in catalogue order.
      movers.sort((a, b) => a - b);
      for (let r = 0; r < m; r++) {
        codes[movers[r] as number]![L - 1] = free[r] as number;
        moved++;
      }
    }
  }
  return { codes, moved };
}

/**
 * Makes raw codes unique with the chosen collision mode and computes the index diagnostics.
 * @param rawCodes one code per item of `ctx.items`, each with `levelSizes.length` values in range
 * @throws SEMID_ERR_BAD_INPUT for malformed codes, SEMID_ERR_COLLISION if the result is not a bijection
 */
export function finalizeCodes(
  rawCodes: readonly (readonly number[])[],
  levelSizes: readonly number[],
  mode: CollisionMode,
  ctx: FinalizeContext,
): FinalizedCodes {
  const n = ctx.items.length;
  if (rawCodes.length !== n) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `finalizeCodes got ${rawCodes.length} codes for ${n} items; expected one per item`,
    );
  }
  const L = levelSizes.length;
  const K = levelSizes[L - 1] ?? 0;
  if (ctx.lastLevelDistances && ctx.lastLevelDistances.length !== n * K) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `lastLevelDistances has ${ctx.lastLevelDistances.length} values, expected items x last level size = ${n * K}`,
    );
  }
  const before = collisionStats(rawCodes);
  let codes = rawCodes.map((c) => [...c]);
  let sizes = [...levelSizes];
  let dedupLevel = false;
  let dedupNonZero = 0;
  const extra: Record<string, unknown> = { collisionMode: mode };
  if (mode === 'sinkhorn' && before.collidingItems > 0) {
    const r = reassignLastLevel(codes, sizes, ctx.lastLevelDistances);
    codes = r.codes;
    extra.reassignedShare = n === 0 ? 0 : r.moved / n;
    extra.sinkhornUnresolved = collisionStats(codes).collidingItems;
  }
  const needDedup = collisionStats(codes).collidingItems > 0 || ctx.dedup === 'always';
  if (needDedup) {
    const r = appendDedup(codes, ctx.dedupHeadroom ?? 0);
    codes = r.codes;
    sizes = [...sizes, r.size];
    dedupLevel = true;
    dedupNonZero = r.nonZero;
  }
  if (mode === 'report') {
    extra.collisionGroups = before.groups.map((g) => ({
      code: [...(rawCodes[g[0] as number] as number[])],
      items: g.map((i) => (ctx.items[i] as Item).id),
    }));
  }
  const table = new CodeTable(
    sizes,
    codes.map((c, i) => [(ctx.items[i] as Item).id, c] as const),
  );
  const after = collisionStats(codes);
  const coherence = prefixCoherence(codes, ctx.items);
  const diagnostics: Diagnostics = {
    items: n,
    levels: levelDiagnostics(codes, sizes),
    collisionRateBefore: n === 0 ? 0 : before.collidingItems / n,
    collisionsAfter: after.collidingItems,
    maxItemsPerCode: before.maxItemsPerCode,
    dedupShare: n === 0 ? 0 : dedupNonZero / n,
    ...(coherence ? { prefixCoherence: coherence.coherence, prefixCoherenceBaseline: coherence.baseline } : {}),
    buildSeconds: ctx.startedAt === undefined ? 0 : (performance.now() - ctx.startedAt) / 1000,
    dedupLevel,
    ...extra,
    ...ctx.extra,
  };
  return { table, diagnostics, dedupLevel };
}
