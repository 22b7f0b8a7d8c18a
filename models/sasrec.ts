/**
 * SASRec's training and artifact: `trainSasrec` runs the one training loop (models/loop.ts) with
 * Adam and early stopping on the validation callback; `saveSasrec` / `loadSasrec` write and read the
 * weights in the one weight file format (models/weights.ts). The model is in models/arch/sasrec.ts.
 */
import { join } from 'node:path';
import {
  type ManifestBase,
  manifestHead,
  readJson,
  readManifest,
  writeDirAtomic,
  writeJson,
} from '../src/core/artifact.js';
import { SemidError } from '../src/core/errors.js';
import { createRng } from '../src/core/rng.js';
import type { ItemId } from '../src/core/types.js';
import { resolveSasrecConfig, type SasBatch, Sasrec, type SasrecConfig, sasTargets } from './arch/sasrec.js';
import { weightGrads } from './grad.js';
import { EarlyStopping, type EpochRecord, runEpochs } from './loop.js';
import { AdamW } from './optim.js';
import { type ParamEntry, readWeights, valueProblems, writeWeights } from './weights.js';

export {
  DEFAULT_SASREC_CONFIG,
  resolveSasrecConfig,
  SASREC_SPEC,
  Sasrec,
  type SasrecConfig,
} from './arch/sasrec.js';

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
  epochs: EpochRecord[];
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
  const stopper = new EarlyStopping(cfg.patience);
  let epochs: EpochRecord[];
  try {
    ({ epochs } = await runEpochs<SasBatch>({
      epochs: cfg.epochs,
      batches: () => {
        const batches = model.epochBatches(opts.trainSequences, rng);
        if (batches.length === 0)
          throw new SemidError('SEMID_ERR_BAD_INPUT', 'SASRec: no training sequence has 2 or more known items');
        return { batches, tokens: batches.reduce((a, b) => a + sasTargets(b), 0) };
      },
      step: async (batch, step) => {
        const seed = cfg.dropout > 0 ? (cfg.seed * 31 + (step + 1) * 131) >>> 0 : undefined;
        const { loss, grads } = weightGrads(model.weights, () => model.loss(batch, seed));
        opt.apply(grads);
        for (const g of grads.values()) g.dispose();
        return loss;
      },
      targets: sasTargets,
      ...(opts.validate ? { validate: () => (opts.validate as (m: Sasrec) => Promise<number>)(model) } : {}),
      evalEvery: cfg.evalEvery,
      stopper,
      snapshot: () => model.values(),
      ...(opts.maxSeconds !== undefined ? { maxSeconds: opts.maxSeconds } : {}),
      timeCheck: 'epoch',
      elapsed: () => (performance.now() - t0) / 1000,
      log: (rec, st) =>
        opts.log?.(
          `sasrec epoch ${rec.epoch + 1}: loss ${rec.loss.toFixed(4)}, ${rec.seconds.toFixed(1)} s` +
            (rec.valid !== undefined
              ? `, valid NDCG@10 ${rec.valid.toFixed(4)} (best ${st.bestValid?.toFixed(4)} @ ${st.bestEpoch + 1})`
              : ''),
        ),
    }));
  } finally {
    opt.dispose();
  }
  if (stopper.best) model.assign(stopper.best);
  return {
    model,
    config: cfg,
    epochs,
    bestEpoch: stopper.bestEpoch,
    bestValid: stopper.bestValid,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * Writes a SASRec artifact: manifest.json (kind "model", model "sasrec", config, `extra`),
 * items.json (catalogue in score order) and weights/<name>.f32.
 */
export async function saveSasrec(dir: string, model: Sasrec, extra: Record<string, unknown> = {}): Promise<void> {
  await writeDirAtomic(dir, async (tmp) => {
    const params = await writeWeights(tmp, model.specs, model.values());
    await writeJson(join(tmp, 'items.json'), model.items);
    await writeJson(join(tmp, 'manifest.json'), {
      ...manifestHead('model'),
      model: 'sasrec',
      config: model.config,
      params,
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
    const problems = valueProblems(model.specs, values);
    if (problems.length > 0) throw new SemidError('SEMID_ERR_ARTIFACT_CORRUPT', `${dir}: ${problems.join('; ')}`);
    model.assign(values);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, manifest: m as unknown as Record<string, unknown> };
}
