import { applyPreset, DEFAULT_PRESET, PRESET_DOCS, PRESET_NAMES } from '../models/presets.js';
import type { StepCallback } from '../models/train.js';
import { datasetFingerprint, type LoadSplitOptions, loadSplit } from '../src/core/data/index.js';
import { SemidError } from '../src/core/errors.js';
import type { GenerativeModel } from '../src/core/model.js';
import type { SplitData } from '../src/core/types.js';
import { evaluate, evaluateRanker } from '../src/eval/evaluate.js';
import { expectKind } from './checks.js';
import { type Command, int, log, Progress, readConfigFile, req, str } from './command.js';
import { DATA_OPTIONS, dataFlags, loadOptions } from './data-flags.js';
import { fusionSelector, onnxReplica, sampleExamples } from './models.js';

/**
 * Per-epoch progress of a training run: `onStep` for trainModel (a bar per epoch, with loss and
 * tokens/s), `pause` before validation (ends the current bar).
 */
export function epochProgress(epochs: number): { onStep: StepCallback; pause: () => void } {
  let progress: Progress | undefined;
  let current = -1;
  return {
    onStep: (s) => {
      if (s.epoch !== current) {
        progress?.done();
        progress = new Progress(`epoch ${s.epoch + 1}/${epochs}`, s.stepsPerEpoch, { unit: 'step' });
        current = s.epoch;
      }
      progress?.update(
        ((s.step - 1) % s.stepsPerEpoch) + 1,
        `loss ${s.loss.toFixed(4)} ${s.tokensPerSecond.toFixed(0)} tok/s`,
      );
    },
    pause: () => {
      progress?.done();
      progress = undefined;
    },
  };
}

/** `semid train`. */
export const trainCommand: Command = {
  name: 'train',
  summary: 'train the generative model on an index and a dataset (early stopping on valid NDCG@10)',
  usage:
    'semid train --index <dir> --data <dir|synthetic> --out <dir> [--preset quality|fast] [--config file] [--arch decoder|encdec|item] [--epochs n] [--seed n] [--fusion x] [--engine onnx|tfjs] [--workers n] [--resume]',
  options: {
    index: { type: 'string', description: 'index directory (from semid index build)' },
    data: { type: 'string', description: 'dataset directory or spec (the one the index was built on)' },
    out: { type: 'string', description: 'model directory to write (a checkpoint is kept inside for --resume)' },
    preset: {
      type: 'string',
      description: `model recipe the config file and flags apply over: ${PRESET_NAMES.map((p) => `${p} (${PRESET_DOCS[p]})`).join('; ')}`,
      default: DEFAULT_PRESET,
    },
    config: {
      type: 'string',
      description: 'model config file (JSON or YAML), fields of ModelConfig over the preset; flags win',
    },
    fusion: {
      type: 'string',
      description:
        "weight of the dense item head's score in decoding; default: chosen on the validation split after training",
    },
    arch: {
      type: 'string',
      description: 'item (one position per item; the presets use it), decoder (flattened codes) or encdec (TIGER)',
    },
    epochs: { type: 'string', description: 'maximum epochs' },
    seed: { type: 'string', description: 'seed of initialisation, batching and dropout' },
    engine: {
      type: 'string',
      description:
        'training engine: onnx (onnxruntime, all cores; the default for the item and decoder models) or tfjs (TensorFlow.js, the fallback; the default for encdec)',
    },
    workers: {
      type: 'string',
      description: 'tfjs engine: data-parallel worker threads besides the main thread (default: cores - 1)',
    },
    resume: { type: 'boolean', description: 'continue from <out>/checkpoint' },
    'valid-users': {
      type: 'string',
      description: 'validate on this many seeded-random valid users (0 = all)',
      default: '0',
    },
    'max-minutes': { type: 'string', description: 'stop training after this many minutes (the best epoch is kept)' },
    'valid-runtime': {
      type: 'string',
      description: 'runtime for validation decoding: onnx (exports the weights each time; much faster) or tfjs',
      default: 'onnx',
    },
    sasrec: {
      type: 'boolean',
      description:
        'train the ID-based SASRec baseline instead (no --index); prints its test metrics and writes result.json',
    },
    json: {
      type: 'boolean',
      description: 'print a JSON summary of the run on stdout (epochs, best epoch, valid NDCG@10...)',
    },
    ...DATA_OPTIONS,
  },
  async run(args) {
    const data = req(args, 'data', 'train');
    const flags = dataFlags(args);
    const dataOpts = loadOptions(flags);
    if (args.values.sasrec === true) return runSasrec(args, data, dataOpts);
    const indexDir = req(args, 'index', 'train');
    const out = req(args, 'out', 'train');
    await expectKind(indexDir, 'index', 'semid train --index <index dir> --data <dir> --out <model dir>');
    const fileCfg = str(args, 'config') !== undefined ? readConfigFile(str(args, 'config') as string) : {};
    const over: Record<string, unknown> = { ...fileCfg };
    const arch = str(args, 'arch');
    if (arch !== undefined) over.arch = arch;
    if (str(args, 'epochs') !== undefined) over.epochs = int(args, 'epochs', 0);
    if (str(args, 'seed') !== undefined) over.seed = int(args, 'seed', 0);
    const fusionFlag = str(args, 'fusion');
    if (fusionFlag !== undefined) {
      const f = Number(fusionFlag);
      if (!(f >= 0) || !Number.isFinite(f)) {
        throw new SemidError('SEMID_ERR_BAD_INPUT', `--fusion must be a number >= 0, got "${fusionFlag}"`);
      }
      over.denseFusion = f;
    }
    const maxMinutes = str(args, 'max-minutes');
    if (maxMinutes !== undefined && !(Number(maxMinutes) > 0)) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `--max-minutes must be a positive number, got "${maxMinutes}"`);
    }

    const { resolveModelConfig } = await import('../models/config.js');
    const preset = str(args, 'preset') ?? DEFAULT_PRESET;
    // checked before any data is read; the final config adds the catalogue-derived values of the preset
    let config = resolveModelConfig(applyPreset(preset, 1, over));
    const { initTf } = await import('../src/core/tf.js');
    const { loadIndex } = await import('../indexer/artifact.js');
    const { trainModel, defaultWorkers } = await import('../models/train.js');
    const workers = str(args, 'workers') !== undefined ? int(args, 'workers', 0) : defaultWorkers();
    if (workers < 0) throw new SemidError('SEMID_ERR_BAD_INPUT', `--workers must be >= 0, got ${workers}`);
    const engine = str(args, 'engine');
    if (engine !== undefined && engine !== 'onnx' && engine !== 'tfjs') {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `--engine must be onnx or tfjs, got "${engine}"`);
    }
    const validUsers = int(args, 'valid-users', 0);
    const validRuntime = str(args, 'valid-runtime') ?? 'onnx';
    if (validRuntime !== 'onnx' && validRuntime !== 'tfjs') {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `--valid-runtime must be onnx or tfjs, got "${validRuntime}"`);
    }

    log(`[train] loading ${data} and the index ${indexDir}`);
    const [split, index] = await Promise.all([
      loadSplit(data, { ...dataOpts, maxHistory: config.maxHistory }),
      loadIndex(indexDir, { encoder: false }),
    ]);
    const fp = index.manifest.dataset?.fingerprint;
    if (typeof fp === 'string' && fp !== datasetFingerprint(split)) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `the index ${indexDir} was built on a different dataset (${index.manifest.dataset.name}) than ${data}; train on the data the index was built from, read with the same --columns/--kcore/--skip-bad flags`,
      );
    }
    config = resolveModelConfig(applyPreset(preset, index.table.size, over));
    const backend = await initTf();
    const validExamples = sampleExamples(split.valid, validUsers, config.seed);
    const scoreValid = async (m: GenerativeModel) => {
      const r = await evaluate({
        model: m,
        table: index.table,
        examples: validExamples,
        ks: [10],
        beamWidth: config.beamWidth,
        maxHistory: config.maxHistory,
        batchSize: 128,
      });
      return r.metrics['ndcg@10'] ?? 0;
    };
    log(
      `[train] preset ${preset}: ${config.arch} model, ${split.users.length} users, ${index.table.size} items, levels [${index.table.levelSizes}], ` +
        `backend ${backend}, ${workers} worker thread(s); validating on ${validExamples.length} users`,
    );
    const progress = epochProgress(config.epochs);
    const result = await trainModel({
      table: index.table,
      data: split,
      config,
      workers,
      ...(engine !== undefined ? { engine } : {}),
      out,
      indexDir,
      resume: args.values.resume === true,
      ...(maxMinutes !== undefined ? { maxSeconds: Number(maxMinutes) * 60 } : {}),
      log: (line) => log(`[train] ${line}`),
      onStep: progress.onStep,
      validate: async (model) => {
        progress.pause();
        const decoder = validRuntime === 'onnx' ? await onnxReplica(model) : undefined;
        return scoreValid(decoder?.model ?? model).finally(() => decoder?.close());
      },
      ...(fusionFlag === undefined ? { selectFusion: fusionSelector(validRuntime, scoreValid) } : {}),
      trainingInfo: { data, dataFlags: flags, scheme: index.manifest.scheme, validUsers: validExamples.length },
    });
    log(
      `[train] done: ${result.epochs.length} epoch(s), stopped by ${result.stopped}, best valid NDCG@10 ` +
        `${result.bestValid?.toFixed(4) ?? '-'} at epoch ${result.bestEpoch + 1}, ${result.seconds.toFixed(0)} s; model written to ${out}`,
    );
    result.model.dispose();
    if (args.values.json === true) {
      const summary = {
        model: out,
        index: indexDir,
        data,
        scheme: index.manifest.scheme,
        arch: config.arch,
        epochs: result.epochs.length,
        bestEpoch: result.bestEpoch + 1,
        bestValidNdcg10: result.bestValid ?? null,
        stopped: result.stopped,
        steps: result.steps,
        seconds: result.seconds,
      };
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    }
    return 0;
  },
};

/** `semid train --sasrec`: the baseline, early-stopped on valid NDCG@10, then scored on test. */
async function runSasrec(
  args: Parameters<Command['run']>[0],
  data: string,
  dataOpts: LoadSplitOptions,
): Promise<number> {
  const out = req(args, 'out', 'train');
  const over: Record<string, unknown> =
    str(args, 'config') !== undefined ? readConfigFile(str(args, 'config') as string) : {};
  if (str(args, 'epochs') !== undefined) over.epochs = int(args, 'epochs', 0);
  if (str(args, 'seed') !== undefined) over.seed = int(args, 'seed', 0);
  const maxMinutes = str(args, 'max-minutes');
  const { resolveSasrecConfig, trainSasrec, saveSasrec } = await import('../models/sasrec.js');
  const config = resolveSasrecConfig(over);
  const { initTf } = await import('../src/core/tf.js');
  const split: SplitData = await loadSplit(data, { ...dataOpts, maxHistory: config.maxLen });
  await initTf();
  const validExamples = sampleExamples(split.valid, int(args, 'valid-users', 0), config.seed);
  const items = split.items.map((i) => i.id);
  log(
    `[train] SASRec on ${split.name}: ${split.users.length} users, ${items.length} items; validating on ${validExamples.length} users`,
  );
  const r = await trainSasrec({
    items,
    trainSequences: split.trainSequences,
    config,
    ...(maxMinutes !== undefined ? { maxSeconds: Number(maxMinutes) * 60 } : {}),
    log: (l) => log(`[train] ${l}`),
    validate: async (model) => {
      const v = await evaluateRanker({
        ranker: model,
        examples: validExamples,
        ks: [10],
        maxHistory: config.maxLen,
        batchSize: 256,
      });
      return v.metrics['ndcg@10'] ?? 0;
    },
  });
  const test = await evaluateRanker({
    ranker: r.model,
    examples: split.test,
    maxHistory: config.maxLen,
    batchSize: 256,
    trainSequences: split.trainSequences,
  });
  const valid = await evaluateRanker({
    ranker: r.model,
    examples: split.valid,
    maxHistory: config.maxLen,
    batchSize: 256,
  });
  const summary = {
    data,
    dataFlags: dataFlags(args),
    config: r.config,
    epochs: r.epochs,
    bestEpoch: r.bestEpoch + 1,
    seconds: r.seconds,
    valid: valid.metrics,
    test: test.metrics,
  };
  await saveSasrec(out, r.model, { training: summary });
  const { writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  await writeFile(join(out, 'result.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const m = test.metrics;
  log(
    `[train] SASRec test: recall@10 ${m['recall@10']?.toFixed(4)} ndcg@10 ${m['ndcg@10']?.toFixed(4)} ` +
      `recall@20 ${m['recall@20']?.toFixed(4)} ndcg@20 ${m['ndcg@20']?.toFixed(4)} (best epoch ${r.bestEpoch + 1}, ${r.seconds.toFixed(0)} s)`,
  );
  process.stdout.write(`${JSON.stringify({ valid: valid.metrics, test: test.metrics })}\n`);
  r.model.dispose();
  return 0;
}
