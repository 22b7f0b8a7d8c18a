/**
 * SASRec (Kang & McAuley, ICDM 2018): the ID-based baseline the generative models must clear.
 * A causal transformer over item-id embeddings (the shared blocks of models/blocks.ts, with separate
 * q/k/v projections); the next item is scored against every item embedding (shared input/output
 * embedding). Deliberate differences from the paper, which make a stronger baseline: full-softmax
 * cross-entropy over the whole catalogue at every position (instead of one sampled negative with BCE;
 * see Klenitskiy & Vasilev, RecSys 2023), pre-LayerNorm blocks, and training windows of each user's
 * TRAIN sequence ending every `windowStride` items (instead of only its last maxLen items).
 * Positions are aligned to the most recent item (position maxLen-1), as with SASRec's left padding.
 * Training (models/sasrec.ts) runs the one training loop of models/loop.ts.
 */
import { recencyMap } from '../../src/core/codes.js';
import { type AnyField, type ConfigOf, defaultsOf, resolveConfig } from '../../src/core/config.js';
import type { Rng } from '../../src/core/rng.js';
import { type Tensor, tf, tidyData } from '../../src/core/tf.js';
import type { ItemId } from '../../src/core/types.js';
import { bucketBatches, userWindows } from '../batch.js';
import { Blocks, buildMask, Drop, ffnSpecs, NO_DROP } from '../blocks.js';
import { addAtCells, embedSum, layerNorm, linear, recencyCells, softmaxCrossEntropy } from '../ops.js';
import { type ParamSpec, ParamStore, SpecList } from '../weights.js';

/** SASRec hyper-parameters (defaults: the settings of the SASRec baselines in docs/RESULTS.md): kind, default, bounds, doc. */
export const SASREC_SPEC = {
  hidden: { kind: 'int', default: 128, min: 1, doc: 'hidden size (embedding and FFN width)' },
  blocks: { kind: 'int', default: 2, min: 1, doc: 'transformer blocks' },
  heads: { kind: 'int', default: 1, min: 1, doc: 'attention heads; must divide hidden' },
  dropout: { kind: 'number', default: 0.2, min: 0, below: 1, doc: 'dropout on embeddings and sublayer outputs' },
  maxLen: { kind: 'int', default: 20, min: 1, doc: 'history length' },
  lr: { kind: 'number', default: 1e-3, above: 0, doc: 'Adam learning rate' },
  batch: { kind: 'int', default: 128, min: 1, doc: 'sequences per step' },
  epochs: { kind: 'int', default: 200, min: 1, doc: 'maximum epochs' },
  patience: { kind: 'int', default: 5, min: 0, doc: 'validations without improvement before stopping' },
  evalEvery: { kind: 'int', default: 2, min: 1, doc: 'validate every this many epochs' },
  windowStride: {
    kind: 'int',
    default: 10,
    min: 1,
    doc: 'training windows end every this many items from the sequence end',
  },
  repeatBias: {
    kind: 'bool',
    default: false,
    doc: "a learned repeat bias: an item of the user's history gets repeat[r] added to its score, r its recency (0 = the most recent item), trained with the rest (as the item-level model's denseRepeat), so the model learns from the training sequences how often users return to an item",
  },
  seed: { kind: 'int', default: 42, min: 0, doc: 'seed of initialisation, batching and dropout' },
} satisfies Record<string, AnyField>;

/** SASRec hyper-parameters (see SASREC_SPEC for each field). */
export type SasrecConfig = ConfigOf<typeof SASREC_SPEC>;

/** The defaults of SASREC_SPEC. */
export const DEFAULT_SASREC_CONFIG: Readonly<SasrecConfig> = Object.freeze(defaultsOf<SasrecConfig>(SASREC_SPEC));

/** Merges over the defaults and reports every problem at once (SEMID_ERR_BAD_CONFIG). */
export function resolveSasrecConfig(partial: Partial<SasrecConfig> | undefined): SasrecConfig {
  return resolveConfig<SasrecConfig>('SASRec', SASREC_SPEC, partial, {
    rules: [
      {
        needs: ['hidden', 'heads'],
        check: (c) => (c.hidden % c.heads !== 0 ? `heads (${c.heads}) must divide hidden (${c.hidden})` : undefined),
      },
    ],
  });
}

/** A batch of left-padded item-index windows (index 0 = padding, item k at index k+1). */
export interface SasBatch {
  b: number;
  t: number;
  /** [b*t] int32 input item indices. */
  inputs: Int32Array;
  /** [b*t] int32 next item indices. */
  targets: Int32Array;
  /** [b*t] float32 1 for real targets. */
  weights: Float32Array;
  /** [b*t] int32 positions (maxLen-1 = most recent). */
  pos: Int32Array;
  /** [b*t] float32 1 for real inputs. */
  keep: Float32Array;
}

/** SASRec's weights in a fixed order (the order seeds the initialisation). */
function sasrecSpecs(config: SasrecConfig, items: number): ParamSpec[] {
  const d = config.hidden;
  const list = new SpecList();
  list.emb('item_emb', [items + 1, d]);
  list.emb('pos_emb', [config.maxLen, d]);
  for (let i = 0; i < config.blocks; i++) {
    const p = `blk${i}`;
    list.ln(`${p}.ln1`, d);
    for (const w of ['wq', 'wk', 'wv', 'wo']) {
      list.mat(`${p}.attn.${w}`, [d, d]);
      list.vec(`${p}.attn.b${w.slice(1)}`, d, 'zeros');
    }
    ffnSpecs(list, p, d, d);
  }
  list.ln('ln_f', d);
  if (config.repeatBias) list.vec('repeat', config.maxLen, 'zeros');
  return list.specs;
}

/** The SASRec model: item + position embeddings, causal blocks, scores against all item embeddings. */
export class Sasrec {
  readonly config: SasrecConfig;
  /** The catalogue, in score order. */
  readonly items: readonly ItemId[];
  readonly specs: ParamSpec[];
  private readonly store: ParamStore;
  private readonly blocks: Blocks;
  private readonly index = new Map<ItemId, number>();

  constructor(items: readonly ItemId[], config: SasrecConfig) {
    this.config = config;
    this.items = [...items];
    for (const [i, it] of this.items.entries()) this.index.set(it, i + 1);
    this.specs = sasrecSpecs(config, items.length);
    this.store = new ParamStore(this.specs, config.seed, 'sas');
    this.blocks = new Blocks(this.store, config.hidden, config.heads);
  }

  /** name -> variable, in `specs` order. */
  get weights(): Map<string, tf.Variable> {
    return this.store.weights;
  }

  private w(name: string): tf.Variable {
    return this.store.w(name);
  }

  /** Item indices of a history (unknown items dropped), cut to the last maxLen. */
  private indices(history: readonly ItemId[]): number[] {
    const out: number[] = [];
    for (const it of history) {
      const i = this.index.get(it);
      if (i !== undefined) out.push(i);
    }
    return out.slice(Math.max(0, out.length - this.config.maxLen));
  }

  /** Final hidden states [b*t, d] of a batch. */
  private forward(batch: Pick<SasBatch, 'b' | 't' | 'inputs' | 'pos' | 'keep'>, drop: Drop): Tensor {
    const { b, t } = batch;
    let x = drop.apply(tf.mul(embedSum([this.w('item_emb')], [batch.inputs]), Math.sqrt(this.config.hidden)));
    x = tf.add(x, embedSum([this.w('pos_emb')], [batch.pos]));
    const mask = buildMask(batch.keep, b, t, t, true);
    x = this.blocks.stack('blk', this.config.blocks, x, b, t, mask, drop).x;
    return layerNorm(x, this.w('ln_f.g'), this.w('ln_f.b'));
  }

  /** Builds a batch from windows of item indices (each at most maxLen+1 long). */
  batchOf(windows: readonly number[][]): SasBatch {
    const L = this.config.maxLen;
    const t = Math.max(1, ...windows.map((w) => w.length - 1));
    const b = windows.length;
    const out: SasBatch = {
      b,
      t,
      inputs: new Int32Array(b * t),
      targets: new Int32Array(b * t),
      weights: new Float32Array(b * t),
      pos: new Int32Array(b * t),
      keep: new Float32Array(b * t),
    };
    windows.forEach((w, r) => {
      const n = w.length - 1;
      for (let j = 0; j < n; j++) {
        const o = r * t + t - n + j;
        out.inputs[o] = w[j] as number;
        out.targets[o] = w[j + 1] as number;
        out.weights[o] = 1;
        out.pos[o] = L - n + j;
        out.keep[o] = 1;
      }
    });
    return out;
  }

  /** Mean full-softmax cross-entropy of a batch (inside variableGrads); no dropout without a seed. */
  loss(batch: SasBatch, dropSeed: number | undefined): tf.Scalar {
    const hs = this.forward(batch, new Drop(this.config.dropout, dropSeed));
    let logits: Tensor = linear(hs, tf.transpose(this.w('item_emb')));
    if (this.config.repeatBias) {
      // each position's history: its own input and the earlier real inputs of its row (padding: -1)
      const items = Int32Array.from(batch.inputs, (v, i) => (batch.keep[i] === 1 ? v : -1));
      const { cells, which } = recencyCells(batch.t, batch.weights, items);
      logits = addAtCells(logits, this.w('repeat'), cells, which);
    }
    return softmaxCrossEntropy(
      logits,
      tf.tensor1d(batch.targets, 'int32'),
      tf.tensor1d(batch.weights, 'float32'),
      Math.max(1, sasTargets(batch)),
      0,
    );
  }

  /**
   * Scores of every catalogue item (aligned with `items`) for each history (oldest first; cut to the
   * last maxLen known items). An empty history gets the scores of the position embedding alone.
   */
  async score(histories: readonly (readonly ItemId[])[]): Promise<Float32Array[]> {
    const wins = histories.map((h) => [...this.indices(h), 0]);
    const batch = this.batchOf(wins);
    const n = this.items.length;
    const flat = tidyData(() => {
      const last = this.blocks.lastRows(this.forward(batch, NO_DROP), batch.b, batch.t);
      return linear(last, tf.transpose(this.w('item_emb')));
    });
    if (this.config.repeatBias) {
      const bias = this.w('repeat').dataSync() as Float32Array;
      wins.forEach((w, r) => {
        // the history's item indices, oldest first (the window's last entry is the placeholder target)
        for (const [item, rank] of recencyMap(w.slice(0, -1))) {
          const o = r * (n + 1) + item;
          flat[o] = (flat[o] as number) + (bias[rank] as number);
        }
      });
    }
    return histories.map((_, r) => flat.slice(r * (n + 1) + 1, (r + 1) * (n + 1)));
  }

  /** Copies of the weights by name. */
  values(): Map<string, Float32Array> {
    return this.store.values();
  }

  /** Overwrites weights from `values`. */
  assign(values: Map<string, Float32Array>): void {
    this.store.assign(values);
  }

  /** Frees every weight. */
  dispose(): void {
    this.store.dispose();
  }

  /** Windows of item indices for one epoch (models/batch.ts userWindows), in length-bucketed batches. */
  epochBatches(trainSequences: readonly (readonly ItemId[])[], rng: Rng): SasBatch[] {
    const wins: number[][] = [];
    for (const seq of trainSequences) {
      const idx: number[] = [];
      for (const it of seq) {
        const i = this.index.get(it);
        if (i !== undefined) idx.push(i);
      }
      // a window needs an input and a target
      for (const w of userWindows(idx, this.config.maxLen, this.config.windowStride, undefined, true))
        if (w.length >= 2) wins.push(w);
    }
    return bucketBatches(wins, (w) => w.length, this.config.batch, rng).map((g) => this.batchOf(g));
  }
}

/** Number of real targets of a batch. */
export function sasTargets(batch: SasBatch): number {
  let n = 0;
  for (const w of batch.weights) n += w;
  return n;
}
