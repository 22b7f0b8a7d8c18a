/**
 * The training loop of the code transformer: batches from the TRAIN split only (decoder-only:
 * windows of each user's training sequence; encdec: the split's training examples), AdamW with
 * warm-up and cosine decay, gradient clipping, data-parallel gradients over worker threads,
 * progress (loss, tokens/s), a checkpoint every epoch (resume continues from it), and early stopping
 * on a validation callback (valid NDCG@10 through constrained beam search, wired by the caller).
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { readF32, readJson, writeDirAtomic, writeF32, writeJson } from '../src/core/artifact.js';
import type { CodeTable } from '../src/core/codes.js';
import { SemidError } from '../src/core/errors.js';
import { createRng, type Rng } from '../src/core/rng.js';
import type { Code, SplitData } from '../src/core/types.js';
import { decoderBatch, encDecBatch, itemBatch, itemCatalogue, type TrainBatch, targetCount } from './batch.js';
import { type ModelConfig, resolveModelConfig } from './config.js';
import { type EngineName, OnnxEngine, onnxTrains, TfjsEngine, type TrainingEngine } from './engine/trainer.js';
import { BUNDLED_INDEX, saveModel } from './io.js';
import type { AdamWState } from './optim.js';
import { CodeTransformer } from './transformer.js';

/** Scores a model on validation data; higher is better (valid NDCG@10 in semid). */
export type ValidationHook = (model: CodeTransformer) => Promise<number>;

/** Progress callback: called after every step. */
export type StepCallback = (info: {
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  loss: number;
  tokensPerSecond: number;
}) => void;

/** Options of `trainModel`. */
export interface TrainOptions {
  /** The index: item -> code. Items of the split without a code are left out of the model input (counted). */
  table: CodeTable;
  /** The split; only `trainSequences` (decoder) or `train` (encdec) are read. */
  data: Pick<SplitData, 'trainSequences' | 'train'>;
  /** Partial config over DEFAULT_MODEL_CONFIG. */
  config?: Partial<ModelConfig>;
  /** Worker threads besides the main thread. Default: available cores - 1 (at most 1 on 2 cores). */
  workers?: number;
  /** Artifact directory; a checkpoint is kept in `<out>/checkpoint`. Without it nothing is written. */
  out?: string;
  /** Continue from `<out>/checkpoint` when it exists. */
  resume?: boolean;
  /**
   * The index the model is trained on: copied into the model directory as `index/` (the manifest
   * records "index", relative to the model directory), so the model directory is a self-contained
   * bundle that can be moved, copied and served from any working directory.
   */
  indexDir?: string;
  /** Validation score (higher is better) for early stopping; without it, every epoch runs and the last weights are kept. */
  validate?: ValidationHook;
  /**
   * Training engine (models/engine): "onnx" runs forward, backward and AdamW in one onnxruntime session
   * over all cores; "tfjs" is TensorFlow.js with `workers` data-parallel threads. Both give the same
   * weights (parity-tested) and checkpoints. Default: "onnx" where it has a training graph (decoder-only
   * and item-level models without unlikelihood), else "tfjs".
   */
  engine?: EngineName;
  /**
   * Chooses the dense item head's fusion weight after training (best weights loaded), e.g. by validation
   * NDCG@10 over a grid; the choice is saved in the model's config and its record in `training.fusion`.
   * Called only for a model with a dense item head.
   */
  selectFusion?: (model: CodeTransformer) => Promise<FusionChoice>;
  /** Stop after this many seconds of training (checked between steps; the epoch is then validated). */
  maxSeconds?: number;
  /** Stop after this many optimiser steps in total (tests, benchmarks). */
  maxSteps?: number;
  onStep?: StepCallback;
  /** Aborts training: checked after every step and before validation; trainModel then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Extra fields for the manifest's `training` record (e.g. the data spec, as `semid eval` reads `training.data`). */
  trainingInfo?: Record<string, unknown>;
  /** Log lines (epoch summaries). */
  log?: (line: string) => void;
}

/** The fusion weight a `selectFusion` hook chose, with the validation score of every weight it tried. */
export interface FusionChoice {
  weight: number;
  /** Validation score (NDCG@10) by weight; weight 0 is the code head alone. */
  scores: { weight: number; score: number }[];
}

/** One epoch's record. */
export interface EpochRecord {
  epoch: number;
  steps: number;
  loss: number;
  tokensPerSecond: number;
  seconds: number;
  valid?: number;
}

/** What `trainModel` returns. The model holds the best weights (by validation) or the last ones. */
export interface TrainResult {
  model: CodeTransformer;
  config: ModelConfig;
  epochs: EpochRecord[];
  bestEpoch: number;
  bestValid: number | undefined;
  steps: number;
  seconds: number;
  workers: number;
  /** The training engine used. */
  engine: EngineName;
  /** Why training stopped: 'epochs' | 'early-stop' | 'time' | 'steps'. */
  stopped: 'epochs' | 'early-stop' | 'time' | 'steps';
  /** Items of the train sequences that have no code in the index (left out). */
  itemsWithoutCode: number;
  /** The dense fusion weight chosen after training (with `selectFusion` and a dense item head). */
  fusion?: FusionChoice;
}

/**
 * Epochs a time-capped run can complete: those done plus as many more epochs of `perEpoch` seconds as
 * fit in what is left of `budget`, at least `done` and at most `maxEpochs`.
 */
export function plannedEpochs(
  budget: number,
  elapsed: number,
  perEpoch: number,
  done: number,
  maxEpochs: number,
): number {
  const more = perEpoch > 0 ? Math.floor(Math.max(0, budget - elapsed) / perEpoch) : maxEpochs;
  return Math.max(done, Math.min(maxEpochs, done + more));
}

/** Default worker count: one per spare core, at most 3. */
export function defaultWorkers(): number {
  return Math.max(0, Math.min(3, availableParallelism() - 1));
}

/**
 * Decoder-only windows of one user's code sequence: the window of at most maxHistory+1 items ending
 * at the sequence end, then windows ending every `stride` items earlier. With `rng`, the earlier
 * windows are shifted by a random phase in [0, stride) each epoch, so across epochs every target is
 * seen with long histories even when windows do not overlap.
 */
export function userWindows(seq: readonly Code[], maxHistory: number, stride: number, rng?: Rng): Code[][] {
  const out: Code[][] = [];
  const span = maxHistory + 1;
  const n = seq.length;
  if (n === 0) return out;
  out.push(seq.slice(Math.max(0, n - span), n));
  const phase = rng ? rng.int(stride) : 0;
  for (let end = n - stride - phase; end >= 2; end -= stride) {
    out.push(seq.slice(Math.max(0, end - span), end));
    if (end - span <= 0) break;
  }
  return out;
}

/** Groups shuffled units into batches of similar length (less padding), in random batch order. */
function bucketBatches<T>(units: T[], len: (u: T) => number, batch: number, rng: Rng): T[][] {
  rng.shuffle(units);
  const chunk = batch * 50;
  const batches: T[][] = [];
  for (let c = 0; c < units.length; c += chunk) {
    const part = units.slice(c, c + chunk).sort((a, b) => len(a) - len(b));
    for (let i = 0; i < part.length; i += batch) batches.push(part.slice(i, i + batch));
  }
  return rng.shuffle(batches);
}

/**
 * Builds one epoch's batches (seeded by seed and epoch, so a resumed run replays the same order).
 * @param dense the dense item head's catalogue (built once per run), when the head is on
 */
function epochBatches(
  cfg: ModelConfig,
  table: CodeTable,
  data: Pick<SplitData, 'trainSequences' | 'train'>,
  epoch: number,
  layoutOf: CodeTransformer,
  dense?: ReturnType<typeof itemCatalogue>,
): { batches: TrainBatch[]; tokens: number; missing: number } {
  const rng = createRng((cfg.seed * 1000003 + epoch * 7919) >>> 0);
  let missing = 0;
  const codesOf = (items: readonly string[]): Code[] => {
    const out: Code[] = [];
    for (const it of items) {
      const c = table.encode(it);
      if (c) out.push(c);
      else missing++;
    }
    return out;
  };
  const L = layoutOf.layout.levels;
  if (cfg.arch === 'decoder' || cfg.arch === 'item') {
    const windows: Code[][] = [];
    for (const seq of data.trainSequences)
      windows.push(...userWindows(codesOf(seq), cfg.maxHistory, cfg.windowStride, rng));
    const groups = bucketBatches(windows, (w) => w.length, cfg.batch, rng);
    const batches = groups.map((g) =>
      cfg.arch === 'item' ? itemBatch(layoutOf.layout, g, cfg.codeBuckets, dense) : decoderBatch(layoutOf.layout, g),
    );
    return { batches, tokens: windows.reduce((a, w) => a + w.length * L, 0), missing };
  }
  const examples: { history: Code[]; target: Code }[] = [];
  for (const e of data.train) {
    const target = table.encode(e.target);
    if (!target) {
      missing++;
      continue;
    }
    const history = codesOf(e.history.slice(Math.max(0, e.history.length - cfg.maxHistory)));
    examples.push({ history, target });
  }
  const groups = bucketBatches(examples, (e) => e.history.length, cfg.batch, rng);
  const batches = groups.map((g) => encDecBatch(layoutOf.layout, g));
  return { batches, tokens: examples.length * L, missing };
}

interface CheckpointState {
  config: ModelConfig;
  levelSizes: number[];
  epoch: number;
  step: number;
  bestEpoch: number;
  bestValid: number | undefined;
  sinceBest: number;
  epochs: EpochRecord[];
  seconds: number;
}

async function writeCheckpoint(
  dir: string,
  model: CodeTransformer,
  opt: Pick<TrainingEngine, 'state'>,
  best: Map<string, Float32Array> | undefined,
  state: CheckpointState,
): Promise<void> {
  await writeDirAtomic(dir, async (tmp) => {
    const os = opt.state();
    for (const sub of ['weights', 'best', 'adam_m', 'adam_v']) await mkdir(join(tmp, sub), { recursive: true });
    const vals = model.values();
    for (const s of model.specs) {
      await writeF32(join(tmp, 'weights', `${s.name}.f32`), vals.get(s.name) as Float32Array);
      await writeF32(join(tmp, 'adam_m', `${s.name}.f32`), os.m.get(s.name) as Float32Array);
      await writeF32(join(tmp, 'adam_v', `${s.name}.f32`), os.v.get(s.name) as Float32Array);
      if (best) await writeF32(join(tmp, 'best', `${s.name}.f32`), best.get(s.name) as Float32Array);
    }
    await writeJson(join(tmp, 'state.json'), { ...state, adamStep: os.step, hasBest: best !== undefined });
  });
}

async function readSub(dir: string, sub: string, model: CodeTransformer): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const s of model.specs) {
    out.set(
      s.name,
      await readF32(
        join(dir, sub, `${s.name}.f32`),
        s.shape.reduce((a, b) => a * b, 1),
      ),
    );
  }
  return out;
}

/**
 * Trains a code transformer on `data` with codes from `table`. Call `await initTf()` first.
 * With `out`, writes the model artifact (best weights) there and keeps a checkpoint for `resume`.
 */
export async function trainModel(opts: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  let cfg = resolveModelConfig(opts.config);
  const levelSizes = [...opts.table.levelSizes];
  const ckptDir = opts.out ? join(opts.out, 'checkpoint') : undefined;
  let resumed: (CheckpointState & { adamStep: number; hasBest: boolean }) | undefined;
  if (opts.resume && ckptDir && existsSync(join(ckptDir, 'state.json'))) {
    resumed = await readJson<CheckpointState & { adamStep: number; hasBest: boolean }>(
      join(ckptDir, 'state.json'),
      'checkpoint state',
    );
    const a = { ...resolveModelConfig(resumed.config), epochs: 0 }; // fields added since take their defaults
    const b = { ...cfg, epochs: 0 };
    if (JSON.stringify(a) !== JSON.stringify(b) || JSON.stringify(resumed.levelSizes) !== JSON.stringify(levelSizes)) {
      throw new SemidError(
        'SEMID_ERR_BAD_CONFIG',
        `cannot resume from ${ckptDir}: it was trained with a different config or index (only "epochs" may change); use a new --out or drop --resume`,
      );
    }
    cfg = { ...resolveModelConfig(resumed.config), epochs: cfg.epochs };
  }
  const model = CodeTransformer.create(cfg, levelSizes);
  const workers = opts.workers ?? defaultWorkers();
  const log = opts.log ?? (() => {});
  // steps per epoch are known only after batching; estimate from epoch 0 for the cosine schedule
  // the dense item head ranks the whole index (every item with a code), as SASRec's softmax does
  const dense =
    cfg.arch === 'item' && cfg.dense > 0
      ? itemCatalogue(
          model.layout,
          [...opts.table.entries()].map(([, c]) => c),
          cfg.codeBuckets,
        )
      : undefined;
  const first = epochBatches(cfg, opts.table, opts.data, 0, model, dense);
  if (first.batches.length === 0) {
    model.dispose();
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      'no training data: every train sequence is empty or no item has a code in the index',
    );
  }
  const stepsPerEpoch = first.batches.length;
  const adam = {
    lr: cfg.lr,
    warmup: cfg.warmup,
    totalSteps: stepsPerEpoch * cfg.epochs,
    decay: cfg.decay,
    weightDecay: cfg.weightDecay,
    clipNorm: cfg.clipNorm,
  };
  let adamState: AdamWState | undefined;
  let epochs: EpochRecord[] = [];
  let bestValid: number | undefined;
  let bestEpoch = -1;
  let sinceBest = 0;
  let startEpoch = 0;
  let step = 0;
  let best: Map<string, Float32Array> | undefined;
  let priorSeconds = 0;
  if (resumed && ckptDir) {
    model.assign(await readSub(ckptDir, 'weights', model));
    adamState = {
      step: resumed.adamStep,
      m: await readSub(ckptDir, 'adam_m', model),
      v: await readSub(ckptDir, 'adam_v', model),
    };
    if (resumed.hasBest) best = await readSub(ckptDir, 'best', model);
    epochs = resumed.epochs;
    bestValid = resumed.bestValid ?? undefined;
    bestEpoch = resumed.bestEpoch;
    sinceBest = resumed.sinceBest;
    startEpoch = resumed.epoch + 1;
    step = resumed.step;
    priorSeconds = resumed.seconds;
    log(`resuming from ${ckptDir} after epoch ${resumed.epoch + 1} (step ${step})`);
  }
  const engineName = opts.engine ?? (onnxTrains(cfg) ? 'onnx' : 'tfjs');
  const opt: TrainingEngine =
    engineName === 'onnx'
      ? await OnnxEngine.create(model, adam, dense?.catalogue.n ?? 0)
      : await TfjsEngine.create(model, adam, workers);
  if (adamState) opt.load(adamState);
  log(`training engine ${engineName}${engineName === 'tfjs' ? ` (main thread + ${workers} workers)` : ''}`);
  let stopped: TrainResult['stopped'] = 'epochs';
  const itemsWithoutCode = first.missing;
  try {
    for (let epoch = startEpoch; epoch < cfg.epochs; epoch++) {
      const { batches, tokens } = epoch === 0 ? first : epochBatches(cfg, opts.table, opts.data, epoch, model, dense);
      const te = performance.now();
      let lossSum = 0;
      let n = 0;
      let seen = 0;
      for (const batch of batches) {
        const dropSeed = cfg.dropout > 0 ? (cfg.seed * 7 + step * 131) >>> 0 : undefined;
        const { loss } = await opt.step(batch, dropSeed);
        step++;
        n++;
        lossSum += loss;
        seen += targetCount(batch);
        const tps = seen / ((performance.now() - te) / 1000);
        opts.onStep?.({ epoch, step, stepsPerEpoch: batches.length, loss, tokensPerSecond: tps });
        opts.signal?.throwIfAborted();
        if (opts.maxSteps !== undefined && step >= opts.maxSteps) {
          stopped = 'steps';
          break;
        }
        if (opts.maxSeconds !== undefined && priorSeconds + (performance.now() - t0) / 1000 >= opts.maxSeconds) {
          stopped = 'time';
          break;
        }
      }
      const seconds = (performance.now() - te) / 1000;
      const rec: EpochRecord = {
        epoch,
        steps: n,
        loss: lossSum / Math.max(1, n),
        tokensPerSecond: tokens / seconds,
        seconds,
      };
      opt.sync();
      if (opts.validate && (epoch + 1) % cfg.evalEvery === 0) {
        opts.signal?.throwIfAborted();
        rec.valid = await opts.validate(model);
        if (bestValid === undefined || rec.valid > bestValid) {
          bestValid = rec.valid;
          bestEpoch = epoch;
          sinceBest = 0;
          best = model.values();
        } else sinceBest++;
      }
      epochs.push(rec);
      log(
        `epoch ${epoch + 1}/${cfg.epochs}: loss ${rec.loss.toFixed(4)}, ${rec.tokensPerSecond.toFixed(0)} tokens/s, ${seconds.toFixed(1)} s` +
          (rec.valid !== undefined
            ? `, valid ${rec.valid.toFixed(4)} (best ${bestValid?.toFixed(4)} @ ${bestEpoch + 1})`
            : ''),
      );
      if (opts.maxSeconds !== undefined && stopped === 'epochs') {
        // Under a time budget the cosine schedule must finish inside it, or the run stops at a high lr:
        // plan the decay over the epochs that fit at the mean epoch time of this run so far (validation
        // included), re-planned after every epoch so a machine that gets busier or quieter is followed.
        const elapsed = priorSeconds + (performance.now() - t0) / 1000;
        const perEpoch = (performance.now() - t0) / 1000 / (epoch - startEpoch + 1);
        const planned = plannedEpochs(opts.maxSeconds, elapsed, perEpoch, epoch + 1, cfg.epochs);
        if (stepsPerEpoch * planned !== opt.opts.totalSteps) {
          opt.opts.totalSteps = stepsPerEpoch * planned;
          log(`time budget ${opts.maxSeconds} s: learning-rate schedule planned over ${planned} epochs`);
        }
      }
      if (ckptDir) {
        opts.signal?.throwIfAborted();
        await writeCheckpoint(ckptDir, model, opt, best, {
          config: cfg,
          levelSizes,
          epoch,
          step,
          bestEpoch,
          bestValid,
          sinceBest,
          epochs,
          seconds: priorSeconds + (performance.now() - t0) / 1000,
        });
      }
      if (stopped !== 'epochs') break;
      if (opts.validate && sinceBest > cfg.patience) {
        stopped = 'early-stop';
        break;
      }
    }
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    opt.sync();
    await opt.close();
  }
  if (best) model.assign(best);
  let fusion: FusionChoice | undefined;
  if (opts.selectFusion && cfg.arch === 'item' && cfg.dense > 0) {
    fusion = await opts.selectFusion(model);
    model.setDenseFusion(fusion.weight);
    cfg = model.config;
    log(
      `dense fusion weight ${fusion.weight} chosen on valid (` +
        fusion.scores.map((s) => `${s.weight}: ${s.score.toFixed(4)}`).join(', ') +
        ')',
    );
  }
  const seconds = priorSeconds + (performance.now() - t0) / 1000;
  const result: TrainResult = {
    model,
    config: cfg,
    epochs,
    bestEpoch,
    bestValid,
    steps: step,
    seconds,
    workers,
    engine: engineName,
    stopped,
    itemsWithoutCode,
    ...(fusion !== undefined ? { fusion } : {}),
  };
  if (opts.out) {
    const out = opts.out;
    const ck = ckptDir as string;
    const indexDir = opts.indexDir;
    await saveModel(out, model, {
      ...(indexDir !== undefined ? { index: BUNDLED_INDEX } : {}),
      training: {
        ...opts.trainingInfo,
        epochs,
        bestEpoch: bestEpoch + 1,
        bestValid,
        steps: step,
        seconds,
        workers,
        engine: engineName,
        stopped,
        itemsWithoutCode,
        ...(fusion !== undefined ? { fusion } : {}),
      },
      fill: async (tmp) => {
        if (existsSync(ck)) await cp(ck, join(tmp, 'checkpoint'), { recursive: true });
        if (indexDir !== undefined) await cp(indexDir, join(tmp, BUNDLED_INDEX), { recursive: true });
      },
    });
    if (!existsSync(join(out, 'checkpoint'))) await rm(ck, { recursive: true, force: true });
  }
  return result;
}
