import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildIndex, loadIndex } from '../../indexer/artifact.js';
import { random } from '../../indexer/random.js';
import type { IndexingScheme } from '../../indexer/types.js';
import { CodeTable } from '../../src/core/codes.js';
import { tinySplit } from './fixture.js';

const root = mkdtempSync(join(tmpdir(), 'semid-artifact-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const split = tinySplit();

async function good(name: string): Promise<string> {
  const out = join(root, name);
  await buildIndex({ scheme: 'title', split, seed: 1, out });
  return out;
}

describe('index artifact', () => {
  it('writes manifest, codes, diagnostics and encoder state', async () => {
    const out = await good('complete');
    expect(readdirSync(out).sort()).toEqual(['codes.json', 'diagnostics.json', 'manifest.json', 'state']);
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(m).toMatchObject({
      kind: 'index',
      formatVersion: 1,
      scheme: 'title',
      seed: 1,
      hasEncoder: true,
      dedupLevel: true,
    });
    expect(m.dataset).toMatchObject({ name: 'tiny', items: 60 });
    expect(m.dataset.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(m.config).toEqual({ maxWords: 4, vocabSize: 4096, suffixHeadroom: 1, collisions: 'dedup-level' });
  });

  it('says clearly when the directory or a file is missing', async () => {
    await expect(loadIndex(join(root, 'nothing-here'))).rejects.toMatchObject({ code: 'SEMID_ERR_ARTIFACT_MISSING' });
    const out = await good('no-codes');
    rmSync(join(out, 'codes.json'));
    await expect(loadIndex(out)).rejects.toMatchObject({ code: 'SEMID_ERR_ARTIFACT_MISSING', message: /codes\.json/ });
    const out2 = await good('no-state');
    rmSync(join(out2, 'state'), { recursive: true });
    await expect(loadIndex(out2)).rejects.toMatchObject({ code: 'SEMID_ERR_ARTIFACT_MISSING' });
    await expect(loadIndex(out2, { encoder: false })).resolves.toBeDefined();
  });

  it('says clearly when a file is corrupt', async () => {
    const out = await good('corrupt');
    writeFileSync(join(out, 'codes.json'), '{"levelSizes": [2], "co');
    await expect(loadIndex(out)).rejects.toMatchObject({
      code: 'SEMID_ERR_ARTIFACT_CORRUPT',
      message: /not valid JSON/,
    });
    const t = new CodeTable([2], [['a', [0]]]).toJSON();
    writeFileSync(join(out, 'codes.json'), JSON.stringify({ ...t, codes: { a: [0], b: [0] } }));
    await expect(loadIndex(out)).rejects.toMatchObject({ code: 'SEMID_ERR_ARTIFACT_CORRUPT', message: /share code/ });
    writeFileSync(join(out, 'codes.json'), JSON.stringify(t));
    await expect(loadIndex(out)).rejects.toMatchObject({ code: 'SEMID_ERR_ARTIFACT_CORRUPT', message: /level sizes/ });
  });

  it('refuses another format version or an unknown scheme', async () => {
    const out = await good('version');
    const path = join(out, 'manifest.json');
    const m = JSON.parse(readFileSync(path, 'utf8'));
    writeFileSync(path, JSON.stringify({ ...m, formatVersion: 999 }));
    await expect(loadIndex(out)).rejects.toMatchObject({ code: 'SEMID_ERR_ARTIFACT_VERSION', message: /rebuild/ });
    writeFileSync(path, JSON.stringify({ ...m, scheme: 'martian' }));
    await expect(loadIndex(out)).rejects.toMatchObject({ code: 'SEMID_ERR_ARTIFACT_CORRUPT', message: /martian/ });
  });

  it('keeps the old artifact when a build fails half-way', async () => {
    const out = await good('interrupted');
    const before = readFileSync(join(out, 'codes.json'), 'utf8');
    const failing: IndexingScheme<any> = {
      ...random,
      name: 'random',
      resolve: () => ({ levels: 2, size: 256, collisions: 'dedup-level' }),
      async fit(input, c) {
        const f = await random.fit(input, c as never);
        return {
          ...f,
          saveState: async (dir: string) => {
            writeFileSync(join(dir, '..', 'partial.txt'), 'x');
            throw new Error('disk full');
          },
        };
      },
    };
    await expect(buildIndex({ scheme: failing, split, seed: 2, out })).rejects.toThrow('disk full');
    expect(readFileSync(join(out, 'codes.json'), 'utf8')).toBe(before);
    expect((await loadIndex(out)).manifest.scheme).toBe('title');
    expect(readdirSync(root).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('writes nothing for a bad config and rejects --collisions for unique-by-construction schemes', async () => {
    const out = join(root, 'never');
    await expect(buildIndex({ scheme: 'random', split, config: { levels: -1 }, seed: 1, out })).rejects.toMatchObject({
      code: 'SEMID_ERR_BAD_CONFIG',
    });
    await expect(
      buildIndex({ scheme: 'sequential', split, collisions: 'sinkhorn', seed: 1, out }),
    ).rejects.toMatchObject({
      code: 'SEMID_ERR_BAD_CONFIG',
      message: /does not apply/,
    });
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a fit that does not cover the catalogue', async () => {
    const partial: IndexingScheme<any> = {
      ...random,
      resolve: () => ({}),
      async fit(input) {
        const f = await random.fit(input, { levels: 2, size: 256, collisions: 'dedup-level' });
        return { ...f, table: f.table.without(input.items[0]!.id) };
      },
    };
    await expect(buildIndex({ scheme: partial, split, seed: 1, out: join(root, 'partial') })).rejects.toMatchObject({
      code: 'SEMID_ERR_COLLISION',
      message: /1 items without a code/,
    });
  });
});
