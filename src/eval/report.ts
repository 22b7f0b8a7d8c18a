/**
 * The comparison report: per scheme, mean and standard deviation over seeds of every accuracy
 * metric, index diagnostics beside accuracy, and wall time per stage. Pure functions, so the
 * report is tested on hand-made runs.
 */

/** One (scheme, seed) run of `semid compare`. */
export interface SchemeRun {
  scheme: string;
  seed: number;
  /** Test metrics, e.g. {"recall@10": 0.07, "ndcg@10": 0.04}. */
  metrics: Record<string, number>;
  /** Index quality numbers worth showing beside accuracy (utilization, collisions...). */
  index: Record<string, number>;
  /** Wall seconds per stage: index, train, eval. */
  seconds: Record<string, number>;
  /** Extra facts (epochs trained, best valid NDCG@10...). */
  extra?: Record<string, number>;
  /**
   * Per-run series for the HTML report: `loss` and `valid` (validation NDCG@10, null where an epoch
   * was not validated) per epoch, `itemsPerL0` (items under each used first-level code).
   */
  series?: Record<string, (number | null)[]>;
}

/** Mean and (sample) standard deviation; std is 0 for a single value. */
export interface MeanStd {
  mean: number;
  std: number;
  n: number;
}

/** Mean and sample standard deviation of `xs` (std 0 when fewer than two values). */
export function meanStd(xs: readonly number[]): MeanStd {
  const n = xs.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, std: 0, n };
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, std: Math.sqrt(v), n };
}

/** One scheme's aggregate over its seeds. */
export interface SchemeSummary {
  scheme: string;
  seeds: number[];
  metrics: Record<string, MeanStd>;
  index: Record<string, MeanStd>;
  seconds: Record<string, MeanStd>;
  extra: Record<string, MeanStd>;
}

/** The whole report, as written to report.json. */
export interface CompareReport {
  dataset: string;
  createdAt: string;
  config: Record<string, unknown>;
  schemes: SchemeSummary[];
  runs: SchemeRun[];
  /** Schemes that failed, with the error message: never silently left out. */
  failures: { scheme: string; seed: number; error: string }[];
}

function aggregate(runs: readonly SchemeRun[], pick: (r: SchemeRun) => Record<string, number> | undefined) {
  const keys = new Set<string>();
  for (const r of runs) for (const k of Object.keys(pick(r) ?? {})) keys.add(k);
  const out: Record<string, MeanStd> = {};
  for (const k of keys) {
    const xs = runs.map((r) => pick(r)?.[k]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
    out[k] = meanStd(xs);
  }
  return out;
}

/** Groups runs by scheme (in first-seen order) and aggregates each group. */
export function summarise(runs: readonly SchemeRun[]): SchemeSummary[] {
  const order: string[] = [];
  const groups = new Map<string, SchemeRun[]>();
  for (const r of runs) {
    if (!groups.has(r.scheme)) {
      groups.set(r.scheme, []);
      order.push(r.scheme);
    }
    groups.get(r.scheme)!.push(r);
  }
  return order.map((scheme) => {
    const g = groups.get(scheme)!;
    return {
      scheme,
      seeds: g.map((r) => r.seed),
      metrics: aggregate(g, (r) => r.metrics),
      index: aggregate(g, (r) => r.index),
      seconds: aggregate(g, (r) => r.seconds),
      extra: aggregate(g, (r) => r.extra),
    };
  });
}

function fmt(m: MeanStd | undefined, digits: number): string {
  if (!m || m.n === 0 || !Number.isFinite(m.mean)) return '-';
  return m.n > 1 ? `${m.mean.toFixed(digits)} ± ${m.std.toFixed(digits)}` : m.mean.toFixed(digits);
}

/** One decimal for seconds and counts, four for fractions below 1 (e.g. a validation NDCG). */
function fmtAuto(m: MeanStd | undefined): string {
  return fmt(m, m !== undefined && Math.abs(m.mean) < 1 && m.mean !== 0 ? 4 : 1);
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** The accuracy table's columns, in order, when present; every other metric goes to the second table. */
const MAIN_METRICS = ['recall@5', 'ndcg@5', 'recall@10', 'ndcg@10', 'recall@20', 'ndcg@20', 'mrr@20'];

/** Metrics where less is better (bold marks the lowest): invalid codes, misses. */
const LOWER_IS_BETTER = (k: string) => k.startsWith('invalid') || k === 'targetsNotInCatalogue';
/** Diagnostics with no better direction (repeats are right on some data, wrong on other): never bold. */
const NEUTRAL = (k: string) => k.startsWith('history@') || k === 'targetInHistory';

/** report.md: accuracy, slices, index quality and cost tables, best mean per metric in bold. */
export function renderMarkdown(report: CompareReport): string {
  const s = report.schemes;
  const allMetrics = [...new Set(s.flatMap((x) => Object.keys(x.metrics)))];
  const best: Record<string, number> = {};
  for (const k of allMetrics) {
    const means = s.flatMap((x) => (x.metrics[k] === undefined ? [] : [x.metrics[k].mean]));
    // no bold where every scheme has the same value (counts, or a metric all schemes tie on)
    best[k] =
      NEUTRAL(k) || means.every((m) => m === means[0])
        ? Number.NaN
        : LOWER_IS_BETTER(k)
          ? Math.min(...means)
          : Math.max(...means);
  }
  const metricTable = (keys: string[]) =>
    table(
      ['scheme', 'seeds', ...keys],
      s.map((x) => [
        x.scheme,
        String(x.seeds.length),
        ...keys.map((k) => {
          const v = fmt(x.metrics[k], 4);
          return x.metrics[k]?.mean === best[k] && s.length > 1 ? `**${v}**` : v;
        }),
      ]),
    );
  const main = MAIN_METRICS.filter((k) => allMetrics.includes(k));
  const other = allMetrics.filter((k) => !main.includes(k));
  const acc = metricTable(main);
  const slices = other.length > 0 ? metricTable(other) : '';
  const indexKeys = [...new Set(s.flatMap((x) => Object.keys(x.index)))];
  const idx = table(
    ['scheme', ...indexKeys],
    s.map((x) => [x.scheme, ...indexKeys.map((k) => fmt(x.index[k], 3))]),
  );
  const stageKeys = [...new Set(s.flatMap((x) => [...Object.keys(x.seconds), ...Object.keys(x.extra)]))];
  const cost = table(
    ['scheme', ...stageKeys.map((k) => (k in (s[0]?.seconds ?? {}) ? `${k} (s)` : k))],
    s.map((x) => [x.scheme, ...stageKeys.map((k) => fmtAuto(x.seconds[k] ?? x.extra[k]))]),
  );
  const parts = [
    `# semid compare: ${report.dataset}`,
    '',
    `Created ${report.createdAt}. Mean ± sample standard deviation over seeds; test split, leave-one-out, full ranking by constrained beam search.`,
    '',
    '## Accuracy',
    '',
    acc,
    '',
    '## Coverage, popularity slices and counts',
    '',
    slices || '(none)',
    '',
    '## Index quality',
    '',
    idx,
    '',
    '## Cost (wall time per stage)',
    '',
    cost,
    '',
    '## Configuration',
    '',
    '```json',
    JSON.stringify(report.config, null, 2),
    '```',
  ];
  if (report.failures.length > 0) {
    parts.push('', '## Failures', '', ...report.failures.map((f) => `- ${f.scheme} (seed ${f.seed}): ${f.error}`));
  }
  return `${parts.join('\n')}\n`;
}
