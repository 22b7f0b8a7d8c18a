/**
 * semid's public library API (the only module the package exports): load a dataset, build / save /
 * load an index with any scheme, train the code-generating model, open a bundle as a Recommender,
 * evaluate and compare, and mount semid's HTTP routes in a fastify app. docs/API.md documents each
 * entry point; examples/ runs them.
 */

export type { Diagnostics, SchemeName } from '../indexer/types.js';
export type { ModelConfig } from '../models/config.js';
export { type CompareConfig, type CompareOptions, compare } from './api/compare.js';
export { type LoadDatasetOptions, loadDataset } from './api/data.js';
export { type EvalResult, type EvaluateOptions, evaluate } from './api/evaluate.js';
export { type BuildIndexOptions, buildIndex, Index, loadIndex, type SchemeConfigs, saveIndex } from './api/indexes.js';
export { type SemidPluginOptions, semidPlugin } from './api/plugin.js';
export {
  type AssignedBy,
  type NewItem,
  type OpenOptions,
  type RecommendedItem,
  Recommender,
  type RecommendOptions,
  type ScoredItem,
  type SimilarItem,
} from './api/recommender.js';
export { type TrainedModel, type TrainingSummary, type TrainOptions, type TrainProgress, train } from './api/train.js';
export { type ErrorCode, SemidError } from './core/errors.js';
export type { Code, Example, Item, ItemId, SplitData } from './core/types.js';
export type { CompareReport } from './eval/report.js';
