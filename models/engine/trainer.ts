/**
 * The training engines behind one interface: a `TrainingEngine` takes an optimiser step on a batch and
 * keeps a CodeTransformer's weights current for validation, checkpoints and saving.
 *  - `onnx`: forward, backward and the AdamW step as one onnxruntime session (session.ts, update.ts),
 *    weights and moments in host Float32Arrays; the model's tf.Variables are written only on `sync`.
 *  - `tfjs`: TensorFlow.js gradients, data-parallel over worker threads (parallel.ts), and the tf AdamW
 *    (optim.ts); the reference and the fallback.
 * Both use the same AdamW semantics, schedule and state layout, so checkpoints move between them.
 */
import { SemidError } from '../../src/core/errors.js';
import type { Tensor } from '../../src/core/tf.js';
import type { TrainBatch } from '../batch.js';
import type { ModelConfig } from '../config.js';
import { AdamW, type AdamWOptions, type AdamWState } from '../optim.js';
import { DataParallel } from '../parallel.js';
import type { CodeTransformer } from '../transformer.js';
import { ONNX_TRAIN_ARCHS, type OnnxEngineOptions, OnnxUpdater } from './session.js';

/** The engine names of ModelConfig-level training options. */
export type EngineName = 'onnx' | 'tfjs';

/** One optimiser step's figures. */
export interface StepInfo {
  loss: number;
  gradNorm: number;
  lr: number;
}

/** An optimiser over a model's weights with the engine's gradients. */
export interface TrainingEngine {
  readonly name: EngineName;
  /** The optimiser's hyper-parameters (`totalSteps` may be re-planned during a run). */
  readonly opts: AdamWOptions;
  /** One step: the batch's loss and gradient (dropout seeded by `dropSeed`, off when undefined), clipping, AdamW. */
  step(batch: TrainBatch, dropSeed?: number): Promise<StepInfo>;
  /** Makes the model's weights the engine's current ones (before validating, checkpointing or saving). */
  sync(): void;
  /** Takes the model's weights as the engine's (after they were assigned from a checkpoint). */
  pull(): void;
  /** The optimiser state (for checkpoints). */
  state(): AdamWState;
  /** Restores an optimiser state from `state()` of either engine. */
  load(s: AdamWState): void;
  /** Frees threads, sessions and moments. */
  close(): Promise<void>;
}

/** Whether the onnx engine can train this config (its architecture has a training graph). */
export function onnxTrains(config: ModelConfig): boolean {
  return ONNX_TRAIN_ARCHS.includes(config.arch) && !(config.arch === 'item' && config.unlikelihood > 0);
}

/** Names of the weights that get AdamW weight decay. */
function decayedOf(model: CodeTransformer): Set<string> {
  return new Set(model.specs.filter((s) => s.decay).map((s) => s.name));
}

/** The onnx engine: one onnxruntime session for loss, gradients and the AdamW step; host weights. */
export class OnnxEngine implements TrainingEngine {
  readonly name = 'onnx';

  private constructor(
    private readonly model: CodeTransformer,
    private readonly updater: OnnxUpdater,
  ) {}

  /**
   * @param catalogueSize items of the dense item head's training catalogue (0 without the head)
   */
  static async create(
    model: CodeTransformer,
    opts: AdamWOptions,
    catalogueSize = 0,
    engine: OnnxEngineOptions = {},
  ): Promise<OnnxEngine> {
    if (!onnxTrains(model.config)) {
      throw new SemidError(
        'SEMID_ERR_BAD_CONFIG',
        `the onnx training engine covers arch ${ONNX_TRAIN_ARCHS.map((a) => `"${a}"`).join(', ')} without unlikelihood; train arch "${model.config.arch}"${model.config.unlikelihood > 0 ? ' with unlikelihood' : ''} with engine "tfjs"`,
      );
    }
    const updater = await OnnxUpdater.create(
      model.config,
      model.layout.levelSizes,
      model.values(),
      opts,
      decayedOf(model),
      catalogueSize,
      engine,
    );
    return new OnnxEngine(model, updater);
  }

  get opts(): AdamWOptions {
    return this.updater.opts;
  }

  step(batch: TrainBatch, dropSeed?: number): Promise<StepInfo> {
    return this.updater.step(batch, dropSeed);
  }

  sync(): void {
    this.model.assign(this.updater.weights);
  }

  pull(): void {
    for (const [k, v] of this.model.values()) this.updater.weights.get(k)?.set(v);
  }

  state(): AdamWState {
    return this.updater.state();
  }

  load(s: AdamWState): void {
    this.updater.load(s);
  }

  async close(): Promise<void> {
    await this.updater.release();
  }
}

/** The TensorFlow.js engine: data-parallel gradients over worker threads and the tf AdamW. */
export class TfjsEngine implements TrainingEngine {
  readonly name = 'tfjs';
  private constructor(
    private readonly dp: DataParallel,
    private readonly opt: AdamW,
  ) {}

  /** @param workers worker threads besides the main thread */
  static async create(model: CodeTransformer, opts: AdamWOptions, workers: number): Promise<TfjsEngine> {
    const dp = await DataParallel.create(model, workers);
    return new TfjsEngine(dp, new AdamW(model.weights, decayedOf(model), opts));
  }

  get opts(): AdamWOptions {
    return this.opt.opts;
  }

  async step(batch: TrainBatch, dropSeed?: number): Promise<StepInfo> {
    const { loss, grads } = await this.dp.grads(batch, dropSeed);
    const info = this.opt.apply(grads);
    for (const g of grads.values()) (g as Tensor).dispose();
    return { loss, ...info };
  }

  sync(): void {}

  pull(): void {}

  state(): AdamWState {
    return this.opt.state();
  }

  load(s: AdamWState): void {
    this.opt.load(s);
  }

  async close(): Promise<void> {
    await this.dp.close();
    this.opt.dispose();
  }
}
