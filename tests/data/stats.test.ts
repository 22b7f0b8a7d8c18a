import { describe, expect, it } from 'vitest';
import { datasetFingerprint, datasetStats, lengthStats, preprocess } from '../../src/core/data/index.js';
import { type Dataset, emptyReport, type Interaction, type Item } from '../../src/core/types.js';

function ds(items: Item[], rows: [string, string, number][]): Dataset {
  const interactions: Interaction[] = rows.map(([user, item, timestamp]) => ({ user, item, timestamp }));
  return { name: 'hand', items, interactions, report: emptyReport() };
}

const ITEMS: Item[] = [
  { id: 'a', title: 'A', categories: ['x'] },
  { id: 'b', title: 'B', brand: 'br' },
  { id: 'c', categories: [] },
  { id: 'd', description: 'dd' },
];
const ROWS: [string, string, number][] = [
  ['u1', 'a', 1],
  ['u1', 'b', 2],
  ['u1', 'c', 3],
  ['u1', 'a', 4],
  ['u2', 'b', 1],
  ['u2', 'a', 2],
  ['u2', 'b', 2],
  ['u2', 'a', 2],
];

describe('lengthStats', () => {
  it('hand-computed distributions', () => {
    expect(lengthStats([4, 1, 3, 2])).toEqual({ min: 1, median: 2.5, mean: 2.5, max: 4, p90: 4 });
    expect(lengthStats([3, 1, 2])).toEqual({ min: 1, median: 2, mean: 2, max: 3, p90: 3 });
    expect(lengthStats([10, 9, 8, 7, 6, 5, 4, 3, 2, 1])).toEqual({ min: 1, median: 5.5, mean: 5.5, max: 10, p90: 9 });
    expect(lengthStats([5])).toEqual({ min: 5, median: 5, mean: 5, max: 5, p90: 5 });
    expect(lengthStats([])).toEqual({ min: 0, median: 0, mean: 0, max: 0, p90: 0 });
  });
});

describe('datasetStats', () => {
  it('counts users, items, interactions, text coverage, split sizes and the report', () => {
    const s = datasetStats(preprocess(ds(ITEMS, ROWS)));
    expect(s.users).toBe(2);
    expect(s.items).toBe(4);
    expect(s.interactions).toBe(7); // one duplicate (u2, a, 2) removed
    expect(s.itemsWithInteractions).toBe(3);
    expect(s.sequenceLength).toEqual({ min: 3, median: 3.5, mean: 3.5, max: 4, p90: 4 });
    expect(s.textCoverage).toEqual({ title: 0.5, categories: 0.25, brand: 0.25, description: 0.25 });
    // u1: 4 items -> 1 train; u2: 3 items -> 0 train.
    expect(s.split).toEqual({ train: 1, valid: 2, test: 2, maxHistory: 20, given: false });
    expect(s.report.duplicateRows).toBe(1);
    expect(s.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('datasetFingerprint', () => {
  it('is stable under row order and user first-seen order, and sees every change', () => {
    const base = datasetFingerprint(preprocess(ds(ITEMS, ROWS)));
    expect(datasetFingerprint(preprocess(ds(ITEMS, [...ROWS].reverse())))).toBe(base);
    const changedItem = ROWS.map((r, k) => (k === 2 ? (['u1', 'd', 3] as [string, string, number]) : r));
    expect(datasetFingerprint(preprocess(ds(ITEMS, changedItem)))).not.toBe(base);
    const changedOrder = ROWS.map((r, k) => (k === 0 ? (['u1', 'a', 9] as [string, string, number]) : r));
    expect(datasetFingerprint(preprocess(ds(ITEMS, changedOrder)))).not.toBe(base);
    expect(datasetFingerprint(preprocess(ds([...ITEMS].reverse(), ROWS)))).not.toBe(base);
    // Item text is not part of it.
    const retitled = ITEMS.map((i) => ({ ...i, title: 'same' }));
    expect(datasetFingerprint(preprocess(ds(retitled, ROWS)))).toBe(base);
  });
});
