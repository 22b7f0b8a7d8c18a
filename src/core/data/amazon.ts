/**
 * Amazon review data (McAuley et al.), 2014 and 2018 releases, as downloaded:
 * - reviews, e.g. `reviews_Beauty_5.json.gz` (2014 5-core) or `Beauty_5.json.gz` (2018): JSON lines with
 *   `reviewerID`, `asin`, `unixReviewTime`;
 * - metadata `meta_<Category>.json(.gz)`: one item per line; 2014 lines are Python dict literals
 *   (single quotes, parsed by pyliteral.ts, never evaluated) with `categories` as a list of paths and a
 *   string `description`; 2018 lines are JSON with a flat `category` list and a list `description`.
 * The catalogue is the reviewed items that have metadata, in first-review order (metadata files list
 * every item of the category, most never reviewed in the 5-core). Reviews of items without metadata
 * are counted as unknown-item interactions. Without a metadata file the catalogue is the reviewed ids.
 * Metadata lines of items nobody reviewed are skipped without a full parse (found by their asin).
 */
import { basename, join, resolve } from 'node:path';
import { SemidError } from '../errors.js';
import { type Dataset, emptyReport, type Interaction, type Item } from '../types.js';
import { assembleDataset } from './assemble.js';
import type { LoadOptions } from './common.js';
import { BadRows, firstLine, forEachLine, listFiles, preview, stripGz } from './lines.js';
import { PyLiteralError, parsePyLiteral } from './pyliteral.js';

/** Parses a JSON line, falling back to a Python literal (lines starting `{'` go straight there). Throws on neither. */
export function parseRecord(line: string): unknown {
  const t = line.trimStart();
  if (!t.startsWith("{'")) {
    try {
      return JSON.parse(line);
    } catch {
      // fall through: maybe a Python literal
    }
  }
  return parsePyLiteral(line);
}

/** The reviews and metadata files of an Amazon directory (names), chosen by name and first line. */
export async function amazonFiles(
  dir: string,
  files: readonly string[],
): Promise<{ reviews: string | undefined; meta: string | undefined }> {
  // items.jsonl is the common format's catalogue, never reviews; a reviews file names its reviewer.
  const json = files.filter((f) => /\.jsonl?$/i.test(stripGz(f)) && stripGz(f) !== 'items.jsonl');
  const metas = json.filter((f) => /^meta/i.test(f));
  const reviews: string[] = [];
  for (const f of json.filter((f) => !/^meta/i.test(f))) {
    if ((await firstLine(join(dir, f)))?.includes('reviewerID')) reviews.push(f);
  }
  if (reviews.length > 1 || metas.length > 1) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `${dir}: expected one Amazon reviews file and at most one meta_*.json file, found reviews [${reviews.join(', ')}] ` +
        `and metadata [${metas.join(', ')}]. Put each category in its own folder.`,
    );
  }
  return { reviews: reviews[0], meta: metas[0] };
}

/** Category names of a metadata record: 2014 `categories` (list of paths) or 2018 `category` (flat list). */
function categoriesOf(o: Record<string, unknown>): string[] | undefined {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v === 'string') {
      const s = v.trim();
      if (s !== '' && !seen.has(s)) {
        seen.add(s);
        out.push(s);
      }
    } else if (Array.isArray(v)) {
      for (const x of v) add(x);
    }
  };
  add(o.categories);
  add(o.category);
  return out.length > 0 ? out : undefined;
}

/** The text of a string or list-of-strings field, or undefined. */
function textOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() || undefined;
  if (Array.isArray(v)) {
    const parts = v.filter((x): x is string => typeof x === 'string' && x.trim() !== '').map((x) => x.trim());
    return parts.length > 0 ? parts.join(' ') : undefined;
  }
  return undefined;
}

const ASIN_RE = /["']asin["']\s*:\s*u?["']([^"']+)["']/;

/** Loads an Amazon 2014/2018 reviews (+ metadata) directory. */
export async function loadAmazon(dir: string, opts: LoadOptions = {}): Promise<Dataset> {
  const files = listFiles(dir);
  const { reviews, meta } = await amazonFiles(dir, files);
  if (reviews === undefined) {
    throw new SemidError(
      'SEMID_ERR_NOT_FOUND',
      `${dir}: expected an Amazon reviews file (e.g. reviews_Beauty_5.json.gz), found ${files.join(', ') || 'no files'}`,
    );
  }
  const report = emptyReport();
  const bad = new BadRows(report, opts.skipBad ?? false);
  const reviewsPath = join(dir, reviews);
  const interactions: Interaction[] = [];
  const order: string[] = [];
  const reviewed = new Set<string>();
  const shape = 'a JSON object with "reviewerID" (string), "asin" (string) and "unixReviewTime" (number)';
  await forEachLine(reviewsPath, (line, no) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = parseRecord(line);
    } catch (e) {
      bad.bad(reviewsPath, no, shape, `invalid JSON (${(e as Error).message}): ${preview(line)}`);
      return;
    }
    const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
    const { reviewerID: user, asin: item, unixReviewTime: ts } = o;
    if (typeof user !== 'string' || user === '' || typeof item !== 'string' || item === '') {
      bad.bad(reviewsPath, no, shape, `reviewerID=${JSON.stringify(user)}, asin=${JSON.stringify(item)}`);
      return;
    }
    const t = typeof ts === 'string' ? Number(ts) : ts;
    if (typeof t !== 'number' || !Number.isFinite(t)) {
      bad.bad(reviewsPath, no, shape, `unixReviewTime=${JSON.stringify(ts) ?? 'missing'}`);
      return;
    }
    if (!reviewed.has(item)) {
      reviewed.add(item);
      order.push(item);
    }
    interactions.push({ user, item, timestamp: t });
  });
  let items: Item[] | undefined;
  if (meta !== undefined) {
    const metaPath = join(dir, meta);
    const byAsin = new Map<string, Item>();
    let duplicates = 0;
    const metaShape = 'a metadata object (JSON, or a Python dict literal) with a string "asin"';
    await forEachLine(metaPath, (line, no) => {
      if (line.trim() === '') return;
      const quick = ASIN_RE.exec(line);
      if (quick !== null && !reviewed.has(quick[1] as string)) return;
      let v: unknown;
      try {
        v = parseRecord(line);
      } catch (e) {
        const msg = e instanceof PyLiteralError ? e.message : (e as Error).message;
        bad.bad(metaPath, no, metaShape, `unparseable line (${msg}): ${preview(line)}`);
        return;
      }
      const o = (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {}) as Record<string, unknown>;
      const asin = o.asin;
      if (typeof asin !== 'string' || asin === '') {
        bad.bad(metaPath, no, metaShape, `asin=${JSON.stringify(asin) ?? 'missing'}`);
        return;
      }
      if (!reviewed.has(asin)) return;
      if (byAsin.has(asin)) {
        duplicates++;
        return;
      }
      const item: Item = { id: asin };
      const title = textOf(o.title);
      if (title !== undefined) item.title = title;
      const cats = categoriesOf(o);
      if (cats !== undefined) item.categories = cats;
      const brand = textOf(o.brand);
      if (brand !== undefined) item.brand = brand;
      const description = textOf(o.description);
      if (description !== undefined) item.description = description;
      byAsin.set(asin, item);
    });
    if (duplicates > 0)
      report.warnings.push(`${metaPath}: ${duplicates} repeated metadata rows ignored (the first kept)`);
    items = [];
    for (const asin of order) {
      const it = byAsin.get(asin);
      if (it !== undefined) items.push(it);
    }
  }
  bad.finish();
  const name = opts.name ?? basename(resolve(dir));
  return assembleDataset(name, items, interactions, report, meta ?? 'meta_<Category>.json');
}
