import { afterEach, describe, expect, it } from 'vitest';
import { CATALOGUE, exactLogProb, fakeApp, KEY } from './helpers.js';

const apps: { close(): Promise<unknown> }[] = [];
async function setup(opts: Parameters<typeof fakeApp>[0] = {}) {
  const r = await fakeApp(opts);
  apps.push(r.app, r.registry);
  return r;
}
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

const code = (i: string) => CATALOGUE[i] as number[];
const auth = { 'x-api-key': KEY };

describe('POST /v1/recommend', () => {
  it('returns the expected top items with exact scores and codes', async () => {
    const { app } = await setup();
    const res = await app.inject({ method: 'POST', url: '/v1/recommend', payload: { history: ['a', 'c'], k: 3 } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.bundle).toBe('main');
    expect(body.truncatedHistory).toBeUndefined();
    expect(body.items.map((x: { item: string }) => x.item)).toEqual(['c', 'd', 'a']);
    expect(body.items[0].code).toEqual([1, 0, 0]);
    expect(body.items[0].score).toBeCloseTo(-2.722178, 5);
  });

  it('excludes history items on request', async () => {
    const { app } = await setup();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/recommend',
      payload: { history: ['a', 'c'], k: 3, excludeHistory: true },
    });
    expect(res.json().items.map((x: { item: string }) => x.item)).toEqual(['d', 'f', 'b']);
  });

  it('cuts a history longer than the model window to its most recent items and says so', async () => {
    const { app, models } = await setup({ maxHistory: 3 });
    const res = await app.inject({
      method: 'POST',
      url: '/v1/recommend',
      payload: { history: ['a', 'b', 'c', 'd', 'e'], k: 1 },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().truncatedHistory).toBe(2);
    expect(models[0]?.seen.at(-1)).toEqual([code('c'), code('d'), code('e')]);
  });

  it('grounded mode maps free codes to real items and counts invalid codes', async () => {
    const { app } = await setup();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/recommend',
      payload: { history: ['c'], k: 4, beamWidth: 6, mode: 'grounded' },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.generated).toBe(6);
    // Free top-6 after c (hand-computed, see helpers.ts): [1,0,0] c, [1,0,1] d, then [1,1,0], [1,1,1],
    // [1,2,0], [1,2,1], which name no item.
    expect(body.invalidCodes).toBe(4);
    const items = body.items.map((x: { item: string }) => x.item);
    expect(items.slice(0, 2)).toEqual(['c', 'd']);
    expect(new Set(items).size).toBe(items.length);
    for (const it of items) expect(Object.keys(CATALOGUE)).toContain(it);
    // [1,1,0] names no item; its nearest live codes share level 0 (c, d) but are already chosen.
    expect(body.items[2].generated).toEqual([1, 1, 0]);
  });

  it('batches many users, each with its own options', async () => {
    const { app } = await setup();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/recommend/batch',
      payload: {
        requests: [
          { history: ['c'], k: 2 },
          { history: ['a'], k: 3 },
          { history: ['e'], k: 2, excludeHistory: true },
          { history: ['c'], k: 2 },
        ],
      },
    });
    expect(res.statusCode).toBe(200);
    const r = res.json().results.map((x: { items: { item: string }[] }) => x.items.map((i) => i.item));
    expect(r).toEqual([
      ['c', 'd'],
      ['a', 'f', 'b'],
      ['g', 'a'],
      ['c', 'd'],
    ]);
  });
});

describe('POST /v1/score', () => {
  it('gives the exact log-likelihood of each candidate', async () => {
    const { app } = await setup();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/score',
      payload: { history: ['b', 'e'], candidates: ['g', 'a', 'e'] },
    });
    expect(res.statusCode).toBe(200);
    const s = res.json().scores;
    expect(s.map((x: { item: string }) => x.item)).toEqual(['g', 'a', 'e']);
    expect(s[0].score).toBeCloseTo(-3.558456, 5);
    expect(s[2].score).toBeCloseTo(exactLogProb([code('b'), code('e')], code('e')), 5);
  });
});

describe('items and codes', () => {
  it('looks up an item code and the item of a code', async () => {
    const { app } = await setup();
    const r1 = await app.inject({ url: '/v1/items/d' });
    expect(r1.json()).toEqual({ item: 'd', code: [1, 0, 1], live: true, bundle: 'main' });
    const r2 = await app.inject({ url: '/v1/codes/1-0-1' });
    expect(r2.json()).toEqual({ bundle: 'main', code: [1, 0, 1], item: 'd' });
    const r3 = await app.inject({ url: '/v1/codes/1,0,1' });
    expect(r3.json().item).toBe('d');
  });

  it('pages through the items under a prefix', async () => {
    const { app } = await setup();
    const p1 = (await app.inject({ url: '/v1/codes/0?limit=2' })).json();
    expect(p1.total).toBe(3);
    expect(p1.items.map((x: { item: string }) => x.item)).toEqual(['a', 'f']);
    expect(p1.nextCursor).toBe('0-0-1');
    const p2 = (await app.inject({ url: `/v1/codes/0?limit=2&cursor=${p1.nextCursor}` })).json();
    expect(p2.items.map((x: { item: string }) => x.item)).toEqual(['b']);
    expect(p2.nextCursor).toBeUndefined();
  });

  it('finds similar items by code, and by embedding when the bundle has them', async () => {
    const { app } = await setup();
    const r = (await app.inject({ url: '/v1/items/a/similar?k=2' })).json();
    expect(r.basis).toBe('code');
    // a = [0,0,0]: f [0,0,1] shares two levels, b [0,1,0] shares levels 0 and 2.
    expect(r.items.map((x: { item: string }) => x.item)).toEqual(['f', 'b']);
    const { app: app2 } = await setup({ embeddings: true });
    const r2 = (await app2.inject({ url: '/v1/items/c/similar?k=1' })).json();
    expect(r2.basis).toBe('embedding');
    expect(r2.items[0].item).toBe('d');
    expect(r2.items[0].similarity).toBeCloseTo(1, 5);
  });

  it('adds an item that is recommended at once, without a restart, and deletes it', async () => {
    const { app } = await setup();
    const top = async () =>
      (await app.inject({ method: 'POST', url: '/v1/recommend', payload: { history: ['c'], k: 3 } }))
        .json()
        .items.map((x: { item: string }) => x.item);
    expect(await top()).toEqual(['c', 'd', 'a']);
    // Prefix [1,1] is completed with the first free value: [1,1,0], whose log-prob after c beats a's.
    const add = await app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: auth,
      payload: { id: 'new1', code: [1, 1] },
    });
    expect(add.statusCode).toBe(201);
    expect(add.json()).toEqual({ item: 'new1', code: [1, 1, 0], assignedBy: 'given', bundle: 'main' });
    expect(await top()).toEqual(['c', 'd', 'new1']);
    expect((await app.inject({ url: '/v1/codes/1-1-0' })).json().item).toBe('new1');

    const del = await app.inject({
      method: 'DELETE',
      url: '/v1/items/new1',
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(del.statusCode).toBe(200);
    expect(del.json()).toEqual({ item: 'new1', code: [1, 1, 0], removed: true, bundle: 'main' });
    expect(await top()).toEqual(['c', 'd', 'a']);
    // A deleted item still reads in histories, and its lookup says it is no longer live.
    expect((await app.inject({ url: '/v1/items/new1' })).json().live).toBe(false);
    const withOld = await app.inject({ method: 'POST', url: '/v1/recommend', payload: { history: ['new1'], k: 1 } });
    expect(withOld.statusCode).toBe(200);
  });

  it('assigns codes through the index encoder from text, made unique', async () => {
    const { app } = await setup();
    // The fixture encoder maps a title to [charCode(first letter) % 3, 0]: "b" -> [2, 0].
    const r1 = await app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: auth,
      payload: { id: 'x1', title: 'blue lipstick' },
    });
    expect(r1.json()).toMatchObject({ code: [2, 0, 0], assignedBy: 'encoder' });
    const r2 = await app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: auth,
      payload: { id: 'x2', title: 'brush' },
    });
    expect(r2.json()).toMatchObject({ code: [2, 0, 1], assignedBy: 'encoder' });
    const rec = await app.inject({ method: 'POST', url: '/v1/recommend', payload: { history: ['x1'], k: 10 } });
    expect(rec.json().items.map((x: { item: string }) => x.item)).toContain('x2');
  });

  it('places an item from an embedding near its nearest neighbour', async () => {
    const { app } = await setup({ embeddings: true });
    const r = await app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: auth,
      payload: { id: 'emb1', embedding: [0.1, 1.0, 0.1] },
    });
    expect(r.statusCode).toBe(201);
    // Nearest is c or d (level 0 = 1); their shared prefix [1,0] is full, so the server keeps [1]
    // and takes its first free completion.
    expect(r.json().code).toEqual([1, 1, 0]);
    expect(r.json().assignedBy).toBe('nearest-item');
    const sim = await app.inject({ url: '/v1/items/emb1/similar?k=1' });
    expect(sim.json().basis).toBe('embedding');
  });
});

describe('errors carry stable codes, never a 500', () => {
  const cases: [
    string,
    { method?: 'GET' | 'POST' | 'DELETE'; url: string; payload?: unknown; headers?: Record<string, string> },
    number,
    string,
  ][] = [
    [
      'unknown item in history',
      { method: 'POST', url: '/v1/recommend', payload: { history: ['a', 'zz', 'yy'] } },
      400,
      'SEMID_ERR_UNKNOWN_ITEM',
    ],
    [
      'empty history',
      { method: 'POST', url: '/v1/recommend', payload: { history: [] } },
      400,
      'SEMID_ERR_HISTORY_EMPTY',
    ],
    [
      'k too large',
      { method: 'POST', url: '/v1/recommend', payload: { history: ['a'], k: 1000 } },
      400,
      'SEMID_ERR_BAD_INPUT',
    ],
    ['k zero', { method: 'POST', url: '/v1/recommend', payload: { history: ['a'], k: 0 } }, 400, 'SEMID_ERR_BAD_INPUT'],
    [
      'beamWidth too large',
      { method: 'POST', url: '/v1/recommend', payload: { history: ['a'], beamWidth: 100000 } },
      400,
      'SEMID_ERR_BAD_INPUT',
    ],
    [
      'extra property',
      { method: 'POST', url: '/v1/recommend', payload: { history: ['a'], hack: 1 } },
      400,
      'SEMID_ERR_BAD_INPUT',
    ],
    [
      'bad mode',
      { method: 'POST', url: '/v1/recommend', payload: { history: ['a'], mode: 'free' } },
      400,
      'SEMID_ERR_BAD_INPUT',
    ],
    [
      'history not an array',
      { method: 'POST', url: '/v1/recommend', payload: { history: { a: 1 } } },
      400,
      'SEMID_ERR_BAD_INPUT',
    ],
    [
      'unknown bundle',
      { method: 'POST', url: '/v1/recommend', payload: { history: ['a'], bundle: 'nope' } },
      404,
      'SEMID_ERR_UNKNOWN_BUNDLE',
    ],
    [
      'bad JSON',
      {
        method: 'POST',
        url: '/v1/recommend',
        payload: '{"history": [',
        headers: { 'content-type': 'application/json' },
      },
      400,
      'SEMID_ERR_PARSE',
    ],
    [
      'empty batch',
      { method: 'POST', url: '/v1/recommend/batch', payload: { requests: [] } },
      400,
      'SEMID_ERR_BAD_INPUT',
    ],
    [
      'unknown item in batch',
      { method: 'POST', url: '/v1/recommend/batch', payload: { requests: [{ history: ['a'] }, { history: ['q'] }] } },
      400,
      'SEMID_ERR_UNKNOWN_ITEM',
    ],
    [
      'unknown candidate',
      { method: 'POST', url: '/v1/score', payload: { history: ['a'], candidates: ['b', 'nope'] } },
      400,
      'SEMID_ERR_UNKNOWN_ITEM',
    ],
    [
      'no candidates',
      { method: 'POST', url: '/v1/score', payload: { history: ['a'], candidates: [] } },
      400,
      'SEMID_ERR_BAD_INPUT',
    ],
    ['unknown item lookup', { url: '/v1/items/nope' }, 404, 'SEMID_ERR_NOT_FOUND'],
    ['unknown item similar', { url: '/v1/items/nope/similar' }, 404, 'SEMID_ERR_NOT_FOUND'],
    ['similar k too large', { url: '/v1/items/a/similar?k=100000' }, 400, 'SEMID_ERR_BAD_INPUT'],
    ['unused full code', { url: '/v1/codes/1-1-1' }, 404, 'SEMID_ERR_NOT_FOUND'],
    ['code value out of range', { url: '/v1/codes/1-9' }, 400, 'SEMID_ERR_BAD_INPUT'],
    ['code too long', { url: '/v1/codes/1-0-0-0' }, 400, 'SEMID_ERR_BAD_INPUT'],
    ['code not numeric', { url: '/v1/codes/a-b' }, 400, 'SEMID_ERR_BAD_INPUT'],
    ['cursor not a full code', { url: '/v1/codes/0?cursor=0-0' }, 400, 'SEMID_ERR_BAD_INPUT'],
    ['unknown route', { url: '/v1/nothing' }, 404, 'SEMID_ERR_NOT_FOUND'],
    [
      'add without key',
      { method: 'POST', url: '/v1/items', payload: { id: 'n', code: [1, 1] } },
      401,
      'SEMID_ERR_UNAUTHORIZED',
    ],
    [
      'add with wrong key',
      { method: 'POST', url: '/v1/items', payload: { id: 'n', code: [1, 1] }, headers: { 'x-api-key': 'wrong' } },
      401,
      'SEMID_ERR_UNAUTHORIZED',
    ],
    [
      'add existing item',
      { method: 'POST', url: '/v1/items', payload: { id: 'a', code: [1, 1] }, headers: auth },
      409,
      'SEMID_ERR_CONFLICT',
    ],
    [
      'add taken code',
      { method: 'POST', url: '/v1/items', payload: { id: 'n', code: [1, 0, 1] }, headers: auth },
      409,
      'SEMID_ERR_CONFLICT',
    ],
    [
      'add under full prefix',
      { method: 'POST', url: '/v1/items', payload: { id: 'n', code: [1, 0] }, headers: auth },
      409,
      'SEMID_ERR_CONFLICT',
    ],
    [
      'add code out of range',
      { method: 'POST', url: '/v1/items', payload: { id: 'n', code: [7] }, headers: auth },
      400,
      'SEMID_ERR_BAD_INPUT',
    ],
    [
      'add with nothing to place it',
      { method: 'POST', url: '/v1/items', payload: { id: 'n' }, headers: auth },
      400,
      'SEMID_ERR_BAD_INPUT',
    ],
    [
      'add from embedding without embeddings',
      { method: 'POST', url: '/v1/items', payload: { id: 'n', embedding: [1, 2] }, headers: auth },
      400,
      'SEMID_ERR_BAD_INPUT',
    ],
    ['delete without key', { method: 'DELETE', url: '/v1/items/a' }, 401, 'SEMID_ERR_UNAUTHORIZED'],
    ['delete unknown', { method: 'DELETE', url: '/v1/items/nope', headers: auth }, 404, 'SEMID_ERR_NOT_FOUND'],
    ['reload without key', { method: 'POST', url: '/v1/admin/reload', payload: {} }, 401, 'SEMID_ERR_UNAUTHORIZED'],
    [
      'reload unknown bundle',
      { method: 'POST', url: '/v1/admin/reload', payload: { bundles: ['zz'] }, headers: auth },
      404,
      'SEMID_ERR_UNKNOWN_BUNDLE',
    ],
    [
      'wrong content type',
      { method: 'POST', url: '/v1/recommend', payload: '<history/>', headers: { 'content-type': 'application/xml' } },
      415,
      'SEMID_ERR_MEDIA_TYPE',
    ],
  ];
  it.each(cases)('%s', async (_name, req, status, errCode) => {
    const { app } = await setup();
    const res = await app.inject({
      method: req.method ?? 'GET',
      url: req.url,
      payload: req.payload as string,
      headers: req.headers,
    });
    expect(res.statusCode).toBe(status);
    const body = res.json();
    expect(body.code).toBe(errCode);
    expect(body.statusCode).toBe(status);
    expect(typeof body.message).toBe('string');
  });

  it('lists every unknown item id', async () => {
    const { app } = await setup();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/recommend',
      payload: { history: ['a', 'zz', 'yy', 'zz'] },
    });
    expect(res.json().details.unknownItems).toEqual(['zz', 'yy']);
    expect(res.json().message).toContain('"zz"');
  });

  it('rejects a body over the size limit with 413', async () => {
    const { app } = await setup();
    const history = Array.from({ length: 5000 }, () => 'x'.repeat(250));
    const res = await app.inject({ method: 'POST', url: '/v1/recommend', payload: { history } });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('SEMID_ERR_TOO_LARGE');
  });

  it('answers 401 for item changes when no API key is configured', async () => {
    const { buildApp } = await import('../../server/app.js');
    const { registry } = await setup();
    const app = await buildApp({ registry });
    apps.push(app);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/items',
      payload: { id: 'n', code: [1, 1] },
      headers: auth,
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().message).toMatch(/--api-key-env/);
  });
});

describe('operations', () => {
  it('reports health, metrics and the OpenAPI document', async () => {
    const { app } = await setup({ names: ['main', 'other'] });
    await app.inject({ method: 'POST', url: '/v1/recommend', payload: { history: ['a'] } });
    await app.inject({ method: 'POST', url: '/v1/recommend', payload: { history: ['nope'] } });
    await app.inject({ method: 'POST', url: '/v1/recommend', payload: { history: ['a'], bundle: 'other' } });
    const health = (await app.inject({ url: '/health' })).json();
    expect(health.status).toBe('ok');
    expect(health.bundles.map((b: { name: string }) => b.name)).toEqual(['main', 'other']);
    expect(health.bundles[0]).toMatchObject({ items: 7, levelSizes: [3, 4, 2], maxHistory: 3 });
    const m = await app.inject({ url: '/metrics' });
    expect(m.headers['content-type']).toMatch(/text\/plain/);
    expect(m.body).toContain('semid_http_requests_total{method="POST",route="/v1/recommend",status="200"} 2');
    expect(m.body).toContain('semid_http_requests_total{method="POST",route="/v1/recommend",status="400"} 1');
    expect(m.body).toMatch(/semid_http_request_duration_seconds_bucket\{le="\+Inf",route="\/v1\/recommend"\} 3/);
    expect(m.body).toContain('semid_bundle_items{bundle="other"} 7');
    expect(m.body).toMatch(/semid_bundle_info\{bundle="main",[^}]*scheme="fixture"/);
    // Node runtime metrics (prom-client defaults): event-loop lag, heap, GC.
    expect(m.body).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(m.body).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(m.body).toContain('# TYPE nodejs_gc_duration_seconds histogram');
    // Swagger UI at /docs, the OpenAPI document at /docs/json.
    const ui = await app.inject({ url: '/docs' });
    const page = ui.statusCode === 302 ? await app.inject({ url: `/docs/${ui.headers.location}` }) : ui;
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toMatch(/swagger-ui/i);
    const docs = (await app.inject({ url: '/docs/json' })).json();
    expect(docs.openapi).toMatch(/^3\./);
    expect(Object.keys(docs.paths)).toEqual(expect.arrayContaining(['/v1/recommend', '/v1/score', '/v1/codes/{code}']));
  });
});
