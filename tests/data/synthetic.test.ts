import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SYNTHETIC_SEED,
  generateSynthetic,
  loadSplit,
  parseSyntheticSpec,
  preprocess,
} from '../../src/core/data/index.js';
import type { Dataset } from '../../src/core/types.js';

const SMALL = { items: 400, users: 300 };

function byUser(ds: Dataset): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const it of ds.interactions) m.set(it.user, [...(m.get(it.user) ?? []), it.item]);
  return m;
}

describe('synthetic dataset', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = generateSynthetic({ seed: 1, ...SMALL });
    const b = generateSynthetic({ seed: 1, ...SMALL });
    const c = generateSynthetic({ seed: 2, ...SMALL });
    expect(b).toEqual(a);
    expect(c.items.map((i) => i.title)).not.toEqual(a.items.map((i) => i.title));
    expect(c.interactions).not.toEqual(a.interactions);
  });

  it('has the requested size, unique ids, lengths 5..40, no repeat within a user, rising timestamps', () => {
    const ds = generateSynthetic({ seed: 3, ...SMALL });
    expect(ds.name).toBe('synthetic');
    expect(ds.items).toHaveLength(400);
    expect(new Set(ds.items.map((i) => i.id)).size).toBe(400);
    const seqs = byUser(ds);
    expect(seqs.size).toBe(300);
    const known = new Set(ds.items.map((i) => i.id));
    for (const s of seqs.values()) {
      expect(s.length).toBeGreaterThanOrEqual(5);
      expect(s.length).toBeLessThanOrEqual(40);
      expect(new Set(s).size).toBe(s.length);
      for (const i of s) expect(known.has(i)).toBe(true);
    }
    for (let k = 1; k < ds.interactions.length; k++) {
      const prev = ds.interactions[k - 1];
      const cur = ds.interactions[k];
      if (prev?.user === cur?.user) expect(cur?.timestamp).toBeGreaterThan(prev?.timestamp ?? 0);
    }
    expect(ds.report).toEqual({ ...ds.report, badRows: 0, unknownItemInteractions: 0, warnings: [] });
  });

  it('plants category structure in the text: titles name their category and topic', () => {
    const ds = generateSynthetic({ seed: 4, ...SMALL });
    const cats = new Set<string>();
    for (const it of ds.items) {
      const [topic, cat] = it.categories ?? [];
      expect(it.title).toContain(`${cat} - ${topic}`);
      cats.add(`${topic}/${cat}`);
    }
    expect(cats.size).toBe(40); // 8 topics x 5 categories
    const withDescription = ds.items.filter((i) => i.description !== undefined).length;
    expect(withDescription / ds.items.length).toBeGreaterThan(0.6);
    expect(withDescription).toBeLessThan(ds.items.length);
  });

  it('plants sequential habits: consecutive items share a category far above chance', () => {
    const ds = generateSynthetic({ seed: 5, items: 800, users: 600 });
    const cat = new Map(ds.items.map((i) => [i.id, (i.categories ?? []).join('/')]));
    let same = 0;
    let pairs = 0;
    const next = new Map<string, Map<string, number>>();
    for (const s of byUser(ds).values()) {
      for (let k = 1; k < s.length; k++) {
        pairs++;
        if (cat.get(s[k] as string) === cat.get(s[k - 1] as string)) same++;
        const m = next.get(s[k - 1] as string) ?? new Map<string, number>();
        m.set(s[k] as string, (m.get(s[k] as string) ?? 0) + 1);
        next.set(s[k - 1] as string, m);
      }
    }
    expect(same / pairs).toBeGreaterThan(0.4); // chance is 1/40
    // Item-to-item habit: the most frequent follower of an item takes a large share of its transitions.
    let top = 0;
    let total = 0;
    for (const m of next.values()) {
      const counts = [...m.values()];
      top += Math.max(...counts);
      total += counts.reduce((a, b) => a + b, 0);
    }
    expect(top / total).toBeGreaterThan(0.2);
  });

  it('does not leak structure into id order (ids are assigned in shuffled order)', () => {
    const ds = generateSynthetic({ seed: 6, ...SMALL });
    let sameAdjacent = 0;
    for (let k = 1; k < ds.items.length; k++) {
      if (ds.items[k]?.categories?.[1] === ds.items[k - 1]?.categories?.[1]) sameAdjacent++;
    }
    expect(sameAdjacent / (ds.items.length - 1)).toBeLessThan(0.15);
  });

  it('the default size is about 2k items and 3k users', () => {
    const ds = generateSynthetic({ seed: 7 });
    expect(ds.items).toHaveLength(2000);
    expect(new Set(ds.interactions.map((i) => i.user)).size).toBe(3000);
  });

  it('shrinks the category tree for tiny catalogues, with a warning, and rejects bad options', () => {
    const ds = generateSynthetic({ seed: 1, items: 20, users: 5, maxLength: 10 });
    expect(ds.items).toHaveLength(20);
    expect(ds.report.warnings[0]).toMatch(/too few for 8 topics x 5 categories/);
    expect(() => generateSynthetic({ seed: 1, items: 2.5 })).toThrow(/items must be an integer/);
    expect(() => generateSynthetic({ seed: 1, pFollow: 0.8, pStay: 0.5 })).toThrow(/pFollow \+ pStay/);
  });
});

describe('data specs', () => {
  it('parses synthetic specs', () => {
    expect(parseSyntheticSpec('synthetic')).toEqual({ seed: DEFAULT_SYNTHETIC_SEED });
    expect(parseSyntheticSpec('synthetic:seed=7,items=500,users=800')).toEqual({ seed: 7, items: 500, users: 800 });
    expect(() => parseSyntheticSpec('synthetic:colour=red')).toThrow(/keys seed, items, users/);
    expect(() => parseSyntheticSpec('synthetic:items=many')).toThrow(/items must be a number/);
  });

  it('loadSplit("synthetic:...") generates and splits', async () => {
    const s = await loadSplit('synthetic:seed=9,items=200,users=50', { maxHistory: 5 });
    expect(s.users).toHaveLength(50);
    expect(s.items).toHaveLength(200);
    expect(s.test).toHaveLength(50);
    expect(s.maxHistory).toBe(5);
    expect(s).toEqual(preprocess(generateSynthetic({ seed: 9, items: 200, users: 50 }), { maxHistory: 5 }));
  });
});
