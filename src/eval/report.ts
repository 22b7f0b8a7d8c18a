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

/** Figures that count things: shown as integers (one decimal when a mean over seeds is fractional). */
const COUNTS = new Set([
  'collisionsAfter',
  'maxItemsPerCode',
  'levels',
  'epochs',
  'bestEpoch',
  'steps',
  'targetsNotInCatalogue',
  'examples',
]);

/** One number: counts as integers, seconds with one decimal, every other figure with four. */
export function formatFigure(key: string, x: number, seconds = false): string {
  if (!Number.isFinite(x)) return '-';
  if (COUNTS.has(key)) return Number.isInteger(x) ? String(x) : x.toFixed(1);
  if (seconds) return x.toFixed(1);
  return x.toFixed(4);
}

/** Mean (± sample std over seeds) of one figure, formatted by formatFigure. */
function fmt(key: string, m: MeanStd | undefined, seconds = false): string {
  if (!m || m.n === 0 || !Number.isFinite(m.mean)) return '-';
  const mean = formatFigure(key, m.mean, seconds);
  if (m.n < 2) return mean;
  const std = COUNTS.has(key) && !Number.isInteger(m.std) ? m.std.toFixed(1) : formatFigure(key, m.std, seconds);
  return `${mean} ± ${std}`;
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** Most value columns in one table; wider groups are split into several tables. */
const MAX_COLUMNS = 8;

/** Splits `keys` into runs of at most MAX_COLUMNS. */
function chunks(keys: readonly string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < keys.length; i += MAX_COLUMNS) out.push(keys.slice(i, i + MAX_COLUMNS));
  return out;
}

/** The accuracy table's columns, in order, when present. */
const MAIN_METRICS = ['recall@5', 'ndcg@5', 'recall@10', 'ndcg@10', 'recall@20', 'ndcg@20', 'mrr@20'];

/** Metrics where less is better (bold marks the lowest): invalid codes, misses. */
const LOWER_IS_BETTER = (k: string) => k.startsWith('invalid') || k === 'targetsNotInCatalogue';
/** Diagnostics with no better direction (repeats are right on some data, wrong on other): never bold. */
const NEUTRAL = (k: string) => k.startsWith('history@') || k === 'targetInHistory' || k === 'examples';

/** The metric sections of report.md, in order: title and which metric keys go there. */
const METRIC_SECTIONS: { title: string; keys: (all: readonly string[]) => string[] }[] = [
  { title: 'Accuracy', keys: (all) => MAIN_METRICS.filter((k) => all.includes(k)) },
  {
    title: 'Accuracy with history items excluded',
    keys: (all) => all.filter((k) => k.startsWith('exclHist.')),
  },
  {
    title: 'Coverage and popularity slices',
    keys: (all) => all.filter((k) => k.startsWith('coverage@') || k.startsWith('head.') || k.startsWith('tail.')),
  },
];

/** report.md: accuracy, coverage and slices, index quality and cost tables, best mean per metric in bold. */
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
  const metricTables = (keys: string[]) =>
    chunks(keys).map((part) =>
      table(
        ['scheme', 'seeds', ...part],
        s.map((x) => [
          x.scheme,
          String(x.seeds.length),
          ...part.map((k) => {
            const v = fmt(k, x.metrics[k]);
            return x.metrics[k]?.mean === best[k] && s.length > 1 ? `**${v}**` : v;
          }),
        ]),
      ),
    );
  const placed = new Set<string>();
  const sections: [string, string[]][] = [];
  for (const sec of METRIC_SECTIONS) {
    const keys = sec.keys(allMetrics).filter((k) => !placed.has(k));
    for (const k of keys) placed.add(k);
    if (keys.length > 0 || sec.title === 'Accuracy') sections.push([sec.title, metricTables(keys)]);
  }
  const rest = allMetrics.filter((k) => !placed.has(k));
  if (rest.length > 0) sections.push(['Repeats, invalid codes and counts', metricTables(rest)]);
  const indexKeys = [...new Set(s.flatMap((x) => Object.keys(x.index)))];
  sections.push([
    'Index quality',
    chunks(indexKeys).map((part) =>
      table(
        ['scheme', ...part],
        s.map((x) => [x.scheme, ...part.map((k) => fmt(k, x.index[k]))]),
      ),
    ),
  ]);
  const stageKeys = [...new Set(s.flatMap((x) => Object.keys(x.seconds)))];
  const extraKeys = [...new Set(s.flatMap((x) => Object.keys(x.extra)))];
  sections.push([
    'Cost (wall time per stage)',
    [
      table(
        ['scheme', ...stageKeys.map((k) => `${k} (s)`)],
        s.map((x) => [x.scheme, ...stageKeys.map((k) => fmt(k, x.seconds[k], true))]),
      ),
    ],
  ]);
  if (extraKeys.length > 0) {
    sections.push([
      'Training (epochs counted from 1)',
      chunks(extraKeys).map((part) =>
        table(
          ['scheme', ...part],
          s.map((x) => [x.scheme, ...part.map((k) => fmt(k, x.extra[k]))]),
        ),
      ),
    ]);
  }
  const parts = [
    `# semid compare: ${report.dataset}`,
    '',
    `Created ${report.createdAt}. Mean ± sample standard deviation over seeds; test split, full ranking by constrained beam search. The best mean of each metric is in bold.`,
  ];
  for (const [title, tables] of sections) {
    parts.push('', `## ${title}`, '', tables.length > 0 ? tables.join('\n\n') : '(none)');
  }
  parts.push('', '## Configuration', '', '```json', JSON.stringify(report.config, null, 2), '```');
  if (report.failures.length > 0) {
    parts.push('', '## Failures', '', ...report.failures.map((f) => `- ${f.scheme} (seed ${f.seed}): ${f.error}`));
  }
  return `${parts.join('\n')}\n`;
}
