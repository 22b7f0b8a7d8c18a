/**
 * SASRec (Kang & McAuley, ICDM 2018): the ID-based baseline the generative models must clear.
 * A causal transformer over item-id embeddings; the next item is scored against every item
 * embedding (shared input/output embedding). Deliberate differences from the paper, which make a
 * stronger baseline: full-softmax cross-entropy over the whole catalogue at every position (instead of
 * one sampled negative with BCE; see Klenitskiy & Vasilev, RecSys 2023), pre-LayerNorm blocks, and
 * training windows of each user's TRAIN sequence ending every `windowStride` items (instead of only its
 * last maxLen items).
 * Positions are aligned to the most recent item (position maxLen-1), as with SASRec's left padding.
 */
import { join } from 'node:path';
import {
  type ManifestBase,
  manifestHead,
  readJson,
  readManifest,
  writeDirAtomic,
  writeF32,
  writeJson,
} from '../src/core/artifact.js';
import { recencyMap } from '../src/core/codes.js';
import { type AnyField, type ConfigOf, defaultsOf, resolveConfig } from '../src/core/config.js';
import { SemidError } from '../src/core/errors.js';
import { createRng, type Rng } from '../src/core/rng.js';
import { type Tensor, tf, tidyData } from '../src/core/tf.js';
import type { ItemId } from '../src/core/types.js';
import { type ParamEntry, readWeights } from './io.js';
import {
  addAtCells,
  attention,
  dropout,
  embedSum,
  layerNorm,
  linear,
  NEG,
  recencyCells,
  softmaxCrossEntropy,
} from './ops.js';
import { AdamW } from './optim.js';
import { INIT_STD, type ParamSpec } from './transformer.js';

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
interface SasBatch {
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

/** The SASRec model: item + position embeddings, causal blocks, scores against all item embeddings. */
export class Sasrec {
  readonly config: SasrecConfig;
  /** The catalogue, in score order. */
  readonly items: readonly ItemId[];
  readonly specs: ParamSpec[];
  readonly weights = new Map<string, tf.Variable>();
  private readonly index = new Map<ItemId, number>();

  constructor(items: readonly ItemId[], config: SasrecConfig) {
    this.config = config;
    this.items = [...items];
    for (const [i, it] of this.items.entries()) this.index.set(it, i + 1);
    const d = config.hidden;
    const specs: ParamSpec[] = [
      { name: 'item_emb', shape: [items.length + 1, d], init: 'normal', decay: false },
      { name: 'pos_emb', shape: [config.maxLen, d], init: 'normal', decay: false },
    ];
    const vec = (name: string, n: number, init: 'zeros' | 'ones') =>
      specs.push({ name, shape: [n], init, decay: false });
    const mat = (name: string, shape: number[]) => specs.push({ name, shape, init: 'normal', decay: true });
    for (let i = 0; i < config.blocks; i++) {
      const p = `blk${i}`;
      vec(`${p}.ln1.g`, d, 'ones');
      vec(`${p}.ln1.b`, d, 'zeros');
      for (const w of ['wq', 'wk', 'wv', 'wo']) {
        mat(`${p}.attn.${w}`, [d, d]);
        vec(`${p}.attn.b${w.slice(1)}`, d, 'zeros');
      }
      vec(`${p}.ln2.g`, d, 'ones');
      vec(`${p}.ln2.b`, d, 'zeros');
      mat(`${p}.ffn.w1`, [d, d]);
      vec(`${p}.ffn.b1`, d, 'zeros');
      mat(`${p}.ffn.w2`, [d, d]);
      vec(`${p}.ffn.b2`, d, 'zeros');
    }
    vec('ln_f.g', d, 'ones');
    vec('ln_f.b', d, 'zeros');
    if (config.repeatBias) vec('repeat', config.maxLen, 'zeros');
    this.specs = specs;
    const rng = createRng(config.seed);
    const uid = `sas${Math.floor(rng.next() * 1e9)}_${sasCounter++}`;
    for (const s of specs) {
      const seed = rng.seed();
      const init = tf.tidy(() =>
        s.init === 'zeros'
          ? tf.zeros(s.shape)
          : s.init === 'ones'
            ? tf.ones(s.shape)
            : tf.truncatedNormal(s.shape, 0, INIT_STD, 'float32', seed),
      );
      this.weights.set(s.name, tf.variable(init, true, `${uid}/${s.name}`));
      init.dispose();
    }
  }

  private w(name: string): tf.Variable {
    const v = this.weights.get(name);
    if (!v) throw new SemidError('SEMID_ERR_INTERNAL', `no SASRec weight "${name}"`);
    return v;
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
  private forward(batch: Pick<SasBatch, 'b' | 't' | 'inputs' | 'pos' | 'keep'>, dropSeed: number | undefined): Tensor {
    const { b, t } = batch;
    const d = this.config.hidden;
    const h = this.config.heads;
    const dh = d / h;
    let k = 0;
    const drop = (x: Tensor) =>
      dropSeed === undefined ? x : dropout(x, this.config.dropout, (dropSeed + ++k * 7919) >>> 0);
    let x = drop(tf.mul(embedSum([this.w('item_emb')], [batch.inputs]), Math.sqrt(d)));
    x = tf.add(x, embedSum([this.w('pos_emb')], [batch.pos]));
    const m = new Float32Array(b * t * t);
    for (let r = 0; r < b; r++)
      for (let i = 0; i < t; i++)
        for (let j = 0; j < t; j++) m[(r * t + i) * t + j] = j <= i && batch.keep[r * t + j] === 1 ? 0 : NEG;
    const mask = tf.tensor4d(m, [b, 1, t, t]);
    const split = (y: Tensor) =>
      tf.reshape(tf.transpose(tf.reshape(y, [b, t, h, dh]), [0, 2, 1, 3]), [b * h, t, dh]) as tf.Tensor3D;
    for (let i = 0; i < this.config.blocks; i++) {
      const p = `blk${i}`;
      const y = layerNorm(x, this.w(`${p}.ln1.g`), this.w(`${p}.ln1.b`));
      const q = split(linear(y, this.w(`${p}.attn.wq`), this.w(`${p}.attn.bq`)));
      const kk = linear(y, this.w(`${p}.attn.wk`), this.w(`${p}.attn.bk`));
      const kT = tf.reshape(tf.transpose(tf.reshape(kk, [b, t, h, dh]), [0, 2, 3, 1]), [b * h, dh, t]) as tf.Tensor3D;
      const v = split(linear(y, this.w(`${p}.attn.wv`), this.w(`${p}.attn.bv`)));
      const o = tf.reshape(tf.transpose(tf.reshape(attention(q, kT, v, mask, b, h), [b, h, t, dh]), [0, 2, 1, 3]), [
        b * t,
        d,
      ]);
      x = tf.add(x, drop(linear(o, this.w(`${p}.attn.wo`), this.w(`${p}.attn.bo`))));
      const z = layerNorm(x, this.w(`${p}.ln2.g`), this.w(`${p}.ln2.b`));
      x = tf.add(
        x,
        drop(
          linear(
            linear(z, this.w(`${p}.ffn.w1`), this.w(`${p}.ffn.b1`), true),
            this.w(`${p}.ffn.w2`),
            this.w(`${p}.ffn.b2`),
          ),
        ),
      );
    }
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

  /** Mean full-softmax cross-entropy of a batch (inside variableGrads). */
  loss(batch: SasBatch, dropSeed: number | undefined): tf.Scalar {
    const hs = this.forward(batch, dropSeed);
    let logits: Tensor = linear(hs, tf.transpose(this.w('item_emb')));
    if (this.config.repeatBias) {
      // each position's history: its own input and the earlier real inputs of its row (padding: -1)
      const items = Int32Array.from(batch.inputs, (v, i) => (batch.keep[i] === 1 ? v : -1));
      const { cells, which } = recencyCells(batch.t, batch.weights, items);
      logits = addAtCells(logits, this.w('repeat'), cells, which);
    }
    let n = 0;
    for (const w of batch.weights) n += w;
    return softmaxCrossEntropy(
      logits,
      tf.tensor1d(batch.targets, 'int32'),
      tf.tensor1d(batch.weights, 'float32'),
      Math.max(1, n),
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
      const hs = tf.reshape(this.forward(batch, undefined), [batch.b, batch.t, this.config.hidden]);
      const last = tf.reshape(tf.slice(hs, [0, batch.t - 1, 0], [batch.b, 1, this.config.hidden]), [
        batch.b,
        this.config.hidden,
      ]);
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
    const out = new Map<string, Float32Array>();
    for (const [k, v] of this.weights) out.set(k, v.dataSync() as Float32Array);
    return out;
  }

  /** Overwrites weights from `values`. */
  assign(values: Map<string, Float32Array>): void {
    for (const [k, a] of values) {
      const v = this.weights.get(k);
      if (!v) continue;
      const t = tf.tensor(a, v.shape, 'float32');
      v.assign(t);
      t.dispose();
    }
  }

  dispose(): void {
    for (const v of this.weights.values()) v.dispose();
    this.weights.clear();
  }

  /** @internal windows of item indices for one epoch, grouped in batches of similar length. */
  epochBatches(trainSequences: readonly (readonly ItemId[])[], rng: Rng): SasBatch[] {
    const span = this.config.maxLen + 1;
    const wins: number[][] = [];
    for (const seq of trainSequences) {
      const idx: number[] = [];
      for (const it of seq) {
        const i = this.index.get(it);
        if (i !== undefined) idx.push(i);
      }
      for (let end = idx.length; end >= 2; end -= this.config.windowStride) {
        wins.push(idx.slice(Math.max(0, end - span), end));
        if (end - span <= 0) break;
      }
    }
    rng.shuffle(wins);
    const chunk = this.config.batch * 50;
    const groups: number[][][] = [];
    for (let c = 0; c < wins.length; c += chunk) {
      const part = wins.slice(c, c + chunk).sort((a, b) => a.length - b.length);
      for (let i = 0; i < part.length; i += this.config.batch) groups.push(part.slice(i, i + this.config.batch));
    }
    return rng.shuffle(groups).map((g) => this.batchOf(g));
  }
}

let sasCounter = 0;

/** Options of trainSasrec. */
export interface SasrecTrainOptions {
  /** The catalogue (item ids), in the order scores are returned. */
  items: readonly ItemId[];
  /** Each user's TRAIN sequence (valid/test items removed). */
  trainSequences: readonly (readonly ItemId[])[];
  config?: Partial<SasrecConfig>;
  /** Valid NDCG@10 of the model (higher is better); without it all epochs run. */
  validate?: (model: Sasrec) => Promise<number>;
  /** Stop after this many seconds. */
  maxSeconds?: number;
  log?: (line: string) => void;
}

/** What trainSasrec returns; the model holds the best validation weights. */
export interface SasrecTrainResult {
  model: Sasrec;
  config: SasrecConfig;
  epochs: { epoch: number; loss: number; seconds: number; valid?: number }[];
  bestEpoch: number;
  bestValid: number | undefined;
  seconds: number;
}

/** Trains SASRec with Adam and early stopping on the validation callback. Call `await initTf()` first. */
export async function trainSasrec(opts: SasrecTrainOptions): Promise<SasrecTrainResult> {
  const t0 = performance.now();
  const cfg = resolveSasrecConfig(opts.config);
  const model = new Sasrec(opts.items, cfg);
  const rng = createRng(cfg.seed ^ 0x5a5a);
  const opt = new AdamW(model.weights, new Set(), {
    lr: cfg.lr,
    warmup: 0,
    totalSteps: 1,
    decay: 'none',
    weightDecay: 0,
    clipNorm: 5,
  });
  const vars = [...model.weights.values()];
  const epochs: SasrecTrainResult['epochs'] = [];
  let best: Map<string, Float32Array> | undefined;
  let bestValid: number | undefined;
  let bestEpoch = -1;
  let since = 0;
  let step = 0;
  try {
    for (let epoch = 0; epoch < cfg.epochs; epoch++) {
      const te = performance.now();
      const batches = model.epochBatches(opts.trainSequences, rng);
      if (batches.length === 0)
        throw new SemidError('SEMID_ERR_BAD_INPUT', 'SASRec: no training sequence has 2 or more known items');
      let sum = 0;
      for (const b of batches) {
        const seed = cfg.dropout > 0 ? (cfg.seed * 31 + ++step * 131) >>> 0 : undefined;
        const { value, grads } = tf.variableGrads(() => model.loss(b, seed), vars);
        sum += value.dataSync()[0] as number;
        value.dispose();
        const named = new Map<string, Tensor>();
        for (const [k, v] of model.weights) {
          const g = grads[v.name];
          if (g) named.set(k, g);
        }
        opt.apply(named);
        for (const g of Object.values(grads)) g.dispose();
      }
      const rec: SasrecTrainResult['epochs'][number] = {
        epoch,
        loss: sum / batches.length,
        seconds: (performance.now() - te) / 1000,
      };
      if (opts.validate && (epoch + 1) % cfg.evalEvery === 0) {
        rec.valid = await opts.validate(model);
        if (bestValid === undefined || rec.valid > bestValid) {
          bestValid = rec.valid;
          bestEpoch = epoch;
          best = model.values();
          since = 0;
        } else since++;
      }
      epochs.push(rec);
      opts.log?.(
        `sasrec epoch ${epoch + 1}: loss ${rec.loss.toFixed(4)}, ${rec.seconds.toFixed(1)} s` +
          (rec.valid !== undefined
            ? `, valid NDCG@10 ${rec.valid.toFixed(4)} (best ${bestValid?.toFixed(4)} @ ${bestEpoch + 1})`
            : ''),
      );
      if (opts.validate && since > cfg.patience) break;
      if (opts.maxSeconds !== undefined && (performance.now() - t0) / 1000 > opts.maxSeconds) break;
    }
  } finally {
    opt.dispose();
  }
  if (best) model.assign(best);
  return { model, config: cfg, epochs, bestEpoch, bestValid, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Writes a SASRec artifact: manifest.json (kind "model", model "sasrec", config, `extra`),
 * items.json (catalogue in score order) and weights/<name>.f32.
 */
export async function saveSasrec(dir: string, model: Sasrec, extra: Record<string, unknown> = {}): Promise<void> {
  await writeDirAtomic(dir, async (tmp) => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(tmp, 'weights'));
    const vals = model.values();
    for (const s of model.specs)
      await writeF32(join(tmp, 'weights', `${s.name}.f32`), vals.get(s.name) as Float32Array);
    await writeJson(join(tmp, 'items.json'), model.items);
    await writeJson(join(tmp, 'manifest.json'), {
      ...manifestHead('model'),
      model: 'sasrec',
      config: model.config,
      params: model.specs.map((s) => ({ name: s.name, shape: s.shape, file: `weights/${s.name}.f32` })),
      ...extra,
    });
  });
}

/** Loads a SASRec artifact written by saveSasrec (call `await initTf()` first). */
export async function loadSasrec(dir: string): Promise<{ model: Sasrec; manifest: Record<string, unknown> }> {
  const m = await readManifest<ManifestBase & { model?: unknown; config?: unknown; params?: unknown }>(dir, 'model');
  if (m.model !== 'sasrec' || !Array.isArray(m.params)) {
    throw new SemidError(
      'SEMID_ERR_ARTIFACT_CORRUPT',
      `${dir} does not hold a SASRec model (model=${String(m.model)})`,
    );
  }
  const items = await readJson<ItemId[]>(join(dir, 'items.json'), 'SASRec catalogue');
  if (!Array.isArray(items))
    throw new SemidError('SEMID_ERR_ARTIFACT_CORRUPT', `${dir}/items.json is not a list of item ids`);
  const model = new Sasrec(items, resolveSasrecConfig(m.config as Partial<SasrecConfig>));
  try {
    const params = m.params as ParamEntry[];
    const bad = params.find((p) => model.specs.find((s) => s.name === p.name)?.shape.join('x') !== p.shape?.join('x'));
    if (bad) {
      throw new SemidError(
        'SEMID_ERR_ARTIFACT_CORRUPT',
        `${dir}: weight ${bad.name} does not match the model's config`,
      );
    }
    const values = await readWeights(dir, params);
    const missing = model.specs.filter((s) => !values.has(s.name)).map((s) => s.name);
    if (missing.length > 0) {
      throw new SemidError('SEMID_ERR_ARTIFACT_CORRUPT', `${dir}: weights missing: ${missing.join(', ')}`);
    }
    model.assign(values);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, manifest: m as unknown as Record<string, unknown> };
}
