/**
 * Self-contained bundles: a model trained from one working directory (relative paths everywhere) is
 * moved to another directory, its original index deleted, and then evaluated, opened and served from a
 * third working directory. No manifest in the bundle holds an absolute or working-directory path.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.js';
import { BundleRegistry } from '../../server/registry.js';
import { bundleLoader } from '../../src/api/bundle.js';
import { loadSplit } from '../../src/core/data/index.js';
import { Recommender, semidPlugin } from '../../src/index.js';
import { cli } from '../helpers/cli.js';

const DATA = 'synthetic:items=40,users=60,minLength=4,maxLength=8';
const home = process.cwd();
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'semid-portable-'));
  for (const d of ['a', 'b', 'c']) await mkdir(join(root, d));
});
afterAll(async () => {
  process.chdir(home);
  await rm(root, { recursive: true, force: true });
});

function manifests(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...manifests(p));
    else if (n === 'manifest.json') out.push(p);
  }
  return out;
}

function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) strings(x, out);
  return out;
}

describe('a bundle moved to another directory', () => {
  it('evaluates, opens and serves from a third working directory; its manifests hold no absolute or cwd path', async () => {
    process.chdir(join(root, 'a'));
    await writeFile('tiny.json', JSON.stringify({ dModel: 16, layers: 1, heads: 2, ffn: 32, epochs: 1 }));
    const idx = await cli(['index', 'build', '--scheme', 'random', '--data', DATA, '--out', 'idx', '--seed', '1']);
    expect(idx.code, idx.err).toBe(0);
    const tr = await cli([
      'train',
      '--index',
      'idx',
      '--data',
      DATA,
      '--out',
      'model',
      '--preset',
      'fast',
      '--config',
      'tiny.json',
      '--workers',
      '0',
      '--valid-users',
      '20',
      '--fusion',
      '1',
    ]);
    expect(tr.code, tr.err).toBe(0);
    // move the bundle away and delete the index it was trained from
    await rename(join(root, 'a', 'model'), join(root, 'b', 'moved'));
    await rm(join(root, 'a'), { recursive: true, force: true });
    process.chdir(join(root, 'c'));

    for (const m of manifests(join(root, 'b', 'moved'))) {
      for (const s of strings(JSON.parse(await readFile(m, 'utf8')))) {
        expect(isAbsolute(s), `${m}: ${s}`).toBe(false);
        expect(s.includes(root), `${m}: ${s}`).toBe(false);
        expect(s === 'idx' || s.startsWith('idx/'), `${m} names the build directory's index: ${s}`).toBe(false);
      }
    }

    const ev = await cli(['eval', '--model', '../b/moved', '--json', '--runtime', 'tfjs']);
    expect(ev.code, ev.err).toBe(0);
    const result = JSON.parse(ev.out) as { metrics: Record<string, number>; examples: number };
    expect(result.examples).toBe(60);
    expect(result.metrics['recall@10']).toBeGreaterThanOrEqual(0);

    const first = (await loadSplit(DATA)).items[0]?.id as string;
    const rec = await Recommender.open('../b/moved', { runtime: 'tfjs', persist: false });
    try {
      expect(await rec.recommend([first], { k: 5 })).toHaveLength(5);
    } finally {
      await rec.close();
    }

    const registry = await BundleRegistry.open([{ name: 'moved', dir: '../b/moved' }], bundleLoader('tfjs'), {
      persist: false,
    });
    const app = await buildApp({ registry });
    try {
      const res = await app.inject({ method: 'POST', url: '/v1/recommend', payload: { history: [first], k: 5 } });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().items).toHaveLength(5);
    } finally {
      await app.close();
      await registry.close();
    }

    // a user's own fastify app mounting semid under a prefix through the public plugin
    const own = Fastify();
    own.get('/hello', async () => ({ hello: 'world' }));
    await own.register(semidPlugin, { bundles: ['../b/moved'], runtime: 'tfjs', prefix: '/rec' });
    try {
      const res = await own.inject({ method: 'POST', url: '/rec/v1/recommend', payload: { history: [first], k: 5 } });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().items).toHaveLength(5);
      expect((await own.inject({ method: 'GET', url: '/hello' })).json()).toEqual({ hello: 'world' });
      expect(
        (await own.inject({ method: 'POST', url: '/v1/recommend', payload: { history: [first] } })).statusCode,
      ).toBe(404);
    } finally {
      await own.close();
    }
    expect(existsSync(join(root, 'b', 'moved', 'index', 'codes.json'))).toBe(true);
  }, 300_000);
});
