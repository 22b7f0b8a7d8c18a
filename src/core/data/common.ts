/**
 * semid's common dataset format (the one of ../shared/data): `items.jsonl` (one JSON object per item:
 * `id`, optional `title`, `categories`, `brand`, `description`) and `interactions.csv` (a header naming
 * user, item and time columns, see table.ts; extra columns ignored; comma- or tab-separated, so
 * `interactions.tsv` too). Instead of one interaction table a folder may hold its own split as
 * `train`, `valid` and `test` tables. Any file may be gzipped (`.gz`).
 */
import { existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { writeDirAtomic } from '../artifact.js';
import { SemidError } from '../errors.js';
import { type Dataset, emptyReport, type Interaction, type Item, type LoadReport, type SplitPart } from '../types.js';
import { assembleDataset } from './assemble.js';
import { BadRows, csvField, findFile, forEachLine, listFiles, preview } from './lines.js';
import { type ColumnMap, readInteractionTable } from './table.js';

/** Options every loader takes. */
export interface LoadOptions {
  /** Skip and count unparseable rows instead of failing on the first one. Default false. */
  skipBad?: boolean;
  /** Dataset name; defaults to the directory's base name. */
  name?: string;
  /** Header names of the user, item and time columns (default: the aliases of table.ts). */
  columns?: ColumnMap;
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

/** Names of the interaction table of the common format (each may carry `.gz`). */
export const INTERACTION_FILES = ['interactions.csv', 'interactions.tsv'] as const;

/** Names of each part of a pre-split dataset in the common layout (`.csv` or `.tsv`, each may carry `.gz`). */
export const SPLIT_FILES: Readonly<Record<SplitPart, readonly string[]>> = {
  train: ['train'],
  valid: ['valid', 'validation', 'val'],
  test: ['test'],
};

/** The first of `stems` x (.csv, .tsv) present in `files` (with or without .gz), as a path. */
function findTable(dir: string, files: readonly string[], stems: readonly string[]): string | undefined {
  for (const stem of stems) {
    for (const ext of ['.csv', '.tsv']) {
      const p = findFile(dir, files, `${stem}${ext}`);
      if (p !== undefined) return p;
    }
  }
  return undefined;
}

/** The split files of a pre-split common-layout directory (train and test at least), or undefined. */
export function splitFiles(dir: string, files: readonly string[]): Partial<Record<SplitPart, string>> | undefined {
  const found: Partial<Record<SplitPart, string>> = {};
  for (const part of ['train', 'valid', 'test'] as const) {
    const p = findTable(dir, files, SPLIT_FILES[part]);
    if (p !== undefined) found[part] = p;
  }
  return found.train !== undefined && found.test !== undefined ? found : undefined;
}

/** The interaction table of a common-layout directory, or undefined. */
export function interactionFile(dir: string, files: readonly string[]): string | undefined {
  for (const name of INTERACTION_FILES) {
    const p = findFile(dir, files, name);
    if (p !== undefined) return p;
  }
  return undefined;
}

/**
 * Reads the parts of a pre-split dataset, tagging each interaction with its part. Without time columns
 * rows are numbered across the files in train, valid, test order.
 */
export async function readSplitTables(
  parts: Partial<Record<SplitPart, string>>,
  report: LoadReport,
  read: (path: string, positionBase: number) => Promise<Interaction[]>,
): Promise<Interaction[]> {
  const all: Interaction[] = [];
  for (const part of ['train', 'valid', 'test'] as const) {
    const path = parts[part];
    if (path === undefined) continue;
    for (const it of await read(path, all.length)) all.push({ ...it, split: part });
  }
  if (parts.valid === undefined) {
    report.warnings.push('no valid split file: model selection (early stopping) has no valid examples');
  }
  return all;
}

/**
 * Loads a directory in the common format: items.jsonl (optional) and either one interaction table
 * (interactions.csv / interactions.tsv) or pre-split tables (train, valid, test; used as given).
 * A path to a single .csv / .tsv file is read as the interaction table of a dataset without item text.
 */
export async function loadCommon(dir: string, opts: LoadOptions = {}): Promise<Dataset> {
  const report = emptyReport();
  const bad = new BadRows(report, opts.skipBad ?? false);
  const table = (path: string, positionBase = 0) =>
    readInteractionTable(path, bad, report, { ...(opts.columns ? { columns: opts.columns } : {}), positionBase });
  if (isTableFile(dir)) {
    const interactions = await table(dir);
    bad.finish();
    return assembleDataset(opts.name ?? tableName(dir), undefined, interactions, report, 'items.jsonl');
  }
  const files = listFiles(dir);
  const itemsPath = findFile(dir, files, 'items.jsonl');
  const interPath = interactionFile(dir, files);
  const parts = interPath === undefined ? splitFiles(dir, files) : undefined;
  if (interPath === undefined && parts === undefined) {
    throw new SemidError(
      'SEMID_ERR_NOT_FOUND',
      `${dir}: the common format needs interactions.csv (or .tsv), or train + test (+ valid) tables, ` +
        `with an optional items.jsonl; found ${files.join(', ') || 'no files'}`,
    );
  }
  const items = itemsPath === undefined ? undefined : await readItemsJsonl(itemsPath, bad);
  const interactions =
    parts === undefined ? await table(interPath as string) : await readSplitTables(parts, report, table);
  bad.finish();
  const ds = assembleDataset(opts.name ?? basename(resolve(dir)), items, interactions, report, 'items.jsonl');
  return parts === undefined ? ds : { ...ds, presplit: true };
}

/** Whether `path` names a single interaction table file (.csv / .tsv, optionally .gz) rather than a folder. */
export function isTableFile(path: string): boolean {
  return /\.(csv|tsv)(\.gz)?$/i.test(path) && existsSync(path) && statSync(path).isFile();
}

/** A dataset name for a single table file: its base name without extensions. */
function tableName(path: string): string {
  return basename(path).replace(/\.(csv|tsv)(\.gz)?$/i, '');
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
