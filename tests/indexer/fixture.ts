/**
 * A tiny catalogue with planted structure for indexer tests: 4 groups of 15 items (60 items); each
 * group has its own category path and title vocabulary, and each of the 80 users interacts almost only
 * with one group. The last two items of every full sequence are the valid / test targets; item
 * `leak` appears ONLY there, so a scheme that respects the split has never seen it.
 */
import { writeFileSync } from 'node:fs';
import { createRng } from '../../src/core/rng.js';
import type { Item, ItemId, SplitData } from '../../src/core/types.js';
import { emptyReport } from '../../src/core/types.js';

const GROUPS = [
  { cat: 'Makeup', sub: ['Nails', 'Lips'], words: ['nail', 'polish', 'lacquer', 'gloss', 'lip', 'shine'] },
  { cat: 'Skin Care', sub: ['Face', 'Body'], words: ['cream', 'moisturizer', 'serum', 'face', 'lotion', 'spf'] },
  { cat: 'Hair Care', sub: ['Shampoo', 'Styling'], words: ['shampoo', 'conditioner', 'hair', 'gel', 'curl', 'volume'] },
  { cat: 'Fragrance', sub: ['Women', 'Men'], words: ['perfume', 'eau', 'parfum', 'spray', 'cologne', 'musk'] },
] as const;

/** Group (0..3) of each fixture item, by position; the leak item is in group 0. */
export const GROUP_OF: number[] = [];

/** A split of the tiny planted catalogue. `trainSequences` exclude the last two items of each user. */
export function tinySplit(seed = 7): SplitData {
  const rng = createRng(seed);
  const items: Item[] = [];
  GROUP_OF.length = 0;
  GROUPS.forEach((g, gi) => {
    for (let k = 0; k < 15; k++) {
      const w = g.words;
      const id = gi === 0 && k === 14 ? 'leak' : `g${gi}i${String(k).padStart(2, '0')}`;
      items.push({
        id,
        title: `Brand${k % 5} ${w[k % 6]} ${w[(k + 2) % 6]} &amp; ${w[(k + 3) % 6]} no${k}`,
        categories: ['Beauty', g.cat, g.sub[k % 2] as string],
        brand: `Brand${k % 5}`,
      });
      GROUP_OF.push(gi);
    }
  });
  const byGroup = GROUPS.map((_, gi) => items.filter((_, i) => GROUP_OF[i] === gi && items[i]?.id !== 'leak'));
  const users: string[] = [];
  const sequences: ItemId[][] = [];
  for (let u = 0; u < 80; u++) {
    const g = u % 4;
    const len = 5 + rng.int(4);
    const seq: ItemId[] = [];
    while (seq.length < len) {
      const pool = rng.next() < 0.9 ? (byGroup[g] as Item[]) : (byGroup[rng.int(4)] as Item[]);
      const it = pool[rng.int(pool.length)] as Item;
      if (!seq.includes(it.id)) seq.push(it.id);
    }
    if (u % 10 === 0) seq[seq.length - 1] = 'leak';
    users.push(`u${u}`);
    sequences.push(seq);
  }
  const trainSequences = sequences.map((s) => s.slice(0, -2));
  const ex = (s: ItemId[], u: number, end: number) => ({
    user: users[u] as string,
    history: s.slice(0, end),
    target: s[end] as string,
  });
  return {
    name: 'tiny',
    items,
    itemIndex: new Map(items.map((it, i) => [it.id, i])),
    users,
    sequences,
    trainSequences,
    train: sequences.flatMap((s, u) => Array.from({ length: s.length - 3 }, (_, k) => ex(s, u, k + 1))),
    valid: sequences.map((s, u) => ex(s, u, s.length - 2)),
    test: sequences.map((s, u) => ex(s, u, s.length - 1)),
    maxHistory: 20,
    report: emptyReport(),
  };
}

/** The same split with different valid/test targets (train sequences unchanged). */
export function withOtherTargets(split: SplitData): SplitData {
  const swap = (id: ItemId) => (id === 'g1i00' ? 'g2i00' : 'g1i00');
  const sequences = split.sequences.map((s) => [...s.slice(0, -2), swap(s.at(-2) as string), swap(s.at(-1) as string)]);
  return { ...split, sequences };
}

/**
 * One small config per scheme that fits the 60-item fixture in a second or two (shared by the contract
 * suite and the end-to-end tests). Schemes left out run with their defaults.
 * @param importPath a LETTER-format index file for `imported`
 */
export function smallConfigs(importPath: string): Record<string, Record<string, unknown>> {
  const rq = { levels: 2, size: 4, hidden: '16', latentDim: 4, textDim: 8, epochs: 3, batchSize: 32 };
  return {
    random: { levels: 2, size: 8 },
    sequential: { base: 4 },
    collaborative: { clusters: 4, maxLeaf: 6 },
    hybrid: { variant: 'cid+iid', clusters: 4, maxLeaf: 6 },
    imported: { path: importPath },
    rqkmeans: { levels: 2, size: 4, textDim: 8 },
    rqvae: rq,
    letter: { ...rq, collabDim: 4, collabEpochs: 1 },
  };
}

/**
 * Writes a published index in LETTER's format (item position -> ["<a_..>", "<b_..>", ...]) for the
 * `imported` scheme, with the tokens of item `i` given by `tokens(i)`.
 */
export function writePublishedIndex(path: string, items: number, tokens: (i: number) => string[]): void {
  const published: Record<string, string[]> = {};
  for (let i = 0; i < items; i++) published[String(i)] = tokens(i);
  writeFileSync(path, JSON.stringify(published));
}
