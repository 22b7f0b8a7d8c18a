import { describe, expect, it } from 'vitest';
import { buildSequences, leaveOneOut, preprocess } from '../../src/core/data/index.js';
import { type Dataset, emptyReport, type Item } from '../../src/core/types.js';

/** A dataset from `user item timestamp` triples; the catalogue is every item named, plus `extraItems`. */
function dataset(rows: [string, string, number][], extraItems: string[] = []): Dataset {
  const ids = [...new Set([...rows.map((r) => r[1]), ...extraItems])];
  const items: Item[] = ids.map((id) => ({ id }));
  return {
    name: 'hand',
    items,
    interactions: rows.map(([user, item, timestamp]) => ({ user, item, timestamp })),
    report: emptyReport(),
  };
}

// u2 appears first in the file; u2 has a tie at t=5 (x before y in file order) and an earlier z.
const ROWS: [string, string, number][] = [
  ['u2', 'x', 5],
  ['u1', 'c', 3],
  ['u2', 'y', 5],
  ['u1', 'a', 1],
  ['u1', 'e', 5],
  ['u3', 'p', 1],
  ['u1', 'b', 2],
  ['u2', 'z', 3],
  ['u1', 'd', 4],
  ['u3', 'q', 2],
  ['u4', 'solo', 9],
];

describe('leave-one-out split', () => {
  it('gives the exact train / valid / test examples of hand-made sequences', () => {
    const s = preprocess(dataset(ROWS));
    expect(s.users).toEqual(['u2', 'u1', 'u3', 'u4']);
    expect(s.sequences).toEqual([['z', 'x', 'y'], ['a', 'b', 'c', 'd', 'e'], ['p', 'q'], ['solo']]);
    expect(s.trainSequences).toEqual([['z'], ['a', 'b', 'c'], ['p', 'q'], ['solo']]);
    expect(s.test).toEqual([
      { user: 'u2', history: ['z', 'x'], target: 'y' },
      { user: 'u1', history: ['a', 'b', 'c', 'd'], target: 'e' },
    ]);
    expect(s.valid).toEqual([
      { user: 'u2', history: ['z'], target: 'x' },
      { user: 'u1', history: ['a', 'b', 'c'], target: 'd' },
    ]);
    expect(s.train).toEqual([
      { user: 'u1', history: ['a'], target: 'b' },
      { user: 'u1', history: ['a', 'b'], target: 'c' },
      { user: 'u3', history: ['p'], target: 'q' },
    ]);
    expect(s.maxHistory).toBe(20);
    expect(s.report.warnings).toContain(
      '2 users have fewer than 3 interactions: they give no valid/test example (their sequence is training data only)',
    );
  });

  it('no training example, history or train sequence contains a valid or test target of its user', () => {
    const s = preprocess(dataset(ROWS));
    const heldOut = new Map<string, Set<string>>();
    for (const e of [...s.valid, ...s.test]) heldOut.set(e.user, (heldOut.get(e.user) ?? new Set()).add(e.target));
    for (const e of s.train) {
      for (const i of [...e.history, e.target]) expect(heldOut.get(e.user)?.has(i) ?? false).toBe(false);
    }
    s.users.forEach((u, k) => {
      for (const i of s.trainSequences[k] ?? []) expect(heldOut.get(u)?.has(i) ?? false).toBe(false);
    });
  });

  it('caps histories at maxHistory, keeping the most recent items', () => {
    const s = preprocess(dataset(ROWS), { maxHistory: 2 });
    expect(s.test[1]).toEqual({ user: 'u1', history: ['c', 'd'], target: 'e' });
    expect(s.valid[1]).toEqual({ user: 'u1', history: ['b', 'c'], target: 'd' });
    expect(s.train.slice(0, 2)).toEqual([
      { user: 'u1', history: ['a'], target: 'b' },
      { user: 'u1', history: ['a', 'b'], target: 'c' },
    ]);
    expect(preprocess(dataset(ROWS), { maxHistory: 1 }).test[1]?.history).toEqual(['d']);
    expect(() => preprocess(dataset(ROWS), { maxHistory: 0 })).toThrow(/maxHistory must be an integer >= 1/);
  });

  it('keeps file order for equal timestamps, whatever the ids', () => {
    const rows: [string, string, number][] = [
      ['u', 'm', 7],
      ['u', 'b', 7],
      ['u', 'z', 7],
      ['u', 'a', 6],
    ];
    expect(preprocess(dataset(rows)).sequences).toEqual([['a', 'm', 'b', 'z']]);
  });

  it('a sequence of n items gives n-3 training examples, one valid and one test', () => {
    const seq = Array.from({ length: 30 }, (_, i) => `i${i}`);
    const r = leaveOneOut(['u'], [seq], 20);
    expect(r.train).toHaveLength(27);
    expect(r.train[26]?.history).toHaveLength(20);
    expect(r.train[26]?.history[0]).toBe('i7');
    expect(r.train[26]?.target).toBe('i27');
    expect(r.test[0]?.history).toEqual(seq.slice(9, 29));
  });
});

describe('duplicates and k-core', () => {
  it('drops exact duplicate rows (counted) but keeps repeats at other times', () => {
    const s = preprocess(
      dataset([
        ['u', 'a', 1],
        ['u', 'a', 1],
        ['u', 'b', 2],
        ['u', 'a', 3],
        ['u', 'b', 2],
      ]),
    );
    expect(s.sequences).toEqual([['a', 'b', 'a']]);
    expect(s.report.duplicateRows).toBe(2);
    expect(s.report.warnings[0]).toBe('2 exact duplicate (user, item, timestamp) rows removed');
    // Duplicates interleaved with other items of the same timestamp.
    const tie = preprocess(
      dataset([
        ['u', 'a', 1],
        ['u', 'b', 1],
        ['u', 'a', 1],
        ['u', 'c', 1],
        ['u', 'b', 1],
        ['v', 'a', 1],
      ]),
    );
    expect(tie.sequences).toEqual([['a', 'b', 'c'], ['a']]);
    expect(tie.report.duplicateRows).toBe(2);
  });

  it('iterates the k-core filter until every user and item has >= k interactions', () => {
    // k=2: D (1 use) goes, then U4 (only C left) goes, then C (1 use) goes, then U3 (only B) goes.
    const rows: [string, string, number][] = [
      ['U1', 'A', 1],
      ['U1', 'B', 2],
      ['U2', 'A', 1],
      ['U2', 'B', 2],
      ['U3', 'B', 1],
      ['U3', 'C', 2],
      ['U4', 'C', 1],
      ['U4', 'D', 2],
    ];
    const seq = buildSequences(dataset(rows, ['E']), 2);
    expect(seq.users).toEqual(['U1', 'U2']);
    expect(seq.sequences).toEqual([
      ['A', 'B'],
      ['A', 'B'],
    ]);
    expect(seq.items.map((i) => i.id)).toEqual(['A', 'B']);
    expect(seq.report.kcoreRemoved).toBe(4);
    expect(seq.report.warnings.at(-1)).toBe('2-core filter removed 4 of 8 interactions, 2 of 4 users and 3 of 5 items');
    // Without k-core nothing is removed, and the never-used item E stays in the catalogue.
    const all = buildSequences(dataset(rows, ['E']));
    expect(all.users).toHaveLength(4);
    expect(all.items).toHaveLength(5);
    expect(all.report.kcoreRemoved).toBe(0);
  });

  it('does not change the dataset it was given', () => {
    const ds = dataset(ROWS);
    const before = JSON.stringify(ds);
    preprocess(ds, { kcore: 2 });
    expect(JSON.stringify(ds)).toBe(before);
  });

  it('builds itemIndex over the catalogue order', () => {
    const s = preprocess(dataset(ROWS));
    expect(s.itemIndex.get('x')).toBe(0);
    expect(s.itemIndex.get('solo')).toBe(s.items.length - 1);
    expect(s.itemIndex.size).toBe(s.items.length);
  });
});
