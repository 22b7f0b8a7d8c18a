import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.js';
import { JOURNAL_FILE } from '../../server/bundle.js';
import { decodeJournal } from '../../server/overlay.js';
import { BundleRegistry } from '../../server/registry.js';
import { startServer } from '../../server/server.js';
import { SemidError } from '../../src/core/errors.js';
import { fakeApp, fakeLoader, KEY } from './helpers.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('reload', () => {
  it('drops no request while bundles are swapped under load', async () => {
    // Every decoding step waits 1 ms, so requests are in flight across each swap; the fake model
    // throws if used after dispose, so an early dispose would show up as a failed request.
    const { app, registry, models } = await fakeApp({ delayMs: 1 });
    cleanup.push(
      () => app.close(),
      () => registry.close(),
    );
    const requests: Promise<{ statusCode: number }>[] = [];
    const reloads: Promise<{ statusCode: number }>[] = [];
    for (let i = 0; i < 240; i++) {
      requests.push(
        app.inject({
          method: 'POST',
          url: i % 3 === 2 ? '/v1/score' : '/v1/recommend',
          payload: i % 3 === 2 ? { history: ['a', 'c'], candidates: ['b', 'd'] } : { history: ['a', 'c'], k: 3 },
        }),
      );
      if (i % 40 === 20) {
        reloads.push(
          app.inject({ method: 'POST', url: '/v1/admin/reload', headers: { 'x-api-key': KEY }, payload: {} }),
        );
      }
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    const res = await Promise.all(requests);
    const rel = await Promise.all(reloads);
    expect(res.map((r) => r.statusCode).filter((s) => s !== 200)).toEqual([]);
    expect(rel.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(models).toHaveLength(7);
    // Every replaced model was disposed once its requests finished; the current one is live.
    expect(models.slice(0, -1).every((m) => m.disposed && m.openSessions === 0)).toBe(true);
    expect(models.at(-1)?.disposed).toBe(false);
    expect(registry.reloadCounts).toEqual({ ok: 6, failed: 0 });
  });

  it('keeps serving the old bundles when a reload fails', async () => {
    const { load, models } = fakeLoader();
    let fail = false;
    const registry = await BundleRegistry.open(
      [{ name: 'main', dir: 'mem:main' }],
      async (dir) => {
        if (fail) throw new SemidError('SEMID_ERR_ARTIFACT_CORRUPT', 'model weights are truncated');
        return load(dir);
      },
      { persist: false },
    );
    const app = await buildApp({ registry, apiKey: KEY });
    cleanup.push(
      () => app.close(),
      () => registry.close(),
    );
    fail = true;
    const r = await app.inject({ method: 'POST', url: '/v1/admin/reload', headers: { 'x-api-key': KEY } });
    expect(r.json().code).toBe('SEMID_ERR_ARTIFACT_CORRUPT');
    const ok = await app.inject({ method: 'POST', url: '/v1/recommend', payload: { history: ['a'] } });
    expect(ok.statusCode).toBe(200);
    expect(models[0]?.disposed).toBe(false);
    expect(registry.reloadCounts.failed).toBe(1);
  });

  it('persists added and deleted items atomically and re-applies them on reload and restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'semid-bundle-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const { load } = fakeLoader();
    const open = async () => {
      const registry = await BundleRegistry.open([{ name: 'main', dir }], load);
      const app = await buildApp({ registry, apiKey: KEY });
      cleanup.push(
        () => app.close(),
        () => registry.close(),
      );
      return app;
    };
    const app = await open();
    const h = { 'x-api-key': KEY };
    expect(
      (await app.inject({ method: 'POST', url: '/v1/items', headers: h, payload: { id: 'n1', code: [2, 2] } }))
        .statusCode,
    ).toBe(201);
    expect((await app.inject({ method: 'DELETE', url: '/v1/items/b', headers: h })).statusCode).toBe(200);
    const journal = decodeJournal(await readFile(join(dir, JOURNAL_FILE)));
    expect(journal).toEqual({
      ops: [
        { op: 'add', id: 'n1', code: [2, 2, 0] },
        { op: 'remove', id: 'b', code: [0, 1, 0] },
      ],
      torn: false,
    });
    // Only the journal is written (appended to in place).
    expect(await readdir(dir)).toEqual([JOURNAL_FILE]);

    expect((await app.inject({ method: 'POST', url: '/v1/admin/reload', headers: h })).statusCode).toBe(200);
    const check = async (a: typeof app) => {
      expect((await a.inject({ url: '/v1/codes/2-2-0' })).json().item).toBe('n1');
      expect((await a.inject({ url: '/v1/items/b' })).json().live).toBe(false);
      const rec = await a.inject({ method: 'POST', url: '/v1/recommend', payload: { history: ['a'], k: 7 } });
      const items = rec.json().items.map((x: { item: string }) => x.item);
      expect(items).toContain('n1');
      expect(items).not.toContain('b');
    };
    await check(app);
    await check(await open());
    expect(existsSync(join(dir, JOURNAL_FILE))).toBe(true);
    expect(await readdir(dir)).toEqual([JOURNAL_FILE]);
  });
});

describe('startServer', () => {
  it('listens on loopback, reloads on SIGHUP, and closes gracefully', async () => {
    const { load, models } = fakeLoader({ delayMs: 5 });
    const registry = await BundleRegistry.open([{ name: 'main', dir: 'mem:main' }], load, { persist: false });
    const lines: string[] = [];
    const srv = await startServer({ registry, port: 0, host: '127.0.0.1', log: (l) => lines.push(l) });
    cleanup.push(() => srv.close());
    expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${srv.url}/health`);
    expect(health.status).toBe(200);

    process.kill(process.pid, 'SIGHUP');
    for (let i = 0; i < 200 && models.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(models).toHaveLength(2);

    // A request in flight when the server closes still gets its answer.
    const inflight = fetch(`${srv.url}/v1/recommend`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ history: ['a'], k: 2 }),
    });
    const latest = models[models.length - 1] as (typeof models)[number];
    for (let i = 0; i < 500 && latest.openSessions === 0; i++) await new Promise((r) => setTimeout(r, 1));
    await srv.close();
    expect((await inflight).status).toBe(200);
    expect(models.every((m) => m.disposed)).toBe(true);
    expect(lines.some((l) => l.includes('SIGHUP'))).toBe(true);
    await srv.closed;
  });
});
