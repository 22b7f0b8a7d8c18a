/** Quick checks on the real datasets in ../shared/data (skipped with a message when absent, e.g. in a bare clone). */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { datasetFingerprint, datasetStats, loadSplit } from '../../src/core/data/index.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ml100k = resolve(repoRoot, '../shared/data/ml-100k');
const present = existsSync(resolve(ml100k, 'interactions.csv'));
if (!present) console.warn(`skipping the ml-100k checks: ${ml100k} is absent (it lives beside the repository)`);

describe.skipIf(!present)('ml-100k from ../shared/data', () => {
  it('has 943 users, 1682 items, 100000 interactions and one valid/test example per user', async () => {
    const s = datasetStats(await loadSplit(ml100k));
    expect(s).toMatchObject({ users: 943, items: 1682, interactions: 100000 });
    expect(s.split).toMatchObject({ valid: 943, test: 943, train: 100000 - 3 * 943 });
    expect(s.sequenceLength).toMatchObject({ min: 20, median: 65, max: 737 });
  });

  it('the raw GroupLens files in reference/ give the same data (same fingerprint)', async () => {
    const raw = resolve(ml100k, 'reference');
    if (!existsSync(resolve(raw, 'u.data.gz'))) return;
    const [a, b] = await Promise.all([loadSplit(ml100k), loadSplit(raw)]);
    expect(datasetFingerprint(b)).toBe(datasetFingerprint(a));
  });
});
