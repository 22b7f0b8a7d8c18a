import { describe, expect, it } from 'vitest';
import { CodeTable } from '../../src/core/codes.js';
import { SemidError } from '../../src/core/errors.js';
import { createRng } from '../../src/core/rng.js';
import { CodeTrie } from '../../src/core/trie.js';
import type { Code } from '../../src/core/types.js';

const ENTRIES: [string, Code][] = [
  ['a', [0, 1, 0]],
  ['b', [0, 1, 1]],
  ['c', [0, 2, 0]],
  ['d', [2, 0, 0]],
];

function codeError(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof SemidError ? e.code : 'not a SemidError';
  }
  return undefined;
}

const cmp = (a: Code, b: Code) => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return 0;
};

describe('CodeTrie', () => {
  it('answers next / item / count on a small catalogue, with dead prefixes empty', () => {
    const t = new CodeTrie([3, 3, 2], ENTRIES);
    expect(t.size).toBe(4);
    expect(t.levels).toBe(3);
    expect(t.next([])).toEqual([0, 2]);
    expect(t.next([0])).toEqual([1, 2]);
    expect(t.next([0, 1])).toEqual([0, 1]);
    expect(t.next([1])).toEqual([]); // dead prefix
    expect(t.next([0, 1, 0])).toEqual([]); // full code
    expect(t.next([0, 1, 0, 0])).toEqual([]); // too long
    expect(t.item([0, 1, 1])).toBe('b');
    expect(t.item([0, 1])).toBeUndefined();
    expect(t.item([1, 0, 0])).toBeUndefined();
    expect(t.count([])).toBe(4);
    expect(t.count([0])).toBe(3);
    expect(t.count([0, 1])).toBe(2);
    expect(t.count([1])).toBe(0);
    expect(t.codeOf('c')).toEqual([0, 2, 0]);
    expect(t.has('zz')).toBe(false);
  });

  it('builds from a CodeTable', () => {
    const table = new CodeTable([3, 3, 2], ENTRIES);
    const t = CodeTrie.fromTable(table);
    for (const [item, code] of ENTRIES) expect(t.item(code)).toBe(item);
    expect(t.size).toBe(table.size);
  });

  it('rejects bad codes and collisions with coded errors', () => {
    const t = new CodeTrie([3, 3, 2], ENTRIES);
    expect(codeError(() => t.add('x', [0, 1]))).toBe('SEMID_ERR_BAD_INPUT');
    expect(codeError(() => t.add('x', [0, 3, 0]))).toBe('SEMID_ERR_BAD_INPUT');
    expect(codeError(() => t.add('x', [0, 1.5, 0]))).toBe('SEMID_ERR_BAD_INPUT');
    expect(codeError(() => t.add('x', [0, 1, 0]))).toBe('SEMID_ERR_COLLISION');
    expect(codeError(() => new CodeTrie([], []))).toBe('SEMID_ERR_BAD_INPUT');
    expect(t.size).toBe(4);
  });

  it('adds, moves and removes items; emptied prefixes die', () => {
    const t = new CodeTrie([3, 3, 2], ENTRIES);
    const before = t.next([]);
    t.add('e', [1, 0, 1]);
    expect(t.next([])).toEqual([0, 1, 2]);
    expect(before).toEqual([0, 2]); // arrays handed out earlier are snapshots
    expect(t.count([1])).toBe(1);
    t.add('e', [1, 1, 1]); // move
    expect(t.item([1, 0, 1])).toBeUndefined();
    expect(t.item([1, 1, 1])).toBe('e');
    expect(t.size).toBe(5);
    expect(t.remove('d')).toBe(true);
    expect(t.remove('d')).toBe(false);
    expect(t.next([])).toEqual([0, 1]);
    expect(t.next([2])).toEqual([]);
    expect(t.remove('a')).toBe(true);
    expect(t.next([0, 1])).toEqual([1]);
    expect(t.count([0])).toBe(2);
    // a removed code can be taken by another item
    t.add('z', [0, 1, 0]);
    expect(t.item([0, 1, 0])).toBe('z');
  });

  it('paginates itemsUnder in code order with a cursor', () => {
    const t = new CodeTrie([3, 3, 2], ENTRIES);
    const p1 = t.itemsUnder([0], 2);
    expect(p1.items.map((x) => x.item)).toEqual(['a', 'b']);
    expect(p1.next).toEqual([0, 1, 1]);
    const p2 = t.itemsUnder([0], 2, p1.next);
    expect(p2.items.map((x) => x.item)).toEqual(['c']);
    expect(p2.next).toBeUndefined();
    expect(t.itemsUnder([], 10).items.map((x) => x.item)).toEqual(['a', 'b', 'c', 'd']);
    expect(t.itemsUnder([1], 10).items).toEqual([]);
    // a cursor before the prefix's subtree starts from its beginning; after it, nothing is left
    expect(t.itemsUnder([2], 10, [0, 2, 0]).items.map((x) => x.item)).toEqual(['d']);
    expect(t.itemsUnder([0], 10, [2, 0, 0]).items).toEqual([]);
    // an exact page boundary: the last page has no next
    const full = t.itemsUnder([], 4);
    expect(full.items).toHaveLength(4);
    expect(full.next).toBeUndefined();
    expect(codeError(() => t.itemsUnder([], 0))).toBe('SEMID_ERR_BAD_INPUT');
    expect(codeError(() => t.itemsUnder([], 2, [0]))).toBe('SEMID_ERR_BAD_INPUT');
  });

  it('matches a brute-force catalogue under random adds and removes', () => {
    const rng = createRng(11);
    const sizes = [4, 3, 3];
    const t = new CodeTrie(sizes);
    const model = new Map<string, Code>();
    for (let step = 0; step < 400; step++) {
      const item = `i${rng.int(30)}`;
      if (rng.next() < 0.35) {
        expect(t.remove(item)).toBe(model.delete(item));
      } else {
        const code = sizes.map((s) => rng.int(s));
        const holder = [...model].find(([, c]) => cmp(c, code) === 0)?.[0];
        if (holder !== undefined && holder !== item) {
          expect(codeError(() => t.add(item, code))).toBe('SEMID_ERR_COLLISION');
        } else {
          t.add(item, code);
          model.set(item, code);
        }
      }
      expect(t.size).toBe(model.size);
    }
    const all = [...model].sort((a, b) => cmp(a[1], b[1]));
    // every prefix: next() and count() agree with the brute force
    const prefixes: Code[] = [[]];
    for (let a = 0; a < 4; a++) {
      prefixes.push([a]);
      for (let b = 0; b < 3; b++) prefixes.push([a, b]);
    }
    for (const p of prefixes) {
      const under = all.filter(([, c]) => p.every((v, i) => c[i] === v));
      expect(t.count(p)).toBe(under.length);
      expect(t.next(p)).toEqual([...new Set(under.map(([, c]) => c[p.length] as number))].sort((x, y) => x - y));
      // paging through with limit 3 yields the same list
      const paged: string[] = [];
      let cursor: Code | undefined;
      for (let guard = 0; guard < 100; guard++) {
        const page = t.itemsUnder(p, 3, cursor);
        paged.push(...page.items.map((x) => x.item));
        cursor = page.next;
        if (cursor === undefined) break;
      }
      expect(paged).toEqual(under.map(([i]) => i));
    }
    for (const [item, code] of all) expect(t.item(code)).toBe(item);
  });
});
