/**
 * report.html: the comparison report as one self-contained page. The report's numbers go in as JSON,
 * ECharts and the page's own script and style are inlined, so the file opens from disk with no
 * network. The charts are drawn in the browser by `ui/report/report.js`.
 */
import { echartsScript, inlineScript, uiAsset } from '../core/assets.js';
import type { CompareReport } from './report.js';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

/** JSON that can sit inside a `<script type="application/json">` element. */
export function inlineJson(value: unknown): string {
  // NaN and Infinity are not JSON: they become null, which the page reads as "no value".
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * The configuration file and command that reproduce a comparison: `config` without the keys the
 * command line carries (data, schemes, seeds), which `semid compare --config` would reject.
 */
export function reproduction(report: CompareReport): { command: string; configFile: Record<string, unknown> } {
  const { data, compared, seeds, ...configFile } = report.config as Record<string, unknown>;
  const schemes = Array.isArray(compared) ? compared.join(',') : report.schemes.map((s) => s.scheme).join(',');
  const seedList = Array.isArray(seeds) ? seeds.join(',') : '1';
  const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const command = [
    'semid compare',
    `--data ${quote(String(data ?? report.dataset))}`,
    `--schemes ${quote(schemes)}`,
    `--seed-list ${quote(seedList)}`,
    '--config compare.json',
    '--out <report dir>',
  ].join(' ');
  return { command, configFile };
}

/** The whole report.html for a comparison report. */
export async function renderHtml(report: CompareReport): Promise<string> {
  const [echarts, script, style] = await Promise.all([
    echartsScript(),
    uiAsset('report/report.js'),
    uiAsset('report/report.css'),
  ]);
  const repro = reproduction(report);
  const title = `semid compare: ${report.dataset}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${style}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<p class="sub">Created ${escapeHtml(report.createdAt)}. Test split, leave-one-out, full ranking by constrained beam search.
Points and bars are means over seeds; whiskers are one sample standard deviation.</p>
</header>
<main id="report"></main>
<script type="application/json" id="semid-report">${inlineJson(report)}</script>
<script type="application/json" id="semid-repro">${inlineJson(repro)}</script>
<script>${inlineScript(echarts)}</script>
<script>${inlineScript(script)}</script>
</body>
</html>
`;
}
