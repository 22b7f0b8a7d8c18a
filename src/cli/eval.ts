/**
 * `semid eval`: evaluates a trained model (or a baseline) under the standard protocol and prints
 * Recall/NDCG@{5,10,20}, coverage, head/tail slices and, on request, the invalid-code rate.
 */
import { loadSplit } from '../core/data/index.js';
import { SemidError } from '../core/errors.js';
import type { SplitData } from '../core/types.js';
import { mostPopular } from '../eval/baselines.js';
import { type EvalResult, evaluateRanker } from '../eval/evaluate.js';
import { type Command, int, log, type ParsedArgs, str } from './command.js';

/** Baselines `semid eval --baseline` runs. */
export const BASELINES = ['most-popular'] as const;
export type BaselineName = (typeof BASELINES)[number];

/** Parses `--ks 5,10,20`. */
export function parseKs(v: string | undefined): number[] {
  if (v === undefined) return [5, 10, 20];
  const ks = v.split(',').map((s) => Number(s.trim()));
  if (ks.length === 0 || ks.some((k) => !Number.isInteger(k) || k < 1)) {
    throw new SemidError('SEMID_ERR_BAD_INPUT', `--ks must be comma-separated positive integers, got "${v}"`);
  }
  return ks;
}

function splitFlag(v: string | undefined): 'valid' | 'test' {
  const s = v ?? 'test';
  if (s !== 'valid' && s !== 'test')
    throw new SemidError('SEMID_ERR_BAD_INPUT', `--split must be valid or test, got "${s}"`);
  return s;
}

const f4 = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(4));

/** The human-readable summary printed without --json. */
export function formatResult(title: string, r: EvalResult): string {
  const ks = r.settings.ks;
  const lines = [title, ''];
  const head = ['', ...ks.map((k) => `@${k}`)];
  const row = (name: string, key: string, m: Record<string, number>) => [name, ...ks.map((k) => f4(m[`${key}@${k}`]))];
  const table: string[][] = [head, row('recall', 'recall', r.metrics), row('ndcg', 'ndcg', r.metrics)];
  table.push(row('coverage', 'coverage', r.coverage));
  if (r.slices) {
    table.push(row(`head recall (${r.slices.head.examples} ex.)`, 'recall', r.slices.head.metrics));
    table.push(row(`tail recall (${r.slices.tail.examples} ex.)`, 'recall', r.slices.tail.metrics));
  }
  if (r.invalid) table.push(row('invalid (unconstrained)', 'invalid', r.invalid.rates));
  const widths = head.map((_, j) => Math.max(...table.map((t) => (t[j] ?? '').length)));
  for (const t of table)
    lines.push(t.map((c, j) => (j === 0 ? c.padEnd(widths[j] ?? 0) : c.padStart(widths[j] ?? 0))).join('  '));
  const maxK = ks[ks.length - 1] as number;
  lines.push('');
  lines.push(`mrr@${maxK} ${f4(r.metrics[`mrr@${maxK}`])}`);
  lines.push(
    `${r.examples} examples over ${r.catalogue} items; history <= ${r.settings.maxHistory}` +
      `${r.settings.beamWidth !== undefined ? `, beam ${r.settings.beamWidth}` : ''}` +
      `, history items ${r.settings.excludeHistory ? 'excluded' : 'not excluded'}`,
  );
  lines.push(
    `targets not in the catalogue (counted as misses): ${r.targetsNotInCatalogue}; history items without a code: ${r.historyItemsNotInCatalogue}`,
  );
  if (r.shortLists > 0) lines.push(`users with fewer than ${maxK} recommendations: ${r.shortLists}`);
  lines.push(`wall time ${r.seconds.total.toFixed(1)} s (model ${r.seconds.model.toFixed(1)} s)`);
  return lines.join('\n');
}

async function runBaseline(name: BaselineName, split: SplitData, which: 'valid' | 'test', args: ParsedArgs) {
  const ranker = mostPopular(
    split.items.map((i) => i.id),
    split.trainSequences,
  );
  return evaluateRanker({
    ranker,
    examples: split[which],
    ks: parseKs(str(args, 'ks')),
    batchSize: int(args, 'batch', 256),
    excludeHistory: args.values['exclude-history'] === true,
    trainSequences: split.trainSequences,
    dumpRecs: str(args, 'dump-recs'),
    progress: `eval ${name}`,
  });
}

/** `semid eval`. */
export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate a model or a baseline: Recall/NDCG@{5,10,20}, coverage, head/tail slices',
  usage: 'semid eval --baseline most-popular --data <dir|spec> [--split valid|test] [--json] [--dump-recs <file>]',
  options: {
    baseline: { type: 'string', description: `evaluate a baseline instead of a model: ${BASELINES.join(', ')}` },
    data: { type: 'string', description: 'dataset directory or spec (e.g. ../shared/data/beauty, synthetic)' },
    split: { type: 'string', description: 'valid (model selection) or test (the report)', default: 'test' },
    ks: { type: 'string', description: 'cut-offs, comma-separated', default: '5,10,20' },
    batch: { type: 'string', description: 'users per model call' },
    'exclude-history': { type: 'boolean', description: "never recommend an item of the user's history" },
    json: { type: 'boolean', description: 'print the full result as one JSON object on stdout' },
    'dump-recs': {
      type: 'string',
      description: 'write one JSON line per user: {"user","history","target","items"} (top-k, best first)',
    },
  },
  async run(args) {
    const which = splitFlag(str(args, 'split'));
    const baseline = str(args, 'baseline');
    if (baseline === undefined) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', 'semid eval: give --baseline most-popular (and --data)');
    }
    if (!(BASELINES as readonly string[]).includes(baseline)) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `--baseline must be one of ${BASELINES.join(', ')}, got "${baseline}"`,
      );
    }
    const data = str(args, 'data');
    if (data === undefined) throw new SemidError('SEMID_ERR_BAD_INPUT', 'semid eval --baseline: --data is required');
    log(`[eval] loading ${data}`);
    const split = await loadSplit(data);
    const r = await runBaseline(baseline as BaselineName, split, which, args);
    if (args.values.json === true) {
      process.stdout.write(`${JSON.stringify({ dataset: split.name, split: which, baseline, ...r })}\n`);
    } else {
      process.stdout.write(`${formatResult(`${baseline} on ${split.name} (${which})`, r)}\n`);
    }
    return 0;
  },
};
