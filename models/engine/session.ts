/**
 * Runs a training graph (graphs.ts) on onnxruntime-node's CPU kernels: one `run` feeds the weights,
 * the batch and its dropout masks, and returns the loss and every weight's gradient as host
 * Float32Arrays. Forward and backward are one inference session over all intra-op threads.
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { TokenLayout } from '../../src/core/codes.js';
import { SemidError } from '../../src/core/errors.js';
import type { TrainBatch } from '../batch.js';
import type { ModelConfig } from '../config.js';
import { paramSpecs } from '../transformer.js';
import { catalogueFeeds, decoderFeeds, dropoutFeeds, type Feeds, itemFeeds } from './feeds.js';
import { decoderTrainGraph, itemTrainGraph, type TrainGraph } from './graphs.js';

/** Session options of the onnx training engine. */
export interface OnnxEngineOptions {
  /** onnxruntime intra-op threads. Default: the machine's core count. */
  threads?: number;
  /**
   * Let idle intra-op threads spin (onnxruntime's `allow_spinning`). Default false: on a shared machine a
   * spinning thread that loses its core stalls the step; on an idle machine spinning can be a little faster.
   */
  spinning?: boolean;
}

/** The architectures the onnx training engine builds graphs for. */
export const ONNX_TRAIN_ARCHS: readonly ModelConfig['arch'][] = ['decoder', 'item'];

/** Builds the training graph of `config`'s architecture. */
export function trainGraph(config: ModelConfig, levelSizes: readonly number[], catalogueSize = 0): TrainGraph {
  if (config.arch === 'decoder') return decoderTrainGraph(config, levelSizes);
  if (config.arch === 'item') return itemTrainGraph(config, levelSizes, catalogueSize);
  throw new SemidError(
    'SEMID_ERR_BAD_CONFIG',
    `the onnx training engine covers arch ${ONNX_TRAIN_ARCHS.map((a) => `"${a}"`).join(', ')}, not "${config.arch}"; train it with engine "tfjs"`,
  );
}

/** Loss and gradients of one batch. */
export interface GradResult {
  loss: number;
  /** name -> gradient, shaped like the weight. */
  grads: Map<string, Float32Array>;
}

/** A training graph loaded into an onnxruntime session. */
export class OnnxGradients {
  private catalogue: { of: object; feeds: Feeds } | undefined;
  private readonly shapes: Map<string, number[]>;
  private readonly layout: TokenLayout;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly graph: TrainGraph,
    readonly config: ModelConfig,
    levelSizes: readonly number[],
  ) {
    this.layout = new TokenLayout(levelSizes);
    this.shapes = new Map(paramSpecs(config, this.layout.levels, this.layout.vocabSize).map((s) => [s.name, s.shape]));
  }

  /**
   * Builds and loads the training graph.
   * @param catalogueSize items of the dense item head's catalogue (item-level with `dense` > 0)
   */
  static async create(
    config: ModelConfig,
    levelSizes: readonly number[],
    catalogueSize = 0,
    opts: OnnxEngineOptions = {},
  ): Promise<OnnxGradients> {
    const graph = trainGraph(config, levelSizes, catalogueSize);
    const session = await ort.InferenceSession.create(graph.model, {
      intraOpNumThreads: opts.threads ?? availableParallelism(),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      extra: { session: { intra_op: { allow_spinning: opts.spinning === true ? '1' : '0' } } },
    });
    return new OnnxGradients(session, graph, config, levelSizes);
  }

  /**
   * Loss and gradients of `batch` at `weights`.
   * @param denom the loss normaliser (the batch's target count)
   * @param dropSeed seed of the dropout masks; undefined runs without dropout (masks of ones)
   */
  async run(
    weights: ReadonlyMap<string, Float32Array>,
    batch: TrainBatch,
    denom: number,
    dropSeed?: number,
  ): Promise<GradResult> {
    const feeds = this.batchFeeds(batch, denom);
    for (const name of this.graph.params) {
      const w = weights.get(name);
      if (!w) throw new SemidError('SEMID_ERR_INTERNAL', `no value for weight "${name}"`);
      feeds[name] = new ort.Tensor('float32', w, this.shapes.get(name) as number[]);
    }
    const rows = batch.kind === 'encdec' ? 0 : batch.b * batch.t;
    const rate = dropSeed === undefined ? 0 : this.config.dropout;
    Object.assign(
      feeds,
      dropoutFeeds(this.graph.dropoutSites, rate, dropSeed ?? 0, {
        rows,
        level_rows: rows * this.layout.levels,
      }),
    );
    const out = await this.session.run(feeds);
    const grads = new Map<string, Float32Array>();
    for (const name of this.graph.params) grads.set(name, (out[`grad.${name}`] as ort.Tensor).data as Float32Array);
    const loss = ((out.loss as ort.Tensor).data as Float32Array)[0] as number;
    return { loss, grads };
  }

  private batchFeeds(batch: TrainBatch, denom: number): Feeds {
    if (batch.kind === 'decoder' && this.config.arch === 'decoder') return decoderFeeds(batch, denom);
    if (batch.kind === 'item' && this.config.arch === 'item') {
      let cat: Feeds | undefined;
      if (this.config.dense > 0 && batch.catalogue) {
        if (this.catalogue?.of !== batch.catalogue)
          this.catalogue = { of: batch.catalogue, feeds: catalogueFeeds(batch, this.config, this.layout) };
        cat = this.catalogue.feeds;
      }
      return itemFeeds(batch, denom, this.config, this.layout, cat);
    }
    throw new SemidError('SEMID_ERR_INTERNAL', `${batch.kind} batch given to a ${this.config.arch} training graph`);
  }

  /** Frees the session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}
