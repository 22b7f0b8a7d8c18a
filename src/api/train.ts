/**
 * Training for the library API: the code-generating model on an index and a dataset, with progress
 * callbacks, an AbortSignal, early stopping on validation NDCG@10, and a trained model that saves as a
 * self-contained bundle (its index copied inside it). Also the validation hook the CLI shares.
 */
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelConfig } from '../../models/config.js';
import { BUNDLED_INDEX } from '../../models/io.js';
import type { PresetName } from '../../models/presets.js';
import type { EpochRecord, ValidationHook } from '../../models/train.js';
import type { CodeTransformer } from '../../models/transformer.js';
import type { CodeTable } from '../core/codes.js';
import type { GenerativeModel } from '../core/model.js';
import type { Example, SplitData } from '../core/types.js';
import { evaluate } from '../eval/evaluate.js';
import { dataSource } from './data.js';
import type { Index } from './indexes.js';
import { fusionSelector, onnxReplica, type Runtime, sampleExamples } from './models.js';
import { portableDataSpec } from './paths.js';

/** Valid NDCG@10 of a model by constrained beam search over `examples` (the score early stopping follows). */
export function validationScorer(o: {
  table: CodeTable;
  examples: readonly Example[];
  beamWidth: number;
  maxHistory?: number;
}): (model: GenerativeModel) => Promise<number> {
  return async (model) => {
    const r = await evaluate({
      model,
      table: o.table,
      examples: o.examples,
      ks: [10],
      beamWidth: o.beamWidth,
      ...(o.maxHistory !== undefined ? { maxHistory: o.maxHistory } : {}),
      batchSize: 128,
    });
    return r.metrics['ndcg@10'] ?? 0;
  };
}

/**
 * The validation hook of training over `score`. With the onnx runtime the current weights are exported
 * to a temporary directory and decoded by onnxruntime (several times faster than TF.js here), then dropped.
 */
export function validationHook(
  score: (model: GenerativeModel) => Promise<number>,
  runtime: Runtime = 'onnx',
): ValidationHook {
  return async (model) => {
    if (runtime === 'tfjs') return score(model);
    const replica = await onnxReplica(model);
    try {
      return await score(replica.model);
    } finally {
      await replica.close();
    }
  };
}

/** A progress event of `train`: after every optimiser step, and after every validation. */
export type TrainProgress =
  | {
      kind: 'step';
      /** 0-based epoch. */
      epoch: number;
      /** Optimiser steps so far (1-based). */
      step: number;
      stepsPerEpoch: number;
      loss: number;
      tokensPerSecond: number;
    }
  | {
      kind: 'validation';
      epoch: number;
      /** Valid NDCG@10 of this epoch's weights. */
      ndcg10: number;
    };

/** Options of `train`. */
export interface TrainOptions {
  /** The index (from buildIndex or loadIndex) whose codes the model learns to generate. */
  index: Index;
  /** The dataset the index was built on (from loadDataset). */
  data: SplitData;
  /** Model recipe the config applies over: `quality` (the best measured recipe; default) or `fast`. */
  preset?: PresetName;
  /** Model config fields over the preset (architecture, sizes, epochs, learning rate...). */
  config?: Partial<ModelConfig>;
  /** Seed of initialisation, batching and dropout (overrides `config.seed`). */
  seed?: number;
  /** Validation users sampled (seeded) for early stopping; 0 = all. Default 2000. */
  validUsers?: number;
  /** Data-parallel worker threads besides the main thread. Default: one per spare core (at most 3). */
  workers?: number;
  /** Safety stop: end training after this many seconds (the best epoch so far is kept; reported in `stopped`). */
  maxSeconds?: number;
  onProgress?: (p: TrainProgress) => void;
  /** Aborting rejects `train` with the signal's reason (checked after every step). */
  signal?: AbortSignal;
  /** Epoch summaries and other progress lines. */
  log?: (line: string) => void;
  /** Also save the trained model there as a bundle (what `model.save(out)` does). */
  out?: string;
}

/** What a training run did. */
export interface TrainingSummary {
  epochs: EpochRecord[];
  /** 1-based epoch whose weights the model holds. */
  bestEpoch: number;
  bestValid: number | undefined;
  steps: number;
  seconds: number;
  stopped: 'epochs' | 'early-stop' | 'time' | 'steps';
}

/** A trained model in memory: save it as a bundle, then open it with `Recommender.open`. */
export class TrainedModel {
  /** @param model the trained weights; @param index its index; @param training what the run did and recorded */
  constructor(
    private readonly model: CodeTransformer,
    private readonly index: Index,
    /** What the run did. */
    readonly summary: TrainingSummary,
    private readonly record: Record<string, unknown>,
  ) {}

  /** The resolved model config. */
  get config(): ModelConfig {
    return this.model.config;
  }

  /**
   * Writes a self-contained bundle to `dir` (replaced atomically): the weights, a manifest whose paths
   * are relative to `dir`, and a copy of the index in `dir/index`.
   */
  async save(dir: string): Promise<void> {
    const { saveModel } = await import('../../models/io.js');
    const spec = this.record.dataSpec;
    const { dataSpec: _d, ...rest } = this.record;
    await saveModel(dir, this.model, {
      index: BUNDLED_INDEX,
      training: { ...(typeof spec === 'string' ? portableDataSpec(spec, dir) : {}), ...rest },
      fill: async (tmp) => {
        await cp(this.index.dir, join(tmp, BUNDLED_INDEX), { recursive: true });
      },
    });
  }

  /** Frees the model's tensors. */
  dispose(): void {
    this.model.dispose();
  }
}

/**
 * Trains the code-generating model on `index` and `data`, early-stopped on valid NDCG@10 (the best
 * epoch's weights are kept).
 * @throws SemidError SEMID_ERR_BAD_CONFIG listing every config problem; the signal's reason on abort
 */
export async function train(opts: TrainOptions): Promise<TrainedModel> {
  const { initTf } = await import('../core/tf.js');
  await initTf();
  const { resolveModelConfig } = await import('../../models/config.js');
  const { applyPreset, DEFAULT_PRESET } = await import('../../models/presets.js');
  const { trainModel } = await import('../../models/train.js');
  const over = { ...opts.config, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) };
  const config = resolveModelConfig(applyPreset(opts.preset ?? DEFAULT_PRESET, opts.index.size, over));
  const examples = sampleExamples(opts.data.valid, opts.validUsers ?? 2000, config.seed);
  const score = validationScorer({
    table: opts.index.table,
    examples,
    beamWidth: config.beamWidth,
    maxHistory: config.maxHistory,
  });
  const hook = validationHook(score);
  let epoch = 0;
  const result = await trainModel({
    table: opts.index.table,
    data: opts.data,
    config,
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    ...(opts.maxSeconds !== undefined ? { maxSeconds: opts.maxSeconds } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.log ? { log: opts.log } : {}),
    onStep: (s) => {
      epoch = s.epoch;
      opts.onProgress?.({ kind: 'step', ...s });
    },
    validate: async (model) => {
      const ndcg10 = await hook(model);
      opts.onProgress?.({ kind: 'validation', epoch, ndcg10 });
      return ndcg10;
    },
    ...(opts.config?.denseFusion === undefined ? { selectFusion: fusionSelector('onnx', score) } : {}),
  });
  const summary: TrainingSummary = {
    epochs: result.epochs,
    bestEpoch: result.bestEpoch + 1,
    bestValid: result.bestValid,
    steps: result.steps,
    seconds: result.seconds,
    stopped: result.stopped,
  };
  const source = dataSource(opts.data);
  const trained = new TrainedModel(result.model, opts.index, summary, {
    ...(source !== undefined ? { dataSpec: source } : {}),
    scheme: opts.index.scheme,
    validUsers: examples.length,
    ...summary,
    workers: result.workers,
    itemsWithoutCode: result.itemsWithoutCode,
    ...(result.fusion !== undefined ? { fusion: result.fusion } : {}),
  });
  if (opts.out !== undefined) await trained.save(opts.out);
  return trained;
}
