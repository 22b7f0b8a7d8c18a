import { describe, expect, it } from 'vitest';
import { type CompareReport, meanStd, renderMarkdown, type SchemeRun, summarise } from '../../src/eval/report.js';

describe('comparison report', () => {
  it('mean and sample std are the hand-computed values', () => {
    // mean of 1,2,3,4 = 2.5; sample variance = (2.25+0.25+0.25+2.25)/3 = 5/3
    const m = meanStd([1, 2, 3, 4]);
    expect(m.mean).toBe(2.5);
    expect(m.std).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(meanStd([7])).toEqual({ mean: 7, std: 0, n: 1 });
    expect(meanStd([]).n).toBe(0);
  });

  it('groups runs by scheme and renders every metric for every scheme', () => {
    const run = (scheme: string, seed: number, r10: number): SchemeRun => ({
      scheme,
      seed,
      metrics: { 'recall@10': r10, 'ndcg@10': r10 / 2 },
      index: { collisionRateBefore: 0.1 },
      seconds: { index: 1, train: 2, eval: 3 },
    });
    const runs = [run('random', 1, 0.02), run('rqvae', 1, 0.06), run('random', 2, 0.04)];
    const schemes = summarise(runs);
    expect(schemes.map((s) => s.scheme)).toEqual(['random', 'rqvae']);
    expect(schemes[0]!.metrics['recall@10']!.mean).toBeCloseTo(0.03, 12);
    expect(schemes[0]!.seeds).toEqual([1, 2]);
    const report: CompareReport = {
      dataset: 'toy',
      createdAt: 'now',
      config: {},
      schemes,
      runs,
      failures: [{ scheme: 'letter', seed: 1, error: 'boom' }],
    };
    const md = renderMarkdown(report);
    expect(md).toContain('| random | 2 | 0.0300 ± 0.0141 |');
    expect(md).toContain('**0.0600**');
    expect(md).toContain('letter (seed 1): boom');
  });
});
