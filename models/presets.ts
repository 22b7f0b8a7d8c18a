/**
 * Named model recipes. `semid train`, `semid compare` and the library start from a preset, then apply a
 * config file and flags over it: `quality` (the default) is the best measured recipe, `fast` a quick look.
 * A preset is a method, not a per-dataset setting: the only value that depends on the data is derived
 * from the catalogue size (the number of hashed code buckets).
 */
import { SemidError } from '../src/core/errors.js';
import type { ModelConfig } from './config.js';

/** The presets' names. */
export type PresetName = 'quality' | 'fast';

/** Every preset, in the order `--help` lists them. */
export const PRESET_NAMES: readonly PresetName[] = ['quality', 'fast'];

/** The preset used when none is named. */
export const DEFAULT_PRESET: PresetName = 'quality';

/** One line per preset for `--help` and the docs. */
export const PRESET_DOCS: Readonly<Record<PresetName, string>> = {
  quality:
    'the best measured recipe (default): item-level model, 4 layers, FFN 512, dropout 0.2, hashed code buckets ' +
    '(about 5 per item), a dense item head with a learned repeat bias, 16 epochs; the dense fusion weight is ' +
    'chosen on the validation split after training',
  fast: 'a quick look: the same model with 2 layers, FFN 256, dropout 0.1, no code buckets, 5 epochs',
};

/** The smallest prime >= n (n >= 2). */
export function nextPrime(n: number): number {
  let p = Math.max(2, Math.ceil(n));
  for (;;) {
    let prime = true;
    for (let d = 2; d * d <= p; d++) {
      if (p % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) return p;
    p++;
  }
}

/**
 * Hashed code buckets for a catalogue of `items` items: the smallest prime >= 5 x items, so about one
 * item in six shares its bucket with another (a collision costs little: the item's code tokens still
 * tell it apart).
 */
export function codeBucketsFor(items: number): number {
  return nextPrime(5 * Math.max(1, items));
}

/**
 * The partial model config of preset `name` for a catalogue of `items` items (items with a code in the
 * index). Throws SEMID_ERR_BAD_CONFIG naming the valid presets for an unknown name.
 */
export function presetConfig(name: string, items: number): Partial<ModelConfig> {
  switch (name) {
    case 'quality':
      return {
        arch: 'item',
        dModel: 128,
        layers: 4,
        heads: 4,
        ffn: 512,
        dropout: 0.2,
        codeBuckets: codeBucketsFor(items),
        dense: 0.5,
        denseRepeat: true,
        epochs: 16,
        patience: 6,
        lr: 2e-3,
      };
    case 'fast':
      return {
        arch: 'item',
        dModel: 128,
        layers: 2,
        heads: 4,
        ffn: 256,
        dropout: 0.1,
        codeBuckets: 0,
        dense: 0.5,
        denseRepeat: true,
        epochs: 5,
        lr: 2e-3,
      };
    default:
      throw new SemidError(
        'SEMID_ERR_BAD_CONFIG',
        `unknown preset "${name}"; use one of ${PRESET_NAMES.map((p) => `"${p}"`).join(', ')}`,
      );
  }
}

/** Dense fusion weights tried on the validation split after training (0 = the code head alone). */
export const FUSION_GRID: readonly number[] = [0, 0.5, 1, 2, 3, 4];

/** Fields that only the item-level architecture has. */
const ITEM_ONLY = ['codeBuckets', 'dense', 'denseRepeat', 'denseFusion', 'unlikelihood', 'unlikelihoodItems'] as const;

/**
 * Preset `name` for a catalogue of `items` items with `over` (a config file's fields, then flags) on top.
 * When `over` picks another architecture than the preset's, the preset's item-level-only fields are
 * dropped, so `--arch decoder` works with any preset.
 */
export function applyPreset(name: string, items: number, over: Record<string, unknown>): Record<string, unknown> {
  const base: Record<string, unknown> = { ...presetConfig(name, items) };
  if (over.arch !== undefined && over.arch !== base.arch) for (const k of ITEM_ONLY) delete base[k];
  return { ...base, ...over };
}
