import { describe, expect, it } from 'vitest';
import { NUM_SPECIAL, TokenLayout } from '../../src/core/codes.js';
import {
  beamSearch,
  beamSearchUnconstrained,
  type LogitsProcessor,
  logSoftmaxInPlace,
  logSumExp,
  type StepContext,
} from '../../src/core/decoding.js';
import { SemidError } from '../../src/core/errors.js';
import type { BeamRow, DecodingSession } from '../../src/core/model.js';
import { createRng } from '../../src/core/rng.js';
import { CodeTrie } from '../../src/core/trie.js';
import type { Code } from '../../src/core/types.js';

/**
 * A fake session: per user, a table from token prefix (joined) to next-token logits. Records every
 * call so tests can check batching. Unknown prefixes throw, so a search that asks for a prefix the
 * test did not foresee fails loudly.
 */
class TableSession implements DecodingSession {
  calls: BeamRow[][] = [];
  disposed = false;
  constructor(
    private readonly tables: Map<string, number[]>[],
    private readonly fallback?: (user: number, prefix: readonly number[]) => number[],
  ) {}
  async next(rows: readonly BeamRow[]): Promise<Float32Array[]> {
    this.calls.push(rows.map((r) => ({ user: r.user, prefix: [...r.prefix] })));
    return rows.map((r) => {
      const row = this.tables[r.user]?.get(r.prefix.join(',')) ?? this.fallback?.(r.user, r.prefix);
      if (row === undefined) throw new Error(`unexpected prefix [${r.prefix}] for user ${r.user}`);
      return Float32Array.from(row);
    });
  }
  dispose(): void {
    this.disposed = true;
  }
}

/*
 * Hand-built case. levelSizes [3, 2] -> vocab 3 specials + 3 + 2 = 8 tokens:
 *   0 PAD, 1 BOS, 2 SEP, 3..5 = level 0 values 0..2, 6..7 = level 1 values 0..1.
 * Items: A = [0,0], B = [0,1], C = [1,0]. Level-0 value 2 is a dead prefix.
 * Logits are log-probabilities that already sum to 1 over the full vocabulary, so the full-vocab
 * log-softmax leaves them unchanged and path scores are hand-computable:
 *   level 0: p(v0) = 0.30, p(v1) = 0.15, p(v2) = 0.35 (greedy, dead), specials 0.05 each, level-1 tokens 0.025 each
 *   after [0]: p(v0) = 0.30, p(v1) = 0.40, other 6 tokens 0.05 each
 *   after [1]: p(v0) = 0.90, p(v1) = 0.05, other 6 tokens 0.05/6 each
 * So P(A) = 0.3*0.3 = 0.09, P(B) = 0.3*0.4 = 0.12, P(C) = 0.15*0.9 = 0.135: the best item C does
 * not start with the best valid first value (0), and the greedy path starts with the dead value 2.
 */
const layout = new TokenLayout([3, 2]);
const trie = new CodeTrie(
  [3, 2],
  [
    ['A', [0, 0]],
    ['B', [0, 1]],
    ['C', [1, 0]],
  ],
);
const ln = Math.log;
const ROOT = [0.05, 0.05, 0.05, 0.3, 0.15, 0.35, 0.025, 0.025].map(ln);
const AFTER0 = [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.3, 0.4].map(ln);
const e = 0.05 / 6;
const AFTER1 = [e, e, e, e, e, e, 0.9, 0.05].map(ln);
const AFTER2 = [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.1, 0.6].map(ln); // only unconstrained search asks
const tok0 = (v: number) => NUM_SPECIAL + v;
const handTable = () =>
  new Map<string, number[]>([
    ['', ROOT],
    [`${tok0(0)}`, AFTER0],
    [`${tok0(1)}`, AFTER1],
    [`${tok0(2)}`, AFTER2],
  ]);

describe('logSoftmaxInPlace', () => {
  it('normalises over the full row (golden values)', () => {
    const row = Float32Array.from([0, Math.log(3)]); // probabilities 1/4, 3/4
    const lse = logSoftmaxInPlace(row);
    expect(lse).toBeCloseTo(Math.log(4), 6);
    expect(row[0]).toBeCloseTo(Math.log(0.25), 6);
    expect(row[1]).toBeCloseTo(Math.log(0.75), 6);
    const masked = Float32Array.from([Number.NEGATIVE_INFINITY, 1000, 1000]);
    logSoftmaxInPlace(masked);
    expect(masked[0]).toBe(Number.NEGATIVE_INFINITY);
    expect(masked[1]).toBeCloseTo(Math.log(0.5), 6);
  });
  it('rejects rows with NaN, +Infinity or no finite value', () => {
    expect(() => logSoftmaxInPlace(Float32Array.from([Number.NaN, 1]))).toThrow(SemidError);
    expect(() => logSoftmaxInPlace(Float32Array.from([Number.NEGATIVE_INFINITY]))).toThrow(SemidError);
    expect(() => logSoftmaxInPlace(Float32Array.from([Number.POSITIVE_INFINITY, 1]))).toThrow(SemidError);
  });
});

describe('logSumExp', () => {
  /** Reference in float64 with Math.exp. */
  const reference = (row: Float32Array) => {
    const m = Math.max(...row);
    return m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
  };
  it('matches golden values and a Math.exp reference to ~1e-15 relative', () => {
    expect(logSumExp(Float32Array.from([2, 2, 2]))).toBeCloseTo(2 + Math.log(3), 14);
    expect(logSumExp(Float32Array.from([0, -1]))).toBeCloseTo(Math.log(1 + Math.exp(-1)), 14);
    expect(logSumExp(Float32Array.from([5]))).toBe(5);
    expect(logSumExp(Float32Array.from([0, 0, 0, 0]))).toBeCloseTo(Math.log(4), 14);
    // -Infinity entries contribute nothing; entries far below the max neither
    expect(logSumExp(Float32Array.from([Number.NEGATIVE_INFINITY, 1, -2000]))).toBe(1);
    const rng = createRng(3);
    for (let t = 0; t < 200; t++) {
      const spread = [0.1, 3, 30, 300][t % 4] as number;
      const row = Float32Array.from({ length: 1 + rng.int(1100) }, () => spread * rng.normal());
      const want = reference(row);
      expect(Math.abs(logSumExp(row) - want)).toBeLessThanOrEqual(4e-15 * Math.max(1, Math.abs(want)));
    }
  });
  it('rejects rows with NaN, +Infinity or no finite value', () => {
    expect(() => logSumExp(Float32Array.from([1, Number.NaN, 1]))).toThrow(SemidError);
    expect(() => logSumExp(Float32Array.from([Number.POSITIVE_INFINITY]))).toThrow(SemidError);
    expect(() => logSumExp(Float32Array.from([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY]))).toThrow(
      SemidError,
    );
    expect(() => logSumExp(new Float32Array(0))).toThrow(SemidError);
  });
});

describe('beamSearch (hand-computed golden case)', () => {
  it('finds the best item although the greedy path is a dead prefix, with true log-prob scores', async () => {
    const s = new TableSession([handTable()]);
    const [recs] = await beamSearch(s, 1, { layout, trie, beamWidth: 3, topK: 3 });
    expect(recs?.map((r) => r.item)).toEqual(['C', 'B', 'A']);
    expect(recs?.[0]?.score).toBeCloseTo(ln(0.135), 5);
    expect(recs?.[1]?.score).toBeCloseTo(ln(0.12), 5);
    expect(recs?.[2]?.score).toBeCloseTo(ln(0.09), 5);
    expect(recs?.[0]?.code).toEqual([1, 0]);
    // one call per level; the dead prefix [2] is never sent to the model
    expect(s.calls).toHaveLength(2);
    expect(s.calls.flat().some((r) => r.prefix[0] === tok0(2))).toBe(false);
  });

  it('beam width 1 is greedy over valid prefixes (B); width 2 finds C', async () => {
    const narrow = await beamSearch(new TableSession([handTable()]), 1, { layout, trie, beamWidth: 1, topK: 1 });
    expect(narrow[0]?.map((r) => r.item)).toEqual(['B']);
    expect(narrow[0]?.[0]?.score).toBeCloseTo(ln(0.12), 5);
    const wide = await beamSearch(new TableSession([handTable()]), 1, { layout, trie, beamWidth: 2, topK: 1 });
    expect(wide[0]?.map((r) => r.item)).toEqual(['C']);
  });

  it('batches users: one session call per level covering every beam of every user', async () => {
    // user 1 prefers A strongly
    const t1 = new Map<string, number[]>([
      ['', [0, 0, 0, 5, 0, 0, 0, 0]],
      [`${tok0(0)}`, [0, 0, 0, 0, 0, 0, 5, 0]],
      [`${tok0(1)}`, [0, 0, 0, 0, 0, 0, 0, 0]],
    ]);
    const s = new TableSession([handTable(), t1]);
    const out = await beamSearch(s, 2, { layout, trie, beamWidth: 2, topK: 2 });
    expect(out[0]?.map((r) => r.item)).toEqual(['C', 'B']);
    expect(out[1]?.[0]?.item).toBe('A');
    expect(s.calls).toHaveLength(2);
    expect(s.calls[0]).toHaveLength(2); // level 0: one row per user
    expect(s.calls[1]).toHaveLength(4); // level 1: 2 beams x 2 users
    expect(new Set(s.calls[1]?.map((r) => r.user))).toEqual(new Set([0, 1]));
  });

  it('excludes history items and still returns k real items', async () => {
    const ex = await beamSearch(new TableSession([handTable()]), 1, {
      layout,
      trie,
      beamWidth: 1,
      topK: 2,
      exclude: [new Set(['C'])],
    });
    expect(ex[0]?.map((r) => r.item)).toEqual(['B', 'A']);
    // excluding every item under prefix [0] makes beam width 1 go to C instead of the empty subtree
    const ex2 = await beamSearch(new TableSession([handTable()]), 1, {
      layout,
      trie,
      beamWidth: 1,
      topK: 1,
      exclude: [new Set(['A', 'B'])],
    });
    expect(ex2[0]?.map((r) => r.item)).toEqual(['C']);
    // excluding everything leaves nothing (fewer than k only when fewer than k allowed items exist)
    const ex3 = await beamSearch(new TableSession([handTable()]), 1, {
      layout,
      trie,
      beamWidth: 3,
      topK: 3,
      exclude: [new Set(['A', 'B', 'C', 'not-in-trie'])],
    });
    expect(ex3[0]).toEqual([]);
  });

  it('returns fewer than k only when the catalogue is smaller than k', async () => {
    const out = await beamSearch(new TableSession([handTable()]), 1, { layout, trie, beamWidth: 20, topK: 10 });
    expect(out[0]?.map((r) => r.item)).toEqual(['C', 'B', 'A']);
  });

  it("adds the session's item scores to finished codes: they can reorder items and the beam", async () => {
    // per user, an extra score per item: user 0 favours A by ln 2 and penalises C by ln 2; user 1 none
    const bonus: Record<string, number>[] = [{ '0,0': ln(2), '0,1': 0, '1,0': -ln(2) }, {}];
    const asked: string[] = [];
    const withScores = () => {
      const s = new TableSession([handTable(), handTable()]) as TableSession & DecodingSession;
      s.itemScores = async (users, codes) => {
        codes.forEach((c, i) => {
          asked.push(`${users[i]}:${c.join(',')}`);
        });
        return Float32Array.from(codes, (c, i) => bonus[users[i] as number]?.[c.join(',')] ?? 0);
      };
      return s;
    };
    const [u0, u1] = await beamSearch(withScores(), 2, { layout, trie, beamWidth: 3, topK: 3 });
    // user 0: A 0.09*2 = 0.18, B 0.12, C 0.135/2 = 0.0675; user 1 unchanged
    expect(u0?.map((r) => r.item)).toEqual(['A', 'B', 'C']);
    expect(u0?.map((r) => r.score)).toEqual([ln(0.18), ln(0.12), ln(0.0675)].map((x) => expect.closeTo(x, 5)));
    expect(u1?.map((r) => r.item)).toEqual(['C', 'B', 'A']);
    // only complete codes the trie holds were scored, each once per user beam that reached it
    expect([...asked].sort()).toEqual(['0:0,0', '0:0,1', '0:1,0', '1:0,0', '1:0,1', '1:1,0']);
    // a beam of 1 keeps level-0 value 0 (0.30 > 0.15), then the item score picks A over B
    const [narrow] = await beamSearch(withScores(), 2, { layout, trie, beamWidth: 1, topK: 1 });
    expect(narrow?.map((r) => r.item)).toEqual(['A']);
    // the full path (extra processors) adds them the same way
    const noop: LogitsProcessor = { process() {} };
    const [full] = await beamSearch(withScores(), 2, { layout, trie, beamWidth: 3, topK: 3, processors: [noop] });
    expect(full?.map((r) => r.item)).toEqual(['A', 'B', 'C']);
    expect(full?.[0]?.score).toBeCloseTo(ln(0.18), 5);
  });

  it('runs extra processors after the constraint on log-prob rows', async () => {
    const seen: number[][] = [];
    const banB: LogitsProcessor = {
      process(rows: Float32Array[], ctx: StepContext) {
        for (let r = 0; r < rows.length; r++) {
          seen.push([...(rows[r] as Float32Array)]);
          if (ctx.level === 1 && ctx.prefixes[r]?.[0] === 0) (rows[r] as Float32Array)[7] = Number.NEGATIVE_INFINITY;
        }
      },
    };
    const out = await beamSearch(new TableSession([handTable()]), 1, {
      layout,
      trie,
      beamWidth: 3,
      topK: 3,
      processors: [banB],
    });
    expect(out[0]?.map((r) => r.item)).toEqual(['C', 'A']);
    // the first row the processor saw was already masked to the valid level-0 values 0 and 1
    expect(seen[0]?.map((v) => Number.isFinite(v))).toEqual([false, false, false, true, true, false, false, false]);
    expect(seen[0]?.[3]).toBeCloseTo(ln(0.3), 5);
  });

  it('rejects mismatched layouts, bad widths and wrong row sizes with coded errors', async () => {
    const code = async (f: () => Promise<unknown>) => {
      try {
        await f();
      } catch (err) {
        return (err as SemidError).code;
      }
      return undefined;
    };
    const s = new TableSession([handTable()]);
    expect(await code(() => beamSearch(s, 1, { layout: new TokenLayout([3, 3]), trie, beamWidth: 2, topK: 1 }))).toBe(
      'SEMID_ERR_BAD_INPUT',
    );
    expect(await code(() => beamSearch(s, 1, { layout, trie, beamWidth: 0, topK: 1 }))).toBe('SEMID_ERR_BAD_INPUT');
    expect(await code(() => beamSearch(s, 1, { layout, trie, beamWidth: 2, topK: 1, exclude: [] }))).toBe(
      'SEMID_ERR_BAD_INPUT',
    );
    const short = new TableSession([new Map([['', [0, 1, 2]]])]);
    expect(await code(() => beamSearch(short, 1, { layout, trie, beamWidth: 2, topK: 1 }))).toBe('SEMID_ERR_INTERNAL');
  });
});

describe('beamSearchUnconstrained', () => {
  it('follows the model into dead prefixes and reports them as invalid codes', async () => {
    const s = new TableSession([handTable()], () => [0, 0, 0, 0, 0, 0, 0, 0]);
    const [gen] = await beamSearchUnconstrained(s, 1, { layout, trie, beamWidth: 1, topK: 1 });
    // greedy: level-0 value 2 (0.35), then level-1 value 1 (0.6): code [2,1] is no item
    expect(gen).toHaveLength(1);
    expect(gen?.[0]?.code).toEqual([2, 1]);
    expect(gen?.[0]?.item).toBeUndefined();
    expect(gen?.[0]?.score).toBeCloseTo(ln(0.35 * 0.6), 5);
    const [wide] = await beamSearchUnconstrained(new TableSession([handTable()], () => new Array(8).fill(0)), 1, {
      layout,
      trie,
      beamWidth: 3,
      topK: 3,
    });
    // top 3 over all token pairs: [2,1] .21, [0,1] .12 (B), [1,0] .135 (C)
    expect(wide?.map((g) => g.item)).toEqual([undefined, 'C', 'B']);
  });

  it('marks sequences with a token of the wrong level as having no code', async () => {
    // the model puts its mass on SEP at level 0
    const t = new Map<string, number[]>([['', [0, 0, 9, 0, 0, 0, 0, 0]]]);
    const s = new TableSession([t], () => [0, 0, 0, 0, 0, 0, 0, 5]);
    const [gen] = await beamSearchUnconstrained(s, 1, { layout, trie, beamWidth: 1, topK: 1 });
    expect(gen?.[0]?.tokens).toEqual([2, 7]);
    expect(gen?.[0]?.code).toBeUndefined();
    expect(gen?.[0]?.item).toBeUndefined();
  });
});

/** Deterministic pseudo-random logits per (user, prefix), from a seeded generator. */
function randomLogits(seed: number, vocab: number) {
  const cache = new Map<string, number[]>();
  return (user: number, prefix: readonly number[]) => {
    const k = `${user}|${prefix.join(',')}`;
    let row = cache.get(k);
    if (row === undefined) {
      let h = seed * 1000003 + user * 7919;
      for (const t of prefix) h = (h * 31 + t + 1) % 2147483647;
      const rng = createRng(h);
      row = Array.from({ length: vocab }, () => 3 * rng.normal());
      cache.set(k, row);
    }
    return row;
  };
}

/** Every item's exact code log-probability: the brute force beam search must match. */
function bruteForce(
  t: CodeTrie,
  lay: TokenLayout,
  logits: (u: number, p: readonly number[]) => number[],
  user: number,
) {
  const out: { item: string; score: number }[] = [];
  for (const [item, code] of t.entries()) {
    let s = 0;
    const tokens = lay.tokens(code);
    for (let l = 0; l < tokens.length; l++) {
      const row = Float32Array.from(logits(user, tokens.slice(0, l)));
      logSoftmaxInPlace(row);
      s += row[tokens[l] as number] as number;
    }
    out.push({ item, score: s });
  }
  return out.sort((a, b) => b.score - a.score);
}

describe('beamSearch against brute-force enumeration', () => {
  it('gives the exact top-k when the beam is as wide as the catalogue (random catalogues)', async () => {
    for (let seed = 1; seed <= 25; seed++) {
      const rng = createRng(seed);
      const sizes = [2 + rng.int(4), 2 + rng.int(3), 1 + rng.int(4)];
      const lay = new TokenLayout(sizes);
      const n = 3 + rng.int(15);
      const t = new CodeTrie(sizes);
      for (let i = 0; t.size < n && i < 500; i++) {
        const code: Code = sizes.map((s) => rng.int(s));
        if (t.item(code) === undefined) t.add(`it${i}`, code);
      }
      const users = 3;
      const logits = randomLogits(seed, lay.vocabSize);
      const k = 1 + rng.int(t.size);
      const exclude = [undefined, new Set([...t.entries()].slice(0, 2).map(([i]) => i)), undefined];
      const session = new TableSession([], logits);
      const got = await beamSearch(session, users, { layout: lay, trie: t, beamWidth: t.size, topK: k, exclude });
      expect(session.calls).toHaveLength(sizes.length);
      for (let u = 0; u < users; u++) {
        const want = bruteForce(t, lay, logits, u)
          .filter((x) => !exclude[u]?.has(x.item))
          .slice(0, k);
        const res = got[u] ?? [];
        expect(res.map((r) => r.item)).toEqual(want.map((w) => w.item));
        for (let i = 0; i < want.length; i++) expect(res[i]?.score).toBeCloseTo(want[i]?.score as number, 4);
        for (const r of res) expect(t.item(r.code)).toBe(r.item);
      }
    }
  });

  it('at any beam width every result is a distinct real item, scored by its true log-prob', async () => {
    for (let seed = 100; seed < 110; seed++) {
      const rng = createRng(seed);
      const sizes = [4, 4, 3];
      const lay = new TokenLayout(sizes);
      const t = new CodeTrie(sizes);
      for (let i = 0; t.size < 20 && i < 500; i++) {
        const code: Code = sizes.map((s) => rng.int(s));
        if (t.item(code) === undefined) t.add(`it${i}`, code);
      }
      const logits = randomLogits(seed, lay.vocabSize);
      const [res] = await beamSearch(new TableSession([], logits), 1, { layout: lay, trie: t, beamWidth: 3, topK: 5 });
      const exact = new Map(bruteForce(t, lay, logits, 0).map((x) => [x.item, x.score]));
      expect(res).toHaveLength(5);
      expect(new Set(res?.map((r) => r.item)).size).toBe(5);
      for (const r of res ?? []) expect(r.score).toBeCloseTo(exact.get(r.item) as number, 4);
      for (let i = 1; i < (res?.length ?? 0); i++)
        expect(res?.[i - 1]?.score).toBeGreaterThanOrEqual(res?.[i]?.score as number);
    }
  });
});

describe('beamSearch scoring paths', () => {
  it('scoring only the trie continuations gives bit-identical results to the full masked log-softmax path', async () => {
    // a processor that changes nothing forces the full path (log-softmax written into every row,
    // trie mask, exclusion), which is the definition the fast path must reproduce exactly
    const noop: LogitsProcessor = { process() {} };
    for (let seed = 300; seed < 320; seed++) {
      const rng = createRng(seed);
      const sizes = [3 + rng.int(5), 2 + rng.int(5), 2 + rng.int(4)];
      const lay = new TokenLayout(sizes);
      const t = new CodeTrie(sizes);
      for (let i = 0; t.size < 25 && i < 500; i++) {
        const code: Code = sizes.map((s) => rng.int(s));
        if (t.item(code) === undefined) t.add(`it${i}`, code);
      }
      const items = [...t.entries()].map(([i]) => i);
      const exclude = [new Set(items.filter(() => rng.next() < 0.3)), undefined, new Set<string>()];
      const logits = randomLogits(seed, lay.vocabSize);
      const opts = { layout: lay, trie: t, beamWidth: 1 + rng.int(6), topK: 1 + rng.int(6), exclude };
      const fast = await beamSearch(new TableSession([], logits), 3, opts);
      const full = await beamSearch(new TableSession([], logits), 3, { ...opts, processors: [noop] });
      expect(fast).toEqual(full);
    }
  });
});

describe('beamSearch guarantees under exclusion and unconstrained exactness', () => {
  it('returns k allowed items with a beam of only k, however many items are excluded', async () => {
    for (let seed = 200; seed < 230; seed++) {
      const rng = createRng(seed);
      const sizes = [3, 3, 3];
      const lay = new TokenLayout(sizes);
      const t = new CodeTrie(sizes);
      for (let i = 0; t.size < 15 && i < 500; i++) {
        const code: Code = sizes.map((s) => rng.int(s));
        if (t.item(code) === undefined) t.add(`it${i}`, code);
      }
      const items = [...t.entries()].map(([i]) => i);
      const excluded = new Set(items.filter(() => rng.next() < 0.6));
      const k = 1 + rng.int(4);
      const logits = randomLogits(seed, lay.vocabSize);
      const [res] = await beamSearch(new TableSession([], logits), 1, {
        layout: lay,
        trie: t,
        beamWidth: k,
        topK: k,
        exclude: [excluded],
      });
      const allowed = items.length - excluded.size;
      expect(res).toHaveLength(Math.min(k, allowed));
      for (const r of res ?? []) expect(excluded.has(r.item)).toBe(false);
    }
  });

  it('unconstrained search with a beam covering every token sequence is exact', async () => {
    const sizes = [2, 2];
    const lay = new TokenLayout(sizes); // vocab 7 -> 49 two-token sequences
    const t = new CodeTrie(sizes, [
      ['p', [0, 1]],
      ['q', [1, 0]],
    ]);
    const logits = randomLogits(9, lay.vocabSize);
    const all: { tokens: number[]; score: number }[] = [];
    const r0 = Float32Array.from(logits(0, []));
    logSoftmaxInPlace(r0);
    for (let a = 0; a < 7; a++) {
      const r1 = Float32Array.from(logits(0, [a]));
      logSoftmaxInPlace(r1);
      for (let b = 0; b < 7; b++) all.push({ tokens: [a, b], score: (r0[a] as number) + (r1[b] as number) });
    }
    all.sort((x, y) => y.score - x.score);
    const [gen] = await beamSearchUnconstrained(new TableSession([], logits), 1, {
      layout: lay,
      trie: t,
      beamWidth: 49,
      topK: 10,
    });
    expect(gen?.map((g) => g.tokens)).toEqual(all.slice(0, 10).map((x) => x.tokens));
    for (const g of gen ?? []) {
      const valid = g.tokens[0] !== undefined && g.tokens[0] >= 3 && g.tokens[0] < 5 && (g.tokens[1] as number) >= 5;
      const code = valid ? [(g.tokens[0] as number) - 3, (g.tokens[1] as number) - 5] : undefined;
      expect(g.code).toEqual(code);
      expect(g.item).toBe(code === undefined ? undefined : t.item(code));
    }
  });
});
