import { describe, expect, it } from 'vitest';
import { codeBucket, itemBatch, itemCatalogue, itemSlots, shardBatch } from '../../models/batch.js';
import { BOS, PAD, TokenLayout } from '../../src/core/codes.js';

// levels of sizes 3 and 4: tokens 3..5 (level 0) and 6..9 (level 1), vocabulary 10
const layout = new TokenLayout([3, 4]);

describe('item-level batches', () => {
  it('lays out [start, padding, items] with positions, key flags and next-item targets (hand-checked)', () => {
    // window A: 3 items -> inputs [a0, a1], targets a0 (from the start), a1, a2; window B: 1 item
    const a = [
      [0, 1],
      [2, 3],
      [1, 0],
    ];
    const b = itemBatch(layout, [a, [[2, 2]]]);
    expect(b.t).toBe(3);
    expect(b.levels).toBe(2);
    // row 0: start, a0 = tokens (3, 7), a1 = (5, 9); row 1: start, two padding slots
    expect(Array.from(b.slotTokens)).toEqual([BOS, -1, 3, 7, 5, 9, BOS, -1, BOS, -1, BOS, -1]);
    expect(Array.from(b.pos)).toEqual([0, 1, 2, 0, 0, 0]);
    expect(Array.from(b.keep)).toEqual([1, 1, 1, 1, 0, 0]);
    expect(Array.from(b.weights)).toEqual([1, 1, 1, 1, 0, 0]);
    // targets: row 0 a0 (3,7), a1 (5,9), a2 (4,6); row 1 its only item (5,8) at the start slot
    expect(Array.from(b.targets)).toEqual([3, 7, 5, 9, 4, 6, 5, 8, PAD, PAD, PAD, PAD]);
    expect(Array.from(b.bucket)).toEqual([-1, -1, -1, -1, -1, -1]);
  });

  it('hashes codes into buckets as documented, the same in batches and decoding layouts', () => {
    // (0 * 10 + 3) mod 11 = 3; (3 * 10 + 7) mod 11 = 37 mod 11 = 4
    expect(codeBucket([3, 7], 10, 11)).toBe(4);
    // codes that differ only in the last token never collide when that level is smaller than the buckets
    const siblings = [6, 7, 8, 9].map((t) => codeBucket([4, t], 10, 11));
    expect(new Set(siblings).size).toBe(4);
    const slots = itemSlots(layout, [[[0, 1]], []], 11);
    expect(Array.from(slots.bucket)).toEqual([-1, 4, -1, -1]);
    const batch = itemBatch(
      layout,
      [
        [
          [0, 1],
          [2, 3],
        ],
      ],
      11,
    );
    expect(Array.from(batch.bucket)).toEqual([-1, 4]);
  });

  it('gives the dense head a catalogue and each target slot its row; shards keep the catalogue whole', () => {
    const codes = [
      [0, 1],
      [2, 3],
      [1, 0],
      [2, 2],
    ];
    const dense = itemCatalogue(layout, codes, 11);
    expect(dense.catalogue.n).toBe(4);
    expect(Array.from(dense.catalogue.tokens)).toEqual([3, 7, 5, 9, 4, 6, 5, 8]);
    expect(dense.catalogue.bucket[0]).toBe(4); // as codeBucket([3, 7], 10, 11) above
    const b = itemBatch(layout, [codes.slice(0, 3), [[2, 2]]], 11, dense);
    // targets as in the layout test: row 0 -> a0, a1, a2 (rows 0, 1, 2); row 1 -> its only item (row 3)
    expect(Array.from(b.targetItem ?? [])).toEqual([0, 1, 2, 3, -1, -1]);
    // each item slot's own item (the repeat bias's history): row 0 holds a0, a1; row 1 no item
    expect(Array.from(b.slotItem ?? [])).toEqual([-1, 0, 1, -1, -1, -1]);
    const [s0, s1] = shardBatch(b, 2);
    expect(Array.from(s0?.slotItem ?? [])).toEqual([-1, 0, 1]);
    expect(s0?.catalogue).toBe(dense.catalogue);
    expect(s1?.catalogue).toBe(dense.catalogue);
    expect(Array.from(s1?.targetItem ?? [])).toEqual([3, -1, -1]);
    // a target outside the catalogue is a programming error, reported as such
    expect(() => itemBatch(layout, [[[0, 0]]], 11, dense)).toThrow(/not in the dense head's catalogue/);
  });
});
