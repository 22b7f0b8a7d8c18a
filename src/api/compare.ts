/**
 * Comparing schemes with the real stages: for each scheme and seed, build the index, train the same
 * model on it (by epochs: a budget that does not depend on the machine's load, so the same seed gives
 * the same metrics), evaluate on the test split, and write report.json / report.md.
 */
import { join } from 'node:path';
import { buildIndex, loadIndex } from '../../indexer/artifact.js';
import type { SchemeName } from '../../indexer/types.js';
import { resolveModelConfig } from '../../models/config.js';
import { applyPreset, DEFAULT_PRESET } from '../../models/presets.js';
import type { StepCallback } from '../../models/train.js';
import type { CodeTable } from '../core/codes.js';
import { loadSplit } from '../core/data/index.js';
import { initTf } from '../core/tf.js';
import type { SplitData } from '../core/types.js';
import { type CompareStages, runCompare } from '../eval/compare.js';
import { evaluate, resultValues } from '../eval/evaluate.js';
import type { CompareReport } from '../eval/report.js';
import { fusionSelector, openModel, sampleExamples } from './models.js';
import { portableDataSpec } from './paths.js';
import { validationHook, validationScorer } from './train.js';

/** How a comparison is configured (CLI flags or a JSON/YAML file, or the API). */
export interface CompareConfig {
  /** Model recipe (models/presets.ts) that `model` applies over; default quality. */
  preset: string;
  /** Partial model config shared by every scheme (models/config.ts), over the preset; `epochs` is the training budget. */
  model: Record<string, unknown>;
  /** Partial scheme configs, by scheme name. */
  schemes: Record<string, Record<string, unknown>>;
  /** Validation users sampled (seeded) for early stopping; 0 = all. */
  validUsers: number;
  /** Beam width of validation and of the test evaluation. */
  beamWidth: number;
  /**
   * Optional safety stop: wall-clock cap on each training run, seconds (0 = none). Results then depend
   * on the machine's load; a run it stops is logged and marked `timeCapped: 1` in the report.
   */
  maxTrainSeconds: number;
  /** Runtime of the test evaluation. */
  runtime: 'onnx' | 'tfjs';
  /** Training worker threads (undefined = one per spare core). */
  workers?: number;
  /**
   * Never recommend an item of the user's history at test time. Off by default (TIGER/P5/LETTER
   * protocol); RecBole-style full ranking masks history items, which suits datasets without repeats.
   */
  excludeHistory?: boolean;
  /** Also evaluate with history items excluded and report those figures as `exclHist.*`. */
  alsoExcludeHistory?: boolean;
}

/** Defaults of CompareConfig. */
export const COMPARE_DEFAULTS: Readonly<CompareConfig> = Object.freeze({
  preset: DEFAULT_PRESET,
  model: {},
  schemes: {},
  validUsers: 2000,
  beamWidth: 20,
  maxTrainSeconds: 0,
  runtime: 'onnx',
});

/** Items under each used first-level code, largest first (the report's items-per-code chart). */
export function itemsPerFirstLevel(table: CodeTable): number[] {
  const counts = new Map<number, number>();
  for (const [, code] of table.entries()) counts.set(code[0] as number, (counts.get(code[0] as number) ?? 0) + 1);
  return [...counts.values()].sort((a, b) => b - a);
}

/** How the stages report training progress (the CLI's progress bar); silent by default. */
export interface StageHooks {
  log?: (line: string) => void;
  /** Data-reading flags recorded in every model's manifest (so `semid eval` reads the data alike). */
  dataFlags?: Record<string, unknown>;
  /** A per-training progress sink: `onStep` after each step, `pause` before each validation. */
  trainProgress?: (epochs: number) => { onStep: StepCallback; pause: () => void };
}

/** The real stages: indexer/artifact buildIndex, models/train trainModel, eval/evaluate evaluate. */
export function realStages(cfg: CompareConfig, dataSpec: string, hooks: StageHooks = {}): CompareStages {
  const log = hooks.log ?? (() => {});
  return {
    async buildIndex({ scheme, seed, split, out }) {
      const { diagnostics, table } = await buildIndex({
        scheme: scheme as SchemeName,
        split,
        config: cfg.schemes[scheme],
        seed,
        out,
        log,
      });
      const values: Record<string, number> = {
        collisionRateBefore: diagnostics.collisionRateBefore,
        collisionsAfter: diagnostics.collisionsAfter,
        maxItemsPerCode: diagnostics.maxItemsPerCode,
        dedupShare: diagnostics.dedupShare,
        levels: diagnostics.levels.length,
      };
      diagnostics.levels.forEach((l, i) => {
        values[`util@L${i}`] = l.utilization;
        values[`perplexity@L${i}`] = l.perplexity;
      });
      if (diagnostics.prefixCoherence !== undefined) values.prefixCoherence = diagnostics.prefixCoherence;
      if (diagnostics.reconstructionError !== undefined) values.reconstructionError = diagnostics.reconstructionError;
      return { values, series: { itemsPerL0: itemsPerFirstLevel(table) } };
    },
    async train({ scheme, seed, split, indexDir, out }) {
      await initTf();
      const { trainModel } = await import('../../models/train.js');
      const index = await loadIndex(indexDir, { encoder: false });
      const validExamples = sampleExamples(split.valid, cfg.validUsers, seed);
      const score = validationScorer({ table: index.table, examples: validExamples, beamWidth: cfg.beamWidth });
      const modelConfig = applyPreset(cfg.preset, index.table.size, { ...cfg.model, seed });
      const progress = hooks.trainProgress?.(resolveModelConfig(modelConfig).epochs);
      const validate = validationHook(score);
      const result = await trainModel({
        table: index.table,
        data: split,
        config: modelConfig,
        workers: cfg.workers,
        out,
        indexDir,
        maxSeconds: cfg.maxTrainSeconds > 0 ? cfg.maxTrainSeconds : undefined,
        ...(progress ? { onStep: progress.onStep } : {}),
        validate: (model) => {
          progress?.pause();
          return validate(model);
        },
        selectFusion: fusionSelector('onnx', score),
        log,
        trainingInfo: {
          ...portableDataSpec(dataSpec, out),
          ...(hooks.dataFlags && Object.keys(hooks.dataFlags).length > 0 ? { dataFlags: hooks.dataFlags } : {}),
          validUsers: validExamples.length,
        },
      });
      result.model.dispose();
      if (result.stopped === 'time') {
        log(
          `[compare] ${scheme} seed ${seed}: the wall-clock cap of ${cfg.maxTrainSeconds} s stopped training after ${result.epochs.length} epoch(s); its figures depend on the machine's load`,
        );
      }
      return {
        values: {
          epochs: result.epochs.length,
          bestEpoch: result.bestEpoch + 1,
          'validNdcg@10': result.bestValid ?? Number.NaN,
          steps: result.steps,
          timeCapped: result.stopped === 'time' ? 1 : 0,
        },
        series: { loss: result.epochs.map((e) => e.loss), valid: result.epochs.map((e) => e.valid ?? null) },
      };
    },
    async evaluate({ split, modelDir, indexDir }) {
      const index = await loadIndex(indexDir, { encoder: false });
      const model = await openModel(modelDir, cfg.runtime);
      try {
        const run = (excludeHistory: boolean) =>
          evaluate({
            model,
            table: index.table,
            examples: split.test,
            beamWidth: cfg.beamWidth,
            excludeHistory,
            trainSequences: split.trainSequences,
            progress: excludeHistory ? 'test (history excluded)' : 'test',
          });
        const values = resultValues(await run(cfg.excludeHistory === true));
        if (cfg.alsoExcludeHistory && cfg.excludeHistory !== true) {
          // The same model under RecBole-style masking of history items, reported beside the standard figures.
          const x = resultValues(await run(true));
          for (const k of ['recall@10', 'ndcg@10', 'recall@20', 'ndcg@20']) {
            const v = x[k];
            if (v !== undefined) values[`exclHist.${k}`] = v;
          }
        }
        return { values };
      } finally {
        model.dispose();
      }
    },
  };
}

/** Options of `compare`. */
export interface CompareOptions {
  /** A dataset directory or synthetic spec (recorded in the report and in every model's manifest). */
  data: string;
  /** The schemes to compare. */
  schemes: readonly SchemeName[];
  /** Seeds; each (scheme, seed) is one run. Default [1]. */
  seeds?: readonly number[];
  /** Report directory: report.json and report.md (each replaced atomically), artifacts in `work/`. */
  out: string;
  /** Settings over COMPARE_DEFAULTS. */
  config?: Partial<CompareConfig>;
  /** The loaded split of `data`, when the caller has it already. */
  split?: SplitData;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Data-reading flags the split was loaded with (recorded in the report and every model's manifest). */
  dataFlags?: Record<string, unknown>;
  /** A per-training progress sink (see StageHooks). */
  trainProgress?: StageHooks['trainProgress'];
}

/**
 * Builds each scheme's index, trains the same model on each, evaluates on test, and writes the
 * report. A failing scheme is listed in `failures`; the others go on.
 */
export async function compare(opts: CompareOptions): Promise<CompareReport> {
  const cfg: CompareConfig = { ...COMPARE_DEFAULTS, ...opts.config };
  const seeds = opts.seeds ?? [1];
  const log = opts.log ?? (() => {});
  const split = opts.split ?? (await loadSplit(opts.data));
  return runCompare({
    split,
    schemes: opts.schemes,
    seeds,
    out: opts.out,
    work: join(opts.out, 'work'),
    stages: realStages(cfg, opts.data, {
      log,
      ...(opts.dataFlags ? { dataFlags: opts.dataFlags } : {}),
      ...(opts.trainProgress ? { trainProgress: opts.trainProgress } : {}),
    }),
    config: {
      data: opts.data,
      ...(opts.dataFlags && Object.keys(opts.dataFlags).length > 0 ? { dataFlags: opts.dataFlags } : {}),
      compared: opts.schemes,
      seeds,
      ...cfg,
    },
    log,
  });
}
