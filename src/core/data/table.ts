/**
 * Interaction tables: a delimited text file with a header row naming a user, an item and (optionally)
 * a time column. Parsed with csv-parse (RFC 4180 quoting, quoted fields may hold the delimiter or a
 * newline). The delimiter is a comma, or a tab when the header line holds a tab. Header names are
 * matched case-insensitively, ignoring a RecBole-style `:type` suffix, against COLUMN_ALIASES, unless
 * a column map (`--columns user=…,item=…,time=…`) names them. Times are numbers (seconds, or any
 * increasing position) or ISO-8601 dates / date-times (turned into Unix seconds; no offset = UTC).
 * Without a time column the file order is the order (a warning says so).
 */
import { parse } from 'csv-parse';
import { SemidError } from '../errors.js';
import type { Interaction, LoadReport } from '../types.js';
import { type BadRows, firstLine, openText, preview, readFailure } from './lines.js';

/** The roles a column map may name. */
export const COLUMN_ROLES = ['user', 'item', 'time'] as const;
/** A column role. */
export type ColumnRole = (typeof COLUMN_ROLES)[number];
/** Header names of each role in a user's file, by role (overrides the aliases). */
export type ColumnMap = Partial<Record<ColumnRole, string>>;

/** The header names recognised for each role without a column map (compared lower-case). */
export const COLUMN_ALIASES: Readonly<Record<ColumnRole, readonly string[]>> = {
  user: ['user', 'user_id', 'userid'],
  item: ['item', 'item_id', 'itemid'],
  time: ['timestamp', 'time', 'ts'],
};

/** Header names known and read past (kept in the file, not used: every row counts as one interaction). */
export const IGNORED_COLUMNS: readonly string[] = ['rating'];

/**
 * Parses a column map such as `user=customer,item=sku,time=ordered_at`.
 * @throws SEMID_ERR_BAD_INPUT naming the bad part and the valid roles.
 */
export function parseColumns(spec: string): ColumnMap {
  const out: ColumnMap = {};
  for (const part of spec.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const role = part.slice(0, eq).trim() as ColumnRole;
    const name = part.slice(eq + 1).trim();
    if (eq < 0 || !COLUMN_ROLES.includes(role) || name === '') {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `--columns: expected role=header pairs with roles ${COLUMN_ROLES.join(', ')} ` +
          `(e.g. user=customer_id,item=sku,time=ordered_at); got "${part.trim()}"`,
      );
    }
    out[role] = name;
  }
  return out;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * A timestamp field as a number: a finite number as written, or an ISO-8601 date (`2024-03-01`) or
 * date-time (`2024-03-01T10:20:30Z`, `2024-03-01 10:20`, with an optional offset; none = UTC) as Unix
 * seconds. Undefined for anything else.
 */
export function parseTimestamp(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = s.trim();
  if (t === '') return undefined;
  const n = Number(t);
  if (Number.isFinite(n)) return n;
  const m = ISO_DATE.exec(t);
  if (m === null) return undefined;
  let iso = t.replace(' ', 'T');
  if (iso.length > 10 && m[1] === undefined) iso += 'Z';
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

/** A header name as compared: trimmed, lower-case, without a RecBole `:type` suffix. */
function norm(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/:(token|token_seq|float|float_seq)$/, '');
}

/** Column positions of the roles in a header (time -1 when absent). */
export interface TableColumns {
  user: number;
  item: number;
  time: number;
}

/**
 * Finds the user, item and time columns of a header.
 * @throws SEMID_ERR_PARSE naming the file, the header found, the names accepted and the --columns fix.
 */
export function resolveColumns(header: readonly string[], file: string, map: ColumnMap = {}): TableColumns {
  const names = header.map(norm);
  const find = (role: ColumnRole): number => {
    const given = map[role];
    if (given !== undefined) {
      const i = names.indexOf(norm(given));
      if (i < 0) {
        throw new SemidError(
          'SEMID_ERR_PARSE',
          `${file}:1 (line 1): --columns names "${given}" for ${role}, but the header has ${header.map((h) => JSON.stringify(h)).join(', ')}`,
          { file, line: 1 },
        );
      }
      return i;
    }
    return names.findIndex((n) => COLUMN_ALIASES[role].includes(n));
  };
  const cols = { user: find('user'), item: find('item'), time: find('time') };
  if (cols.user < 0 || cols.item < 0) {
    const missing = (['user', 'item'] as const).filter((r) => cols[r] < 0);
    throw new SemidError(
      'SEMID_ERR_PARSE',
      `${file}:1 (line 1): no ${missing.join(' or ')} column in the header ${preview(header.join(','))}. ` +
        `Expected a header line naming the columns: user (${COLUMN_ALIASES.user.join(', ')}), item (${COLUMN_ALIASES.item.join(', ')}), ` +
        `time (${COLUMN_ALIASES.time.join(', ')}; optional), e.g. "user_id,item_id,timestamp"; ` +
        `or name yours with --columns user=<name>,item=<name>,time=<name>`,
      { file, line: 1 },
    );
  }
  return cols;
}

/** One parsed record: its fields and the line it ends on (1-based). */
export type CsvRecord = { fields: string[]; line: number };

/**
 * Calls `onRecord` for every record of a delimited file (csv-parse: quotes, a BOM, empty lines
 * skipped, records of any width). A record csv-parse cannot read (an unclosed quote...) goes to
 * `onBroken` with its line and the parser's message. `onRecord` returning false stops the read.
 */
export async function forEachCsvRecord(
  path: string,
  delimiter: string,
  onRecord: (r: CsvRecord) => unknown,
  onBroken: (line: number, message: string) => void,
  encoding: 'utf8' | 'latin1' = 'utf8',
): Promise<void> {
  const parser = parse({
    delimiter,
    encoding,
    bom: true,
    info: true,
    skip_empty_lines: true,
    relax_column_count: true,
    skip_records_with_error: true,
    on_skip: (err) => {
      onBroken(Number((err as { lines?: number } | undefined)?.lines ?? 0), err?.message ?? 'a broken record');
      return undefined;
    },
  });
  const source = openText(path);
  source.on('error', (e) => parser.destroy(e));
  source.pipe(parser);
  try {
    for await (const rec of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (onRecord({ fields: rec.record, line: rec.info.lines }) === false) break;
    }
  } catch (e) {
    throw readFailure(path, e);
  } finally {
    source.destroy();
  }
}

/** The delimiter of a table: a tab when its header line holds one, else a comma. */
export async function sniffDelimiter(path: string): Promise<string> {
  const head = await firstLine(path);
  if (head === undefined) {
    throw new SemidError(
      'SEMID_ERR_PARSE',
      `${path}:1 (line 1): expected a header line such as "user_id,item_id,timestamp", got an empty file`,
      { file: path, line: 1 },
    );
  }
  return head.includes('\t') ? '\t' : ',';
}

/** Options of readInteractionTable. */
export interface TableOptions {
  /** Column names by role (default: COLUMN_ALIASES). */
  columns?: ColumnMap;
  /** Number the rows of a file without a time column from here (keeps file order across split files). */
  positionBase?: number;
}

/**
 * Reads an interaction table (see the module comment); `.gz` files are inflated on the fly.
 * Rows with the wrong number of fields, an empty user or item, a time that is neither a number nor
 * ISO-8601, or broken quoting are bad rows (BadRows decides: fail naming the line, or count).
 * @throws SEMID_ERR_PARSE for an empty file or a header without user and item columns.
 */
export async function readInteractionTable(
  path: string,
  bad: BadRows,
  report: LoadReport,
  opts: TableOptions = {},
): Promise<Interaction[]> {
  const delimiter = await sniffDelimiter(path);
  const sep = delimiter === '\t' ? 'tab' : 'comma';
  const out: Interaction[] = [];
  let cols: TableColumns | undefined;
  let width = 0;
  const base = opts.positionBase ?? 0;
  const row = (f: string[]) => preview(f.join(delimiter));
  await forEachCsvRecord(
    path,
    delimiter,
    ({ fields: f, line: no }) => {
      if (cols === undefined) {
        cols = resolveColumns(f, path, opts.columns);
        width = f.length;
        if (cols.time < 0) {
          report.warnings.push(`${path} has no time column: the file order is used as the time order`);
        }
        return;
      }
      if (f.length !== width) {
        bad.bad(path, no, `${width} ${sep}-separated fields as in the header`, `${f.length}: ${row(f)}`);
        return;
      }
      const user = (f[cols.user] as string).trim();
      const item = (f[cols.item] as string).trim();
      if (user === '' || item === '') {
        bad.bad(path, no, 'a non-empty user and item', row(f));
        return;
      }
      let ts = base + out.length;
      if (cols.time >= 0) {
        const v = parseTimestamp(f[cols.time]);
        if (v === undefined) {
          bad.bad(
            path,
            no,
            'a timestamp: a number or an ISO-8601 date/time such as 2024-03-01T10:20:30Z',
            preview(f[cols.time] as string),
          );
          return;
        }
        ts = v;
      }
      out.push({ user, item, timestamp: ts });
    },
    (line, message) => bad.bad(path, line, `${sep}-separated fields with balanced quotes`, message),
  );
  return out;
}
