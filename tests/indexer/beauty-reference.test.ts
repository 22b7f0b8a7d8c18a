/** The published LETTER index for Beauty imports into a bijection (runs only where ../shared/data exists). */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildIndex } from '../../indexer/artifact.js';
import { loadSplit } from '../../src/core/data/index.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const beauty = resolve(repoRoot, '../shared/data/beauty');
const ref = join(beauty, 'reference');
const dir = mkdtempSync(join(tmpdir(), 'semid-beauty-ref-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(existsSync(join(ref, 'LETTER_Beauty.index.json')))('Beauty reference indexes', () => {
  it('LETTER: 24 items in 11 shared codes; sinkhorn resolves them within the 4 levels', async () => {
    const split = await loadSplit(beauty);
    const config = { path: join(ref, 'LETTER_Beauty.index.json'), idMap: join(ref, 'id_map.csv') };
    const rep = await buildIndex({
      scheme: 'imported',
      split,
      config,
      collisions: 'report',
      seed: 0,
      out: join(dir, 'r'),
    });
    expect(rep.table.size).toBe(12101);
    expect(rep.diagnostics.collisionRateBefore * 12101).toBeCloseTo(24, 6);
    expect(rep.diagnostics.collisionGroups).toHaveLength(11);
    expect(rep.diagnostics.maxItemsPerCode).toBe(3);
    const sk = await buildIndex({
      scheme: 'imported',
      split,
      config,
      collisions: 'sinkhorn',
      seed: 0,
      out: join(dir, 's'),
    });
    expect(sk.table.levelSizes).toEqual([256, 256, 256, 256]);
    expect(sk.diagnostics.collisionsAfter).toBe(0);
    // The first published item keeps its code: LETTER id 0 is ASIN B004756YJA, <a_183> <b_70> <c_232> <d_6>.
    expect(sk.table.encode('B004756YJA')).toEqual([183, 70, 232, 6]);
  });
});
