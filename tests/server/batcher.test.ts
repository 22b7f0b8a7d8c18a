import { afterEach, describe, expect, it, vi } from 'vitest';
import { BatchingDecoder, resolveBatchOptions } from '../../server/batcher.js';
import { Catalogue } from '../../server/catalogue.js';
import type { BeamOptions, BundleDecoder, ScoredCode } from '../../server/decoder.js';
import { CodeTable } from '../../src/core/codes.js';
import { SemidError } from '../../src/core/errors.js';
import type { Recommendation } from '../../src/core/model.js';
import { createRng } from '../../src/core/rng.js';
import type { Code, ItemId } from '../../src/core/types.js';
import { CATALOGUE, fakeApp, LEVELS } from './helpers.js';

/**
 * A scripted inner decoder: records every call, can hold calls until released, fails a call whose
 * histories contain the code [99], and answers per history with items that name the history, the
 * rank and the size of that history's exclusion set, so a misrouted answer is visible.
 */
class ScriptedDecoder implements BundleDecoder {
  readonly maxHistory = 5;
  calls: { kind: string; n: number; k: number; beamWidth: number; cat: Catalogue }[] = [];
  hold = false;
  private gates: (() => void)[] = [];
  disposed = false;
  /** Lets every held call go on. */
  release(): void {
    for (const g of this.gates.splice(0)) g();
  }
  private async enter(kind: string, histories: readonly (readonly Code[])[], cat: Catalogue, opts: BeamOptions) {
    this.calls.push({ kind, n: histories.length, k: opts.k, beamWidth: opts.beamWidth, cat });
    if (this.hold) await new Promise<void>((r) => this.gates.push(r));
    if (histories.some((h) => h.some((c) => c[0] === 99))) throw new Error('scripted failure');
  }
  async recommend(
    histories: readonly (readonly Code[])[],
    cat: Catalogue,
    opts: BeamOptions & { exclude?: readonly ReadonlySet<ItemId>[] },
  ): Promise<Recommendation[][]> {
    await this.enter('recommend', histories, cat, opts);
    return histories.map((h, u) =>
      Array.from({ length: opts.k }, (_, i) => ({
        item: `${name(h)}#${i}x${opts.exclude?.[u]?.size ?? 0}`,
        score: -i,
        code: [i],
      })),
    );
  }
  async generate(histories: readonly (readonly Code[])[], cat: Catalogue, opts: BeamOptions): Promise<ScoredCode[][]> {
    await this.enter('generate', histories, cat, opts);
    return histories.map((h) => Array.from({ length: opts.k }, (_, i) => ({ code: [h.length, i], score: -i })));
  }
  async score(): Promise<number[]> {
    return [];
  }
  dispose(): void {
    this.disposed = true;
  }
}

const name = (h: readonly Code[]) => h.map((c) => c.join('.')).join('|');
const catA = new Catalogue(new CodeTable(LEVELS, Object.entries(CATALOGUE)));
const catB = new Catalogue(new CodeTable(LEVELS, Object.entries(CATALOGUE).slice(0, 3)));
/** A one-history call's history: [[n]]. */
const hist = (n: number): Code[][] => [[[n]]];

/** Lets pending setImmediate / promise work run (bounded: a fixed number of event-loop turns). */
async function turns(n = 10): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** Tracks whether a promise has settled. */
function track<T>(p: Promise<T>) {
  const s = { done: false, value: undefined as T | undefined, error: undefined as unknown };
  p.then(
    (v) => {
      s.done = true;
      s.value = v;
    },
    (e) => {
      s.done = true;
      s.error = e;
    },
  );
  return s;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('BatchingDecoder', () => {
  it('starts a call at once when nothing decodes, without waiting for the window', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const inner = new ScriptedDecoder();
    const d = new BatchingDecoder(inner, { maxInFlight: 2, maxWaitMs: 1000 });
    const s = track(d.recommend(hist(1), catA, { k: 2, beamWidth: 2 }));
    await turns();
    // the fake clock never moved: the call did not wait on a timer
    expect(s.done).toBe(true);
    expect(s.value).toEqual([
      [
        { item: '1#0x0', score: -0, code: [0] },
        { item: '1#1x0', score: -1, code: [1] },
      ],
    ]);
    expect(inner.calls).toHaveLength(1);
  });

  it('next to a running batch, waits up to maxWaitMs for more calls, or starts once maxBatch is reached', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const inner = new ScriptedDecoder();
    inner.hold = true;
    const d = new BatchingDecoder(inner, { maxInFlight: 2, maxWaitMs: 50, maxBatch: 3 });
    const a = track(d.recommend(hist(1), catA, { k: 1, beamWidth: 1 }));
    await turns();
    expect(inner.calls.map((c) => c.n)).toEqual([1]);
    const b = track(d.recommend(hist(2), catA, { k: 1, beamWidth: 1 }));
    await turns();
    expect(inner.calls).toHaveLength(1); // b waits for the window
    vi.advanceTimersByTime(49);
    await turns();
    expect(inner.calls).toHaveLength(1);
    vi.advanceTimersByTime(1);
    await turns();
    expect(inner.calls.map((c) => c.n)).toEqual([1, 1]);
    // a full batch does not wait: both slots are busy now, so free one first
    inner.release();
    await turns();
    expect(a.done && b.done).toBe(true);
    inner.hold = true;
    const first = track(d.recommend(hist(3), catA, { k: 1, beamWidth: 1 }));
    await turns();
    const rest = [4, 5, 6].map((n) => track(d.recommend(hist(n), catA, { k: 1, beamWidth: 1 })));
    await turns();
    expect(inner.calls.map((c) => c.n)).toEqual([1, 1, 1, 3]);
    inner.release();
    await turns();
    expect(first.done && rest.every((r) => r.done)).toBe(true);
    expect(rest.map((r) => (r.value as Recommendation[][])[0]?.[0]?.item)).toEqual(['4#0x0', '5#0x0', '6#0x0']);
  });

  it('queues calls while the only slot is busy and flushes them as batches of at most maxBatch', async () => {
    const inner = new ScriptedDecoder();
    inner.hold = true;
    const d = new BatchingDecoder(inner, { maxInFlight: 1, maxBatch: 4 });
    const calls = [track(d.recommend(hist(0), catA, { k: 2, beamWidth: 3 }))];
    await turns();
    for (let n = 1; n < 10; n++) calls.push(track(d.recommend(hist(n), catA, { k: 2, beamWidth: 3 })));
    for (let i = 0; i < 4; i++) {
      await turns();
      inner.release();
    }
    await turns();
    expect(inner.calls.map((c) => c.n)).toEqual([1, 4, 4, 1]);
    calls.forEach((c, n) => {
      expect(c.done).toBe(true);
      expect((c.value as Recommendation[][])[0]?.map((r) => r.item)).toEqual([`${n}#0x0`, `${n}#1x0`]);
    });
    expect(d.stats).toMatchObject({ batches: 4, calls: 10, histories: 10, largest: 4, splitRetries: 0 });
  });

  it('batches only compatible calls; equal widths with different k share a batch and each gets its own k', async () => {
    const inner = new ScriptedDecoder();
    inner.hold = true;
    const d = new BatchingDecoder(inner, { maxInFlight: 1, maxBatch: 32 });
    const blocker = track(d.recommend(hist(0), catA, { k: 1, beamWidth: 1 }));
    await turns();
    const k3 = track(d.recommend(hist(1), catA, { k: 3, beamWidth: 5 }));
    const gen = track(d.generate(hist(2), catA, { k: 5, beamWidth: 5 }));
    const k5 = track(d.recommend([[[3]], [[4], [5]]], catA, { k: 5, beamWidth: 2 })); // width max(5, 2) = 5
    const wide = track(d.recommend(hist(6), catA, { k: 3, beamWidth: 10 }));
    const other = track(d.recommend(hist(7), catB, { k: 3, beamWidth: 5 }));
    for (let i = 0; i < 6; i++) {
      await turns();
      inner.release();
    }
    await turns();
    expect(inner.calls.map(({ kind, n, k, beamWidth, cat }) => [kind, n, k, beamWidth, cat === catA])).toEqual([
      ['recommend', 1, 1, 1, true],
      ['recommend', 3, 5, 5, true], // k3 + k5 (two histories)
      ['generate', 1, 5, 5, true],
      ['recommend', 1, 3, 10, true],
      ['recommend', 1, 3, 5, false],
    ]);
    expect(blocker.done).toBe(true);
    expect((k3.value as Recommendation[][])[0]?.map((r) => r.item)).toEqual(['1#0x0', '1#1x0', '1#2x0']);
    expect((k5.value as Recommendation[][]).map((l) => l.length)).toEqual([5, 5]);
    expect((k5.value as Recommendation[][])[1]?.[4]?.item).toBe('4|5#4x0');
    expect((gen.value as ScoredCode[][])[0]).toHaveLength(5);
    expect((wide.value as Recommendation[][])[0]).toHaveLength(3);
    expect((other.value as Recommendation[][])[0]?.[0]?.item).toBe('7#0x0');
  });

  it('sends each history its own exclusion set inside a batch', async () => {
    const inner = new ScriptedDecoder();
    inner.hold = true;
    const d = new BatchingDecoder(inner);
    const blocker = track(d.recommend(hist(0), catA, { k: 1, beamWidth: 1 }));
    await turns();
    const plain = track(d.recommend(hist(1), catA, { k: 1, beamWidth: 1 }));
    const ex = track(
      d.recommend([[[2]], [[3]]], catA, { k: 1, beamWidth: 1, exclude: [new Set(['p', 'q']), new Set(['r'])] }),
    );
    for (let i = 0; i < 2; i++) {
      await turns();
      inner.release();
    }
    await turns();
    expect(inner.calls.map((c) => c.n)).toEqual([1, 3]);
    expect(blocker.done).toBe(true);
    expect((plain.value as Recommendation[][])[0]?.[0]?.item).toBe('1#0x0');
    expect((ex.value as Recommendation[][]).map((l) => l[0]?.item)).toEqual(['2#0x2', '3#0x1']);
  });

  it('retries a failed batch call by call: only the failing call fails', async () => {
    const inner = new ScriptedDecoder();
    inner.hold = true;
    const d = new BatchingDecoder(inner);
    const blocker = track(d.recommend(hist(0), catA, { k: 1, beamWidth: 1 }));
    await turns();
    const ok1 = track(d.recommend(hist(1), catA, { k: 1, beamWidth: 1 }));
    const bad = track(d.recommend(hist(99), catA, { k: 1, beamWidth: 1 }));
    const ok2 = track(d.recommend(hist(2), catA, { k: 1, beamWidth: 1 }));
    inner.hold = false;
    inner.release();
    await turns(20);
    expect(blocker.done && ok1.done && bad.done && ok2.done).toBe(true);
    expect((bad.error as Error).message).toBe('scripted failure');
    expect((ok1.value as Recommendation[][])[0]?.[0]?.item).toBe('1#0x0');
    expect((ok2.value as Recommendation[][])[0]?.[0]?.item).toBe('2#0x0');
    // the batch of three, then one retry each
    expect(inner.calls.map((c) => c.n)).toEqual([1, 3, 1, 1, 1]);
    expect(d.stats.splitRetries).toBe(1);
  });

  it('passes score and dispose through, answers empty calls at once, rejects bad settings', async () => {
    const inner = new ScriptedDecoder();
    const d = new BatchingDecoder(inner);
    expect(await d.recommend([], catA, { k: 1, beamWidth: 1 })).toEqual([]);
    expect(inner.calls).toHaveLength(0);
    expect(await d.score([[0]], [])).toEqual([]);
    await expect(d.recommend(hist(1), catA, { k: 1, beamWidth: 1, exclude: [] })).rejects.toThrow(SemidError);
    d.dispose();
    expect(inner.disposed).toBe(true);
    expect(resolveBatchOptions()).toEqual({ maxBatch: 32, maxInFlight: 1, maxWaitMs: 1 });
    for (const bad of [
      { maxBatch: 0 },
      { maxBatch: 1.5 },
      { maxInFlight: 0 },
      { maxWaitMs: -1 },
      { maxWaitMs: Number.NaN },
    ]) {
      expect(() => resolveBatchOptions(bad)).toThrow(SemidError);
    }
  });
});

/** Random valid request bodies over the fixture catalogue (seeded). */
function bodies(n: number, seed: number) {
  const rng = createRng(seed);
  const items = Object.keys(CATALOGUE);
  return Array.from({ length: n }, () => {
    const k = 1 + rng.int(4);
    return {
      history: Array.from({ length: 1 + rng.int(4) }, () => items[rng.int(items.length)] as string),
      k,
      ...(rng.next() < 0.5 ? { beamWidth: [k, 4, 6][rng.int(3)] } : {}),
      ...(rng.next() < 0.4 ? { excludeHistory: true } : {}),
      ...(rng.next() < 0.2 ? { mode: 'grounded' as const } : {}),
    };
  });
}

describe('micro-batching through the HTTP app', () => {
  const apps: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close();
  });
  async function setup(opts: Parameters<typeof fakeApp>[0]) {
    const r = await fakeApp(opts);
    apps.push(r.app, r.registry);
    return r;
  }

  it('concurrent requests get exactly the answers they get one at a time without batching', async () => {
    const reqs = bodies(40, 5);
    const plain = await setup({ batching: false });
    const want: unknown[] = [];
    for (const payload of reqs) {
      const res = await plain.app.inject({ method: 'POST', url: '/v1/recommend', payload });
      expect(res.statusCode).toBe(200);
      want.push(res.json());
    }
    // each decoding step waits 5 ms, so requests arriving meanwhile queue up behind the running batch
    const batched = await setup({ delayMs: 5 });
    const got = await Promise.all(
      reqs.map((payload) => batched.app.inject({ method: 'POST', url: '/v1/recommend', payload })),
    );
    expect(got.map((r) => r.statusCode)).toEqual(reqs.map(() => 200));
    expect(got.map((r) => r.json())).toEqual(want);
    const decoder = batched.registry.bundles()[0]?.decoder as BatchingDecoder;
    const stats = decoder.stats;
    expect(stats.calls).toBe(40);
    expect(stats.largest).toBeGreaterThan(1);
    expect(stats.batches).toBeLessThan(40);
    expect(batched.models[0]?.sessions).toBe(stats.batches);
    // the batch route, concurrently with single requests, answers as before too
    const batchBody = { requests: reqs.slice(0, 10) };
    const [b1, b2] = await Promise.all([
      batched.app.inject({ method: 'POST', url: '/v1/recommend/batch', payload: batchBody }),
      batched.app.inject({ method: 'POST', url: '/v1/recommend', payload: reqs[11] }),
    ]);
    expect(b1.json().results).toEqual(want.slice(0, 10));
    expect(b2.json()).toEqual(want[11]);
    const metrics = (await batched.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^semid_decode_batches\{bundle="main"\} \d+$/m);
    expect(metrics).toMatch(/^semid_decode_batch_largest\{bundle="main"\} \d+$/m);
  });

  it('a request whose decoding fails does not fail the requests batched with it', async () => {
    const g = CATALOGUE.g as number[];
    const reqs = bodies(24, 9).map((b, i) => (i % 6 === 3 ? { ...b, history: [...b.history, 'g'] } : b));
    const plain = await setup({ batching: false });
    const want: unknown[] = [];
    for (const payload of reqs)
      want.push((await plain.app.inject({ method: 'POST', url: '/v1/recommend', payload })).json());
    // the model fails every session that holds a history ending in g
    const failing = await setup({
      delayMs: 5,
      failOn: (h) => h.at(-1)?.join(',') === g.join(','),
    });
    const got = await Promise.all(
      reqs.map((payload) => failing.app.inject({ method: 'POST', url: '/v1/recommend', payload })),
    );
    reqs.forEach((r, i) => {
      if (r.history.at(-1) === 'g') {
        expect(got[i]?.statusCode).toBe(500);
        expect(got[i]?.json().code).toBe('SEMID_ERR_INTERNAL');
      } else {
        expect(got[i]?.statusCode).toBe(200);
        expect(got[i]?.json()).toEqual(want[i]);
      }
    });
    expect(reqs.filter((r) => r.history.at(-1) === 'g').length).toBeGreaterThan(0);
    const decoder = failing.registry.bundles()[0]?.decoder as BatchingDecoder;
    expect(decoder.stats.splitRetries).toBeGreaterThan(0);
  });
});
