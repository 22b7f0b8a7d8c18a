/**
 * semid's common dataset format (the one of ../shared/data): `items.jsonl` (one JSON object per item:
 * `id`, optional `title`, `categories`, `brand`, `description`) and `interactions.csv` (header
 * `user,item,timestamp`, extra columns ignored). Either file may be gzipped (`.gz`).
 */
import { writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { writeDirAtomic } from '../artifact.js';
import { SemidError } from '../errors.js';
import { type Dataset, emptyReport, type Interaction, type Item } from '../types.js';
import { assembleDataset } from './assemble.js';
import { BadRows, csvField, findFile, forEachLine, listFiles, preview, splitCsvLine, toNumber } from './lines.js';

/** Options every loader takes. */
export interface LoadOptions {
  /** Skip and count unparseable rows instead of failing on the first one. Default false. */
  skipBad?: boolean;
  /** Dataset name; defaults to the directory's base name. */
  name?: string;
}

/** The item fields of the common format, for messages. */
const ITEM_SHAPE =
  'a JSON object {"id": string, "title"?: string, "categories"?: string[], "brand"?: string, "description"?: string}';

/**
 * Validates one parsed item object. Returns the Item, or a description of what is wrong.
 * Numeric ids are accepted and turned into strings; empty optional strings are left out.
 */
export function toItem(v: unknown): Item | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return `a ${Array.isArray(v) ? 'array' : typeof v}`;
  const o = v as Record<string, unknown>;
  const id = o.id;
  let sid: string;
  if (typeof id === 'string' && id !== '') sid = id;
  else if (typeof id === 'number' && Number.isFinite(id)) sid = String(id);
  else return `"id" = ${JSON.stringify(id) ?? 'missing'}`;
  const item: Item = { id: sid };
  for (const f of ['title', 'brand', 'description'] as const) {
    const x = o[f];
    if (x === undefined || x === null) continue;
    if (typeof x !== 'string') return `"${f}" of type ${typeof x}`;
    if (x !== '') item[f] = x;
  }
  const c = o.categories;
  if (c !== undefined && c !== null) {
    if (!Array.isArray(c) || c.some((s) => typeof s !== 'string'))
      return `"categories" = ${preview(JSON.stringify(c))}`;
    if (c.length > 0) item.categories = c as string[];
  }
  return item;
}

/** Reads `items.jsonl` (or .gz). Duplicate ids are bad rows. */
export async function readItemsJsonl(path: string, bad: BadRows): Promise<Item[]> {
  const items: Item[] = [];
  const firstLine = new Map<string, number>();
  await forEachLine(path, (line, no) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      bad.bad(path, no, ITEM_SHAPE, `invalid JSON (${(e as Error).message}): ${preview(line)}`);
      return;
    }
    const item = toItem(v);
    if (typeof item === 'string') {
      bad.bad(path, no, ITEM_SHAPE, item);
      return;
    }
    const prev = firstLine.get(item.id);
    if (prev !== undefined) {
      bad.bad(path, no, 'each item id once', `id ${JSON.stringify(item.id)} again (first on line ${prev})`);
      return;
    }
    firstLine.set(item.id, no);
    items.push(item);
  });
  return items;
}

/** Reads `interactions.csv` (or .gz): header naming user, item and timestamp columns, then rows. */
export async function readInteractionsCsv(path: string, bad: BadRows): Promise<Interaction[]> {
  const out: Interaction[] = [];
  let cols: { user: number; item: number; ts: number; n: number } | undefined;
  await forEachLine(path, (line, no) => {
    if (cols === undefined) {
      const head = (splitCsvLine(line) ?? []).map((s) => s.trim().toLowerCase());
      const user = head.indexOf('user');
      const item = head.indexOf('item');
      const ts = head.indexOf('timestamp');
      if (user < 0 || item < 0 || ts < 0) {
        throw new SemidError(
          'SEMID_ERR_PARSE',
          `${path}:${no} (line ${no}): expected the header "user,item,timestamp", got ${preview(line)}. Add the header line.`,
          { file: path, line: no },
        );
      }
      cols = { user, item, ts, n: head.length };
      return;
    }
    if (line.trim() === '') return;
    const f = splitCsvLine(line);
    if (f === undefined || f.length !== cols.n) {
      bad.bad(path, no, `${cols.n} comma-separated fields (user,item,timestamp)`, preview(line));
      return;
    }
    const user = (f[cols.user] as string).trim();
    const item = (f[cols.item] as string).trim();
    const ts = toNumber(f[cols.ts]);
    if (user === '' || item === '') {
      bad.bad(path, no, 'a non-empty user and item', preview(line));
      return;
    }
    if (ts === undefined) {
      bad.bad(path, no, 'a numeric timestamp', preview(f[cols.ts] as string));
      return;
    }
    out.push({ user, item, timestamp: ts });
  });
  if (cols === undefined) {
    throw new SemidError(
      'SEMID_ERR_PARSE',
      `${path}:1 (line 1): expected the header "user,item,timestamp", got an empty file`,
      {
        file: path,
        line: 1,
      },
    );
  }
  return out;
}

/** Loads a directory in the common format. */
export async function loadCommon(dir: string, opts: LoadOptions = {}): Promise<Dataset> {
  const files = listFiles(dir);
  const itemsPath = findFile(dir, files, 'items.jsonl');
  const interPath = findFile(dir, files, 'interactions.csv');
  if (interPath === undefined) {
    throw new SemidError(
      'SEMID_ERR_NOT_FOUND',
      `${dir}: the common format needs interactions.csv (and items.jsonl); found ${files.join(', ') || 'no files'}`,
    );
  }
  const report = emptyReport();
  const bad = new BadRows(report, opts.skipBad ?? false);
  const items = itemsPath === undefined ? undefined : await readItemsJsonl(itemsPath, bad);
  const interactions = await readInteractionsCsv(interPath, bad);
  bad.finish();
  return assembleDataset(opts.name ?? basename(resolve(dir)), items, interactions, report, 'items.jsonl');
}

/** Serialises items as items.jsonl text. */
export function itemsToJsonl(items: readonly Item[]): string {
  const parts: string[] = [];
  for (const it of items) {
    const o: Record<string, unknown> = { id: it.id };
    if (it.title !== undefined) o.title = it.title;
    if (it.categories !== undefined) o.categories = it.categories;
    if (it.brand !== undefined) o.brand = it.brand;
    if (it.description !== undefined) o.description = it.description;
    parts.push(JSON.stringify(o));
  }
  return parts.length > 0 ? `${parts.join('\n')}\n` : '';
}

/** Serialises interactions as interactions.csv text (with header). */
export function interactionsToCsv(interactions: readonly Interaction[]): string {
  const parts: string[] = ['user,item,timestamp'];
  for (const it of interactions) parts.push(`${csvField(it.user)},${csvField(it.item)},${it.timestamp}`);
  return `${parts.join('\n')}\n`;
}

/**
 * Writes a dataset in the common format, atomically (a temporary sibling renamed into place).
 * @param extra more files to write beside (name -> text), e.g. SOURCE.md
 */
export async function writeCommon(dir: string, ds: Dataset, extra: Record<string, string> = {}): Promise<void> {
  await writeDirAtomic(dir, async (tmp) => {
    await writeFile(join(tmp, 'items.jsonl'), itemsToJsonl(ds.items));
    await writeFile(join(tmp, 'interactions.csv'), interactionsToCsv(ds.interactions));
    for (const [name, text] of Object.entries(extra)) await writeFile(join(tmp, name), text);
  });
}
