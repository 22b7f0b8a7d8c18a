/**
 * `semid eval`: evaluates a trained model (or a baseline) under the standard protocol and prints
 * Recall/NDCG@{5,10,20}, coverage, head/tail slices and, on request, the invalid-code rate.
 */
import { existsSync } from 'node:fs';
import { type ManifestBase, readManifest } from '../src/core/artifact.js';
import { datasetFingerprint, type LoadSplitOptions, loadSplit } from '../src/core/data/index.js';
import { SemidError } from '../src/core/errors.js';
import type { SplitData } from '../src/core/types.js';
import { mostPopular } from '../src/eval/baselines.js';
import { type EvalResult, evaluate, evaluateRanker, type ItemRanker } from '../src/eval/evaluate.js';
import { expectKind } from './checks.js';
import { type Command, int, log, num, type ParsedArgs, str } from './command.js';
import { DATA_OPTIONS, dataFlags, loadOptions, recordedFlags } from './data-flags.js';
import { openModel } from './models.js';

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
  table.push(row('history items in top-k', 'history', r.repeats));
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
  lines.push(`targets that are one of the user's history items: ${f4(r.repeats.targetInHistory)}`);
  if (r.shortLists > 0) lines.push(`users with fewer than ${maxK} recommendations: ${r.shortLists}`);
  lines.push(`wall time ${r.seconds.total.toFixed(1)} s (model ${r.seconds.model.toFixed(1)} s)`);
  return lines.join('\n');
}

/**
 * The dataset to evaluate a model on and how to read it: --data (and the data flags given), else the
 * dataset and data flags its manifest records (`training.data`, `training.dataFlags`).
 */
function modelData(
  args: ParsedArgs,
  modelDir: string,
  training: Record<string, unknown> | undefined,
): { data: string; opts: LoadSplitOptions } {
  const trainedOn = training?.data;
  const given = str(args, 'data');
  const data = given ?? (typeof trainedOn === 'string' ? trainedOn : undefined);
  if (data === undefined) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `model ${modelDir} does not record its dataset; pass --data <dir|spec>`,
    );
  }
  const flags = given === undefined ? { ...recordedFlags(training), ...dataFlags(args) } : dataFlags(args);
  return { data, opts: loadOptions(flags) };
}

/** Flags of generative models (codes, beams, runtimes) that an ID-based ranker has no use for. */
const CODE_ONLY_FLAGS = ['index', 'invalid-rate', 'beam', 'runtime', 'dense-fusion'] as const;

/**
 * Full-ranking evaluation of an ID-based ranker (a baseline or SASRec) with the command's flags;
 * `what` names it in the error for a flag that only generative models take.
 */
function evalRanker(
  ranker: ItemRanker,
  split: SplitData,
  which: 'valid' | 'test',
  args: ParsedArgs,
  progress: string,
  what: string,
  maxHistory?: number,
) {
  for (const flag of CODE_ONLY_FLAGS) {
    if (args.values[flag] !== undefined) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `--${flag} does not apply to ${what}: it ranks item ids (no index, no codes to decode, no beam); drop --${flag}`,
      );
    }
  }
  return evaluateRanker({
    ranker,
    examples: split[which],
    ks: parseKs(str(args, 'ks')),
    ...(maxHistory !== undefined ? { maxHistory } : {}),
    batchSize: int(args, 'batch', 256),
    excludeHistory: args.values['exclude-history'] === true,
    trainSequences: split.trainSequences,
    dumpRecs: str(args, 'dump-recs'),
    progress,
  });
}

async function runBaseline(name: BaselineName, split: SplitData, which: 'valid' | 'test', args: ParsedArgs) {
  const ranker = mostPopular(
    split.items.map((i) => i.id),
    split.trainSequences,
  );
  return evalRanker(ranker, split, which, args, `eval ${name}`, `the ${name} baseline`);
}

/** Runtimes a model can be evaluated with. */
export const RUNTIMES = ['onnx', 'tfjs'] as const;

async function runModel(modelDir: string, which: 'valid' | 'test', args: ParsedArgs) {
  const runtime = str(args, 'runtime') ?? 'onnx';
  if (!(RUNTIMES as readonly string[]).includes(runtime)) {
    throw new SemidError('SEMID_ERR_BAD_INPUT', `--runtime must be one of ${RUNTIMES.join(', ')}, got "${runtime}"`);
  }
  await expectKind(modelDir, 'model', 'semid eval --model <model dir> (from semid train)');
  const kind = await readManifest<ManifestBase & { model?: unknown }>(modelDir, 'model');
  if (kind.model === 'sasrec') return runSasrecModel(modelDir, which, args);
  const { readModelManifest } = await import('../models/io.js');
  const manifest = await readModelManifest(modelDir);
  const indexDir = str(args, 'index') ?? manifest.index;
  if (indexDir === undefined || !existsSync(indexDir)) {
    throw new SemidError(
      'SEMID_ERR_ARTIFACT_MISSING',
      `the index of model ${modelDir} ${indexDir === undefined ? 'is not recorded in its manifest' : `was not found at ${indexDir}`}; pass --index <dir>`,
    );
  }
  if (str(args, 'index') !== undefined)
    await expectKind(indexDir, 'index', 'semid eval --model <dir> --index <index dir>');
  const { data, opts } = modelData(args, modelDir, manifest.training);
  log(`[eval] loading ${data} and the index ${indexDir}`);
  const { loadIndex } = await import('../indexer/artifact.js');
  const [split, index] = await Promise.all([loadSplit(data, opts), loadIndex(indexDir, { encoder: false })]);
  const fp = index.manifest.dataset?.fingerprint;
  if (typeof fp === 'string' && fp !== datasetFingerprint(split)) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `the index ${indexDir} was built on a different dataset (${index.manifest.dataset.name}) than ${data}; evaluate on the data the index and model were built from`,
    );
  }
  log(`[eval] loading the model (${runtime})`);
  const fusion = str(args, 'dense-fusion');
  const denseFusion = fusion === undefined ? undefined : num(args, 'dense-fusion', 1);
  if (denseFusion !== undefined && !(denseFusion >= 0)) {
    throw new SemidError('SEMID_ERR_BAD_INPUT', `--dense-fusion must be a number >= 0, got "${fusion}"`);
  }
  if (denseFusion !== undefined && !(manifest.config.arch === 'item' && (manifest.config.dense ?? 0) > 0)) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `--dense-fusion needs a model with a dense item head (arch "item", dense > 0); ${modelDir} has none`,
    );
  }
  const model = await openModel(
    modelDir,
    runtime as (typeof RUNTIMES)[number],
    denseFusion !== undefined ? { denseFusion } : {},
  );
  try {
    const result = await evaluate({
      model,
      table: index.table,
      examples: split[which],
      ks: parseKs(str(args, 'ks')),
      beamWidth: int(args, 'beam', 20),
      batchSize: int(args, 'batch', 64),
      excludeHistory: args.values['exclude-history'] === true,
      invalidRate: args.values['invalid-rate'] === true,
      trainSequences: split.trainSequences,
      dumpRecs: str(args, 'dump-recs'),
      progress: 'eval',
    });
    return {
      split,
      result,
      extra: {
        model: modelDir,
        runtime,
        index: indexDir,
        scheme: index.manifest.scheme,
        ...(denseFusion !== undefined ? { denseFusion: String(denseFusion) } : {}),
      },
    };
  } finally {
    model.dispose();
  }
}

/** Evaluates a SASRec artifact (from `semid train --sasrec`) by full ranking, like the baselines. */
async function runSasrecModel(modelDir: string, which: 'valid' | 'test', args: ParsedArgs) {
  const { loadSasrec } = await import('../models/sasrec.js');
  const { initTf } = await import('../src/core/tf.js');
  await initTf();
  const { model, manifest } = await loadSasrec(modelDir);
  try {
    const { data, opts } = modelData(args, modelDir, manifest.training as Record<string, unknown> | undefined);
    log(`[eval] loading ${data}`);
    const split = await loadSplit(data, { ...opts, maxHistory: model.config.maxLen });
    const result = await evalRanker(
      model,
      split,
      which,
      args,
      'eval sasrec',
      `${modelDir} (a SASRec model)`,
      model.config.maxLen,
    );
    return { split, result, extra: { model: modelDir, runtime: 'tfjs', baseline: 'sasrec' } };
  } finally {
    model.dispose();
  }
}

/** `semid eval`. */
export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate a model or a baseline: Recall/NDCG@{5,10,20}, coverage, head/tail slices',
  usage:
    'semid eval --model <dir> [--data <dir|spec>] [--index <dir>] [--split valid|test] [--beam 20] [--runtime onnx|tfjs] [--dense-fusion x] [--json] [--dump-recs <file>]\n' +
    '       semid eval --baseline most-popular --data <dir|spec> [--split valid|test] [--json] [--dump-recs <file>]',
  options: {
    model: { type: 'string', description: 'trained model directory (from semid train)' },
    index: { type: 'string', description: "index directory (default: the one in the model's manifest)" },
    runtime: {
      type: 'string',
      description: `runtime for the model: ${RUNTIMES.join(', ')} (default onnx; onnx decodes about 7x faster here; exported next to the weights when missing or stale)`,
    },
    beam: { type: 'string', description: 'beam width (default 20; at least the largest k is used)' },
    'dense-fusion': {
      type: 'string',
      description:
        "weight of a dense item head's score added to each code's log-probability (default: the model's denseFusion)",
    },
    'invalid-rate': {
      type: 'boolean',
      description: 'also decode without the trie and report how many generated codes are no item',
    },
    baseline: { type: 'string', description: `evaluate a baseline instead of a model: ${BASELINES.join(', ')}` },
    data: {
      type: 'string',
      description: "dataset directory or spec (e.g. ../shared/data/beauty, synthetic); default: the model's",
    },
    split: { type: 'string', description: 'valid (model selection) or test (the report)', default: 'test' },
    ks: { type: 'string', description: 'cut-offs, comma-separated', default: '5,10,20' },
    batch: { type: 'string', description: 'users per model call' },
    'exclude-history': { type: 'boolean', description: "never recommend an item of the user's history" },
    json: { type: 'boolean', description: 'print the full result as one JSON object on stdout' },
    'dump-recs': {
      type: 'string',
      description: 'write one JSON line per user: {"user","history","target","items"} (top-k, best first)',
    },
    ...DATA_OPTIONS,
  },
  async run(args) {
    const which = splitFlag(str(args, 'split'));
    const baseline = str(args, 'baseline');
    const modelDir = str(args, 'model');
    if ((baseline === undefined) === (modelDir === undefined)) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', 'give either --model <dir> or --baseline most-popular');
    }
    parseKs(str(args, 'ks'));
    let out: { split: SplitData; result: EvalResult; extra: Record<string, string> };
    if (modelDir !== undefined) {
      out = await runModel(modelDir, which, args);
    } else {
      if (!(BASELINES as readonly string[]).includes(baseline as string)) {
        throw new SemidError(
          'SEMID_ERR_BAD_INPUT',
          `--baseline must be one of ${BASELINES.join(', ')}, got "${baseline}"`,
        );
      }
      const data = str(args, 'data');
      if (data === undefined) throw new SemidError('SEMID_ERR_BAD_INPUT', '--baseline needs --data <dir|spec>');
      log(`[eval] loading ${data}`);
      const split = await loadSplit(data, loadOptions(dataFlags(args)));
      const result = await runBaseline(baseline as BaselineName, split, which, args);
      out = { split, result, extra: { baseline: baseline as string } };
    }
    const { split, result, extra } = out;
    if (args.values.json === true) {
      process.stdout.write(`${JSON.stringify({ dataset: split.name, split: which, ...extra, ...result })}\n`);
    } else {
      const what = extra.baseline ?? `${extra.scheme} model ${extra.model} (${extra.runtime})`;
      process.stdout.write(`${formatResult(`${what} on ${split.name} (${which})`, result)}\n`);
    }
    return 0;
  },
};
