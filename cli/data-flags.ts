/**
 * The data-loading flags every command that reads a dataset takes (`--columns`, `--skip-bad`,
 * `--kcore`, `--format`), parsed into loadSplit options in one place, and recorded with a model so a
 * later `semid eval` reads the data the same way.
 */
import { DATA_FORMATS, type DataFormat, type LoadSplitOptions } from '../src/core/data/index.js';
import { COLUMN_ALIASES, parseColumns } from '../src/core/data/table.js';
import { SemidError } from '../src/core/errors.js';
import { type Command, int, type ParsedArgs, str } from './command.js';

/** The options of every command that loads data (spread into its `options`). */
export const DATA_OPTIONS: Command['options'] = {
  columns: {
    type: 'string',
    description:
      `header names of your user, item and time columns, e.g. user=customer,item=sku,time=ordered_at ` +
      `(default: user ${COLUMN_ALIASES.user.join('/')}, item ${COLUMN_ALIASES.item.join('/')}, time ${COLUMN_ALIASES.time.join('/')})`,
  },
  'skip-bad': { type: 'boolean', description: 'skip and count unparseable rows instead of failing on the first' },
  kcore: { type: 'string', description: 'keep only the k-core: users and items with >= k interactions (0 = off)' },
  format: { type: 'string', description: `input format: auto, ${DATA_FORMATS.join(', ')}`, default: 'auto' },
};

/** The data-loading settings a command used, as recorded in a model's manifest (JSON-safe). */
export interface DataFlags {
  columns?: string;
  skipBad?: boolean;
  kcore?: number;
  format?: string;
}

/** The data flags given on the command line (only those given). */
export function dataFlags(args: ParsedArgs): DataFlags {
  const out: DataFlags = {};
  const columns = str(args, 'columns');
  if (columns !== undefined) out.columns = columns;
  if (args.values['skip-bad'] === true) out.skipBad = true;
  if (str(args, 'kcore') !== undefined) out.kcore = int(args, 'kcore', 0);
  const format = str(args, 'format');
  if (format !== undefined && format !== 'auto') out.format = format;
  return out;
}

/**
 * Validated loadSplit options from data flags (cheap: no file is read).
 * @throws SEMID_ERR_BAD_INPUT for a bad --columns, --kcore or --format.
 */
export function loadOptions(flags: DataFlags): LoadSplitOptions {
  const opts: LoadSplitOptions = {};
  if (flags.columns !== undefined) opts.columns = parseColumns(flags.columns);
  if (flags.skipBad === true) opts.skipBad = true;
  if (flags.kcore !== undefined) {
    if (!Number.isInteger(flags.kcore) || flags.kcore < 0) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `--kcore must be an integer >= 0, got ${flags.kcore}`);
    }
    if (flags.kcore > 0) opts.kcore = flags.kcore;
  }
  if (flags.format !== undefined) {
    if (!(DATA_FORMATS as readonly string[]).includes(flags.format)) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `--format must be auto, ${DATA_FORMATS.join(', ')}; got "${flags.format}"`,
      );
    }
    opts.format = flags.format as DataFormat;
  }
  return opts;
}

/** Data flags recorded in a manifest's training summary, if any (ignores anything malformed). */
export function recordedFlags(training: Record<string, unknown> | undefined): DataFlags {
  const d = training?.dataFlags;
  if (typeof d !== 'object' || d === null) return {};
  const r = d as Record<string, unknown>;
  const out: DataFlags = {};
  if (typeof r.columns === 'string') out.columns = r.columns;
  if (r.skipBad === true) out.skipBad = true;
  if (typeof r.kcore === 'number') out.kcore = r.kcore;
  if (typeof r.format === 'string') out.format = r.format;
  return out;
}
