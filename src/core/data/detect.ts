/**
 * Format detection and the one entry point for loading a dataset directory. Detection looks only at
 * file names (and, for Amazon, the first line), in this order: the common format (items.jsonl +
 * interactions.csv), RecBole (`*.inter`), MovieLens (`u.data`, `ratings.dat`, `ratings.csv` +
 * `movies.csv`), Amazon (`*.json` reviews + optional `meta_*.json`). Any file may carry `.gz`.
 */
import { SemidError } from '../errors.js';
import type { Dataset } from '../types.js';
import { amazonFiles, loadAmazon } from './amazon.js';
import { type LoadOptions, loadCommon } from './common.js';
import { findFile, listFiles } from './lines.js';
import { loadMovieLens, movielensLayout } from './movielens.js';
import { findInterFile, loadRecBole } from './recbole.js';

/** Every dataset format semid reads. */
export const DATA_FORMATS = ['common', 'movielens', 'recbole', 'amazon'] as const;
/** A dataset format name. */
export type DataFormat = (typeof DATA_FORMATS)[number];

/** Options of loadDataset. */
export interface LoadDatasetOptions extends LoadOptions {
  /** The format, or 'auto' (default) to detect it from the files. */
  format?: DataFormat | 'auto';
}

const LOADERS: Record<DataFormat, (dir: string, opts: LoadOptions) => Promise<Dataset>> = {
  common: loadCommon,
  movielens: loadMovieLens,
  recbole: loadRecBole,
  amazon: loadAmazon,
};

/**
 * Detects the format of a dataset directory from its file names.
 * @throws SEMID_ERR_NOT_FOUND for a missing directory, SEMID_ERR_BAD_INPUT when nothing matches.
 */
export async function detectFormat(dir: string): Promise<DataFormat> {
  const files = listFiles(dir);
  if (findFile(dir, files, 'interactions.csv') !== undefined) return 'common';
  if (findInterFile(dir, files) !== undefined) return 'recbole';
  if (movielensLayout(files) !== undefined) return 'movielens';
  if ((await amazonFiles(dir, files)).reviews !== undefined) return 'amazon';
  throw new SemidError(
    'SEMID_ERR_BAD_INPUT',
    `${dir}: no known dataset format. Expected one of: items.jsonl + interactions.csv (common); <name>.inter ` +
      `[+ .item] (RecBole); u.data + u.item, ratings.dat + movies.dat or ratings.csv + movies.csv (MovieLens); ` +
      `reviews *.json + meta_*.json (Amazon); any may be .gz. Found: ${files.join(', ') || 'no files'}`,
  );
}

/**
 * Loads a dataset directory in any supported format (detected unless `format` is given).
 * Bad rows throw SEMID_ERR_PARSE naming file and line, unless `skipBad` (then counted in report.badRows).
 */
export async function loadDataset(dir: string, opts: LoadDatasetOptions = {}): Promise<Dataset> {
  const format = opts.format ?? 'auto';
  if (format !== 'auto' && !DATA_FORMATS.includes(format)) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `unknown data format "${format}"; expected auto, ${DATA_FORMATS.join(', ')}`,
    );
  }
  const f = format === 'auto' ? await detectFormat(dir) : format;
  return LOADERS[f](dir, opts);
}
