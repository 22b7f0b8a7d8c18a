import { describe, expect, it } from 'vitest';
import { getScheme } from '../../indexer/registry.js';
import { finalizeCodes } from '../../indexer/shared/collisions.js';
import { levelDiagnostics, prefixCoherence } from '../../indexer/shared/diagnostics.js';
import { resolveConfig } from '../../src/core/config.js';
import type { Item } from '../../src/core/types.js';

const items = (n: number): Item[] => Array.from({ length: n }, (_, i) => ({ id: `i${i}` }));
const codesOf = (r: ReturnType<typeof finalizeCodes>, n: number) =>
  Array.from({ length: n }, (_, i) => [...(r.table.encode(`i${i}`) ?? [])]);

describe('finalizeCodes', () => {
  const raw = [
    [0, 1],
    [0, 1],
    [1, 0],
    [0, 1],
  ];

  it('dedup-level numbers the items of a shared code in catalogue order', () => {
    const r = finalizeCodes(raw, [2, 2], 'dedup-level', { items: items(4) });
    expect(codesOf(r, 4)).toEqual([
      [0, 1, 0],
      [0, 1, 1],
      [1, 0, 0],
      [0, 1, 2],
    ]);
    expect(r.table.levelSizes).toEqual([2, 2, 3]);
    expect(r.dedupLevel).toBe(true);
    expect(r.diagnostics.collisionRateBefore).toBe(0.75);
    expect(r.diagnostics.maxItemsPerCode).toBe(3);
    expect(r.diagnostics.dedupShare).toBe(0.5);
    expect(r.diagnostics.collisionsAfter).toBe(0);
  });

  it('appends no level when codes are unique, unless asked to, and adds headroom', () => {
    const unique = [[0], [1], [2]];
    expect(finalizeCodes(unique, [3], 'dedup-level', { items: items(3) }).table.levelSizes).toEqual([3]);
    const r = finalizeCodes(unique, [3], 'dedup-level', { items: items(3), dedup: 'always', dedupHeadroom: 2 });
    expect(r.table.levelSizes).toEqual([3, 3]);
    expect(r.diagnostics.dedupShare).toBe(0);
  });

  it('report yields the dedup-level bijection and lists every collision group', () => {
    const r = finalizeCodes(raw, [2, 2], 'report', { items: items(4) });
    expect(codesOf(r, 4)).toEqual(codesOf(finalizeCodes(raw, [2, 2], 'dedup-level', { items: items(4) }), 4));
    expect(r.diagnostics.collisionGroups).toEqual([{ code: [0, 1], items: ['i0', 'i1', 'i3'] }]);
  });

  it('sinkhorn without distances moves colliding items to free last-level values in ascending order', () => {
    const r = finalizeCodes(raw, [2, 4], 'sinkhorn', { items: items(4) });
    expect(codesOf(r, 4)).toEqual([
      [0, 1],
      [0, 0],
      [1, 0],
      [0, 2],
    ]);
    expect(r.dedupLevel).toBe(false);
    expect(r.diagnostics.reassignedShare).toBe(0.5);
    expect(r.diagnostics.sinkhornUnresolved).toBe(0);
  });

  it('sinkhorn with distances keeps the nearest item and moves the other to its nearest free value', () => {
    // two items share [0, 0]; item 1 is nearer to value 0 (0.2 < 0.5), item 0 prefers value 1 among the free ones.
    const dist = Float32Array.from([0.5, 0.1, 0.9, 0.2, 0.8, 0.3]);
    const r = finalizeCodes(
      [
        [0, 0],
        [0, 0],
      ],
      [1, 3],
      'sinkhorn',
      { items: items(2), lastLevelDistances: dist },
    );
    expect(codesOf(r, 2)).toEqual([
      [0, 1],
      [0, 0],
    ]);
  });

  it('sinkhorn falls back to a dedup level when a prefix has more items than values', () => {
    const r = finalizeCodes(
      [
        [0, 0],
        [0, 0],
        [0, 0],
      ],
      [1, 2],
      'sinkhorn',
      { items: items(3) },
    );
    expect(codesOf(r, 3)).toEqual([
      [0, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect(r.diagnostics.sinkhornUnresolved).toBe(2);
    expect(r.diagnostics.collisionsAfter).toBe(0);
  });

  it('rejects malformed input', () => {
    expect(() => finalizeCodes([[0]], [2], 'dedup-level', { items: items(2) })).toThrow(/2 items/);
    expect(() => finalizeCodes([[5], [0]], [2], 'dedup-level', { items: items(2) })).toThrow(/outside/);
    expect(() =>
      finalizeCodes([[0], [0]], [2], 'sinkhorn', { items: items(2), lastLevelDistances: new Float32Array(3) }),
    ).toThrow(/lastLevelDistances/);
  });
});

describe('diagnostics (hand-computed)', () => {
  it('utilization and perplexity per level', () => {
    const d = levelDiagnostics(
      [
        [0, 0],
        [0, 0],
        [1, 0],
        [1, 1],
      ],
      [4, 2],
    );
    expect(d[0]).toEqual({ size: 4, used: 2, utilization: 0.5, perplexity: 2 });
    expect(d[1]!.used).toBe(2);
    expect(d[1]!.perplexity).toBeCloseTo(1.7547654, 6);
  });

  it('prefix coherence counts same-top-category pairs within first-level codes', () => {
    const cat = (c: string): Item => ({ id: c, categories: ['Root', c] });
    const r = prefixCoherence([[0], [0], [0], [1], [1]], [cat('A'), cat('A'), cat('B'), cat('A'), cat('A')]);
    expect(r?.coherence).toBeCloseTo(0.5, 12);
    expect(r?.baseline).toBeCloseTo(0.6, 12);
    expect(prefixCoherence([[0], [1]], [{ id: 'x' }, { id: 'y' }])).toBeUndefined();
  });
});

describe('config resolution', () => {
  it('reports every problem at once', () => {
    try {
      getScheme('random').resolve({ levels: 0, size: 'x', bogus: 1, collisions: 'nope' } as never);
      expect.unreachable();
    } catch (e) {
      const err = e as { code: string; details: { problems: string[] }; message: string };
      expect(err.code).toBe('SEMID_ERR_BAD_CONFIG');
      expect(err.details.problems).toHaveLength(4);
      expect(err.message).toMatch(/unknown field "bogus"/);
      expect(err.message).toMatch(/levels must be >= 1/);
      expect(err.message).toMatch(/collisions must be one of dedup-level, sinkhorn, report/);
    }
  });
  it('fills documented defaults and runs cross-field checks', () => {
    expect(getScheme('random').resolve(undefined)).toEqual({ levels: 2, size: 256, collisions: 'dedup-level' });
    expect(() =>
      resolveConfig(
        'x',
        { a: { kind: 'int', default: 1, doc: '' }, b: { kind: 'int', default: 2, doc: '' } },
        { a: 3 },
        { rules: [{ check: (c: { a: number; b: number }) => (c.a > c.b ? ['a must not exceed b'] : []) }] },
      ),
    ).toThrow(/a must not exceed b/);
  });
  it('getScheme names the valid schemes', () => {
    expect(() => getScheme('nope')).toThrow(/valid schemes: random, sequential/);
    expect(() => getScheme('toString')).toThrow(/unknown indexing scheme/);
  });
});
