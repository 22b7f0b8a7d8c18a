import { join } from 'node:path';
import { SCHEME_NAMES } from '../indexer/registry.js';
import type { SchemeName } from '../indexer/types.js';
import { DEFAULT_PRESET, PRESET_NAMES } from '../models/presets.js';
import { COMPARE_DEFAULTS, type CompareConfig, compare } from '../src/api/compare.js';
import { loadSplit } from '../src/core/data/index.js';
import { SemidError } from '../src/core/errors.js';
import type { SplitData } from '../src/core/types.js';
import type { CompareReport } from '../src/eval/report.js';
import { schemeNamed } from './checks.js';
import { type Command, int, log, type ParsedArgs, readConfigFile, str } from './command.js';
import { DATA_OPTIONS, type DataFlags, dataFlags, loadOptions } from './data-flags.js';
import { epochProgress } from './train.js';

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
  const cfg: CompareConfig = { ...COMPARE_DEFAULTS, ...(file as Partial<CompareConfig> | undefined) };
  const problems: string[] = [];
  const known = new Set(Object.keys(COMPARE_DEFAULTS).concat('workers', 'excludeHistory', 'alsoExcludeHistory'));
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
  const report = await compare({
    data: dataSpec,
    split,
    schemes: schemes as SchemeName[],
    seeds,
    out,
    config: cfg,
    dataFlags: { ...flags },
    trainProgress: epochProgress,
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

/**
 * The demo's model and index settings: budgets in epochs (never seconds), so the same seed gives the
 * same figures on a busy and an idle machine; small enough to finish in about 3 minutes on 2 idle cores.
 */
export const DEMO_CONFIG: CompareConfig = {
  ...COMPARE_DEFAULTS,
  preset: 'fast',
  model: { dModel: 64, layers: 2, heads: 2, ffn: 256, epochs: 4, batch: 64, lr: 3e-3, warmup: 50, patience: 2 },
  schemes: { rqvae: { epochs: 15 } },
  validUsers: 300,
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
