/**
 * Degenerate levels: a learned level that names a single value under most of the prefixes above it
 * tells no items apart (it only lengthens every code), and a dedup level that separates most items
 * means the learned levels leave most items sharing a code. Every index build reports both as
 * warnings naming the level and the scheme option to change.
 */
import type { Code } from '../../src/core/types.js';

/** The config options that set the level sizes of each scheme with learned levels. */
const LEVEL_OPTIONS: Readonly<Record<string, string>> = {
  random: '"size" (codebook size per level) or "levels"',
  rqkmeans: '"size" (codebook size per level; about the items^(1/levels)) or "levels"',
  rqvae: '"size" (codebook size per level; about the items^(1/levels)) or "levels"',
  letter: '"size" (codebook size per level; about the items^(1/levels)) or "levels"',
  collaborative: '"clusters" (clusters per split) or "maxLeaf" (largest unsplit cluster)',
  hybrid: '"clusters" / "maxLeaf" (collaborative prefix) or "rqSize" (text levels)',
  title: '"maxWords"',
  keywords: '"words" or "vocabSize"',
  category: '"maxDepth"',
  sequential: '"base"',
};

/** Share of prefixes (shared by 2+ items) above which a level counts as degenerate. */
const MOST = 0.5;

/**
 * Warnings about degenerate levels of `codes` (one per item; the last level is a dedup level when
 * `dedupLevel`). `collisionRateBefore` is the share of items whose code before the dedup level is
 * shared with another item. Schemes whose last level is the item itself by design (atomic, hybrid's
 * item-id variant, imported codes) pass `learnedLevels` to limit the check.
 */
export function degenerateLevelWarnings(o: {
  scheme: string;
  codes: readonly Code[];
  levelSizes: readonly number[];
  dedupLevel: boolean;
  collisionRateBefore: number;
  learnedLevels?: number;
}): string[] {
  const n = o.codes.length;
  if (n < 2) return [];
  const option = LEVEL_OPTIONS[o.scheme] ?? 'the options that set its level sizes';
  const learned = o.learnedLevels ?? o.levelSizes.length - (o.dedupLevel ? 1 : 0);
  const out: string[] = [];
  for (let l = 0; l < learned; l++) {
    // children values under each prefix of length l
    const children = new Map<string, { items: number; values: Set<number> }>();
    for (const c of o.codes) {
      const k = c.slice(0, l).join(',');
      let g = children.get(k);
      if (!g) {
        g = { items: 0, values: new Set() };
        children.set(k, g);
      }
      g.items++;
      g.values.add(c[l] as number);
    }
    const shared = [...children.values()].filter((g) => g.items > 1);
    const single = shared.filter((g) => g.values.size <= 1).length;
    if (shared.length === 0) {
      out.push(
        `${o.scheme}: level ${l} tells no items apart (every item is already unique after level ${l - 1}); the codes are longer than this ${n}-item catalogue needs: change ${option}`,
      );
    } else if (single / shared.length > MOST) {
      out.push(
        `${o.scheme}: level ${l} is degenerate: it gives one value under ${single} of the ${shared.length} prefixes shared by several items (${o.levelSizes[l]} values available); change ${option} for this ${n}-item catalogue`,
      );
    }
  }
  if (o.dedupLevel && o.collisionRateBefore > MOST) {
    out.push(
      `${o.scheme}: the dedup level (level ${o.levelSizes.length - 1}) carries most of the separation: ${(100 * o.collisionRateBefore).toFixed(0)}% of the ${n} items share their learned code with another item; change ${option} so the learned levels tell items apart`,
    );
  }
  return out;
}
