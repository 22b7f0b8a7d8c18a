/**
 * Dataset specs: the one string every CLI command takes as `--data`. A spec is either a directory
 * (any format loadDataset reads) or `synthetic` / `synthetic:seed=7,items=500,users=800` for the seeded
 * generator (keys are SyntheticOptions fields). A directory literally named "synthetic" is reached as
 * `./synthetic`.
 */
import { SemidError } from '../errors.js';
import type { Dataset, SplitData } from '../types.js';
import { type LoadDatasetOptions, loadDataset } from './detect.js';
import { type PreprocessOptions, preprocess } from './preprocess.js';
import { DEFAULT_SYNTHETIC_SEED, generateSynthetic, SYNTHETIC_DEFAULTS, type SyntheticOptions } from './synthetic.js';

/** Options of loadSplit: loading plus preprocessing. */
export interface LoadSplitOptions extends LoadDatasetOptions, PreprocessOptions {}

const SYNTHETIC_KEYS = ['seed', ...Object.keys(SYNTHETIC_DEFAULTS)] as const;

/** Whether a spec names the synthetic generator. */
export function isSyntheticSpec(spec: string): boolean {
  return spec === 'synthetic' || spec.startsWith('synthetic:');
}

/**
 * Parses `synthetic[:key=value,...]` into generator options (seed defaults to DEFAULT_SYNTHETIC_SEED).
 * @throws SEMID_ERR_BAD_INPUT naming an unknown key or a non-numeric value, with the valid keys.
 */
export function parseSyntheticSpec(spec: string): SyntheticOptions {
  const opts: Record<string, number> = { seed: DEFAULT_SYNTHETIC_SEED };
  const body = spec.slice('synthetic'.length).replace(/^:/, '');
  for (const part of body.split(',')) {
    if (part.trim() === '') continue;
    const [k, v, ...more] = part.split('=').map((s) => s.trim());
    const num = Number(v);
    if (k === undefined || v === undefined || more.length > 0 || !(SYNTHETIC_KEYS as readonly string[]).includes(k)) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `data spec "${spec}": expected key=value pairs with keys ${SYNTHETIC_KEYS.join(', ')}; got "${part}"`,
      );
    }
    if (v === '' || !Number.isFinite(num)) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `data spec "${spec}": ${k} must be a number, got "${v}"`);
    }
    opts[k] = num;
  }
  return opts as unknown as SyntheticOptions;
}

/** Loads the Dataset a spec names (directory or synthetic). */
export async function loadDatasetSpec(spec: string, opts: LoadDatasetOptions = {}): Promise<Dataset> {
  if (isSyntheticSpec(spec)) return generateSynthetic(parseSyntheticSpec(spec));
  return loadDataset(spec, opts);
}

/** Loads and preprocesses the data a spec names: the SplitData every command works on. */
export async function loadSplit(spec: string, opts: LoadSplitOptions = {}): Promise<SplitData> {
  const ds = await loadDatasetSpec(spec, opts);
  const pre: PreprocessOptions = {};
  if (opts.kcore !== undefined) pre.kcore = opts.kcore;
  if (opts.maxHistory !== undefined) pre.maxHistory = opts.maxHistory;
  return preprocess(ds, pre);
}
