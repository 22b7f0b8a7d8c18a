/**
 * The generative model's config: typed, every default documented, one `resolveModelConfig` that
 * validates and reports ALL problems at once. The resolved config is written into the model
 * artifact's manifest.json. Defaults are sized for a 2-core CPU (see docs/guide/train.md).
 */
import { SemidError } from '../src/core/errors.js';

/** The architectures behind one interface. */
export type ModelArch = 'decoder' | 'encdec' | 'item';

/** Every architecture, in the order the docs list them. */
export const MODEL_ARCHS: readonly ModelArch[] = ['decoder', 'encdec', 'item'];

/** Every hyper-parameter of the code transformer and its training. */
export interface ModelConfig {
  /**
   * 'decoder' (default): causal over the flattened history codes, every position a target. 'encdec':
   * TIGER. 'item': causal over one position per item (the sum of its code tokens' embeddings), each
   * position predicting the next item's code through a small code head, level by level.
   */
  arch: ModelArch;
  /** Width of every hidden state. Default 128. */
  dModel: number;
  /** Transformer blocks (decoder-only), or blocks in each of encoder and decoder (encdec). Default 2. */
  layers: number;
  /** Attention heads; must divide dModel. Default 4. */
  heads: number;
  /** Hidden width of the feed-forward sublayer. Default 256. */
  ffn: number;
  /** Dropout on embeddings, attention output and FFN output during training. Default 0.1. */
  dropout: number;
  /** History items the model reads; longer histories keep the most recent. Default 20. */
  maxHistory: number;
  /**
   * Item-level only: hashed buckets of an extra input embedding per item code (0 = off, the default).
   * A slot's embedding then also adds `code_emb[hash(code) mod codeBuckets]`, an item's own vector (as an
   * item ID embedding, up to hash collisions) beside the sum of its shared code-token vectors. Use a
   * prime a few times the catalogue size (e.g. 65521); an item never trained on reads another item's vector.
   */
  codeBuckets: number;
  /**
   * Item-level only: weight of an unlikelihood term that lowers the probability of generating the
   * `unlikelihoodItems` most recent history items at every position (0 = off, the default). For data
   * where a user never interacts with an item twice (Amazon reviews), this teaches the model what
   * masking history items at inference would impose, without changing the evaluation protocol.
   */
  unlikelihood: number;
  /** How many of the most recent history items the unlikelihood term covers (the current item first). Default 2. */
  unlikelihoodItems: number;
  /**
   * Item-level only: weight of a dense item head's loss (0 = off, the default). The head scores every
   * catalogue item by the dot product of the user state (its own layer norm) with the item's input
   * embedding (the sum of its code tokens' vectors and, with codeBuckets, its bucket vector): a
   * full-softmax cross-entropy over the training catalogue, as SASRec's, trained beside the code head.
   * Decoding adds `denseFusion` times this dot product to each finished code's log-probability
   * (generative candidates re-scored by a dense retriever, as in LIGER, Yang et al. 2024), so every
   * result is still a code the trie holds. It costs one catalogue-wide softmax per training position.
   */
  dense: number;
  /** Item-level with `dense` > 0: weight of the dense score added to a finished code's log-probability. Default 1. */
  denseFusion: number;
  /**
   * Item-level with `dense` > 0: a learned repeat bias in the dense head (default false). An item the
   * user's history holds gets `repeat[r]` added to its dense score, r its recency (0 = the most recent
   * history item, up to maxHistory - 1), trained with the rest of the head on the training sequences. It
   * learns from the data how likely a user is to return to an item: strongly negative where users never
   * interact with an item twice (Amazon reviews), positive for re-consumption (music, groceries).
   */
  denseRepeat: boolean;
  /** Tie the output head to the token embedding (logits = h . E^T). Default false. */
  tiedHead: boolean;
  /** Peak learning rate of Adam. Default 2e-3. */
  lr: number;
  /** Sequences per optimiser step. Default 64. */
  batch: number;
  /** Maximum passes over the training data. Default 20. */
  epochs: number;
  /** Linear warm-up steps before the peak lr. Default 100. */
  warmup: number;
  /** Decoupled (AdamW) weight decay on matrices, not on biases, norms or embeddings. Default 0.01. */
  weightDecay: number;
  /** Global gradient-norm clip. Default 1. */
  clipNorm: number;
  /** Label smoothing of the next-token cross-entropy. Default 0.1. */
  labelSmoothing: number;
  /** Learning-rate decay after warm-up: cosine to 10 % of the peak over all epochs, or constant. */
  decay: 'cosine' | 'none';
  /**
   * Decoder-only windows: a user's training sequence is cut into windows of maxHistory+1 items, one
   * ending at its end and the others every `windowStride` items earlier, shifted by a random phase
   * each epoch. Default 21 (= maxHistory+1: no overlap, each target once per epoch).
   */
  windowStride: number;
  /** Validate every this many epochs (valid NDCG@10 through beam search). Default 1. */
  evalEvery: number;
  /** Stop after this many validations without improvement; the best weights are kept. Default 6. */
  patience: number;
  /** Beam width for validation decoding. Default 20. */
  beamWidth: number;
  /** Seed of initialisation, batching and dropout. Default 42. */
  seed: number;
}

/** Documented defaults (see each field). */
export const DEFAULT_MODEL_CONFIG: Readonly<ModelConfig> = Object.freeze({
  arch: 'decoder',
  dModel: 128,
  layers: 2,
  heads: 4,
  ffn: 256,
  dropout: 0.1,
  maxHistory: 20,
  codeBuckets: 0,
  unlikelihood: 0,
  unlikelihoodItems: 2,
  dense: 0,
  denseFusion: 1,
  denseRepeat: false,
  tiedHead: false,
  lr: 2e-3,
  batch: 64,
  epochs: 20,
  warmup: 100,
  weightDecay: 0.01,
  clipNorm: 1,
  labelSmoothing: 0.1,
  decay: 'cosine',
  windowStride: 21,
  evalEvery: 1,
  patience: 6,
  beamWidth: 20,
  seed: 42,
});

const INT_FIELDS = [
  'dModel',
  'layers',
  'heads',
  'ffn',
  'maxHistory',
  'batch',
  'epochs',
  'warmup',
  'windowStride',
  'codeBuckets',
  'unlikelihoodItems',
  'evalEvery',
  'patience',
  'beamWidth',
  'seed',
] as const;

/**
 * Merges `partial` over the defaults and validates. Unknown keys and every bad value are reported
 * together in one SEMID_ERR_BAD_CONFIG.
 */
export function resolveModelConfig(partial: Partial<ModelConfig> | Record<string, unknown> | undefined): ModelConfig {
  const p = (partial ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of Object.keys(p)) {
    if (!(k in DEFAULT_MODEL_CONFIG))
      problems.push(`unknown key "${k}" (valid: ${Object.keys(DEFAULT_MODEL_CONFIG).join(', ')})`);
  }
  const c = { ...DEFAULT_MODEL_CONFIG } as Record<string, unknown>;
  for (const [k, v] of Object.entries(p)) if (k in DEFAULT_MODEL_CONFIG && v !== undefined) c[k] = v;
  const cfg = c as unknown as ModelConfig;
  const min0 = new Set(['warmup', 'seed', 'patience', 'codeBuckets']);
  for (const f of INT_FIELDS) {
    const v = cfg[f];
    const lo = min0.has(f) ? 0 : 1;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo)
      problems.push(`${f} must be an integer >= ${lo}, got ${JSON.stringify(v)}`);
  }
  if (!MODEL_ARCHS.includes(cfg.arch))
    problems.push(
      `arch must be one of ${MODEL_ARCHS.map((a) => `"${a}"`).join(', ')}, got ${JSON.stringify(cfg.arch)}`,
    );
  if (typeof cfg.unlikelihood !== 'number' || !(cfg.unlikelihood >= 0) || !Number.isFinite(cfg.unlikelihood))
    problems.push(`unlikelihood must be a number >= 0, got ${JSON.stringify(cfg.unlikelihood)}`);
  else if (cfg.unlikelihood > 0 && cfg.arch !== 'item')
    problems.push(`unlikelihood works with arch "item" only (arch is ${JSON.stringify(cfg.arch)}); set it to 0`);
  for (const f of ['dense', 'denseFusion'] as const) {
    const v = cfg[f];
    if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v))
      problems.push(`${f} must be a number >= 0, got ${JSON.stringify(v)}`);
  }
  if (cfg.dense > 0 && cfg.arch !== 'item')
    problems.push(`dense works with arch "item" only (arch is ${JSON.stringify(cfg.arch)}); set it to 0`);
  if (typeof cfg.denseRepeat !== 'boolean')
    problems.push(`denseRepeat must be a boolean, got ${JSON.stringify(cfg.denseRepeat)}`);
  else if (cfg.denseRepeat && !(cfg.dense > 0))
    problems.push('denseRepeat belongs to the dense item head: set dense > 0 (with arch "item") or denseRepeat false');
  if (cfg.codeBuckets > 0 && cfg.arch !== 'item')
    problems.push(`codeBuckets works with arch "item" only (arch is ${JSON.stringify(cfg.arch)}); set it to 0`);
  if (cfg.decay !== 'cosine' && cfg.decay !== 'none')
    problems.push(`decay must be "cosine" or "none", got ${JSON.stringify(cfg.decay)}`);
  if (typeof cfg.tiedHead !== 'boolean')
    problems.push(`tiedHead must be a boolean, got ${JSON.stringify(cfg.tiedHead)}`);
  const inUnit = (f: 'dropout' | 'labelSmoothing') => {
    const v = cfg[f];
    if (typeof v !== 'number' || !(v >= 0 && v < 1))
      problems.push(`${f} must be a number in [0, 1), got ${JSON.stringify(v)}`);
  };
  inUnit('dropout');
  inUnit('labelSmoothing');
  for (const f of ['lr', 'clipNorm'] as const) {
    const v = cfg[f];
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))
      problems.push(`${f} must be a positive number, got ${JSON.stringify(v)}`);
  }
  if (typeof cfg.weightDecay !== 'number' || !(cfg.weightDecay >= 0)) {
    problems.push(`weightDecay must be a number >= 0, got ${JSON.stringify(cfg.weightDecay)}`);
  }
  if (Number.isInteger(cfg.dModel) && Number.isInteger(cfg.heads) && cfg.heads > 0 && cfg.dModel % cfg.heads !== 0) {
    problems.push(`heads (${cfg.heads}) must divide dModel (${cfg.dModel})`);
  }
  if (problems.length > 0) {
    throw new SemidError(
      'SEMID_ERR_BAD_CONFIG',
      `model config has ${problems.length} problem(s): ${problems.join('; ')}`,
      {
        problems,
      },
    );
  }
  return cfg;
}
