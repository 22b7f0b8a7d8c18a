/**
 * Summary statistics of preprocessed data: what `semid data stats` prints.
 * Median: mean of the two middle values for an even count. p90: nearest rank (the value at
 * position ceil(0.9 n) of the sorted lengths).
 */
import type { LoadReport, SplitData } from '../types.js';
import { datasetFingerprint } from './fingerprint.js';

/** Distribution of per-user sequence lengths. */
export interface LengthStats {
  min: number;
  median: number;
  mean: number;
  max: number;
  p90: number;
}

/** Everything `semid data stats --json` prints. */
export interface DatasetStats {
  name: string;
  /** datasetFingerprint of the data. */
  fingerprint: string;
  users: number;
  /** Catalogue size. */
  items: number;
  /** Interactions in the sequences (after duplicates, unknown items and k-core were removed). */
  interactions: number;
  /** Catalogue items that occur in at least one sequence. */
  itemsWithInteractions: number;
  sequenceLength: LengthStats;
  /** Share (0..1) of catalogue items that have each text field. */
  textCoverage: { title: number; categories: number; brand: number; description: number };
  /** Example counts of the split: leave-one-out, or the dataset's own (`given`). */
  split: { train: number; valid: number; test: number; maxHistory: number; given: boolean };
  /** The loader's and preprocessing's counts and warnings. */
  report: LoadReport;
}

/** Length distribution of a list of non-negative counts (all zeros when empty). */
export function lengthStats(lengths: readonly number[]): LengthStats {
  const n = lengths.length;
  if (n === 0) return { min: 0, median: 0, mean: 0, max: 0, p90: 0 };
  const s = Float64Array.from(lengths).sort();
  let sum = 0;
  for (const v of s) sum += v;
  const mid = (n - 1) / 2;
  return {
    min: s[0] as number,
    median: ((s[Math.floor(mid)] as number) + (s[Math.ceil(mid)] as number)) / 2,
    mean: sum / n,
    max: s[n - 1] as number,
    p90: s[Math.ceil(0.9 * n) - 1] as number,
  };
}

/** Computes the statistics of a split. */
export function datasetStats(split: SplitData): DatasetStats {
  const lengths = split.sequences.map((s) => s.length);
  let interactions = 0;
  const used = new Set<string>();
  for (const s of split.sequences) {
    interactions += s.length;
    for (const i of s) used.add(i);
  }
  let withInteractions = 0;
  const has = { title: 0, categories: 0, brand: 0, description: 0 };
  for (const it of split.items) {
    if (used.has(it.id)) withInteractions++;
    if (it.title) has.title++;
    if (it.categories && it.categories.length > 0) has.categories++;
    if (it.brand) has.brand++;
    if (it.description) has.description++;
  }
  const share = (k: number) => (split.items.length > 0 ? k / split.items.length : 0);
  return {
    name: split.name,
    fingerprint: datasetFingerprint(split),
    users: split.users.length,
    items: split.items.length,
    interactions,
    itemsWithInteractions: withInteractions,
    sequenceLength: lengthStats(lengths),
    textCoverage: {
      title: share(has.title),
      categories: share(has.categories),
      brand: share(has.brand),
      description: share(has.description),
    },
    split: {
      train: split.train.length,
      valid: split.valid.length,
      test: split.test.length,
      maxHistory: split.maxHistory,
      given: split.presplit === true,
    },
    report: { ...split.report, warnings: [...split.report.warnings] },
  };
}
