/**
 * Loading a dataset for the library API: any supported format (common CSV, MovieLens, RecBole,
 * Amazon) or a synthetic spec, preprocessed and split leave-one-out. The spec a split came from is
 * remembered, so a model trained on it records where its data lives (relative to the bundle).
 */
import { type LoadSplitOptions, loadSplit } from '../core/data/index.js';
import type { SplitData } from '../core/types.js';

const sources = new WeakMap<SplitData, string>();

/** Options of loadDataset: the format (auto-detected by default), k-core filtering and the history cap. */
export type LoadDatasetOptions = LoadSplitOptions;

/**
 * Loads a dataset directory (any supported format, detected from its files) or a synthetic spec
 * (`synthetic` or `synthetic:seed=7,items=500,users=800`), preprocessed and split leave-one-out.
 * @throws SemidError SEMID_ERR_BAD_INPUT / SEMID_ERR_PARSE naming the file and what to fix
 */
export async function loadDataset(spec: string, opts: LoadDatasetOptions = {}): Promise<SplitData> {
  const split = await loadSplit(spec, opts);
  sources.set(split, spec);
  return split;
}

/** The spec `data` was loaded from by loadDataset, if it was. */
export function dataSource(data: SplitData): string | undefined {
  return sources.get(data);
}
