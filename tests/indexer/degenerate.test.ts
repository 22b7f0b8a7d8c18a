/**
 * Degenerate levels on a small catalogue: every scheme's defaults on a 200-item catalogue either give
 * levels that tell items apart or a warning naming the level and the option to change.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIndex } from '../../indexer/artifact.js';
import { degenerateLevelWarnings } from '../../indexer/shared/degenerate.js';
import type { SchemeName } from '../../indexer/types.js';
import { loadSplit } from '../../src/core/data/index.js';
import type { SplitData } from '../../src/core/types.js';

let dir: string;
let split: SplitData;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'semid-degenerate-'));
  split = await loadSplit('synthetic:items=200,users=400,seed=3');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('degenerateLevelWarnings', () => {
  it('flags a level with one value under every shared prefix, a redundant level, and a dominant dedup level', () => {
    // level 1 is constant; level 2 is a dedup level numbering the 2 items of each prefix
    const codes = [
      [0, 0, 0],
      [0, 0, 1],
      [1, 0, 0],
      [1, 0, 1],
    ];
    const w = degenerateLevelWarnings({
      scheme: 'rqkmeans',
      codes,
      levelSizes: [2, 4, 2],
      dedupLevel: true,
      collisionRateBefore: 1,
    });
    expect(w).toHaveLength(2);
    expect(w[0]).toMatch(/level 1 is degenerate: it gives one value under 2 of the 2 prefixes/);
    expect(w[0]).toContain('"size"');
    expect(w[1]).toMatch(/dedup level \(level 2\) carries most of the separation: 100%/);
    // every item unique after level 0: level 1 is redundant
    const redundant = degenerateLevelWarnings({
      scheme: 'random',
      codes: [
        [0, 3],
        [1, 3],
      ],
      levelSizes: [4, 4],
      dedupLevel: false,
      collisionRateBefore: 0,
    });
    expect(redundant).toEqual([expect.stringMatching(/level 1 tells no items apart/)]);
    // well-spread codes: nothing to report
    expect(
      degenerateLevelWarnings({
        scheme: 'random',
        codes: [
          [0, 0],
          [0, 1],
          [1, 0],
          [1, 1],
        ],
        levelSizes: [2, 2],
        dedupLevel: false,
        collisionRateBefore: 0,
      }),
    ).toEqual([]);
  });
});

const SCHEMES: SchemeName[] = [
  'random',
  'sequential',
  'atomic',
  'title',
  'category',
  'keywords',
  'collaborative',
  'rqkmeans',
];

describe('every scheme on a 200-item catalogue with its defaults', () => {
  it.each(SCHEMES)('%s: each level tells items apart, or the build warns naming the level', async (scheme) => {
    const logged: string[] = [];
    const { table, diagnostics } = await buildIndex({
      scheme,
      split,
      seed: 1,
      out: join(dir, scheme),
      log: (l) => logged.push(l),
    });
    const warnings = diagnostics.warnings ?? [];
    // warnings are also logged
    for (const w of warnings) expect(logged).toContain(`warning: ${w}`);
    const codes = split.items.map((it) => table.encode(it.id) as number[]);
    const learned = table.levelSizes.length - (diagnostics.dedupLevel ? 1 : 0);
    for (let l = 0; l < learned; l++) {
      const values = new Set(codes.map((c) => c[l]));
      // a level that uses a single value for the whole catalogue must be named
      if (values.size <= 1) expect(warnings.join('\n')).toContain(`level ${l} `);
    }
    if (diagnostics.dedupLevel && diagnostics.collisionRateBefore > 0.5) {
      expect(warnings.join('\n')).toContain('carries most of the separation');
    }
    if (scheme === 'collaborative') expect(warnings.join('\n')).toMatch(/"clusters"|"maxLeaf"/);
  });
});
