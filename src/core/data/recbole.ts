/**
 * RecBole atomic files: `<name>.inter` and optional `<name>.item`, tab-separated, with a typed header
 * such as `user_id:token	item_id:token	rating:float	timestamp:float`.
 * Fields: user = `user_id`, item = `item_id`, time = `timestamp` (RecBole's default field names; when
 * absent, the first token field whose name contains "user" / "item"). Without a timestamp field the
 * file order is the order (a warning says so). Item text: title from `title` / `movie_title` /
 * `item_title` / `name`, categories from `categories` / `category` / `genre` / `class` / `tags`,
 * `brand`, `description`. A `token_seq` category field is split on commas when it holds any, else on
 * spaces (RecBole's own separator).
 */
import { basename, join, resolve } from 'node:path';
import { SemidError } from '../errors.js';
import { type Dataset, emptyReport, type Interaction, type Item, type LoadReport } from '../types.js';
import { assembleDataset } from './assemble.js';
import type { LoadOptions } from './common.js';
import { BadRows, forEachLine, listFiles, preview, stripGz, toNumber } from './lines.js';

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

async function readInter(path: string, bad: BadRows, report: LoadReport): Promise<Interaction[]> {
  const out: Interaction[] = [];
  let cols: { user: number; item: number; ts: number; n: number } | undefined;
  await forEachLine(path, (line, no) => {
    if (cols === undefined) {
      const fields = parseRecBoleHeader(line, path);
      const user = pickField(fields, 'user_id', 'user');
      const item = pickField(fields, 'item_id', 'item');
      const ts = fields.findIndex((f) => f.name === 'timestamp' && f.type === 'float');
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
    let ts = out.length;
    if (cols.ts >= 0) {
      const v = toNumber(f[cols.ts]);
      if (v === undefined) {
        bad.bad(path, no, 'a numeric timestamp', preview(f[cols.ts] as string));
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

/** The `.inter` file of a directory, or undefined; several `.inter` files are an error. */
export function findInterFile(dir: string, files: readonly string[]): string | undefined {
  const inters = files.filter((f) => stripGz(f).endsWith('.inter'));
  if (inters.length > 1) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `${dir} holds several RecBole .inter files (${inters.join(', ')}); expected one. Put each dataset in its own folder.`,
    );
  }
  return inters[0];
}

/** Loads a RecBole atomic-file directory (`<name>.inter`, optional `<name>.item`). */
export async function loadRecBole(dir: string, opts: LoadOptions = {}): Promise<Dataset> {
  const files = listFiles(dir);
  const inter = findInterFile(dir, files);
  if (inter === undefined) {
    throw new SemidError(
      'SEMID_ERR_NOT_FOUND',
      `${dir}: expected a RecBole <name>.inter file, found ${files.join(', ') || 'no files'}`,
    );
  }
  const stem = stripGz(inter).slice(0, -'.inter'.length);
  const itemName = files.find((f) => stripGz(f) === `${stem}.item`) ?? files.find((f) => stripGz(f).endsWith('.item'));
  const report = emptyReport();
  const bad = new BadRows(report, opts.skipBad ?? false);
  const interactions = await readInter(join(dir, inter), bad, report);
  const items = itemName === undefined ? undefined : await readItemFile(join(dir, itemName), bad);
  bad.finish();
  return assembleDataset(opts.name ?? (stem || basename(resolve(dir))), items, interactions, report, `${stem}.item`);
}
