import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzRequest } from '../../bench/server-requests.js';
import { fakeApp, KEY } from './helpers.js';

let ctx: Awaited<ReturnType<typeof fakeApp>>;
beforeAll(async () => {
  ctx = await fakeApp({ names: ['main', 'other'], embeddings: true });
});
afterAll(async () => {
  await ctx.app.close();
  await ctx.registry.close();
});

describe('random and malformed requests', () => {
  it('only ever get 2xx or 4xx answers, and every error has a stable code', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fuzzRequest(KEY), async (req) => {
        const res = await ctx.app.inject({
          method: req.method,
          url: req.url,
          headers: req.headers,
          ...(req.body !== undefined ? { payload: req.body } : {}),
        });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        expect(
          res.statusCode === 200 || res.statusCode === 201 || (res.statusCode >= 400 && res.statusCode < 500),
        ).toBe(true);
        if (res.statusCode >= 400) expect(res.json().code).toMatch(/^SEMID_ERR_[A-Z_]+$/);
      }),
      { numRuns: 400, seed: 20240501 },
    );
    // The generator reaches both successes and rejections.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(10);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(50);
    // And the server still answers normally afterwards.
    const ok = await ctx.app.inject({ method: 'GET', url: '/health' });
    expect(ok.statusCode).toBe(200);
  });
});
