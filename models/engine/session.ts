/**
 * Runs training graphs (graphs.ts) on onnxruntime-node's CPU kernels, forward and backward as one
 * inference session over all intra-op threads: `OnnxGradients` returns the loss and every weight's
 * gradient (what the parity tests compare); `OnnxUpdater` also runs the AdamW step inside the graph and
 * keeps weights and moments in host Float32Arrays (what training uses).
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { TokenLayout } from '../../src/core/codes.js';
import { SemidError } from '../../src/core/errors.js';
import { type TrainBatch, targetCount } from '../batch.js';
import type { ModelConfig } from '../config.js';
import { type AdamWOptions, type AdamWState, lrAt } from '../optim.js';
import { paramSpecs } from '../transformer.js';
import { catalogueFeeds, decoderFeeds, dropoutFeeds, type Feeds, itemFeeds } from './feeds.js';
import { decoderTrainGraph, itemTrainGraph, type TrainGraph } from './graphs.js';
import { type AdamWConstants, adamWConstants, STEP_INPUTS } from './update.js';

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
export function trainGraph(
  config: ModelConfig,
  levelSizes: readonly number[],
  catalogueSize = 0,
  update?: AdamWConstants,
): TrainGraph {
  if (config.arch === 'decoder') return decoderTrainGraph(config, levelSizes, update);
  if (config.arch === 'item') return itemTrainGraph(config, levelSizes, catalogueSize, update);
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

function sessionOptions(opts: OnnxEngineOptions): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: opts.threads ?? availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    extra: { session: { intra_op: { allow_spinning: opts.spinning === true ? '1' : '0' } } },
  };
}

/** A training graph in an onnxruntime session, and the layout of its inputs. */
class TrainSession {
  private catalogue: { of: object; feeds: Feeds } | undefined;
  protected readonly shapes: Map<string, number[]>;
  protected readonly layout: TokenLayout;

  protected constructor(
    protected readonly session: ort.InferenceSession,
    protected readonly graph: TrainGraph,
    readonly config: ModelConfig,
    levelSizes: readonly number[],
  ) {
    this.layout = new TokenLayout(levelSizes);
    this.shapes = new Map(paramSpecs(config, this.layout.levels, this.layout.vocabSize).map((s) => [s.name, s.shape]));
  }

  /** A weight-shaped float32 tensor over `data`. */
  protected tensor(name: string, data: Float32Array): ort.Tensor {
    return new ort.Tensor('float32', data, this.shapes.get(name) as number[]);
  }

  /** The batch's inputs, its dropout masks (none when `dropSeed` is undefined) and the weights. */
  protected inputs(
    weights: ReadonlyMap<string, Float32Array>,
    batch: TrainBatch,
    denom: number,
    dropSeed: number | undefined,
  ): Feeds {
    const feeds = this.batchFeeds(batch, denom);
    for (const name of this.graph.params) {
      const w = weights.get(name);
      if (!w) throw new SemidError('SEMID_ERR_INTERNAL', `no value for weight "${name}"`);
      feeds[name] = this.tensor(name, w);
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
    return feeds;
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

/** A training graph that outputs the loss and every weight's gradient (parity tests, gradient checks). */
export class OnnxGradients extends TrainSession {
  /**
   * Builds and loads the gradient graph.
   * @param catalogueSize items of the dense item head's catalogue (item-level with `dense` > 0)
   */
  static async create(
    config: ModelConfig,
    levelSizes: readonly number[],
    catalogueSize = 0,
    opts: OnnxEngineOptions = {},
  ): Promise<OnnxGradients> {
    const graph = trainGraph(config, levelSizes, catalogueSize);
    const session = await ort.InferenceSession.create(graph.model, sessionOptions(opts));
    return new OnnxGradients(session, graph, config, levelSizes);
  }

  /**
   * Loss and gradients of `batch` at `weights`.
   * @param denom the loss normaliser (the batch's target count)
   * @param dropSeed seed of the dropout masks; undefined runs without dropout
   */
  async run(
    weights: ReadonlyMap<string, Float32Array>,
    batch: TrainBatch,
    denom: number,
    dropSeed?: number,
  ): Promise<GradResult> {
    const out = await this.session.run(this.inputs(weights, batch, denom, dropSeed));
    const grads = new Map<string, Float32Array>();
    for (const name of this.graph.params) grads.set(name, (out[`grad.${name}`] as ort.Tensor).data as Float32Array);
    return { loss: ((out.loss as ort.Tensor).data as Float32Array)[0] as number, grads };
  }
}

/**
 * A training graph with the AdamW step inside (update.ts): each `step` feeds the weights and moments,
 * and takes back the updated ones, so the gradients never leave onnxruntime. Weights and moments live
 * in host Float32Arrays (`weights`, and `state()` for checkpoints); outputs are written into spare
 * buffers that then swap with the inputs.
 */
export class OnnxUpdater extends TrainSession {
  /** The current weights by name (updated by every step). */
  readonly weights: Map<string, Float32Array>;
  private m = new Map<string, Float32Array>();
  private v = new Map<string, Float32Array>();
  private spare = {
    w: new Map<string, Float32Array>(),
    m: new Map<string, Float32Array>(),
    v: new Map<string, Float32Array>(),
  };
  /** Optimiser steps taken. */
  count = 0;

  private constructor(
    session: ort.InferenceSession,
    graph: TrainGraph,
    config: ModelConfig,
    levelSizes: readonly number[],
    weights: ReadonlyMap<string, Float32Array>,
    /** AdamW options; `totalSteps` may change between steps (the schedule is evaluated per step). */
    readonly opts: AdamWOptions,
    private readonly constants: AdamWConstants,
  ) {
    super(session, graph, config, levelSizes);
    this.weights = new Map(graph.params.map((n) => [n, Float32Array.from(weights.get(n) as Float32Array)]));
    for (const [n, w] of this.weights) {
      this.m.set(n, new Float32Array(w.length));
      this.v.set(n, new Float32Array(w.length));
      for (const s of [this.spare.w, this.spare.m, this.spare.v]) s.set(n, new Float32Array(w.length));
    }
  }

  /**
   * Builds and loads the training graph with its AdamW step.
   * @param weights initial values (copied)
   * @param decayed names of the weights that get weight decay
   */
  static async create(
    config: ModelConfig,
    levelSizes: readonly number[],
    weights: ReadonlyMap<string, Float32Array>,
    adam: AdamWOptions,
    decayed: ReadonlySet<string>,
    catalogueSize = 0,
    opts: OnnxEngineOptions = {},
  ): Promise<OnnxUpdater> {
    const constants = adamWConstants(adam, decayed);
    const graph = trainGraph(config, levelSizes, catalogueSize, constants);
    const session = await ort.InferenceSession.create(graph.model, sessionOptions(opts));
    return new OnnxUpdater(session, graph, config, levelSizes, weights, adam, constants);
  }

  /** One optimiser step on `batch` (dropout seeded by `dropSeed`, off when undefined). */
  async step(batch: TrainBatch, dropSeed?: number): Promise<{ loss: number; gradNorm: number; lr: number }> {
    const t = this.count + 1;
    const lr = lrAt(this.opts, t);
    const feeds = this.inputs(this.weights, batch, targetCount(batch), dropSeed);
    const scalar = (x: number) => new ort.Tensor('float32', Float32Array.of(x), []);
    feeds[STEP_INPUTS.lr] = scalar(lr);
    feeds[STEP_INPUTS.c1] = scalar(1 - this.constants.beta1 ** t);
    feeds[STEP_INPUTS.c2] = scalar(1 - this.constants.beta2 ** t);
    const fetches: Record<string, ort.Tensor | null> = { loss: null, grad_norm: null };
    for (const n of this.graph.params) {
      feeds[`adam_m.${n}`] = this.tensor(n, this.m.get(n) as Float32Array);
      feeds[`adam_v.${n}`] = this.tensor(n, this.v.get(n) as Float32Array);
      fetches[`next.${n}`] = this.tensor(n, this.spare.w.get(n) as Float32Array);
      fetches[`next_m.${n}`] = this.tensor(n, this.spare.m.get(n) as Float32Array);
      fetches[`next_v.${n}`] = this.tensor(n, this.spare.v.get(n) as Float32Array);
    }
    const out = await this.session.run(feeds, fetches);
    const take = (name: string) => (out[name] as ort.Tensor).data as Float32Array;
    for (const n of this.graph.params) {
      const [w, m, v] = [take(`next.${n}`), take(`next_m.${n}`), take(`next_v.${n}`)];
      this.spare.w.set(n, this.weights.get(n) as Float32Array);
      this.spare.m.set(n, this.m.get(n) as Float32Array);
      this.spare.v.set(n, this.v.get(n) as Float32Array);
      this.weights.set(n, w);
      this.m.set(n, m);
      this.v.set(n, v);
    }
    this.count = t;
    return { loss: take('loss')[0] as number, gradNorm: take('grad_norm')[0] as number, lr };
  }

  /** A copy of the optimiser state, as models/optim.ts AdamW gives it. */
  state(): AdamWState {
    const copy = (src: Map<string, Float32Array>) => new Map([...src].map(([k, a]) => [k, a.slice()] as const));
    return { step: this.count, m: copy(this.m), v: copy(this.v) };
  }

  /** Restores an optimiser state (from `state()` or the TensorFlow.js AdamW's). */
  load(s: AdamWState): void {
    this.count = s.step;
    for (const [src, dst] of [
      [s.m, this.m],
      [s.v, this.v],
    ] as const) {
      for (const [k, a] of src) dst.get(k)?.set(a);
    }
  }
}
