import { join, resolve } from 'node:path';
import { buildIndex, loadIndex } from '../indexer/artifact.js';
import { SCHEME_NAMES } from '../indexer/registry.js';
import type { SchemeName } from '../indexer/types.js';
import { applyPreset, DEFAULT_PRESET, PRESET_NAMES } from '../models/presets.js';
import type { CodeTable } from '../src/core/codes.js';
import { loadSplit } from '../src/core/data/index.js';
import { SemidError } from '../src/core/errors.js';
import type { GenerativeModel } from '../src/core/model.js';
import { initTf } from '../src/core/tf.js';
import type { SplitData } from '../src/core/types.js';
import { type CompareStages, runCompare } from '../src/eval/compare.js';
import { evaluate, resultValues } from '../src/eval/evaluate.js';
import type { CompareReport } from '../src/eval/report.js';
import { schemeNamed } from './checks.js';
import { type Command, int, log, type ParsedArgs, readConfigFile, str } from './command.js';
import { DATA_OPTIONS, type DataFlags, dataFlags, loadOptions } from './data-flags.js';
import { fusionSelector, onnxReplica, openModel, sampleExamples } from './models.js';
import { epochProgress } from './train.js';

/** What a compare run is configured by (flags, or a JSON/YAML file given with --config). */
export interface CompareConfig {
  /** Model recipe (models/presets.ts) that `model` applies over; default quality. */
  preset: string;
  /** Partial model config shared by every scheme (models/config.ts), over the preset. */
  model: Record<string, unknown>;
  /** Partial scheme configs, by scheme name. */
  schemes: Record<string, Record<string, unknown>>;
  /** Validation users sampled (seeded) for early stopping; 0 = all. */
  validUsers: number;
  /** Beam width of the test evaluation. */
  beamWidth: number;
  /** Wall-clock cap on each training run, seconds (0 = none). */
  maxTrainSeconds: number;
  /** Runtime of the test evaluation. */
  runtime: 'onnx' | 'tfjs';
  /** Training worker threads (undefined = one per spare core). */
  workers?: number;
  /**
   * Never recommend an item of the user's history at test time. Off by default (TIGER/P5/LETTER
   * protocol); RecBole-style full ranking masks history items, which suits datasets without repeats.
   */
  excludeHistory?: boolean;
  /** Also evaluate with history items excluded and report those figures as `exclHist.*`. */
  alsoExcludeHistory?: boolean;
}

const DEFAULTS: CompareConfig = {
  preset: DEFAULT_PRESET,
  model: {},
  schemes: {},
  validUsers: 2000,
  beamWidth: 20,
  maxTrainSeconds: 0,
  runtime: 'onnx',
};

/** Items under each used first-level code, largest first (the report's items-per-code chart). */
export function itemsPerFirstLevel(table: CodeTable): number[] {
  const counts = new Map<number, number>();
  for (const [, code] of table.entries()) counts.set(code[0] as number, (counts.get(code[0] as number) ?? 0) + 1);
  return [...counts.values()].sort((a, b) => b - a);
}

/** The real stages: indexer/artifact buildIndex, models/train trainModel, eval/evaluate evaluate. */
export function realStages(cfg: CompareConfig, dataSpec: string, flags: DataFlags = {}): CompareStages {
  return {
    async buildIndex({ scheme, seed, split, out }) {
      const { diagnostics, table } = await buildIndex({
        scheme: scheme as SchemeName,
        split,
        config: cfg.schemes[scheme],
        seed,
        out,
        log,
      });
      const values: Record<string, number> = {
        collisionRateBefore: diagnostics.collisionRateBefore,
        collisionsAfter: diagnostics.collisionsAfter,
        maxItemsPerCode: diagnostics.maxItemsPerCode,
        dedupShare: diagnostics.dedupShare,
        levels: diagnostics.levels.length,
      };
      diagnostics.levels.forEach((l, i) => {
        values[`util@L${i}`] = l.utilization;
        values[`perplexity@L${i}`] = l.perplexity;
      });
      if (diagnostics.prefixCoherence !== undefined) values.prefixCoherence = diagnostics.prefixCoherence;
      if (diagnostics.reconstructionError !== undefined) values.reconstructionError = diagnostics.reconstructionError;
      return { values, series: { itemsPerL0: itemsPerFirstLevel(table) } };
    },
    async train({ seed, split, indexDir, out }) {
      await initTf();
      const { trainModel } = await import('../models/train.js');
      const { resolveModelConfig } = await import('../models/config.js');
      const index = await loadIndex(indexDir, { encoder: false });
      const validExamples = sampleExamples(split.valid, cfg.validUsers, seed);
      const modelConfig = applyPreset(cfg.preset, index.table.size, { ...cfg.model, seed });
      const progress = epochProgress(resolveModelConfig(modelConfig).epochs);
      const scoreValid = async (m: GenerativeModel) => {
        const r = await evaluate({
          model: m,
          table: index.table,
          examples: validExamples,
          ks: [10],
          beamWidth: cfg.beamWidth,
        });
        return r.metrics['ndcg@10'] ?? 0;
      };
      const result = await trainModel({
        table: index.table,
        data: split,
        config: modelConfig,
        workers: cfg.workers,
        out,
        indexDir: resolve(indexDir),
        maxSeconds: cfg.maxTrainSeconds > 0 ? cfg.maxTrainSeconds : undefined,
        onStep: progress.onStep,
        validate: async (model) => {
          progress.pause();
          // Validation decodes with onnxruntime (about 7x faster than TF.js here): the current
          // weights are exported to a temporary directory, scored on a fixed valid subset, then dropped.
          const onnx = await onnxReplica(model);
          try {
            return await scoreValid(onnx.model);
          } finally {
            await onnx.close();
          }
        },
        selectFusion: fusionSelector('onnx', scoreValid),
        log,
        trainingInfo: { data: dataSpec, dataFlags: flags, validUsers: validExamples.length },
      });
      result.model.dispose();
      return {
        values: {
          epochs: result.epochs.length,
          bestEpoch: result.bestEpoch + 1,
          'validNdcg@10': result.bestValid ?? Number.NaN,
          steps: result.steps,
        },
        series: { loss: result.epochs.map((e) => e.loss), valid: result.epochs.map((e) => e.valid ?? null) },
      };
    },
    async evaluate({ split, modelDir, indexDir }) {
      const index = await loadIndex(indexDir, { encoder: false });
      const model = await openModel(modelDir, cfg.runtime);
      try {
        const run = (excludeHistory: boolean) =>
          evaluate({
            model,
            table: index.table,
            examples: split.test,
            beamWidth: cfg.beamWidth,
            excludeHistory,
            trainSequences: split.trainSequences,
            progress: excludeHistory ? 'test (history excluded)' : 'test',
          });
        const values = resultValues(await run(cfg.excludeHistory === true));
        if (cfg.alsoExcludeHistory && cfg.excludeHistory !== true) {
          // The same model under RecBole-style masking of history items, reported beside the standard figures.
          const x = resultValues(await run(true));
          for (const k of ['recall@10', 'ndcg@10', 'recall@20', 'ndcg@20']) {
            const v = x[k];
            if (v !== undefined) values[`exclHist.${k}`] = v;
          }
        }
        return { values };
      } finally {
        model.dispose();
      }
    },
  };
}

function parseSchemes(v: string): string[] {
  const names = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) {
    throw new SemidError('SEMID_ERR_UNKNOWN_SCHEME', `--schemes names no scheme; valid: ${SCHEME_NAMES.join(', ')}`);
  }
  for (const n of names) schemeNamed(n);
  return names;
}

/** Merges a config file under the flags and validates the result. */
export function resolveCompareConfig(file: Record<string, unknown> | undefined, args: ParsedArgs): CompareConfig {
  const cfg: CompareConfig = { ...DEFAULTS, ...(file as Partial<CompareConfig> | undefined) };
  const problems: string[] = [];
  const known = new Set(Object.keys(DEFAULTS).concat('workers', 'excludeHistory', 'alsoExcludeHistory'));
  if (args.values['exclude-history'] === true) cfg.excludeHistory = true;
  if (args.values['also-exclude-history'] === true) cfg.alsoExcludeHistory = true;
  for (const k of Object.keys(file ?? {})) if (!known.has(k)) problems.push(`unknown key "${k}"`);
  if (str(args, 'preset') !== undefined) cfg.preset = str(args, 'preset') as string;
  if (!(PRESET_NAMES as readonly string[]).includes(cfg.preset))
    problems.push(`preset must be one of ${PRESET_NAMES.join(', ')}, got "${cfg.preset}"`);
  if (str(args, 'epochs') !== undefined) cfg.model = { ...cfg.model, epochs: int(args, 'epochs', 0) };
  if (str(args, 'valid-users') !== undefined) cfg.validUsers = int(args, 'valid-users', 0);
  if (str(args, 'beam') !== undefined) cfg.beamWidth = int(args, 'beam', 20);
  if (str(args, 'max-train-seconds') !== undefined) cfg.maxTrainSeconds = int(args, 'max-train-seconds', 0);
  if (str(args, 'workers') !== undefined) cfg.workers = int(args, 'workers', 1);
  const rt = str(args, 'runtime');
  if (rt !== undefined) cfg.runtime = rt as CompareConfig['runtime'];
  if (cfg.runtime !== 'onnx' && cfg.runtime !== 'tfjs')
    problems.push(`runtime must be onnx or tfjs, got "${cfg.runtime}"`);
  if (!Number.isInteger(cfg.beamWidth) || cfg.beamWidth < 1) problems.push('beamWidth must be a positive integer');
  if (!Number.isInteger(cfg.validUsers) || cfg.validUsers < 0) problems.push('validUsers must be an integer >= 0');
  if (problems.length > 0) throw new SemidError('SEMID_ERR_BAD_CONFIG', `compare config: ${problems.join('; ')}`);
  return cfg;
}

function parseSeeds(args: ParsedArgs): number[] {
  const list = str(args, 'seed-list');
  if (list !== undefined) {
    const seeds = list.split(',').map(Number);
    if (seeds.some((s) => !Number.isInteger(s))) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `--seed-list must be comma-separated integers, got "${list}"`);
    }
    return seeds;
  }
  const n = int(args, 'seeds', 1);
  if (n < 1) throw new SemidError('SEMID_ERR_BAD_INPUT', `--seeds must be >= 1, got ${n}`);
  return Array.from({ length: n }, (_, i) => i + 1);
}

/** Runs a comparison and prints where the report went. */
export async function compareRun(
  split: SplitData,
  dataSpec: string,
  schemes: string[],
  seeds: number[],
  out: string,
  cfg: CompareConfig,
  flags: DataFlags = {},
): Promise<CompareReport> {
  const report = await runCompare({
    split,
    schemes,
    seeds,
    out,
    work: join(out, 'work'),
    stages: realStages(cfg, dataSpec, flags),
    config: {
      data: dataSpec,
      ...(Object.keys(flags).length > 0 ? { dataFlags: flags } : {}),
      compared: schemes,
      seeds,
      ...cfg,
    },
    log,
  });
  log(`[compare] report written to ${join(out, 'report.md')}, report.json and report.html`);
  return report;
}

const COMMON_OPTIONS = {
  config: {
    type: 'string',
    description: 'JSON/YAML file: {model: {...}, schemes: {name: {...}}, validUsers, beamWidth, ...}',
  },
  epochs: { type: 'string', description: 'maximum training epochs per scheme' },
  'valid-users': { type: 'string', description: 'validation users sampled for early stopping (0 = all)' },
  beam: { type: 'string', description: 'beam width of the test evaluation', default: '20' },
  preset: {
    type: 'string',
    description: `model recipe the model config applies over (${PRESET_NAMES.join(', ')}; default ${DEFAULT_PRESET})`,
  },
  'max-train-seconds': { type: 'string', description: 'wall-clock cap per training run (0 = none)' },
  workers: { type: 'string', description: 'training worker threads (default: one per spare core)' },
  runtime: { type: 'string', description: 'evaluation runtime: onnx or tfjs', default: 'onnx' },
  'exclude-history': { type: 'boolean', description: 'never recommend history items at test time (RecBole-style)' },
  'also-exclude-history': {
    type: 'boolean',
    description: 'report the standard figures and, beside them, exclHist.* figures with history items excluded',
  },
  json: {
    type: 'boolean',
    description: 'print a JSON summary on stdout: per scheme the mean and std of every figure, and any failures',
  },
  ...DATA_OPTIONS,
} as const;

/** The JSON summary `--json` prints: where the report is, and per scheme its aggregated figures. */
export function compareSummary(report: CompareReport, out: string) {
  return {
    dataset: report.dataset,
    report: { markdown: join(out, 'report.md'), json: join(out, 'report.json') },
    schemes: report.schemes,
    failures: report.failures,
  };
}

/** `semid compare`. */
export const compareCommand: Command = {
  name: 'compare',
  summary: 'build each scheme, train the same model on each, evaluate, write report.md/report.json',
  usage: 'semid compare --data <dir|synthetic> --schemes a,b,c [--seeds 3] --out <dir>',
  options: {
    data: { type: 'string', description: 'dataset directory or synthetic spec' },
    schemes: { type: 'string', description: `comma-separated schemes (${SCHEME_NAMES.join(', ')})` },
    seeds: { type: 'string', description: 'number of seeds (1..n)', default: '1' },
    'seed-list': { type: 'string', description: 'explicit comma-separated seeds (overrides --seeds)' },
    out: { type: 'string', description: 'report directory (replaced atomically)' },
    ...COMMON_OPTIONS,
  },
  async run(args) {
    const data = str(args, 'data');
    const out = str(args, 'out');
    const schemes = str(args, 'schemes');
    if (!data || !out || !schemes) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', 'needs --data, --schemes and --out; see `semid compare --help`');
    }
    const file = str(args, 'config');
    const cfg = resolveCompareConfig(file ? readConfigFile(file) : undefined, args);
    const names = parseSchemes(schemes);
    const seeds = parseSeeds(args);
    const flags = dataFlags(args);
    const split = await loadSplit(data, loadOptions(flags));
    const report = await compareRun(split, data, names, seeds, out, cfg, flags);
    if (args.values.json === true) process.stdout.write(`${JSON.stringify(compareSummary(report, out))}\n`);
    return report.failures.length > 0 ? 1 : 0;
  },
};

/** The schemes `semid demo` compares. */
export const DEMO_SCHEMES = ['random', 'sequential', 'collaborative', 'rqkmeans', 'rqvae', 'hybrid'];

/** The demo's model and index settings: small enough to finish in about 3 minutes on 2 cores. */
export const DEMO_CONFIG: CompareConfig = {
  ...DEFAULTS,
  preset: 'fast',
  model: { dModel: 64, layers: 2, heads: 2, ffn: 256, epochs: 6, batch: 64, lr: 3e-3, warmup: 50, patience: 2 },
  schemes: { rqvae: { epochs: 15 } },
  validUsers: 300,
  maxTrainSeconds: 15,
};

/** `semid demo`: compare on the synthetic dataset over the main schemes. */
export const demoCommand: Command = {
  name: 'demo',
  summary: 'compare the main schemes on built-in synthetic data (about 3 minutes)',
  usage: 'semid demo [--out runs/demo] [--schemes a,b]',
  options: {
    out: { type: 'string', description: 'report directory', default: 'runs/demo' },
    schemes: { type: 'string', description: 'schemes to compare', default: DEMO_SCHEMES.join(',') },
    data: { type: 'string', description: 'synthetic spec', default: 'synthetic:seed=42,items=2000,users=3000' },
    ...COMMON_OPTIONS,
  },
  async run(args) {
    const out = str(args, 'out') ?? 'runs/demo';
    const data = str(args, 'data') ?? 'synthetic';
    const file = str(args, 'config');
    const cfg = resolveCompareConfig({ ...DEMO_CONFIG, ...(file ? readConfigFile(file) : {}) }, args);
    const schemes = parseSchemes(str(args, 'schemes') ?? DEMO_SCHEMES.join(','));
    const flags = dataFlags(args);
    const split = await loadSplit(data, loadOptions(flags));
    log(`[demo] ${split.name}: ${split.items.length} items, ${split.users.length} users`);
    const report = await compareRun(split, data, schemes, [1], out, cfg, flags);
    if (args.values.json === true) {
      process.stdout.write(`${JSON.stringify(compareSummary(report, out))}\n`);
    } else {
      const { readFile } = await import('node:fs/promises');
      process.stdout.write(await readFile(join(out, 'report.md'), 'utf8'));
    }
    return report.failures.length > 0 ? 1 : 0;
  },
};
