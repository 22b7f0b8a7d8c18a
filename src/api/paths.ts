/**
 * Paths inside artifact manifests. A bundle (a model directory) must stay usable when it is moved or
 * copied, so what its manifest points at is stored relative to the bundle itself: its index is copied
 * inside it (`index/`), and the dataset it was trained on is a synthetic spec or a path relative to the
 * bundle, marked as such. Manifests written before this rule stored the index and the dataset as given
 * on the command line (relative to the working directory of that run, or absolute); those still load,
 * resolved as before.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { isSyntheticSpec } from '../core/data/load.js';

/**
 * The index directory a model manifest's `index` names: relative to the model directory (bundles
 * written by semid: `index`), else, for older manifests, absolute or relative to the working
 * directory. Undefined when the manifest names none or nothing exists where it points.
 */
export function modelIndexDir(modelDir: string, index: unknown): string | undefined {
  if (typeof index !== 'string' || index === '') return undefined;
  if (isAbsolute(index)) return existsSync(index) ? index : undefined;
  return [resolve(modelDir, index), resolve(index)].find((c) => existsSync(c));
}

/** How a model manifest's `training` record names its dataset. */
export interface TrainingDataRecord {
  /** A synthetic spec, or a dataset path (see `dataRelativeTo`). */
  data?: unknown;
  /** `bundle`: `data` is relative to the model directory; absent in older manifests (working directory). */
  dataRelativeTo?: unknown;
}

/**
 * The manifest form of a dataset spec for a bundle written to `bundleDir`: a synthetic spec as it is,
 * a path relative to the bundle (marked `dataRelativeTo: "bundle"`).
 */
export function portableDataSpec(spec: string, bundleDir: string): { data: string; dataRelativeTo?: 'bundle' } {
  if (isSyntheticSpec(spec)) return { data: spec };
  return { data: relative(resolve(bundleDir), resolve(spec)) || '.', dataRelativeTo: 'bundle' };
}

/** The dataset spec a model manifest records, resolved for use from any working directory. */
export function recordedDataSpec(modelDir: string, training: TrainingDataRecord | undefined): string | undefined {
  const data = training?.data;
  if (typeof data !== 'string') return undefined;
  if (isSyntheticSpec(data)) return data;
  return training?.dataRelativeTo === 'bundle' ? resolve(modelDir, data) : data;
}
