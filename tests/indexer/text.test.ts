import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fitTfidf, TextVectorizer, tfidfMatrix } from '../../indexer/features/text.js';
import { decodeEntities, words } from '../../indexer/features/tokenize.js';
import { csrFromRows, randomizedSvd, symmetricEigen } from '../../indexer/shared/linalg.js';
import { createRng } from '../../src/core/rng.js';
import { tinySplit } from './fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'semid-text-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rowOf = (X: ReturnType<typeof tfidfMatrix>, i: number) => {
  const out: Record<number, number> = {};
  for (let p = X.indptr[i]!; p < X.indptr[i + 1]!; p++) out[X.indices[p]!] = X.values[p]!;
  return out;
};

describe('text normalisation', () => {
  it('decodes HTML entities, also double-escaped ones', () => {
    expect(decodeEntities('Salt &amp; Pepper &quot;Matte&quot; &#x2019;n&#39; &amp;amp; &bogus;')).toBe(
      'Salt & Pepper "Matte" ’n\' & &bogus;',
    );
  });
  it('splits into lower-case words without stop words', () => {
    expect(words('OPI Nail Lacquer, Simmer and Shimmer, 0.5-Fluid Ounce')).toEqual([
      'opi',
      'nail',
      'lacquer',
      'simmer',
      'shimmer',
      '0',
      '5',
      'fluid',
      'ounce',
    ]);
  });
});

describe('TF-IDF (hand-computed)', () => {
  const docs = ['apple banana', 'apple cherry', 'apple banana banana'];
  it('has smooth idf ln((1+n)/(1+df)) + 1 and L2-normalised rows', () => {
    const m = fitTfidf(docs, { minDf: 1, maxFeatures: 100, sublinearTf: false });
    expect(m.vocab).toEqual(['apple', 'banana', 'cherry']);
    expect(m.idf[0]).toBeCloseTo(1, 6);
    expect(m.idf[1]).toBeCloseTo(1.2876821, 6);
    expect(m.idf[2]).toBeCloseTo(1.6931472, 6);
    const X = tfidfMatrix(m, docs);
    expect(rowOf(X, 0)[0]).toBeCloseTo(0.6133555, 6);
    expect(rowOf(X, 0)[1]).toBeCloseTo(0.7898069, 6);
    expect(rowOf(X, 1)[2]).toBeCloseTo(0.861037, 6);
    expect(rowOf(X, 2)[0]).toBeCloseTo(0.361965, 6);
    expect(rowOf(X, 2)[1]).toBeCloseTo(0.9321917, 6);
  });
  it('uses 1 + ln(tf) with sublinearTf', () => {
    const m = fitTfidf(docs, { minDf: 1, maxFeatures: 100, sublinearTf: true });
    const X = tfidfMatrix(m, docs);
    expect(rowOf(X, 2)[0]).toBeCloseTo(0.4169047, 6);
    expect(rowOf(X, 2)[1]).toBeCloseTo(0.9089502, 6);
  });
  it('drops words below minDf and keeps the maxFeatures most frequent', () => {
    expect(fitTfidf(docs, { minDf: 2, maxFeatures: 100, sublinearTf: false }).vocab).toEqual(['apple', 'banana']);
    expect(fitTfidf(docs, { minDf: 1, maxFeatures: 1, sublinearTf: false }).vocab).toEqual(['apple']);
  });
});

describe('truncated SVD', () => {
  it('recovers singular values and vectors of a diagonal matrix', () => {
    const X = csrFromRows([new Map([[0, 3]]), new Map([[1, 2]]), new Map([[2, 1]]), new Map()], 3);
    const r = randomizedSvd(X, 2, createRng(1));
    expect(r.rank).toBe(2);
    expect(r.s[0]).toBeCloseTo(3, 8);
    expect(r.s[1]).toBeCloseTo(2, 8);
    // V [3, 2]: columns e0 and e1.
    expect(Array.from(r.V).map((v) => Math.round(v * 1e6) / 1e6 + 0)).toEqual([1, 0, 0, 1, 0, 0]);
  });
  it('recovers [[2,1],[1,2]]: singular values 3 and 1', () => {
    const X = csrFromRows(
      [
        new Map([
          [0, 2],
          [1, 1],
        ]),
        new Map([
          [0, 1],
          [1, 2],
        ]),
      ],
      2,
    );
    const r = randomizedSvd(X, 2, createRng(3));
    expect(r.s[0]).toBeCloseTo(3, 8);
    expect(r.s[1]).toBeCloseTo(1, 8);
    const h = Math.SQRT1_2;
    expect(r.V[0]).toBeCloseTo(h, 8);
    expect(r.V[2]).toBeCloseTo(h, 8);
    expect(Math.abs(r.V[1]!)).toBeCloseTo(h, 8);
    expect(r.V[1]! * r.V[3]!).toBeCloseTo(-0.5, 8);
  });
  it('Jacobi eigen-decomposition of a symmetric 3x3', () => {
    // eigenvalues of [[2,0,0],[0,3,4],[0,4,9]] are 11, 2, 1
    const { values } = symmetricEigen(Float64Array.from([2, 0, 0, 0, 3, 4, 0, 4, 9]), 3);
    expect(Array.from(values).map((v) => Math.round(v * 1e9) / 1e9)).toEqual([11, 2, 1]);
  });
});

describe('TextVectorizer (TF-IDF + LSA)', () => {
  const { items } = tinySplit();
  it('gives L2-normalised [items, dim] embeddings that put same-category items closer', () => {
    const v = TextVectorizer.fit(items, { dim: 8 }, createRng(1));
    const e = v.embed(items);
    expect(e).toBeInstanceOf(Float32Array);
    expect(e.length).toBe(items.length * 8);
    for (let i = 0; i < items.length; i++) {
      let s = 0;
      for (let j = 0; j < 8; j++) s += e[i * 8 + j]! ** 2;
      expect(s).toBeCloseTo(1, 5);
    }
    const cos = (a: number, b: number) => {
      let s = 0;
      for (let j = 0; j < 8; j++) s += e[a * 8 + j]! * e[b * 8 + j]!;
      return s;
    };
    let same = 0;
    let other = 0;
    for (let a = 0; a < 15; a++) {
      same += cos(a, (a + 1) % 15);
      other += cos(a, 15 + ((a + 1) % 15));
    }
    expect(same / 15).toBeGreaterThan(other / 15 + 0.3);
  });
  it('is seed-deterministic and embeds new items identically after save/load', async () => {
    const a = TextVectorizer.fit(items, { dim: 8 }, createRng(4));
    const b = TextVectorizer.fit(items, { dim: 8 }, createRng(4));
    expect(Array.from(a.embed(items))).toEqual(Array.from(b.embed(items)));
    await a.save(join(dir, 'vec'));
    const c = await TextVectorizer.load(join(dir, 'vec'));
    const fresh = [{ id: 'new', title: 'nail polish lacquer', categories: ['Beauty', 'Makeup'] }];
    expect(Array.from(c.embed(fresh))).toEqual(Array.from(a.embed(fresh)));
    expect(c.embed([{ id: 'none', title: 'zzzz qqqq' }]).every((x) => x === 0)).toBe(true);
  });
  it('fails clearly when there is no text', () => {
    expect(() => TextVectorizer.fit([{ id: 'a' }, { id: 'b' }], {}, createRng(1))).toThrow(/no word/);
  });
});
