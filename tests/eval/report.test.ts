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

describe('report.md formatting', () => {
  const run = (scheme: string, seed: number, r10: number): SchemeRun => ({
    scheme,
    seed,
    metrics: {
      'recall@5': r10 / 2,
      'recall@10': r10,
      'ndcg@10': r10 / 2,
      'coverage@10': 0.5,
      'head.recall@10': 0.1,
      'tail.recall@10': 0.02,
      targetsNotInCatalogue: 0,
      examples: 3000,
      'history@10': 0.25,
    },
    index: { collisionsAfter: 0, maxItemsPerCode: 12, levels: 3, 'util@L0': 0.98765, 'perplexity@L0': 201.123456 },
    seconds: { index: 12.34, train: 100.04, eval: 5 },
    extra: { epochs: 6, bestEpoch: 4, steps: 1200, 'validNdcg@10': 0.05 },
  });
  const report = (runs: SchemeRun[]): CompareReport => ({
    dataset: 'toy',
    createdAt: 'now',
    config: {},
    schemes: summarise(runs),
    runs,
    failures: [],
  });

  it('integers as integers, four decimals for metrics, one for seconds; epochs from 1 as given', () => {
    const md = renderMarkdown(report([run('a', 1, 0.06), run('b', 1, 0.04)]));
    expect(md).toContain('| scheme | collisionsAfter | maxItemsPerCode | levels | util@L0 | perplexity@L0 |');
    expect(md).toContain('| a | 0 | 12 | 3 | 0.9877 | 201.1235 |');
    expect(md).toContain('| a | 12.3 | 100.0 | 5.0 |');
    expect(md).toContain('| scheme | epochs | bestEpoch | steps | validNdcg@10 |');
    expect(md).toContain('| a | 6 | 4 | 1200 | 0.0500 |');
    expect(md).toContain('| a | 1 | **0.0300** | **0.0600** | **0.0300** |');
    expect(md).not.toMatch(/3000\.0|3\.000\b|\b0\.0000 \| 3000/);
    expect(md).toContain('| a | 1 | 0 | 3000 | 0.2500 |');
  });

  it('splits the figures into accuracy, coverage and slices, other counts, index quality, cost and training tables', () => {
    const md = renderMarkdown(report([run('a', 1, 0.06), run('a', 2, 0.04)]));
    const titles = [...md.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(titles).toEqual([
      'Accuracy',
      'Coverage and popularity slices',
      'Repeats, invalid codes and counts',
      'Index quality',
      'Cost (wall time per stage)',
      'Training (epochs counted from 1)',
      'Configuration',
    ]);
    expect(md).toContain('| scheme | seeds | coverage@10 | head.recall@10 | tail.recall@10 |');
    // means over two seeds keep their std; counts that are equal stay integers
    expect(md).toContain('| a | 2 | 0.0250 ± 0.0071 | 0.0500 ± 0.0141 | 0.0250 ± 0.0071 |');
    expect(md).toContain('| a | 6 ± 0 | 4 ± 0 | 1200 ± 0 | 0.0500 ± 0.0000 |');
    for (const line of md.split('\n').filter((l) => l.startsWith('| scheme'))) {
      expect(line.split('|').length - 2).toBeLessThanOrEqual(10);
    }
  });
});
