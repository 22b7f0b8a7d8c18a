import { describe, expect, it } from 'vitest';
import { freeCompletion } from '../../server/bundle.js';
import { Catalogue } from '../../server/catalogue.js';
import { ModelDecoder } from '../../server/decoder.js';
import { CodeEmbedder, VectorIndex } from '../../server/vectors.js';
import { CodeTable } from '../../src/core/codes.js';
import { CATALOGUE, exactLogProb, FakeModel, LEVELS } from './helpers.js';

const table = new CodeTable(LEVELS, Object.entries(CATALOGUE));
const cat = new Catalogue(table);
const codeOf = (i: string) => CATALOGUE[i] as number[];

describe('ModelDecoder (fake logits table)', () => {
  it('returns the hand-computed top items and exact log-probabilities', async () => {
    const dec = new ModelDecoder(new FakeModel(), LEVELS);
    // History ending in c ([1,0,0]): level-0 value 1 gets the bonus. Hand-computed (see helpers.ts):
    // full-vocabulary log-softmax per level, summed.
    const [top] = await dec.recommend([[codeOf('c')]], cat, { k: 4, beamWidth: 10 });
    expect(top?.map((s) => s.item)).toEqual(['c', 'd', 'a', 'f']);
    expect(top?.[0]?.score).toBeCloseTo(-2.722178, 5);
    expect(top?.[1]?.score).toBeCloseTo(-2.922178, 5);
    expect(top?.[2]?.score).toBeCloseTo(-4.722178, 5);
    // After e: g, a, f, b, then c and e tie at -5.358456 (float rounding decides), then d.
    const [afterE] = await dec.recommend([[codeOf('e')]], cat, { k: 7, beamWidth: 10 });
    const order = afterE?.map((s) => s.item) ?? [];
    expect(order.slice(0, 4)).toEqual(['g', 'a', 'f', 'b']);
    expect(new Set(order.slice(4, 6))).toEqual(new Set(['c', 'e']));
    expect(order[6]).toBe('d');
  });

  it('matches brute-force enumeration for every history and batches users independently', async () => {
    const dec = new ModelDecoder(new FakeModel(), LEVELS);
    const histories = Object.keys(CATALOGUE).map((i) => [codeOf('a'), codeOf(i)]);
    const out = await dec.recommend(histories, cat, { k: 7, beamWidth: 12 });
    histories.forEach((h, u) => {
      const brute = Object.entries(CATALOGUE)
        .map(([item, code]) => ({ item, score: exactLogProb(h, code) }))
        .sort((x, y) => y.score - x.score);
      const got = out[u] ?? [];
      expect(got.map((s) => s.score)).toEqual(brute.map((b) => expect.closeTo(b.score, 5)));
      for (const s of got) expect(cat.itemOf(s.code)).toBeDefined();
    });
  });

  it('excludes given items without losing one of the k places', async () => {
    const dec = new ModelDecoder(new FakeModel(), LEVELS);
    const [top] = await dec.recommend([[codeOf('c')]], cat, {
      k: 3,
      beamWidth: 3,
      exclude: [new Set(['c', 'a'])],
    });
    expect(top?.map((s) => s.item)).toEqual(['d', 'f', 'b']);
  });

  it('scores candidates exactly, equal to the recommendation scores', async () => {
    const dec = new ModelDecoder(new FakeModel(), LEVELS);
    const h = [codeOf('b'), codeOf('g')];
    const codes = Object.values(CATALOGUE);
    const s = await dec.score(h, codes);
    codes.forEach((c, i) => {
      expect(s[i]).toBeCloseTo(exactLogProb(h, c), 6);
    });
    expect(await dec.score(h, [])).toEqual([]);
  });

  it('generates well-formed codes freely, including codes no item holds', async () => {
    const dec = new ModelDecoder(new FakeModel(), LEVELS);
    const [gen] = await dec.generate([[codeOf('c')]], cat, { k: 5, beamWidth: 5 });
    expect(gen).toHaveLength(5);
    // Free decoding after c: best is [1,0,0] (c), then [1,0,1] (d), then [1,1,0] which names no item.
    expect(gen?.slice(0, 3).map((g) => g.code)).toEqual([
      [1, 0, 0],
      [1, 0, 1],
      [1, 1, 0],
    ]);
    expect(cat.itemOf(gen?.[2]?.code ?? [])).toBeUndefined();
    expect(gen?.[0]?.score).toBeCloseTo(-2.722178, 5);
  });

  it('rejects a model whose vocabulary is too small for the index', () => {
    expect(() => new ModelDecoder(new FakeModel(), [3, 4, 200])).toThrow(/vocabulary/);
    expect(() => new ModelDecoder(new FakeModel(), [3, 4, 1])).toThrow(/vocabulary/);
  });

  it('closes every session it opens', async () => {
    const model = new FakeModel();
    const dec = new ModelDecoder(model, LEVELS);
    await dec.recommend([[codeOf('a')], [codeOf('e')]], cat, { k: 2, beamWidth: 2 });
    await dec.generate([[codeOf('a')]], cat, { k: 2, beamWidth: 2 });
    await dec.score([codeOf('a')], [codeOf('b')]);
    expect(model.sessions).toBe(3);
    expect(model.openSessions).toBe(0);
  });
});

describe('Catalogue', () => {
  it('lists valid continuations and counts', () => {
    expect(cat.next([])).toEqual([0, 1, 2]);
    expect(cat.next([0])).toEqual([0, 1]);
    expect(cat.next([0, 0])).toEqual([0, 1]);
    expect(cat.next([1, 3])).toEqual([]);
    expect(cat.countUnder([0])).toBe(3);
    expect(cat.countUnder([])).toBe(7);
  });

  it('pages items under a prefix in code order with a cursor', () => {
    const all = cat.itemsUnder([], 100).items.map((x) => x.item);
    expect(all).toEqual(['a', 'f', 'b', 'c', 'd', 'g', 'e']);
    const p1 = cat.itemsUnder([], 3);
    const p2 = cat.itemsUnder([], 3, p1.next);
    const p3 = cat.itemsUnder([], 3, p2.next);
    expect(p3.next).toBeUndefined();
    expect([...p1.items, ...p2.items, ...p3.items].map((x) => x.item)).toEqual(all);
    expect(cat.itemsUnder([0], 10).items.map((x) => x.item)).toEqual(['a', 'f', 'b']);
    expect(cat.itemsUnder([0], 10, [0, 0, 1]).items.map((x) => x.item)).toEqual(['b']);
  });

  it('retires items: no longer decodable, code still readable and reserved', () => {
    const c2 = cat.withoutItem('d');
    expect(c2.next([1, 0])).toEqual([0]);
    expect(c2.lookup('d')).toEqual({ code: [1, 0, 1], live: false });
    expect(c2.taken([1, 0, 1])).toBe(true);
    expect(c2.itemOf([1, 0, 1])).toBeUndefined();
    expect(cat.next([1, 0])).toEqual([0, 1]);
    expect(c2.withItem('d', [1, 1, 0]).lookup('d')).toEqual({ code: [1, 1, 0], live: true });
  });

  it('finds the first free completion of a prefix', () => {
    expect(freeCompletion(cat, [0])).toEqual([0, 1, 1]);
    expect(() => freeCompletion(cat, [0, 0])).toThrow(/every code under prefix/);
    expect(freeCompletion(cat, [1])).toEqual([1, 1, 0]);
    expect(freeCompletion(cat, [2, 3])).toEqual([2, 3, 1]);
    const full = new Catalogue(
      new CodeTable(
        [1, 2],
        [
          ['x', [0, 0]],
          ['y', [0, 1]],
        ],
      ),
    );
    expect(() => freeCompletion(full, [0])).toThrow(/every code under prefix/);
  });
});

describe('vectors', () => {
  it('code embeddings rank codes by shared levels, coarse first', () => {
    const e = new CodeEmbedder(LEVELS);
    const cos = (a: number[], b: number[]) => {
      const x = e.embed(a);
      const y = e.embed(b);
      let d = 0;
      let nx = 0;
      let ny = 0;
      for (let i = 0; i < x.length; i++) {
        d += (x[i] as number) * (y[i] as number);
        nx += (x[i] as number) ** 2;
        ny += (y[i] as number) ** 2;
      }
      return d / Math.sqrt(nx * ny);
    };
    // weights^2 = 4, 2, 1 over 7: same level 0 only = 4/7; levels 1 and 2 only = 3/7.
    expect(cos([0, 1, 1], [0, 0, 0])).toBeCloseTo(4 / 7, 6);
    expect(cos([1, 0, 0], [0, 0, 0])).toBeCloseTo(3 / 7, 6);
    expect(cos([1, 2, 0], [1, 2, 0])).toBeCloseTo(1, 6);
  });

  it('HNSW index finds neighbours and forgets removed items', () => {
    const idx = new VectorIndex(3, 2);
    idx.add('x', [1, 0, 0]);
    idx.add('y', [0, 1, 0]);
    idx.add('z', [1, 1, 0]);
    expect(idx.search([1, 0.1, 0], 2).map((n) => n.item)).toEqual(['x', 'z']);
    idx.remove('x');
    expect(idx.search([1, 0.1, 0], 5).map((n) => n.item)).toEqual(['z', 'y']);
    expect(idx.search([1, 0.1, 0], 5, (i) => i === 'z').map((n) => n.item)).toEqual(['y']);
    expect(() => idx.add('w', [0, 0])).toThrow(/expected 3/);
    expect(() => idx.add('w', [0, 0, 0])).toThrow(/not all zero/);
  });
});
