/** The explorer's routes through fastify.inject, on the fixture bundle (tests/server/helpers.ts). */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExploreApp } from '../../cli/explore.js';
import { BundleRegistry } from '../../server/registry.js';
import { parsePrefix } from '../../server/routes/ui.js';
import { MAP_FILE } from '../../server/ui/map.js';
import { CATALOGUE, fakeLoader } from './helpers.js';

const TITLES: Record<string, string> = { a: 'Alpha lipstick', b: 'Beta brush', f: 'Foxglove lipstick' };
const meta = async () => new Map(Object.entries(TITLES).map(([id, title]) => [id, { title, category: 'Makeup' }]));

async function open(dir: string) {
  const registry = await BundleRegistry.open([{ name: 'main', dir }], fakeLoader().load, { persist: false });
  const app = await buildExploreApp(registry, { meta });
  await app.ready();
  return {
    app,
    close: async () => {
      await app.close();
      await registry.close();
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), 'semid-ui-'));
let app: Awaited<ReturnType<typeof open>>['app'];
let close: () => Promise<void>;
beforeAll(async () => {
  ({ app, close } = await open(dir));
});
afterAll(async () => {
  await close();
  rmSync(dir, { recursive: true, force: true });
});

const get = async (url: string) => {
  const r = await app.inject({ method: 'GET', url });
  return { status: r.statusCode, body: r.json() };
};

describe('explorer routes', () => {
  it('serves the page with relative asset paths, and only the known assets', async () => {
    const page = await app.inject({ method: 'GET', url: '/ui' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('src="ui/assets/explorer.js"');
    const js = await app.inject({ method: 'GET', url: '/ui/assets/echarts.min.js' });
    expect(js.statusCode).toBe(200);
    expect(js.body.length).toBeGreaterThan(100_000);
    const bad = await get('/ui/assets/..%2Fpackage.json');
    expect(bad.status).toBe(404);
    expect(bad.body.code).toBe('SEMID_ERR_NOT_FOUND');
  });

  it('walks the code tree level by level with counts and example titles', async () => {
    const root = await get('/ui/api/tree');
    expect(root.status).toBe(200);
    expect(root.body.total).toBe(7);
    // level 0: a, b, f under 0; c, d under 1; e, g under 2
    expect(root.body.children.map((c: { value: number; count: number }) => [c.value, c.count])).toEqual([
      [0, 3],
      [1, 2],
      [2, 2],
    ]);
    expect(root.body.children[0].examples).toEqual(['Alpha lipstick', 'Foxglove lipstick', 'Beta brush']);
    const zero = await get('/ui/api/tree?prefix=0');
    expect(zero.body.children.map((c: { value: number; count: number }) => [c.value, c.count])).toEqual([
      [0, 2],
      [1, 1],
    ]);
    expect(zero.body.items.map((x: { item: string }) => x.item)).toEqual(['a', 'f', 'b']);
    expect(zero.body.items[0]).toEqual({ item: 'a', code: [0, 0, 0], title: 'Alpha lipstick', category: 'Makeup' });
    const leaf = await get('/ui/api/tree?prefix=0-0');
    expect(leaf.body.items.map((x: { item: string }) => x.item)).toEqual(['a', 'f']);
  });

  it('rejects a full code or a malformed prefix as a tree node', async () => {
    const full = await get('/ui/api/tree?prefix=0-0-0');
    expect(full.status).toBe(400);
    expect(full.body.message).toContain('at most 2');
    expect((await get('/ui/api/tree?prefix=a-1')).body.code).toBe('SEMID_ERR_BAD_INPUT');
    expect(() => parsePrefix('1--2')).toThrow(/code values/);
    expect(parsePrefix('')).toEqual([]);
  });

  it('searches by id and by every word of the title', async () => {
    const words = await get('/ui/api/search?q=LIPSTICK%20fox');
    expect(words.body.items.map((x: { item: string }) => x.item)).toEqual(['f']);
    const both = await get('/ui/api/search?q=lipstick');
    expect(both.body.items.map((x: { item: string }) => x.item)).toEqual(['a', 'f']);
    const id = await get('/ui/api/search?q=g');
    expect(id.body.items[0]).toEqual({ item: 'g', code: CATALOGUE.g });
    expect((await get('/ui/api/search?q=')).body.items).toEqual([]);
  });

  it("shows an item's code, the items sharing its prefix and its nearest neighbours", async () => {
    const r = await get('/ui/api/items/c?k=3');
    expect(r.status).toBe(200);
    expect(r.body.code).toEqual([1, 0, 0]);
    expect(r.body.siblings.map((x: { item: string }) => x.item)).toEqual(['d']);
    expect(r.body.siblingsTotal).toBe(1);
    expect(r.body.basis).toBe('code');
    // by code similarity, d (same first two levels) is the nearest
    expect(r.body.neighbours[0].item).toBe('d');
    expect(r.body.neighbours).toHaveLength(3);
    expect((await get('/ui/api/items/nope')).status).toBe(404);
  });

  it('describes ids, unknown ones with no metadata', async () => {
    const r = await app.inject({ method: 'POST', url: '/ui/api/describe', payload: { ids: ['a', 'zz'] } });
    expect(r.json().items).toEqual({ a: { title: 'Alpha lipstick', category: 'Makeup' }, zz: {} });
  });

  it('answers recommendations but none of the rest of the API', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/recommend', payload: { history: ['a'], k: 3 } });
    expect(r.statusCode).toBe(200);
    expect(r.json().items).toHaveLength(3);
    expect((await get('/v1/items/a')).status).toBe(404);
    expect((await get('/health')).status).toBe(404);
  });

  it('has no map without item embeddings', async () => {
    const r = await get('/ui/api/map');
    expect(r.status).toBe(404);
    expect(r.body.message).toContain('no item embeddings');
  });
});

/** GET /ui/api/map until it stops answering 202 (computing). */
async function pollMap(a: typeof app) {
  let r = await a.inject({ method: 'GET', url: '/ui/api/map' });
  for (let i = 0; r.statusCode === 202 && i < 1200; i++) {
    await new Promise((s) => setTimeout(s, 50));
    r = await a.inject({ method: 'GET', url: '/ui/api/map' });
  }
  return r;
}

describe('item map', () => {
  it('computes a UMAP of the item embeddings once and reads it back from the bundle directory', async () => {
    const mdir = mkdtempSync(join(tmpdir(), 'semid-ui-map-'));
    try {
      const ids = Object.keys(CATALOGUE);
      const dim = 4;
      const vecs = new Float32Array(ids.length * dim);
      ids.forEach((id, i) => {
        const code = CATALOGUE[id]!;
        vecs[i * dim + (code[0] as number)] = 1;
        vecs[i * dim + 3] = 0.1 * i;
      });
      writeFileSync(join(mdir, 'item-embeddings.json'), JSON.stringify({ dim, ids }));
      writeFileSync(join(mdir, 'item-embeddings.f32'), Buffer.from(vecs.buffer));
      const first = await open(mdir);
      const r = await pollMap(first.app);
      expect(r.statusCode).toBe(200);
      const map = r.json();
      expect(map.ids).toEqual(ids);
      expect(map.xy).toHaveLength(2 * ids.length);
      expect(map.xy.every((v: number) => Number.isFinite(v))).toBe(true);
      expect(map.firstLevel).toEqual(ids.map((id) => CATALOGUE[id]![0]));
      await first.close();
      expect(existsSync(join(mdir, MAP_FILE))).toBe(true);
      // the second server reads the cached map: the values written into the file come back
      const cached = JSON.parse(readFileSync(join(mdir, MAP_FILE), 'utf8'));
      cached.xy = cached.xy.map((_: number, i: number) => i);
      writeFileSync(join(mdir, MAP_FILE), JSON.stringify(cached));
      const second = await open(mdir);
      const again = await pollMap(second.app);
      expect(again.statusCode).toBe(200);
      expect(again.json().xy).toEqual(ids.flatMap((_, i) => [2 * i, 2 * i + 1]));
      await second.close();
    } finally {
      rmSync(mdir, { recursive: true, force: true });
    }
  });
});
