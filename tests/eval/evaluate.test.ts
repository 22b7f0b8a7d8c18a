import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CodeTable, TokenLayout } from '../../src/core/codes.js';
import { SemidError } from '../../src/core/errors.js';
import type { Code, Example } from '../../src/core/types.js';
import { mostPopular } from '../../src/eval/baselines.js';
import {
  evaluate,
  evaluateRanker,
  headItems,
  popularity,
  resultValues,
  validationScore,
} from '../../src/eval/evaluate.js';
import { meanMetrics, rankOf } from '../../src/eval/metrics.js';
import { FakeModel } from './fakes.js';

/*
 * Catalogue: levelSizes [4, 2], eight items i<a><b> with code [a, b], in code order
 * i00 i01 i10 i11 i20 i21 i30 i31 (positions 0..7). The fake model predicts the item after the last
 * history item in that order (cyclic). Constrained beam search then lists: the predicted item, its
 * sibling (same first value), then every other item in ascending code order (see fakes.ts), e.g.
 * predicted i01 -> i01 i00 i10 i11 i20 i21 i30 i31.
 */
const ORDER = ['i00', 'i01', 'i10', 'i11', 'i20', 'i21', 'i30', 'i31'];
const codeOf = (item: string): Code => [Number(item[1]), Number(item[2])];
const table = new CodeTable(
  [4, 2],
  ORDER.map((i) => [i, codeOf(i)] as const),
);
const layout = new TokenLayout([4, 2]);
const successor = (h: readonly Code[]): Code => {
  const last = h[h.length - 1] ?? [3, 1];
  return codeOf(ORDER[(ORDER.indexOf(`i${last[0]}${last[1]}`) + 1) % ORDER.length] as string);
};

// u1: predicted i01 = target (rank 0); u2: predicted i20 = target (rank 0);
// u3: predicted i01, list i01 i00 i10 -> target i10 at rank 2; u4: target not in the catalogue.
const EXAMPLES: Example[] = [
  { user: 'u1', history: ['i00'], target: 'i01' },
  { user: 'u2', history: ['i10', 'i11'], target: 'i20' },
  { user: 'u3', history: ['i00'], target: 'i10' },
  { user: 'u4', history: ['i30'], target: 'ghost' },
];

const dir = mkdtempSync(join(tmpdir(), 'semid-eval-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('evaluate (generative model, constrained beam search)', () => {
  it('computes hand-checked metrics, counts the unknown target as a miss, and closes sessions', async () => {
    const model = new FakeModel(layout, successor);
    const r = await evaluate({ model, table, examples: EXAMPLES, ks: [3, 1], batchSize: 3 });
    expect(r.examples).toBe(4);
    expect(r.catalogue).toBe(8);
    expect(r.targetsNotInCatalogue).toBe(1);
    expect(r.metrics['recall@1']).toBeCloseTo(0.5, 12); // (1+1+0+0)/4
    expect(r.metrics['recall@3']).toBeCloseTo(0.75, 12); // (1+1+1+0)/4
    expect(r.metrics['ndcg@3']).toBeCloseTo(0.625, 12); // (1+1+1/log2(4)+0)/4
    expect(r.metrics['mrr@3']).toBeCloseTo((1 + 1 + 1 / 3) / 4, 12);
    // top-1 lists: i01 i20 i01 i31 -> 3 distinct; top-3: {i01,i00,i10,i20,i21,i31,i30} -> 7
    expect(r.coverage['coverage@1']).toBeCloseTo(3 / 8, 12);
    expect(r.coverage['coverage@3']).toBeCloseTo(7 / 8, 12);
    // history items in the lists: top-1 none; top-3 i00 (u1, u3) and i30 (u4) -> 3 / 4 users
    expect(r.repeats).toEqual({ targetInHistory: 0, 'history@1': 0, 'history@3': 0.75 });
    expect(r.shortLists).toBe(0);
    expect(r.slices).toBeUndefined();
    expect(r.settings).toEqual({ ks: [1, 3], maxHistory: 20, excludeHistory: false, beamWidth: 20 });
    expect(model.sessionsOpen).toBe(0);
    expect(model.begun.map((b) => b.length)).toEqual([3, 1]); // batches of 3 users
    expect(resultValues(r)['recall@3']).toBeCloseTo(0.75, 12);
    expect(resultValues(r).targetsNotInCatalogue).toBe(1);
  });

  it('excludes history items when asked', async () => {
    const model = new FakeModel(layout, successor);
    const r = await evaluate({
      model,
      table,
      examples: [{ user: 'u3', history: ['i00'], target: 'i10' }],
      ks: [3],
      excludeHistory: true,
      dumpRecs: join(dir, 'ex.jsonl'),
    });
    // list without i00: i01 i10 i11 -> target at rank 1
    const line = JSON.parse(readFileSync(join(dir, 'ex.jsonl'), 'utf8').trim());
    expect(line.items).toEqual(['i01', 'i10', 'i11']);
    expect(r.metrics['ndcg@3']).toBeCloseTo(1 / Math.log2(3), 12);
  });

  it('writes one JSON line per user from which the metrics can be recomputed', async () => {
    const path = join(dir, 'recs.jsonl');
    const r = await evaluate({
      model: new FakeModel(layout, successor),
      table,
      examples: EXAMPLES,
      ks: [1, 3],
      dumpRecs: path,
    });
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(4);
    expect(lines[0]).toEqual({ user: 'u1', history: ['i00'], target: 'i01', items: ['i01', 'i00', 'i10'] });
    expect(lines[3].target).toBe('ghost');
    const again = meanMetrics(
      lines.map((l) => rankOf(l.items, l.target)),
      [1, 3],
    );
    expect(again).toEqual(r.metrics);
  });

  it('reports head/tail slices with popularity from train sequences', async () => {
    // counts: i00 x3, i20 x2, i11 x1 -> head (25% of 8 = 2 items) = {i00, i20}
    const trainSequences = [['i00', 'i20', 'i11'], ['i00', 'i20'], ['i00']];
    const r = await evaluate({
      model: new FakeModel(layout, successor),
      table,
      examples: EXAMPLES,
      ks: [1, 3],
      trainSequences,
      headShare: 0.25,
    });
    expect(r.slices?.head.items).toBe(2);
    expect(r.slices?.tail.items).toBe(6);
    expect(r.slices?.head.examples).toBe(1); // u2 (i20)
    expect(r.slices?.tail.examples).toBe(3); // u1, u3, u4 (unknown target is tail)
    expect(r.slices?.head.metrics['recall@1']).toBe(1);
    expect(r.slices?.tail.metrics['recall@1']).toBeCloseTo(1 / 3, 12);
    expect(resultValues(r)['head.recall@1']).toBe(1);
  });

  it('feeds the model only the most recent history items that have codes, and counts the rest', async () => {
    const model = new FakeModel(layout, successor, 2);
    const r = await evaluate({
      model,
      table,
      examples: [{ user: 'u', history: ['i00', 'i10', 'nope', 'i20'], target: 'i21' }],
      ks: [1],
    });
    expect(model.begun[0]).toEqual([[[2, 0]]]); // last 2 = [nope, i20]; nope has no code
    expect(r.historyItemsNotInCatalogue).toBe(1);
    expect(r.settings.maxHistory).toBe(2);
    expect(r.metrics['recall@1']).toBe(1);
  });

  it('measures the invalid-code rate of unconstrained decoding in a separate pass', async () => {
    // i31 is missing from this catalogue; u4's predicted code [3,1] is therefore invalid.
    const t7 = new CodeTable(
      [4, 2],
      ORDER.filter((i) => i !== 'i31').map((i) => [i, codeOf(i)] as const),
    );
    const model = new FakeModel(layout, successor);
    const r = await evaluate({ model, table: t7, examples: EXAMPLES, ks: [1, 3], invalidRate: true });
    // Unconstrained top 3 per user: the predicted code, then its prefix followed by PAD and by BOS
    // (ties in token order), both no code. So invalid@1 = 1/4 (u4), invalid@3 = (2+2+2+3)/12.
    expect(r.invalid?.rates['invalid@1']).toBeCloseTo(0.25, 12);
    expect(r.invalid?.rates['invalid@3']).toBeCloseTo(0.75, 12);
    expect(r.invalid?.top1).toBeCloseTo(0.25, 12);
    expect(model.sessionsOpen).toBe(0);
    // constrained results never contain the missing item
    expect(r.metrics['recall@1']).toBeCloseTo(0.5, 12);
    expect(r.historyItemsNotInCatalogue).toBe(0);
  });

  it('rejects a model whose vocabulary does not match the index', async () => {
    const model = new FakeModel(new TokenLayout([4, 3]), () => [0, 0]);
    await expect(evaluate({ model, table, examples: EXAMPLES })).rejects.toThrow(SemidError);
    await expect(
      evaluate({ model: new FakeModel(layout, successor), table, examples: EXAMPLES, ks: [0] }),
    ).rejects.toThrow(/ks must be positive/);
  });
});

describe('popularity and head items', () => {
  it('counts train occurrences and takes the top share, ties in catalogue order', () => {
    const counts = popularity([['a', 'b'], ['b'], ['c']]);
    expect(counts.get('b')).toBe(2);
    expect([...headItems(['a', 'b', 'c', 'd'], counts, 0.5)]).toEqual(['b', 'a']);
    expect(() => headItems(['a'], counts, 1)).toThrow(SemidError);
  });
});

describe('evaluateRanker with most-popular', () => {
  // train counts: c 3, b 2, a 1, d 0, e 0 -> every list is c b a d e
  const catalogue = ['a', 'b', 'c', 'd', 'e'];
  const train = [['a', 'b', 'c'], ['b', 'c'], ['c']];
  const examples: Example[] = [
    { user: 'x1', history: ['a'], target: 'c' }, // rank 0
    { user: 'x2', history: ['c', 'b'], target: 'a' }, // rank 2
    { user: 'x3', history: ['a'], target: 'e' }, // rank 4
    { user: 'x4', history: ['a'], target: 'zz' }, // not in catalogue: miss
  ];

  it('ranks by train counts (hand-computed metrics)', async () => {
    const r = await evaluateRanker({ ranker: mostPopular(catalogue, train), examples, ks: [1, 3, 5] });
    expect(r.metrics['recall@1']).toBeCloseTo(0.25, 12);
    expect(r.metrics['recall@3']).toBeCloseTo(0.5, 12);
    expect(r.metrics['recall@5']).toBeCloseTo(0.75, 12);
    expect(r.metrics['ndcg@3']).toBeCloseTo(1.5 / 4, 12);
    expect(r.metrics['ndcg@5']).toBeCloseTo((1 + 0.5 + 1 / Math.log2(6)) / 4, 12);
    expect(r.targetsNotInCatalogue).toBe(1);
    expect(r.coverage['coverage@1']).toBeCloseTo(1 / 5, 12);
    expect(r.coverage['coverage@5']).toBe(1);
    // lists c b a d e: x2's history c, b at ranks 1-2; everyone else's a at rank 3
    expect(r.repeats['history@1']).toBeCloseTo(1 / 4, 12);
    expect(r.repeats['history@3']).toBeCloseTo(5 / 4, 12);
    expect(r.repeats['history@5']).toBeCloseTo(5 / 4, 12);
    expect(r.repeats.targetInHistory).toBe(0);
    const again = await evaluateRanker({
      ranker: mostPopular(catalogue, train),
      examples: [{ user: 'x5', history: ['b', 'c'], target: 'c' }],
      ks: [1],
    });
    expect(again.repeats).toEqual({ targetInHistory: 1, 'history@1': 1 });
  });

  it('optionally excludes history items', async () => {
    const path = join(dir, 'pop.jsonl');
    const r = await evaluateRanker({
      ranker: mostPopular(catalogue, train),
      examples: [examples[1] as Example],
      ks: [3],
      excludeHistory: true,
      dumpRecs: path,
    });
    expect(JSON.parse(readFileSync(path, 'utf8')).items).toEqual(['a', 'd', 'e']);
    expect(r.metrics['recall@3']).toBe(1);
    expect(r.settings.excludeHistory).toBe(true);
  });

  it('rejects score rows of the wrong length', async () => {
    const bad = {
      items: catalogue,
      score: async (h: readonly (readonly string[])[]) => h.map(() => new Float32Array(2)),
    };
    await expect(evaluateRanker({ ranker: bad, examples })).rejects.toThrow(SemidError);
  });
});

describe('validationScore', () => {
  it('returns the chosen metric of evaluate, and names the valid ones when it is missing', async () => {
    const hook = validationScore({ table, examples: EXAMPLES, ks: [3] }, 'ndcg@3');
    expect(await hook(new FakeModel(layout, successor))).toBeCloseTo(0.625, 12);
    await expect(
      validationScore({ table, examples: EXAMPLES, ks: [3] })(new FakeModel(layout, successor)),
    ).rejects.toThrow(/recall@3/);
  });
});
