/**
 * Format detection and the one entry point for loading a dataset directory. Detection looks only at
 * file names (and, for Amazon, the first line), in this order: the common format (interactions.csv /
 * .tsv or train/valid/test tables, + items.jsonl), RecBole (`*.inter`), MovieLens (`u.data`,
 * `ratings.dat`, `ratings.csv` + `movies.csv`), Amazon (`*.json` reviews + optional `meta_*.json`).
 * Any file may carry `.gz`.
 */
import { SemidError } from '../errors.js';
import type { Dataset } from '../types.js';
import { amazonFiles, loadAmazon } from './amazon.js';
import { interactionFile, isTableFile, type LoadOptions, loadCommon, splitFiles } from './common.js';
import { listFiles, stripGz } from './lines.js';
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

/** The layouts semid reads, for detection errors. */
export const EXPECTED_LAYOUTS =
  'common: interactions.csv or .tsv (header naming user, item, time columns) [+ items.jsonl], or pre-split ' +
  'train.csv + valid.csv + test.csv [+ items.jsonl], or one .csv/.tsv file given as the path; ' +
  'RecBole: <name>.inter [+ <name>.item] or <name>.train.inter + <name>.valid.inter + <name>.test.inter; ' +
  'MovieLens: u.data + u.item, ratings.dat + movies.dat, or ratings.csv + movies.csv; ' +
  'Amazon: a reviews .json (reviewerID, asin, unixReviewTime) [+ meta_*.json]; any file may be .gz';

/** What a file a detection failed on is, when semid knows the name. */
function describeFile(name: string): string {
  const n = stripGz(name);
  if (n === 'items.jsonl') return `${name} (an item catalogue: the common format needs interactions.csv beside it)`;
  if (n.endsWith('.item')) return `${name} (RecBole items: needs a <name>.inter beside it)`;
  if (/^meta.*\.jsonl?$/i.test(n)) return `${name} (Amazon metadata: needs a reviews .json beside it)`;
  if (n === 'u.item' || n === 'movies.dat' || n === 'movies.csv')
    return `${name} (MovieLens movies: needs the ratings file)`;
  if (/^(train|valid|validation|val|test)\.(csv|tsv)$/.test(n)) return `${name} (a split table: needs train and test)`;
  if (/\.jsonl?$/i.test(n)) return `${name} (JSON lines without "reviewerID": not Amazon reviews)`;
  return `${name} (not a recognised file)`;
}

/**
 * Detects the format of a dataset directory from its file names (a single .csv/.tsv path is common).
 * @throws SEMID_ERR_NOT_FOUND for a missing directory, SEMID_ERR_BAD_INPUT when nothing matches, naming
 * every file found, what it is, and the layouts expected.
 */
export async function detectFormat(dir: string): Promise<DataFormat> {
  if (isTableFile(dir)) return 'common';
  const files = listFiles(dir);
  if (interactionFile(dir, files) !== undefined || splitFiles(dir, files) !== undefined) return 'common';
  if (findInterFile(dir, files) !== undefined) return 'recbole';
  if (movielensLayout(files) !== undefined) return 'movielens';
  if ((await amazonFiles(dir, files)).reviews !== undefined) return 'amazon';
  throw new SemidError(
    'SEMID_ERR_BAD_INPUT',
    `${dir}: no interactions found, so the dataset format is unknown. Found: ${files.map(describeFile).join(', ') || 'no files'}. ` +
      `Expected one of: ${EXPECTED_LAYOUTS}`,
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
