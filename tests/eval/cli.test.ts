import { describe, expect, it } from 'vitest';
import { parseKs } from '../../cli/eval.js';
import { loadSplit } from '../../src/core/data/index.js';
import { mostPopular } from '../../src/eval/baselines.js';
import { evaluateRanker } from '../../src/eval/evaluate.js';
import { cli } from '../helpers/cli.js';

const SPEC = 'synthetic:seed=3,items=200,users=300';

describe('semid eval', () => {
  it('evaluates the most-popular baseline and prints JSON equal to the library result', async () => {
    const r = await cli(['eval', '--baseline', 'most-popular', '--data', SPEC, '--split', 'valid', '--json']);
    expect(r.code).toBe(0);
    const got = JSON.parse(r.out);
    const split = await loadSplit(SPEC);
    const want = await evaluateRanker({
      ranker: mostPopular(
        split.items.map((i) => i.id),
        split.trainSequences,
      ),
      examples: split.valid,
    });
    expect(got.split).toBe('valid');
    expect(got.examples).toBe(split.valid.length);
    expect(got.metrics).toEqual(want.metrics);
    expect(got.metrics['recall@20']).toBeGreaterThan(0);
  });

  it('prints a table without --json', async () => {
    const r = await cli(['eval', '--baseline', 'most-popular', '--data', SPEC, '--ks', '1,10']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/recall\s+\d\.\d{4}\s+\d\.\d{4}/);
    expect(r.out).toContain('(test)');
  });

  it('rejects unknown baselines, splits and bad ks with exit code 2 and a message', async () => {
    const a = await cli(['eval', '--baseline', 'nope', '--data', SPEC]);
    expect(a.code).toBe(2);
    expect(a.err).toContain('most-popular');
    const b = await cli(['eval', '--baseline', 'most-popular', '--data', SPEC, '--split', 'train']);
    expect(b.code).toBe(2);
    // flags of generative models are refused, not ignored
    const c = await cli(['eval', '--baseline', 'most-popular', '--data', SPEC, '--beam', '50']);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/--beam does not apply to the most-popular baseline/);
    expect(() => parseKs('5,x')).toThrow(/--ks/);
    expect(parseKs('1, 5')).toEqual([1, 5]);
  });
});
