/** `semid compare` through the CLI on a tiny synthetic dataset: the real stages wired end to end. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../cli/main.js';
import { cli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'semid-compare-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('semid compare (CLI)', () => {
  it('writes a report with every metric for every scheme', async () => {
    const config = join(dir, 'compare.json');
    writeFileSync(
      config,
      JSON.stringify({
        model: { dModel: 16, layers: 1, heads: 2, ffn: 32, batch: 32, epochs: 2, warmup: 2, dropout: 0 },
        schemes: { random: { levels: 2, size: 16 }, rqkmeans: { levels: 2, size: 8, textDim: 8 } },
        validUsers: 20,
        beamWidth: 10,
      }),
    );
    const out = join(dir, 'report');
    const { code, out: stdout } = await cli([
      'compare',
      '--data',
      'synthetic:seed=3,items=120,users=150',
      '--schemes',
      'random,rqkmeans',
      '--out',
      out,
      '--config',
      config,
      '--workers',
      '0',
      '--also-exclude-history',
      '--json',
    ]);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.report).toEqual({ markdown: join(out, 'report.md'), json: join(out, 'report.json') });
    expect(summary.failures).toEqual([]);
    expect(summary.schemes.map((s: { scheme: string }) => s.scheme)).toEqual(['random', 'rqkmeans']);
    expect(summary.schemes[0].metrics['recall@10'].n).toBe(1);
    // epochs are counted from 1, as train prints them
    expect(summary.schemes[0].extra.bestEpoch.mean).toBeGreaterThanOrEqual(1);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.failures).toEqual([]);
    expect(report.schemes.map((s: { scheme: string }) => s.scheme)).toEqual(['random', 'rqkmeans']);
    for (const s of report.schemes) {
      for (const k of ['recall@5', 'recall@10', 'recall@20', 'ndcg@5', 'ndcg@10', 'ndcg@20', 'exclHist.recall@10']) {
        expect(s.metrics[k].n).toBe(1);
        expect(s.metrics[k].mean).toBeGreaterThanOrEqual(0);
      }
      expect(s.index.collisionsAfter.mean).toBe(0);
      expect(s.seconds.train.mean).toBeGreaterThan(0);
    }
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain('| random | 1 |');
    expect(md).toContain('| rqkmeans | 1 |');
    expect(md).toContain('## Coverage and popularity slices');
    expect(md).toMatch(/^\| random \| \d\.\d{4} \| 0 \| \d+ \| \d\.\d{4} \| \d+ \|/m);
  });

  it('rejects an unknown scheme with the valid names', async () => {
    const code = await run(['compare', '--data', 'synthetic', '--schemes', 'nope', '--out', join(dir, 'x')]);
    expect(code).toBe(2);
  });
});
