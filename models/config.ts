/**
 * The generative model's config: one entry per field (kind, default, bounds, doc) in `MODEL_SPEC`,
 * resolved by the one config mechanism (src/core/config.ts), which reports ALL problems at once. The
 * resolved config is written into the model artifact's manifest.json. Defaults are sized for a 2-core
 * CPU (see docs/guide/train.md); models/presets.ts names the recipes built over them. The resolved config is written into the model
 * artifact's manifest.json. Defaults are sized for a 2-core CPU (see docs/parts/model.md).
 */
import { type AnyField, type ConfigOf, type ConfigRule, defaultsOf, resolveConfig } from '../src/core/config.js';

/** The architectures behind one interface. */
export type ModelArch = 'decoder' | 'encdec' | 'item';

/** Every architecture, in the order the docs list them. */
export const MODEL_ARCHS: readonly ModelArch[] = ['decoder', 'encdec', 'item'];

/** Every hyper-parameter of the code transformer and its training: kind, default, bounds and doc. */
export const MODEL_SPEC = {
  arch: {
    kind: 'enum',
    values: MODEL_ARCHS,
    default: 'decoder' as ModelArch,
    doc: "'decoder': causal over the flattened history codes, every position a target. 'encdec': TIGER. 'item': causal over one position per item (the sum of its code tokens' embeddings), each position predicting the next item's code through a small code head, level by level",
  },
  dModel: { kind: 'int', default: 128, min: 1, doc: 'width of every hidden state' },
  layers: {
    kind: 'int',
    default: 2,
    min: 1,
    doc: 'transformer blocks (decoder-only), or blocks in each of encoder and decoder (encdec)',
  },
  heads: { kind: 'int', default: 4, min: 1, doc: 'attention heads; must divide dModel' },
  ffn: { kind: 'int', default: 256, min: 1, doc: 'hidden width of the feed-forward sublayer' },
  dropout: {
    kind: 'number',
    default: 0.1,
    min: 0,
    below: 1,
    doc: 'dropout on embeddings, attention output and FFN output during training',
  },
  maxHistory: {
    kind: 'int',
    default: 20,
    min: 1,
    doc: 'history items the model reads; longer histories keep the most recent',
  },
  codeBuckets: {
    kind: 'int',
    default: 0,
    min: 0,
    doc: "item-level only: hashed buckets of an extra input embedding per item code (0 = off). A slot's embedding then also adds code_emb[hash(code) mod codeBuckets], an item's own vector (as an item ID embedding, up to hash collisions) beside the sum of its shared code-token vectors. Use a prime a few times the catalogue size (e.g. 65521); an item never trained on reads another item's vector",
  },
  unlikelihood: {
    kind: 'number',
    default: 0,
    min: 0,
    doc: 'item-level only: weight of an unlikelihood term that lowers the probability of generating the unlikelihoodItems most recent history items at every position (0 = off). For data where a user never interacts with an item twice (Amazon reviews), this teaches the model what masking history items at inference would impose, without changing the evaluation protocol',
  },
  unlikelihoodItems: {
    kind: 'int',
    default: 2,
    min: 1,
    doc: 'how many of the most recent history items the unlikelihood term covers (the current item first)',
  },
  dense: {
    kind: 'number',
    default: 0,
    min: 0,
    doc: "item-level only: weight of a dense item head's loss (0 = off). The head scores every catalogue item by the dot product of the user state (its own layer norm) with the item's input embedding (the sum of its code tokens' vectors and, with codeBuckets, its bucket vector): a full-softmax cross-entropy over the training catalogue, as SASRec's, trained beside the code head. Decoding adds denseFusion times this dot product to each finished code's log-probability (generative candidates re-scored by a dense retriever, as in LIGER, Yang et al. 2024), so every result is still a code the trie holds. It costs one catalogue-wide softmax per training position",
  },
  denseFusion: {
    kind: 'number',
    default: 1,
    min: 0,
    doc: "item-level with dense > 0: weight of the dense score added to a finished code's log-probability",
  },
  denseRepeat: {
    kind: 'bool',
    default: false,
    doc: "item-level with dense > 0: a learned repeat bias in the dense head. An item the user's history holds gets repeat[r] added to its dense score, r its recency (0 = the most recent history item, up to maxHistory - 1), trained with the rest of the head on the training sequences. It learns from the data how likely a user is to return to an item: strongly negative where users never interact with an item twice (Amazon reviews), positive for re-consumption (music, groceries)",
  },
  tiedHead: { kind: 'bool', default: false, doc: 'tie the output head to the token embedding (logits = h . E^T)' },
  lr: { kind: 'number', default: 2e-3, above: 0, doc: 'peak learning rate of Adam' },
  batch: { kind: 'int', default: 64, min: 1, doc: 'sequences per optimiser step' },
  epochs: { kind: 'int', default: 20, min: 1, doc: 'maximum passes over the training data' },
  warmup: { kind: 'int', default: 100, min: 0, doc: 'linear warm-up steps before the peak lr' },
  weightDecay: {
    kind: 'number',
    default: 0.01,
    min: 0,
    doc: 'decoupled (AdamW) weight decay on matrices, not on biases, norms or embeddings',
  },
  clipNorm: { kind: 'number', default: 1, above: 0, doc: 'global gradient-norm clip' },
  labelSmoothing: {
    kind: 'number',
    default: 0.1,
    min: 0,
    below: 1,
    doc: 'label smoothing of the next-token cross-entropy',
  },
  decay: {
    kind: 'enum',
    values: ['cosine', 'none'] as const,
    default: 'cosine' as const,
    doc: 'learning-rate decay after warm-up: cosine to 10 % of the peak over all epochs, or constant',
  },
  windowStride: {
    kind: 'int',
    default: 21,
    min: 1,
    doc: "decoder-only windows: a user's training sequence is cut into windows of maxHistory+1 items, one ending at its end and the others every windowStride items earlier, shifted by a random phase each epoch (maxHistory+1: no overlap, each target once per epoch)",
  },
  evalEvery: {
    kind: 'int',
    default: 1,
    min: 1,
    doc: 'validate every this many epochs (valid NDCG@10 through beam search)',
  },
  patience: {
    kind: 'int',
    default: 6,
    min: 0,
    doc: 'stop after this many validations without improvement; the best weights are kept',
  },
  beamWidth: { kind: 'int', default: 20, min: 1, doc: 'beam width for validation decoding' },
  seed: { kind: 'int', default: 42, min: 0, doc: 'seed of initialisation, batching and dropout' },
} satisfies Record<string, AnyField>;

/** Every hyper-parameter of the code transformer and its training (see MODEL_SPEC for each field). */
export type ModelConfig = ConfigOf<typeof MODEL_SPEC>;

/** The defaults of MODEL_SPEC. */
export const DEFAULT_MODEL_CONFIG: Readonly<ModelConfig> = Object.freeze(defaultsOf<ModelConfig>(MODEL_SPEC));

/** A rule: `field` > 0 (or true) works with arch "item" only. */
function itemOnly(field: 'unlikelihood' | 'dense' | 'codeBuckets'): ConfigRule<ModelConfig> {
  return {
    needs: [field, 'arch'],
    check: (c) =>
      c[field] > 0 && c.arch !== 'item'
        ? `${field} works with arch "item" only (arch is ${JSON.stringify(c.arch)}); set it to 0`
        : undefined,
  };
}

/** The model config's cross-field rules. */
const MODEL_RULES: readonly ConfigRule<ModelConfig>[] = [
  itemOnly('unlikelihood'),
  itemOnly('dense'),
  {
    needs: ['denseRepeat', 'dense'],
    check: (c) =>
      c.denseRepeat && !(c.dense > 0)
        ? 'denseRepeat belongs to the dense item head: set dense > 0 (with arch "item") or denseRepeat false'
        : undefined,
  },
  itemOnly('codeBuckets'),
  {
    needs: ['dModel', 'heads'],
    check: (c) => (c.dModel % c.heads !== 0 ? `heads (${c.heads}) must divide dModel (${c.dModel})` : undefined),
  },
];

/**
 * Merges `partial` over the defaults and validates. Unknown keys and every bad value are reported
 * together in one SEMID_ERR_BAD_CONFIG.
 */
export function resolveModelConfig(partial: Partial<ModelConfig> | Record<string, unknown> | undefined): ModelConfig {
  return resolveConfig<ModelConfig>('model', MODEL_SPEC, partial, { rules: MODEL_RULES });
}
