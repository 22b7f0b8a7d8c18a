/**
 * The generative model package: the code transformer (decoder-only and TIGER encoder-decoder), its
 * training loop, artifact I/O, and the ID-based SASRec baseline. See models/README.md.
 */
export { type DecoderBatch, decoderBatch, type EncDecBatch, encDecBatch, type TrainBatch } from './batch.js';
export { DEFAULT_MODEL_CONFIG, type ModelArch, type ModelConfig, resolveModelConfig } from './config.js';
export { loadModel, MODEL_KIND, type ModelManifest, readModelManifest, saveModel } from './io.js';
export {
  DEFAULT_SASREC_CONFIG,
  resolveSasrecConfig,
  Sasrec,
  type SasrecConfig,
  type SasrecTrainOptions,
  type SasrecTrainResult,
  saveSasrec,
  trainSasrec,
} from './sasrec.js';
export {
  defaultWorkers,
  type EpochRecord,
  type TrainOptions,
  type TrainResult,
  trainModel,
  userWindows,
  type ValidationHook,
} from './train.js';
export { CodeTransformer, decoderPositions, type ParamSpec, paramSpecs } from './transformer.js';
