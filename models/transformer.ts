/**
 * The code transformer: a small pre-LayerNorm transformer over code tokens, one class over three
 * architectures, each in its own module under models/arch/ (weights, forward, loss, decoding
 * session); see models/README.md for the weight names and shapes, which the ONNX export reads:
 *  - 'decoder' (default, arch/decoder.ts): causal over [BOS, item1 tokens, item2 tokens, ...].
 *  - 'encdec' (TIGER, arch/encdec.ts): a bidirectional encoder over the history, a causal decoder
 *    with cross-attention emitting the next item's L tokens.
 *  - 'item' (arch/item.ts): causal over one slot per item, a small code head per level.
 * The shared blocks are in models/blocks.ts; embedding (decoder, encdec) = token + position + level.
 */
import { TokenLayout } from '../src/core/codes.js';
import { fieldProblem } from '../src/core/config.js';
import { SemidError } from '../src/core/errors.js';
import type { DecodingSession, GenerativeModel } from '../src/core/model.js';
import { type Tensor, tf } from '../src/core/tf.js';
import type { Code } from '../src/core/types.js';
import { decoderArch } from './arch/decoder.js';
import { encdecArch } from './arch/encdec.js';
import { itemArch } from './arch/item.js';
import type { TrainBatch } from './batch.js';
import { Blocks, Drop } from './blocks.js';
import { MODEL_SPEC, type ModelArch, type ModelConfig } from './config.js';
import { embedSum, layerNorm, linear } from './ops.js';
import { type ParamSpec, ParamStore, SpecList, valueProblems } from './weights.js';

export { decoderPositions } from './arch/decoder.js';
export { INIT_STD, type ParamSpec } from './weights.js';

/** One architecture of the code transformer: its weights, loss, logits and decoding session. */
export interface Architecture<B extends TrainBatch = TrainBatch> {
  /** The batch kind it trains on. */
  readonly batch: B['kind'];
  /** Adds its weights, between the token/level embeddings and ln_f + head. */
  params(list: SpecList, cfg: ModelConfig, levels: number): void;
  /** Training loss of a batch (scalar float32; inside tf.variableGrads or a tidy). */
  loss(m: CodeTransformer, batch: B, denom: number, drop: Drop): tf.Scalar;
  /** Teacher-forced next-token logits of a batch (see CodeTransformer.logits). */
  logits(m: CodeTransformer, batch: B): Tensor;
  /** A decoding session over histories already cut to maxHistory and checked. */
  begin(m: CodeTransformer, histories: readonly (readonly Code[])[]): DecodingSession;
}

const ARCHITECTURES: { [A in ModelArch]: Architecture } = {
  decoder: decoderArch as Architecture,
  encdec: encdecArch as Architecture,
  item: itemArch as Architecture,
};

/** The list of weights of a model with this config and code length, in a fixed order. */
export function paramSpecs(cfg: ModelConfig, levels: number, vocabSize: number): ParamSpec[] {
  const d = cfg.dModel;
  const list = new SpecList();
  list.emb('tok_emb', [vocabSize, d]);
  list.emb('lvl_emb', [levels + 1, d]);
  ARCHITECTURES[cfg.arch].params(list, cfg, levels);
  list.ln('ln_f', d);
  if (!cfg.tiedHead) list.mat('head.w', [d, vocabSize]);
  list.vec('head.b', vocabSize, 'zeros');
  return list.specs;
}

/**
 * The code transformer with its weights (tf.Variables it owns). Implements GenerativeModel for
 * decoding; `loss` is what training differentiates.
 */
export class CodeTransformer implements GenerativeModel {
  /** The resolved config; only `denseFusion` changes after construction (setDenseFusion). */
  config: ModelConfig;
  readonly layout: TokenLayout;
  readonly vocabSize: number;
  readonly maxHistory: number;
  readonly specs: ParamSpec[];
  /** The shared blocks over this model's weights. */
  readonly blocks: Blocks;
  private readonly store: ParamStore;
  private readonly arch: Architecture;

  private constructor(config: ModelConfig, levelSizes: readonly number[], values?: Map<string, Float32Array>) {
    this.config = config;
    this.layout = new TokenLayout(levelSizes);
    this.vocabSize = this.layout.vocabSize;
    this.maxHistory = config.maxHistory;
    this.arch = ARCHITECTURES[config.arch];
    this.specs = paramSpecs(config, this.layout.levels, this.vocabSize);
    this.store = new ParamStore(this.specs, config.seed, 'm', values);
    this.blocks = new Blocks(this.store, config.dModel, config.heads);
  }

  /** A freshly initialised model (seeded by config.seed). */
  static create(config: ModelConfig, levelSizes: readonly number[]): CodeTransformer {
    return new CodeTransformer(config, levelSizes);
  }

  /** A model with the given weight values (every spec name must be present, with the right size). */
  static fromValues(
    config: ModelConfig,
    levelSizes: readonly number[],
    values: Map<string, Float32Array>,
  ): CodeTransformer {
    const problems = valueProblems(
      paramSpecs(config, levelSizes.length, new TokenLayout(levelSizes).vocabSize),
      values,
    );
    if (problems.length > 0) {
      throw new SemidError(
        'SEMID_ERR_ARTIFACT_CORRUPT',
        `model weights do not match the config: ${problems.join('; ')}`,
      );
    }
    return new CodeTransformer(config, levelSizes, values);
  }

  /** name -> variable, in `specs` order. */
  get weights(): Map<string, tf.Variable> {
    return this.store.weights;
  }

  /** Number of trainable scalars. */
  get parameterCount(): number {
    return this.store.parameterCount;
  }

  /** The variable called `name` (throws on an unknown name: a programming error). */
  w(name: string): tf.Variable {
    return this.store.w(name);
  }

  /** Copies of every weight's values, by name. */
  values(): Map<string, Float32Array> {
    return this.store.values();
  }

  /** Sets the weight of the dense item head's score in decoding (a decoding choice; no weight changes). */
  setDenseFusion(weight: number): void {
    const problem = fieldProblem('denseFusion', MODEL_SPEC.denseFusion, weight);
    if (problem) throw new SemidError('SEMID_ERR_BAD_CONFIG', problem);
    this.config = { ...this.config, denseFusion: weight };
  }

  /** Overwrites the weights with `values` (same names and sizes). */
  assign(values: Map<string, Float32Array>): void {
    this.store.assign(values);
  }

  /** Token + position + level embeddings [m, d] (position table `posName`). */
  embed(tokens: Int32Array, pos: Int32Array, lvl: Int32Array, posName: string): Tensor {
    return embedSum([this.w('tok_emb'), this.w(posName), this.w('lvl_emb')], [tokens, pos, lvl]);
  }

  /** Output head on final hidden states [m, d] -> logits [m, V]. */
  head(x: Tensor): Tensor {
    const h = layerNorm(x, this.w('ln_f.g'), this.w('ln_f.b'));
    const w = this.config.tiedHead ? tf.transpose(this.w('tok_emb')) : this.w('head.w');
    return linear(h, w, this.w('head.b'));
  }

  /**
   * Training loss of a batch (call inside tf.variableGrads / tidy).
   * @param denom loss normaliser: the target count of the whole batch (shards of one batch pass the
   *   whole batch's count, so their gradients sum to the whole batch's gradient)
   * @param dropSeed dropout seed for this pass; undefined disables dropout
   * @returns scalar float32 mean label-smoothed cross-entropy (plus the item model's extra terms)
   */
  loss(batch: TrainBatch, denom: number, dropSeed?: number): tf.Scalar {
    this.checkBatch(batch);
    return this.arch.loss(this, batch, denom, new Drop(this.config.dropout, dropSeed));
  }

  /**
   * Teacher-forced next-token logits of a decoder-only batch: [b*t, V] float32 (for tests and export
   * checks). For encdec batches: the decoder's [b*L, V] logits. For item batches: [b*t*L, V], row
   * (slot, level) slot-major, with the tokens outside the row's level at NEG (as decoding gives them).
   */
  logits(batch: TrainBatch): Tensor {
    this.checkBatch(batch);
    return tf.tidy(() => this.arch.logits(this, batch));
  }

  private checkBatch(batch: TrainBatch): void {
    if (batch.kind !== this.arch.batch) {
      throw new SemidError('SEMID_ERR_INTERNAL', `${batch.kind} batch given to a ${this.config.arch} model`);
    }
  }

  /** Starts decoding for histories of item codes (oldest first; cut to the last maxHistory items). */
  async begin(histories: readonly (readonly Code[])[]): Promise<DecodingSession> {
    const cut = histories.map((h) => h.slice(Math.max(0, h.length - this.maxHistory)));
    for (const h of cut) {
      for (const c of h) {
        if (c.length !== this.layout.levels) {
          throw new SemidError(
            'SEMID_ERR_BAD_INPUT',
            `history code [${c}] has ${c.length} levels, the model expects ${this.layout.levels}`,
          );
        }
      }
    }
    return this.arch.begin(this, cut);
  }

  /** Frees every weight. */
  dispose(): void {
    this.store.dispose();
  }
}
