/**
 * RecBole atomic files: `<name>.inter` (or the benchmark split `<name>.train.inter`, `<name>.valid.inter`,
 * `<name>.test.inter`, used as given) and optional `<name>.item`, tab-separated, with a typed header
 * such as `user_id:token	item_id:token	rating:float	timestamp:float`. A column map (`columns`) names
 * the user, item and time fields instead.
 * Fields: user = `user_id`, item = `item_id`, time = `timestamp` (RecBole's default field names; when
 * absent, the first token field whose name contains "user" / "item"). Without a timestamp field the
 * file order is the order (a warning says so). Item text: title from `title` / `movie_title` /
 * `item_title` / `name`, categories from `categories` / `category` / `genre` / `class` / `tags`,
 * `brand`, `description`. A `token_seq` category field is split on commas when it holds any, else on
 * spaces (RecBole's own separator).
 */
import { basename, join, resolve } from 'node:path';
import { SemidError } from '../errors.js';
import { type Dataset, emptyReport, type Interaction, type Item, type LoadReport, type SplitPart } from '../types.js';
import { assembleDataset } from './assemble.js';
import { type LoadOptions, readSplitTables } from './common.js';
import { BadRows, forEachLine, listFiles, preview, stripGz } from './lines.js';
import { type ColumnMap, parseTimestamp } from './table.js';

/** The value types a RecBole header may declare. */
const RECBOLE_TYPES = new Set(['token', 'token_seq', 'float', 'float_seq']);

/** One column of a RecBole header. */
export interface RecBoleField {
  name: string;
  type: 'token' | 'token_seq' | 'float' | 'float_seq';
}

/**
 * Parses a RecBole header line into fields.
 * @throws SEMID_ERR_PARSE naming the file, line 1 and the expected `name:type` form.
 */
export function parseRecBoleHeader(line: string, file: string): RecBoleField[] {
  const fields: RecBoleField[] = [];
  for (const col of line.split('\t')) {
    const m = /^\s*([^:\s]+):(\w+)\s*$/.exec(col);
    if (m === null || !RECBOLE_TYPES.has(m[2] as string)) {
      throw new SemidError(
        'SEMID_ERR_PARSE',
        `${file}:1 (line 1): expected a tab-separated RecBole header of name:type columns (type one of token, ` +
          `token_seq, float, float_seq), e.g. "user_id:token\\titem_id:token\\ttimestamp:float"; got column ${preview(col)}`,
        { file, line: 1 },
      );
    }
    fields.push({ name: m[1] as string, type: m[2] as RecBoleField['type'] });
  }
  return fields;
}

/** Index of the field named `exact`, else of the first token field whose name contains `part`, else -1. */
function pickField(fields: readonly RecBoleField[], exact: string, part: string): number {
  const i = fields.findIndex((f) => f.name === exact);
  if (i >= 0) return i;
  return fields.findIndex((f) => f.type === 'token' && f.name.toLowerCase().includes(part));
}

/** Splits a token_seq category value. */
function splitCategories(v: string): string[] {
  const parts = v.includes(',') ? v.split(',') : v.split(/\s+/);
  return parts.map((s) => s.trim().replace(/^['"]|['"]$/g, '')).filter((s) => s !== '');
}

async function readInter(
  path: string,
  bad: BadRows,
  report: LoadReport,
  columns: ColumnMap | undefined,
  positionBase: number,
): Promise<Interaction[]> {
  const out: Interaction[] = [];
  let cols: { user: number; item: number; ts: number; n: number } | undefined;
  await forEachLine(path, (line, no) => {
    if (cols === undefined) {
      const fields = parseRecBoleHeader(line, path);
      const named = (role: 'user' | 'item' | 'time') => {
        const want = columns?.[role];
        if (want === undefined) return undefined;
        const i = fields.findIndex((f) => f.name === want);
        if (i < 0) {
          throw new SemidError(
            'SEMID_ERR_PARSE',
            `${path}:1 (line 1): --columns names "${want}" for ${role}, but the header has ${fields.map((f) => f.name).join(', ')}`,
            { file: path, line: 1 },
          );
        }
        return i;
      };
      const user = named('user') ?? pickField(fields, 'user_id', 'user');
      const item = named('item') ?? pickField(fields, 'item_id', 'item');
      const ts = named('time') ?? fields.findIndex((f) => f.name === 'timestamp' && f.type === 'float');
      if (user < 0 || item < 0) {
        throw new SemidError(
          'SEMID_ERR_PARSE',
          `${path}:1 (line 1): expected a user field (user_id:token) and an item field (item_id:token), got ${preview(line)}`,
          { file: path, line: 1 },
        );
      }
      if (ts < 0)
        report.warnings.push(`${path} has no timestamp:float field: the file order is used as the time order`);
      cols = { user, item, ts, n: fields.length };
      return;
    }
    if (line.trim() === '') return;
    const f = line.split('\t');
    if (f.length !== cols.n) {
      bad.bad(path, no, `${cols.n} tab-separated fields as in the header`, `${f.length}: ${preview(line)}`);
      return;
    }
    const user = (f[cols.user] as string).trim();
    const item = (f[cols.item] as string).trim();
    if (user === '' || item === '') {
      bad.bad(path, no, 'a non-empty user and item', preview(line));
      return;
    }
    let ts = positionBase + out.length;
    if (cols.ts >= 0) {
      const v = parseTimestamp(f[cols.ts]);
      if (v === undefined) {
        bad.bad(path, no, 'a numeric or ISO-8601 timestamp', preview(f[cols.ts] as string));
        return;
      }
      ts = v;
    }
    out.push({ user, item, timestamp: ts });
  });
  if (cols === undefined) {
    throw new SemidError('SEMID_ERR_PARSE', `${path}:1 (line 1): expected a RecBole header, got an empty file`, {
      file: path,
      line: 1,
    });
  }
  return out;
}

async function readItemFile(path: string, bad: BadRows): Promise<Item[]> {
  const items: Item[] = [];
  const seen = new Set<string>();
  let fields: RecBoleField[] | undefined;
  let idCol = -1;
  let titleCol = -1;
  let catCol = -1;
  let brandCol = -1;
  let descCol = -1;
  await forEachLine(path, (line, no) => {
    if (fields === undefined) {
      fields = parseRecBoleHeader(line, path);
      const names = fields.map((f) => f.name.toLowerCase());
      const first = (cands: string[]) => names.findIndex((n) => cands.includes(n));
      idCol = pickField(fields, 'item_id', 'item');
      titleCol = first(['title', 'movie_title', 'item_title', 'name']);
      catCol = first(['categories', 'category', 'genre', 'genres', 'class', 'tags']);
      brandCol = first(['brand']);
      descCol = first(['description']);
      if (idCol < 0) {
        throw new SemidError(
          'SEMID_ERR_PARSE',
          `${path}:1 (line 1): expected an item_id:token field, got ${preview(line)}`,
          {
            file: path,
            line: 1,
          },
        );
      }
      return;
    }
    if (line.trim() === '') return;
    const f = line.split('\t');
    if (f.length !== fields.length) {
      bad.bad(path, no, `${fields.length} tab-separated fields as in the header`, `${f.length}: ${preview(line)}`);
      return;
    }
    const id = (f[idCol] as string).trim();
    if (id === '') {
      bad.bad(path, no, 'a non-empty item id', preview(line));
      return;
    }
    if (seen.has(id)) {
      bad.bad(path, no, 'each item id once', `id ${JSON.stringify(id)} again`);
      return;
    }
    seen.add(id);
    const item: Item = { id };
    const get = (c: number) => (c >= 0 ? (f[c] as string).trim() : '');
    if (get(titleCol) !== '') item.title = get(titleCol);
    if (get(brandCol) !== '') item.brand = get(brandCol);
    if (get(descCol) !== '') item.description = get(descCol);
    if (catCol >= 0) {
      const raw = get(catCol);
      const cats = (fields[catCol] as RecBoleField).type === 'token_seq' ? splitCategories(raw) : raw ? [raw] : [];
      if (cats.length > 0) item.categories = cats;
    }
    items.push(item);
  });
  return items;
}

/** The `.inter` files of a RecBole directory: one whole file, or benchmark split files. */
export interface InterFiles {
  /** The file stem (`ml-100k` of `ml-100k.inter` / `ml-100k.train.inter`). */
  stem: string;
  /** The one interaction file, when not pre-split. */
  inter?: string;
  /** Benchmark split files `<stem>.train.inter`, `<stem>.valid.inter`, `<stem>.test.inter` (train and test needed). */
  parts?: Partial<Record<SplitPart, string>>;
}

/**
 * The `.inter` file(s) of a directory, or undefined: one `<name>.inter`, or RecBole benchmark split
 * files `<name>.train.inter` + `<name>.test.inter` (+ `<name>.valid.inter`). Anything else with several
 * `.inter` files is an error.
 */
export function findInterFile(dir: string, files: readonly string[]): InterFiles | undefined {
  const inters = files.filter((f) => stripGz(f).endsWith('.inter'));
  if (inters.length === 0) return undefined;
  const parts: Partial<Record<SplitPart, string>> = {};
  let stem: string | undefined;
  for (const f of inters) {
    const m = /^(.*)\.(train|valid|validation|test)\.inter$/.exec(stripGz(f));
    if (m === null) continue;
    const part = (m[2] === 'validation' ? 'valid' : m[2]) as SplitPart;
    if ((stem === undefined || stem === m[1]) && parts[part] === undefined) {
      stem = m[1] as string;
      parts[part] = join(dir, f);
    }
  }
  const used = Object.keys(parts).length;
  if (stem !== undefined && parts.train !== undefined && parts.test !== undefined && used === inters.length) {
    return { stem, parts };
  }
  if (inters.length > 1) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `${dir} holds several RecBole .inter files (${inters.join(', ')}); expected one <name>.inter, or the benchmark ` +
        'split <name>.train.inter + <name>.valid.inter + <name>.test.inter. Put each dataset in its own folder.',
    );
  }
  const only = inters[0] as string;
  return { stem: stripGz(only).slice(0, -'.inter'.length), inter: join(dir, only) };
}

/**
 * Loads a RecBole atomic-file directory: `<name>.inter` (or the benchmark split files, used as given)
 * and an optional `<name>.item`.
 */
export async function loadRecBole(dir: string, opts: LoadOptions = {}): Promise<Dataset> {
  const files = listFiles(dir);
  const found = findInterFile(dir, files);
  if (found === undefined) {
    throw new SemidError(
      'SEMID_ERR_NOT_FOUND',
      `${dir}: expected a RecBole <name>.inter file, found ${files.join(', ') || 'no files'}`,
    );
  }
  const { stem } = found;
  const itemName = files.find((f) => stripGz(f) === `${stem}.item`) ?? files.find((f) => stripGz(f).endsWith('.item'));
  const report = emptyReport();
  const bad = new BadRows(report, opts.skipBad ?? false);
  const read = (path: string, positionBase: number) => readInter(path, bad, report, opts.columns, positionBase);
  const interactions =
    found.parts === undefined ? await read(found.inter as string, 0) : await readSplitTables(found.parts, report, read);
  const items = itemName === undefined ? undefined : await readItemFile(join(dir, itemName), bad);
  bad.finish();
  const ds = assembleDataset(
    opts.name ?? (stem || basename(resolve(dir))),
    items,
    interactions,
    report,
    `${stem}.item`,
  );
  return found.parts === undefined ? ds : { ...ds, presplit: true };
}
