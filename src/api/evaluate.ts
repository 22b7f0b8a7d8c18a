/**
 * Evaluating a bundle for the library API under the standard protocol (leave-one-out, full ranking by
 * constrained beam search, Recall/NDCG@{5,10,20}, coverage, head/tail slices).
 */
import { join } from 'node:path';
import { loadIndex } from '../../indexer/artifact.js';
import { readJson } from '../core/artifact.js';
import { datasetFingerprint } from '../core/data/index.js';
import { SemidError } from '../core/errors.js';
import type { SplitData } from '../core/types.js';
import { type EvalResult, evaluate as evaluateModel } from '../eval/evaluate.js';
import { resolveBundleLayout } from './bundle.js';
import { loadDataset } from './data.js';
import { openModel } from './models.js';
import { recordedDataSpec, type TrainingDataRecord } from './paths.js';

export type { EvalResult };

/** Options of `evaluate`. */
export interface EvaluateOptions {
  /** The bundle directory (a model directory written by `train` / `semid train`). */
  bundle: string;
  /** The dataset; default the one the bundle's manifest records. */
  data?: SplitData;
  /** `test` (the report; default) or `valid` (model selection). */
  split?: 'valid' | 'test';
  /** Cut-offs. Default [5, 10, 20]. */
  ks?: readonly number[];
  /** Beam width. Default 20. */
  beamWidth?: number;
  /** Never recommend history items. Default false (the TIGER / P5 / LETTER protocol). */
  excludeHistory?: boolean;
  /** Model runtime. Default onnx. */
  runtime?: 'onnx' | 'tfjs';
}

/**
 * Evaluates a bundle on the valid or test split of its dataset.
 * @throws SemidError SEMID_ERR_BAD_INPUT when the data is not the one the index was built on or is not recorded
 */
export async function evaluate(opts: EvaluateOptions): Promise<EvalResult> {
  const layout = await resolveBundleLayout(opts.bundle);
  const manifest = await readJson<{ training?: TrainingDataRecord }>(
    join(layout.modelDir, 'manifest.json'),
    'model manifest',
  );
  let data = opts.data;
  if (data === undefined) {
    const spec = recordedDataSpec(layout.modelDir, manifest.training);
    if (spec === undefined) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `bundle ${opts.bundle} does not record its dataset; pass data (from loadDataset)`,
      );
    }
    data = await loadDataset(spec);
  }
  const index = await loadIndex(layout.indexDir, { encoder: false });
  const fp = index.manifest.dataset?.fingerprint;
  if (typeof fp === 'string' && fp !== datasetFingerprint(data)) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `the index of ${opts.bundle} was built on a different dataset (${index.manifest.dataset.name}) than ${data.name}; evaluate on the data the bundle was trained on`,
    );
  }
  const model = await openModel(layout.modelDir, opts.runtime ?? 'onnx');
  try {
    return await evaluateModel({
      model,
      table: index.table,
      examples: data[opts.split ?? 'test'],
      ...(opts.ks ? { ks: opts.ks } : {}),
      beamWidth: opts.beamWidth ?? 20,
      excludeHistory: opts.excludeHistory ?? false,
      trainSequences: data.trainSequences,
    });
  } finally {
    model.dispose();
  }
}
