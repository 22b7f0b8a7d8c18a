import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.js';
import { decodeJournal, encodeRecord, JOURNAL_FILE, LEGACY_OVERLAY_FILE, OverlayStore } from '../../server/overlay.js';
import { BundleRegistry } from '../../server/registry.js';
import { fakeLoader, KEY } from './helpers.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'semid-store-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
};
const auth = { 'x-api-key': KEY };

/** An app over a persisted fake bundle in `dir`; closed by `stop`. */
async function openApp(dir: string) {
  const { load } = fakeLoader();
  const registry = await BundleRegistry.open([{ name: 'main', dir }], load);
  const app = await buildApp({ registry, apiKey: KEY, docs: false, logger: false });
  return {
    app,
    stop: async () => {
      await app.close();
      await registry.close();
    },
  };
}

const RESERVED = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'];

describe('item store', () => {
  it('keeps reserved-name items across add, delete, reload and restart', async () => {
    type Step = { kind: 'add' | 'delete' | 'reload' | 'restart'; id: string };
    const step = fc.record({
      kind: fc.constantFrom<Step['kind']>('add', 'add', 'delete', 'reload', 'restart'),
      id: fc.constantFrom(...RESERVED, 'a'),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 4, maxLength: 10 }), async (steps) => {
        const dir = await mkdtemp(join(tmpdir(), 'semid-store-'));
        let cur = await openApp(dir);
        // The model: which ids are live, which were added through the API, which are retired.
        const live = new Set(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
        const retired = new Set<string>();
        const codes = new Map<string, string>();
        try {
          for (const s of steps) {
            if (s.kind === 'add') {
              const r = await cur.app.inject({
                method: 'POST',
                url: '/v1/items',
                headers: auth,
                payload: { id: s.id, title: `t ${s.id}` },
              });
              if (live.has(s.id)) expect(r.statusCode).toBe(409);
              else {
                expect(r.statusCode).toBe(201);
                const code = r.json().code.join('-');
                // A code is never handed out twice.
                expect([...codes.values()]).not.toContain(code);
                codes.set(s.id, code);
                live.add(s.id);
                retired.delete(s.id);
              }
            } else if (s.kind === 'delete') {
              const r = await cur.app.inject({ method: 'DELETE', url: `/v1/items/${s.id}`, headers: auth });
              expect(r.statusCode).toBe(live.has(s.id) ? 200 : 404);
              if (live.delete(s.id)) retired.add(s.id);
            } else if (s.kind === 'reload') {
              expect(
                (await cur.app.inject({ method: 'POST', url: '/v1/admin/reload', headers: auth })).statusCode,
              ).toBe(200);
            } else {
              await cur.stop();
              cur = await openApp(dir);
            }
            for (const id of RESERVED) {
              const r = await cur.app.inject({ url: `/v1/items/${id}` });
              if (live.has(id) || retired.has(id)) {
                expect(r.statusCode).toBe(200);
                expect(r.json()).toMatchObject({ item: id, live: live.has(id) });
                if (codes.has(id)) expect(r.json().code.join('-')).toBe(codes.get(id));
              } else expect(r.statusCode).toBe(404);
            }
          }
        } finally {
          await cur.stop();
          await rm(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 8, seed: 15 },
    );
  }, 240_000);

  it('serves catalogue items named like Object.prototype members', async () => {
    const dir = await tempDir();
    const { load } = fakeLoader({ extra: { constructor: [2, 0, 0], toString: [2, 0, 1], ['__proto__']: [2, 2, 1] } });
    const registry = await BundleRegistry.open([{ name: 'main', dir }], load);
    const app = await buildApp({ registry, apiKey: KEY });
    cleanup.push(
      () => registry.close(),
      () => app.close(),
    );
    for (const [id, code] of [
      ['constructor', [2, 0, 0]],
      ['toString', [2, 0, 1]],
    ] as const) {
      expect((await app.inject({ url: `/v1/items/${id}` })).json()).toMatchObject({ item: id, code, live: true });
    }
    // Deleting one and reloading keeps the other index items.
    expect((await app.inject({ method: 'DELETE', url: '/v1/items/constructor', headers: auth })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/v1/admin/reload', headers: auth })).statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/items/constructor' })).json().live).toBe(false);
    expect((await app.inject({ url: '/v1/items/toString' })).json().live).toBe(true);
  });

  it('migrates overlay.json into the journal and compacts the journal on load', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, LEGACY_OVERLAY_FILE),
      JSON.stringify({
        formatVersion: 1,
        kind: 'overlay',
        added: { n1: { code: [2, 2, 0], embedding: [1, 0.5, 0.25] }, ['__proto__']: { code: [2, 2, 1] } },
        removed: { b: [0, 1, 0] },
      }),
    );
    const store = await OverlayStore.open(dir, true);
    expect(store.added.get('n1')?.code).toEqual([2, 2, 0]);
    expect([...(store.added.get('n1')?.embedding ?? [])]).toEqual([1, 0.5, 0.25]);
    expect(store.added.get('__proto__')?.code).toEqual([2, 2, 1]);
    expect(store.removed.get('b')).toEqual([0, 1, 0]);
    expect(await readdir(dir)).toEqual([JOURNAL_FILE]);

    // Five more changes, then a reopen compacts them to one record per item.
    await store.record({ op: 'remove', id: 'n1', code: [2, 2, 0] });
    await store.record({ op: 'add', id: 'n1', code: [2, 2, 0] });
    await store.record({ op: 'remove', id: 'n1', code: [2, 2, 0] });
    expect(decodeJournal(await readFile(join(dir, JOURNAL_FILE))).ops).toHaveLength(6);
    const again = await OverlayStore.open(dir, true);
    expect(decodeJournal(await readFile(join(dir, JOURNAL_FILE))).ops).toHaveLength(3);
    expect([...again.removed.keys()].sort()).toEqual(['b', 'n1']);
    expect([...again.added.keys()]).toEqual(['__proto__']);
  });

  it('stores embeddings as float32 bytes, not JSON numbers', async () => {
    const dir = await tempDir();
    const store = await OverlayStore.open(dir, true);
    const embedding = Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i));
    await store.record({ op: 'add', id: 'x', code: [0, 0, 1], embedding });
    const bytes = (await readFile(join(dir, JOURNAL_FILE))).length;
    expect(bytes).toBeLessThan(4096 * 4 + 100);
    const reopened = await OverlayStore.open(dir, true);
    expect(reopened.added.get('x')?.embedding).toEqual(embedding);
  });

  it('drops a torn last record and refuses a damaged one in the middle', async () => {
    const dir = await tempDir();
    const path = join(dir, JOURNAL_FILE);
    const a = encodeRecord({ op: 'add', id: 'x', code: [0, 0, 1] });
    const b = encodeRecord({ op: 'remove', id: 'y', code: [0, 1, 0] });
    await writeFile(path, Buffer.concat([a, b.subarray(0, b.length - 3)]));
    const store = await OverlayStore.open(dir, true);
    expect([...store.added.keys()]).toEqual(['x']);
    expect(store.removed.size).toBe(0);
    // The compaction cut the torn bytes, so the next append is readable.
    await store.record({ op: 'remove', id: 'y', code: [0, 1, 0] });
    expect(decodeJournal(await readFile(path))).toMatchObject({ torn: false });

    const damaged = Buffer.concat([a, b]);
    damaged[10] = (damaged[10] as number) ^ 0xff;
    await writeFile(path, damaged);
    await expect(OverlayStore.open(dir, true)).rejects.toMatchObject({ code: 'SEMID_ERR_ARTIFACT_CORRUPT' });
  });

  it('loses no acknowledged write when the server is killed with SIGKILL during a burst', async () => {
    const dir = await tempDir();
    const script = fileURLToPath(new URL('./child-server.ts', import.meta.url));
    const start = () =>
      new Promise<{ url: string; proc: ChildProcess }>((resolve, reject) => {
        const proc = spawn(process.execPath, ['--import', 'tsx', script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
        let buf = '';
        let err = '';
        proc.stderr?.on('data', (d: Buffer) => {
          err += d.toString();
        });
        proc.stdout?.on('data', (d: Buffer) => {
          buf += d.toString();
          if (buf.includes('\n')) resolve({ url: JSON.parse(buf.slice(0, buf.indexOf('\n'))).url, proc });
        });
        proc.on('exit', (c) => reject(new Error(`child exited (${c}) before listening: ${err}`)));
      });
    const first = await start();
    const acked = new Map<string, string>();
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const id = `w${w}-${i}`;
        try {
          const r = await fetch(`${first.url}/v1/items`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...auth },
            body: JSON.stringify({ id, embedding: [1, 0.5, 0.25], title: `x ${id}` }),
          });
          if (r.status === 201) acked.set(id, ((await r.json()) as { code: number[] }).code.join('-'));
        } catch {
          return; // the connection died with the server
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    // The fixture index has 17 free codes: kill once about half are taken, mid-burst.
    while (acked.size < 8) await new Promise((r) => setTimeout(r, 2));
    first.proc.kill('SIGKILL');
    await new Promise((r) => first.proc.once('exit', r));
    stop = true;
    await Promise.all(writers);
    expect(acked.size).toBeGreaterThanOrEqual(8);

    const second = await start();
    cleanup.push(
      () =>
        new Promise((r) => {
          second.proc.once('exit', r);
          second.proc.kill('SIGTERM');
        }),
    );
    for (const [id, code] of acked) {
      const r = await fetch(`${second.url}/v1/items/${id}`);
      expect(r.status).toBe(200);
      expect(((await r.json()) as { code: number[] }).code.join('-')).toBe(code);
    }
    expect(existsSync(join(dir, JOURNAL_FILE))).toBe(true);
  }, 240_000);
});
