import { describe, expect, it } from 'vitest';
import { escapeHtml, inlineJson, renderHtml, reproduction } from '../../src/eval/html.js';
import type { CompareReport } from '../../src/eval/report.js';
import { summarise } from '../../src/eval/report.js';

const runs = [
  { scheme: 'a', seed: 1, metrics: { 'recall@10': 0.1 }, index: { 'util@L0': 1 }, seconds: { index: 1, train: 2 } },
  { scheme: 'a', seed: 2, metrics: { 'recall@10': 0.2 }, index: { 'util@L0': 0.5 }, seconds: { index: 1, train: 4 } },
];
const report: CompareReport = {
  dataset: 'toy </script><b>',
  createdAt: '2026-01-01T00:00:00.000Z',
  config: { data: 'synthetic:seed=3', compared: ['a'], seeds: [1, 2], beamWidth: 10, model: { epochs: 2 } },
  schemes: summarise(runs),
  runs: [...runs, { ...runs[0]!, seed: 3, metrics: { 'recall@10': Number.NaN } }],
  failures: [],
};

describe('report.html', () => {
  it('is one self-contained page: inlined ECharts, script and data, no external reference', async () => {
    const html = await renderHtml(report);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script[^>]*\ssrc=/i);
    expect(html).not.toMatch(/<link[^>]*\shref=/i);
    expect(html).toContain('echarts');
    // the dataset name cannot close the data element or inject markup
    expect(html).not.toContain('toy </script><b>');
    const m = html.match(/<script type="application\/json" id="semid-report">([\s\S]*?)<\/script>/);
    const back = JSON.parse(m![1]!);
    expect(back.dataset).toBe(report.dataset);
    expect(back.runs[2].metrics['recall@10']).toBeNull();
    expect(back.schemes[0].metrics['recall@10'].mean).toBeCloseTo(0.15, 10);
  });

  it('gives the command and config file that reproduce the comparison', () => {
    const r = reproduction(report);
    expect(r.command).toBe(
      'semid compare --data synthetic:seed=3 --schemes a --seed-list 1,2 --config compare.json --out <report dir>',
    );
    expect(r.configFile).toEqual({ beamWidth: 10, model: { epochs: 2 } });
  });

  it('escapes text and JSON for HTML', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(inlineJson({ s: '</script>', x: Number.POSITIVE_INFINITY })).toBe('{"s":"\\u003c/script>","x":null}');
  });
});
