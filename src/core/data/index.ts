/**
 * The data layer's public API: loaders (common format, MovieLens, RecBole, Amazon; detected by
 * loadDataset), preprocessing and the leave-one-out split, the synthetic generator, dataset specs
 * (`loadSplit('synthetic:seed=7')`), statistics, fingerprints and downloads.
 */
export { loadAmazon } from './amazon.js';
export { assembleDataset } from './assemble.js';
export { type LoadOptions, loadCommon, writeCommon } from './common.js';
export { DATA_FORMATS, type DataFormat, detectFormat, type LoadDatasetOptions, loadDataset } from './detect.js';
export { type DownloadOptions, downloadDataset, downloadNames, downloadPlan } from './download.js';
export { datasetFingerprint } from './fingerprint.js';
export { isSyntheticSpec, type LoadSplitOptions, loadDatasetSpec, loadSplit, parseSyntheticSpec } from './load.js';
export { loadMovieLens } from './movielens.js';
export { buildSequences, type PreprocessOptions, preprocess } from './preprocess.js';
export { parsePyLiteral } from './pyliteral.js';
export { loadRecBole } from './recbole.js';
export { DEFAULT_MAX_HISTORY, leaveOneOut } from './split.js';
export { type DatasetStats, datasetStats, type LengthStats, lengthStats } from './stats.js';
export {
  DEFAULT_SYNTHETIC_SEED,
  generateSynthetic,
  SYNTHETIC_DEFAULTS,
  type SyntheticOptions,
} from './synthetic.js';
export { readZip, type ZipEntry } from './zip.js';
