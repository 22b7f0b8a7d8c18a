import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.js';
import { BundleRegistry } from '../../server/registry.js';
import { startServer } from '../../server/server.js';
import { SemidError } from '../../src/core/errors.js';
import { fakeApp, fakeLoader, fakeParts, KEY } from './helpers.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
async function setup(opts: Parameters<typeof fakeApp>[0] = {}) {
  const r = await fakeApp(opts);
  cleanup.push(
    () => r.registry.close(),
    () => r.app.close(),
  );
  return r;
}
const auth = { 'x-api-key': KEY };

/** Sends raw bytes to a listening server; resolves with what came back and when the socket closed. */
function raw(url: string, write: (send: (s: string) => boolean) => void): Promise<{ text: string; ms: number }> {
  const { hostname, port } = new URL(url);
  const t0 = performance.now();
  return new Promise((resolve) => {
    const sock = connect(Number(port), hostname);
    let text = '';
    sock.on('data', (d) => {
      text += d.toString();
    });
    sock.on('error', () => {});
    sock.on('close', () => resolve({ text, ms: performance.now() - t0 }));
    sock.on('connect', () => write((s) => !sock.destroyed && sock.write(s)));
  });
}
const jsonOf = (httpText: string) => JSON.parse(httpText.slice(httpText.indexOf('\r\n\r\n') + 4));

describe('request contract', () => {
  it('validates JSON bodies without coercing types, but reads numbers from query strings', async () => {
    const { app } = await setup();
    for (const k of ['5', true, 5.5, null]) {
      const r = await app.inject({ method: 'POST', url: '/v1/recommend', payload: { history: ['a'], k } });
      expect(r.statusCode, `k = ${JSON.stringify(k)}`).toBe(400);
      expect(r.json().code).toBe('SEMID_ERR_BAD_INPUT');
    }
    const bad = await app.inject({ method: 'POST', url: '/v1/recommend', payload: { history: 'a' } });
    expect(bad.json().code).toBe('SEMID_ERR_BAD_INPUT');
    const flag = await app.inject({
      method: 'POST',
      url: '/v1/recommend',
      payload: { history: ['a'], excludeHistory: 'true' },
    });
    expect(flag.statusCode).toBe(400);
    const sim = await app.inject({ url: '/v1/items/a/similar?k=2' });
    expect(sim.statusCode).toBe(200);
    expect(sim.json().items).toHaveLength(2);
    expect((await app.inject({ url: '/v1/items/a/similar?k=two' })).json().code).toBe('SEMID_ERR_BAD_INPUT');
  });

  it('checks the API key before reading the body of write and admin routes', async () => {
    const { app } = await setup();
    for (const [method, url] of [
      ['POST', '/v1/items'],
      ['POST', '/v1/admin/reload'],
    ] as const) {
      // Malformed and oversized bodies are not even parsed without the key.
      const r = await app.inject({
        method,
        url,
        headers: { 'content-type': 'application/json' },
        payload: '{not json',
      });
      expect(r.statusCode).toBe(401);
      expect(r.json().code).toBe('SEMID_ERR_UNAUTHORIZED');
      const big = await app.inject({
        method,
        url,
        headers: { 'content-type': 'application/json' },
        payload: `{"id":"${'x'.repeat(2 * 1024 * 1024)}"}`,
      });
      expect(big.statusCode).toBe(401);
    }
    const del = await app.inject({ method: 'DELETE', url: '/v1/items/a' });
    expect(del.statusCode).toBe(401);
    // With the key the same malformed body is a parse error.
    const parsed = await app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(parsed.json().code).toBe('SEMID_ERR_PARSE');
  });

  it('gives framework and HTTP parser errors SEMID_ERR codes', async () => {
    const { load } = fakeLoader();
    const registry = await BundleRegistry.open([{ name: 'main', dir: 'mem:main' }], load, { persist: false });
    const srv = await startServer({ registry, port: 0, signals: false, logger: false, log: () => {} });
    cleanup.push(() => srv.close());
    const badUrl = await srv.app.inject({ url: '/v1/items/%E0%A4%A' });
    expect(badUrl.statusCode).toBe(400);
    expect(badUrl.json().code).toMatch(/^SEMID_ERR_/);
    const longParam = await srv.app.inject({ url: `/v1/items/${'x'.repeat(400)}` });
    expect(longParam.statusCode).toBeGreaterThanOrEqual(400);
    expect(longParam.statusCode).toBeLessThan(500);
    expect(longParam.json().code).toMatch(/^SEMID_ERR_/);
    // Two different Content-Length headers: rejected by Node's parser before fastify.
    const conflict = await raw(srv.url, (send) =>
      send(
        'POST /v1/recommend HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{"a":1}',
      ),
    );
    expect(conflict.text).toMatch(/^HTTP\/1\.1 400/);
    expect(jsonOf(conflict.text).code).toBe('SEMID_ERR_BAD_INPUT');
    const garbage = await raw(srv.url, (send) => send('NOT HTTP AT ALL\r\n\r\n'));
    expect(jsonOf(garbage.text).code).toMatch(/^SEMID_ERR_/);
  });

  it('never shows a filesystem path in a response or metric', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'semid-paths-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    let fail = false;
    const load = async (d: string) => {
      if (fail)
        throw new SemidError('SEMID_ERR_ARTIFACT_MISSING', `bundle directory not found: ${d}/model/manifest.json`);
      return fakeParts({ info: { index: join(dir, 'index'), model: join(d, 'model'), runtime: 'onnx' } }).parts;
    };
    const registry = await BundleRegistry.open([{ name: 'main', dir }], load);
    const app = await buildApp({ registry, apiKey: KEY, logger: false });
    cleanup.push(
      () => registry.close(),
      () => app.close(),
    );
    fail = true;
    const reload = await app.inject({ method: 'POST', url: '/v1/admin/reload', headers: auth });
    expect(reload.statusCode).toBe(500);
    expect(reload.json().message).toMatch(/bundle "main"/);
    const answers = [
      reload.body,
      (await app.inject({ url: '/health' })).body,
      (await app.inject({ url: '/metrics' })).body,
      (await app.inject({ url: '/docs/json' })).body,
      (await app.inject({ method: 'POST', url: '/v1/recommend', payload: { history: ['nope'] } })).body,
      (await app.inject({ url: '/v1/items/a' })).body,
    ];
    const paths = [dir, tmpdir(), homedir(), process.cwd()];
    for (const body of answers) {
      for (const p of paths) expect(body).not.toContain(p);
    }
    // Path-valued info entries are left out; the others stay.
    expect((await app.inject({ url: '/health' })).json().bundles[0].info).toEqual({
      scheme: 'fixture',
      runtime: 'onnx',
    });
  });

  it('logs internal errors at the default level, without request logs', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const { load } = fakeLoader({ failOn: (h) => h.length === 2 });
    const registry = await BundleRegistry.open([{ name: 'main', dir: 'mem:main' }], load, { persist: false });
    const app = await buildApp({ registry, logger: { level: 'info', stream } });
    cleanup.push(
      () => registry.close(),
      () => app.close(),
    );
    expect((await app.inject({ method: 'POST', url: '/v1/recommend', payload: { history: ['a'] } })).statusCode).toBe(
      200,
    );
    expect(lines).toEqual([]);
    const r = await app.inject({ method: 'POST', url: '/v1/recommend', payload: { history: ['a', 'b'] } });
    expect(r.statusCode).toBe(500);
    expect(r.json().code).toBe('SEMID_ERR_INTERNAL');
    const logged = lines.map((l) => JSON.parse(l));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 50, msg: 'internal error' });
    expect(logged[0].err.message).toMatch(/FakeModel failure/);
  });
});

describe('limits', () => {
  it('refuses a request over the cost budget with 422 before decoding', async () => {
    const { app, models } = await setup({ app: { maxRequestCost: 600 } });
    const requests = Array.from({ length: 3 }, () => ({ history: ['a'], k: 10, beamWidth: 100 }));
    const r = await app.inject({ method: 'POST', url: '/v1/recommend/batch', payload: { requests } });
    expect(r.statusCode).toBe(422);
    expect(r.json()).toMatchObject({ code: 'SEMID_ERR_OVER_BUDGET', details: { cost: 900, budget: 600 } });
    expect(models[0]?.sessions).toBe(0);
    // Two of them (600 beam rows over 3 levels) fit.
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/recommend/batch',
      payload: { requests: requests.slice(1) },
    });
    expect(ok.statusCode).toBe(200);
    const big = await app.inject({
      method: 'POST',
      url: '/v1/score',
      payload: { history: ['a'], candidates: Array.from({ length: 201 }, () => 'b') },
    });
    expect(big.json().code).toBe('SEMID_ERR_OVER_BUDGET');
    expect((await app.inject({ url: '/metrics' })).body).toMatch(/^semid_requests_over_budget_total 2$/m);
  });

  it('rate-limits each client when asked, never health or metrics', async () => {
    const { app } = await setup({ app: { rateLimit: { max: 3, timeWindowMs: 60_000 } } });
    const rec = () => app.inject({ method: 'POST', url: '/v1/recommend', payload: { history: ['a'] } });
    for (let i = 0; i < 3; i++) expect((await rec()).statusCode).toBe(200);
    const limited = await rec();
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('SEMID_ERR_RATE_LIMITED');
    // Another API key is another client.
    const other = await app.inject({ url: '/v1/items/a', headers: { 'x-api-key': 'someone-else' } });
    expect(other.statusCode).toBe(200);
    for (let i = 0; i < 5; i++) expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
  });

  it('cuts a client that trickles its request at the request timeout', async () => {
    const { load } = fakeLoader();
    const registry = await BundleRegistry.open([{ name: 'main', dir: 'mem:main' }], load, { persist: false });
    const srv = await startServer({
      registry,
      port: 0,
      signals: false,
      logger: false,
      log: () => {},
      requestTimeoutMs: 1000,
    });
    cleanup.push(() => srv.close());
    const r = await raw(srv.url, (send) => {
      send('POST /v1/recommend HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{');
      const t = setInterval(() => {
        if (!send(' ')) clearInterval(t);
      }, 100);
    });
    expect(r.ms).toBeLessThan(4000);
    expect(r.text).toMatch(/^HTTP\/1\.1 408/);
    expect(jsonOf(r.text).code).toBe('SEMID_ERR_TIMEOUT');
  });

  it('exits within the grace period on SIGTERM under load, closing what is left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'semid-term-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const script = fileURLToPath(new URL('./child-server.ts', import.meta.url));
    const proc: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, dir, '1500'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, SEMID_TEST_DELAY_MS: '20', SEMID_TEST_REQUEST_TIMEOUT_MS: '60000' },
    });
    const exited = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
    const url = await new Promise<string>((resolve, reject) => {
      let buf = '';
      proc.stdout?.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\n')) resolve(JSON.parse(buf.slice(0, buf.indexOf('\n'))).url);
      });
      void exited.then(() => reject(new Error('child exited before listening')));
    });
    let stop = false;
    const load = async () => {
      while (!stop) {
        try {
          await fetch(`${url}/v1/recommend`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ history: ['a', 'c'], k: 3 }),
          });
        } catch {
          return;
        }
      }
    };
    const clients = Array.from({ length: 8 }, load);
    // A trickling client that would hold the connection for a minute.
    const trickle = raw(url, (send) => {
      send('POST /v1/recommend HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{');
      const t = setInterval(() => {
        if (!send(' ')) clearInterval(t);
      }, 100);
    });
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    const took = performance.now() - t0;
    stop = true;
    await Promise.all(clients);
    await trickle;
    // 1.5 s of grace plus the process exit (slow on a loaded machine), far below the minute the
    // trickling client would otherwise hold the shutdown for.
    expect(took).toBeLessThan(1500 + 8000);
  }, 240_000);
});

describe('item metadata', () => {
  it('returns titles and categories with items and recommendations unless turned off', async () => {
    const { app } = await setup({ metadata: true, embeddings: true });
    const rec = await app.inject({ method: 'POST', url: '/v1/recommend', payload: { history: ['a', 'c'], k: 3 } });
    expect(rec.json().items[0]).toMatchObject({ item: 'c', title: 'Item c', category: 'cat 1' });
    const off = await app.inject({
      method: 'POST',
      url: '/v1/recommend',
      payload: { history: ['a', 'c'], k: 3, metadata: false },
    });
    expect(off.json().items[0]).toEqual({ item: 'c', score: rec.json().items[0].score, code: [1, 0, 0] });
    const batch = await app.inject({
      method: 'POST',
      url: '/v1/recommend/batch',
      payload: { requests: [{ history: ['a'] }, { history: ['a'], metadata: false }] },
    });
    expect(batch.json().results[0].items[0].title).toMatch(/^Item /);
    expect(batch.json().results[1].items[0].title).toBeUndefined();
    expect((await app.inject({ url: '/v1/items/d' })).json()).toMatchObject({ title: 'Item d', category: 'cat 1' });
    expect((await app.inject({ url: '/v1/items/d?metadata=false' })).json().title).toBeUndefined();
    expect((await app.inject({ url: '/v1/items/a/similar?k=1' })).json().items[0].title).toMatch(/^Item /);
    expect((await app.inject({ url: '/v1/codes/1-0' })).json().items[0]).toMatchObject({ title: 'Item c' });
    // An item added with a title and categories carries them.
    await app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: auth,
      payload: { id: 'new', title: 'brand new', categories: ['Beauty', 'Lipstick'] },
    });
    expect((await app.inject({ url: '/v1/items/new' })).json()).toMatchObject({
      title: 'brand new',
      category: 'Lipstick',
    });
  });
});
