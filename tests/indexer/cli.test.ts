/** `semid index build / inspect / import / encode` through the CLI entry, on a small synthetic dataset. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../cli/main.js';
import { parseNpy } from '../../indexer/features/external.js';
import { gatherEncoder } from '../helpers/onnx.js';

const DATA = 'synthetic:items=120,users=200,maxLength=12';
const dir = mkdtempSync(join(tmpdir(), 'semid-index-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let out = '';
let err = '';
beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out += String(s);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err += String(s);
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

/** `semid index build --scheme <scheme> --config <cfg> --json` succeeds with a bijective index. */
async function expectBuilds(scheme: string, cfg: string, outDir: string): Promise<void> {
  out = '';
  expect(
    await run(['index', 'build', '--scheme', scheme, '--config', cfg, '--data', DATA, '--out', outDir, '--json']),
  ).toBe(0);
  expect(JSON.parse(out)).toMatchObject({ items: 120, collisionsAfter: 0 });
}

describe('semid index', () => {
  it('builds, inspects and encodes new items with a text scheme', async () => {
    const idx = join(dir, 'kw');
    expect(
      await run(['index', 'build', '--scheme', 'keywords', '--data', DATA, '--out', idx, '--seed', '3', '--json']),
    ).toBe(0);
    const diag = JSON.parse(out);
    expect(diag).toMatchObject({ items: 120, collisionsAfter: 0 });

    out = '';
    expect(await run(['index', 'inspect', idx, '--json'])).toBe(0);
    const info = JSON.parse(out);
    expect(info.manifest).toMatchObject({ scheme: 'keywords', seed: 3, hasEncoder: true });
    expect(info.examples.length).toBeGreaterThan(0);
    expect(info.examples[0].examples[0].code).toHaveLength(info.manifest.levelSizes.length);

    out = '';
    expect(await run(['index', 'inspect', idx])).toBe(0);
    expect(out).toMatch(/scheme keywords/);
    expect(out).toMatch(/collisions after {6}0/);

    const codes = JSON.parse(readFileSync(join(idx, 'codes.json'), 'utf8')).codes as Record<string, number[]>;
    const first = Object.keys(codes)[0]!;
    const items = join(dir, 'new.jsonl');
    writeFileSync(
      items,
      `${JSON.stringify({ id: 'brand-new', title: 'anything at all' })}\n${JSON.stringify({ id: first })}\n`,
    );
    out = '';
    expect(await run(['index', 'encode', idx, '--items', items])).toBe(0);
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ item: 'brand-new', status: 'ok' });
    expect(lines[1]).toMatchObject({ item: first, status: 'exists', code: codes[first] });

    // --out persists the extended index: it loads, keeps every old code and encodes the new item
    const ext = join(dir, 'kw-ext');
    out = '';
    expect(await run(['index', 'encode', idx, '--items', items, '--out', ext])).toBe(0);
    const extCodes = JSON.parse(readFileSync(join(ext, 'codes.json'), 'utf8')).codes as Record<string, number[]>;
    expect(Object.keys(extCodes)).toHaveLength(121);
    expect(extCodes['brand-new']).toEqual(lines[0].code);
    for (const [id, c] of Object.entries(codes)) expect(extCodes[id]).toEqual(c);
    out = '';
    expect(await run(['index', 'inspect', ext, '--json'])).toBe(0);
    expect(JSON.parse(out).manifest).toMatchObject({ hasEncoder: true, extended: { added: 1 } });
    // encoding the same item again against the extended index finds it
    out = '';
    expect(await run(['index', 'encode', ext, '--items', items])).toBe(0);
    expect(JSON.parse(out.trim().split('\n')[0]!)).toMatchObject({ item: 'brand-new', status: 'exists' });
  });

  it('imports a published index and applies the collision mode', async () => {
    const file = join(dir, 'pub.index.json');
    const idx = join(dir, 'pub');
    // keys are positions in dataset order; every 10 items share a code
    const pub = Object.fromEntries(
      Array.from({ length: 120 }, (_, i) => [String(i), [`<a_${Math.floor(i / 10)}>`, '<b_0>']]),
    );
    writeFileSync(file, JSON.stringify(pub));
    expect(await run(['index', 'import', file, '--data', DATA, '--out', idx, '--collisions', 'report', '--json'])).toBe(
      0,
    );
    const diag = JSON.parse(out);
    expect(diag.collisionRateBefore).toBe(1);
    expect(diag.maxItemsPerCode).toBe(10);
    expect(diag.collisionGroups).toHaveLength(12);
    expect(diag.levels.map((l: { size: number }) => l.size)).toEqual([12, 1, 10]);
  });

  it('embeds items with an ONNX encoder into .npy + ids that a scheme can use', async () => {
    const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'garden', 'kitchen', 'fitness', 'toys'];
    writeFileSync(join(dir, 'vocab.txt'), `${vocab.join('\n')}\n`);
    const E = Float32Array.from(vocab.flatMap((_, t) => [t % 2, t % 3, 1]));
    const model = gatherEncoder(E, vocab.length, 3, 'input_ids', 'h');
    writeFileSync(join(dir, 'enc.onnx'), model);
    const npy = join(dir, 'emb', 'items.npy');
    const args = [
      'index',
      'embed',
      '--data',
      DATA,
      '--out',
      npy,
      '--onnx',
      join(dir, 'enc.onnx'),
      '--vocab',
      join(dir, 'vocab.txt'),
    ];
    expect(await run(args)).toBe(0);
    const arr = parseNpy(readFileSync(npy));
    expect([arr.rows, arr.cols]).toEqual([120, 3]);
    expect(readFileSync(`${npy}.ids.txt`, 'utf8').trim().split('\n')).toHaveLength(120);
    const cfg = join(dir, 'hy.json');
    writeFileSync(
      cfg,
      JSON.stringify({ variant: 'text+cid', embeddings: npy, embeddingIds: `${npy}.ids.txt`, prefixClusters: 4 }),
    );
    await expectBuilds('hybrid', cfg, join(dir, 'hy'));
  });

  it('index embed --use writes 512-d unit rows that a build takes as its embeddings', async () => {
    const npy = join(dir, 'emb', 'use.npy');
    expect(await run(['index', 'embed', '--data', DATA, '--out', npy, '--use'])).toBe(0);
    const arr = parseNpy(readFileSync(npy));
    expect([arr.rows, arr.cols]).toEqual([120, 512]);
    let norm = 0;
    for (let k = 0; k < 512; k++) norm += (arr.data[k] as number) ** 2;
    expect(norm).toBeCloseTo(1, 4);
    const cfg = join(dir, 'rk.json');
    writeFileSync(cfg, JSON.stringify({ embeddings: npy, embeddingIds: `${npy}.ids.txt`, size: 8 }));
    await expectBuilds('rqkmeans', cfg, join(dir, 'rk'));
    expect(await run(['index', 'embed', '--data', DATA, '--out', npy, '--use', '--onnx', 'x.onnx'])).toBe(2);
    expect(err).toMatch(/either --use or --onnx/);
    // another embedder's options are refused, not ignored
    expect(await run(['index', 'embed', '--data', DATA, '--out', npy, '--use', '--dim', '32'])).toBe(2);
    expect(err).toMatch(/--dim set\(s\) the TF-IDF \+ LSA embedder, not --use/);
    expect(await run(['index', 'embed', '--data', DATA, '--out', npy, '--max-length', '64'])).toBe(2);
    expect(err).toMatch(/--max-length applies to --onnx only/);
  }, 60_000);

  it('fails with a coded error for bad input', async () => {
    expect(await run(['index', 'build', '--scheme', 'nope', '--data', DATA, '--out', join(dir, 'x')])).toBe(2);
    expect(err).toMatch(/SEMID_ERR_UNKNOWN_SCHEME.*Valid schemes: random/);
    expect(
      await run(['index', 'build', '--scheme', 'random', '--data', DATA, '--out', join(dir, 'x'), '--collisions', 'x']),
    ).toBe(2);
    expect(err).toMatch(/--collisions must be one of dedup-level, sinkhorn, report/);
    expect(await run(['index', 'inspect', join(dir, 'missing')])).toBe(2);
    expect(err).toMatch(/SEMID_ERR_ARTIFACT_MISSING/);
    expect(await run(['index', 'encode', join(dir, 'missing')])).toBe(2);
    expect(err).toMatch(/--items is required/);
  });
});
