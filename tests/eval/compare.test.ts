import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emptyReport, type SplitData } from '../../src/core/types.js';
import { type CompareStages, runCompare } from '../../src/eval/compare.js';

const split: SplitData = {
  name: 'toy',
  items: [],
  itemIndex: new Map(),
  users: [],
  sequences: [],
  trainSequences: [],
  train: [],
  valid: [],
  test: [],
  maxHistory: 20,
  report: emptyReport(),
};

describe('runCompare', () => {
  it('runs every scheme and seed, hands artifacts between stages, records failures and writes the report', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'semid-compare-'));
    const seen: string[] = [];
    const stages: CompareStages = {
      buildIndex: async ({ scheme, seed, out }) => {
        seen.push(`index ${scheme} ${seed} ${out.endsWith(join(`${scheme}-s${seed}`, 'index'))}`);
        if (scheme === 'broken') throw new Error('cannot fit');
        return { values: { collisionRateBefore: 0.5 } };
      },
      train: async ({ indexDir, out }) => {
        seen.push(`train ${indexDir.endsWith('index')} ${out.endsWith('model')}`);
        return { values: { epochs: 3 } };
      },
      evaluate: async ({ scheme, seed }) => ({ values: { 'recall@10': scheme === 'good' ? 0.1 + seed / 100 : 0.01 } }),
    };
    const report = await runCompare({
      split,
      schemes: ['good', 'broken', 'bad'],
      seeds: [1, 2],
      out: join(dir, 'report'),
      work: join(dir, 'work'),
      stages,
      config: { model: 'fake' },
    });
    expect(report.runs).toHaveLength(4);
    expect(report.failures.map((f) => `${f.scheme}/${f.seed}`)).toEqual(['broken/1', 'broken/2']);
    expect(report.schemes.map((s) => s.scheme)).toEqual(['good', 'bad']);
    expect(report.schemes[0]!.metrics['recall@10']!.mean).toBeCloseTo(0.115, 12);
    expect(seen).toContain('index good 1 true');
    expect(seen).toContain('train true true');
    const md = await readFile(join(dir, 'report', 'report.md'), 'utf8');
    expect(md).toContain('| good | 2 |');
    expect(md).toContain('broken (seed 1): cannot fit');
    const json = JSON.parse(await readFile(join(dir, 'report', 'report.json'), 'utf8'));
    expect(json.runs).toHaveLength(4);
  });
});

describe('runCompare artifacts', () => {
  it('keeps the work directory when it lives inside the report directory', async () => {
    const { existsSync } = await import('node:fs');
    const { mkdir, writeFile } = await import('node:fs/promises');
    const dir = await mkdtemp(join(tmpdir(), 'semid-compare-'));
    const stages: CompareStages = {
      buildIndex: async ({ out }) => {
        await mkdir(out, { recursive: true });
        await writeFile(join(out, 'codes.json'), '{}');
        return { values: {} };
      },
      train: async () => ({ values: {} }),
      evaluate: async () => ({ values: { 'recall@10': 0.1 } }),
    };
    const out = join(dir, 'report');
    await runCompare({ split, schemes: ['a'], seeds: [1], out, work: join(out, 'work'), stages, config: {} });
    await runCompare({ split, schemes: ['a'], seeds: [1], out, work: join(out, 'work'), stages, config: {} });
    expect(existsSync(join(out, 'work', 'a-s1', 'index', 'codes.json'))).toBe(true);
    expect(existsSync(join(out, 'report.md'))).toBe(true);
  });
});
