/**
 * `imported`: a published index in the LETTER / LC-Rec format, `{"<item key>": ["<a_12>", "<b_3>", ...]}`,
 * so a reference tokenization can be compared under the same model. Token `<x_v>` is value v at level
 * x (a = 0, b = 1, ...). A key is an item id of the catalogue, or, with `idMap` (a CSV such as
 * beauty/reference/id_map.csv), a value of column `idColumn` mapped to the id in the CSV's first
 * column; without `idMap`, numeric keys that are not item ids are positions in dataset item order.
 * Published indexes can still have collisions (LETTER's Beauty index has 13), so the collision mode
 * applies as for any scheme.
 */
import { readFile } from 'node:fs/promises';
import { type ConfigSpec, defaultsOf, resolveConfig } from '../src/core/config.js';
import { SemidError } from '../src/core/errors.js';
import type { ItemId } from '../src/core/types.js';
import { finalizeCodes } from './shared/collisions.js';
import { COLLISIONS_FIELD } from './shared/config.js';
import type { CollisionMode, IndexingScheme } from './types.js';

/** Config of the imported scheme. */
export interface ImportedConfig {
  /** Path of the index JSON. Required. */
  path: string;
  /** CSV mapping index keys to item ids (first column = item id). Empty: keys are item ids or positions. */
  idMap: string;
  /** Column of `idMap` holding the index keys. Default letter_item_id. */
  idColumn: string;
  /** Codebook size of every level; 0 = the largest value seen at that level + 1. Default 0. */
  levelSize: number;
  /** Collision handling. Default dedup-level. */
  collisions: CollisionMode;
}

const SPEC: ConfigSpec<ImportedConfig> = {
  path: { kind: 'string', default: '', nonEmpty: true, doc: 'path of the index JSON {"<key>": ["<a_12>", ...]}' },
  idMap: {
    kind: 'string',
    default: '',
    doc: 'CSV mapping index keys to item ids (first column = item id); empty = keys are item ids or positions',
  },
  idColumn: {
    kind: 'string',
    default: 'letter_item_id',
    nonEmpty: true,
    doc: 'column of idMap holding the index keys',
  },
  levelSize: { kind: 'int', default: 0, min: 0, doc: 'codebook size of every level; 0 = largest value seen + 1' },
  collisions: COLLISIONS_FIELD,
};

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    throw new SemidError('SEMID_ERR_NOT_FOUND', `${what} not found: ${path}`);
  }
}

/** Parses an id-map CSV: key (column `column`) -> item id (first column). */
export function parseIdMap(text: string, column: string, path: string): Map<string, ItemId> {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(',').map((s) => s.trim());
  const col = header.indexOf(column);
  if (col < 1) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `${path} has columns [${header.join(', ')}]; expected the item id first and a column "${column}" (set idColumn)`,
    );
  }
  const map = new Map<string, ItemId>();
  for (const line of lines.slice(1)) {
    const f = line.split(',').map((s) => s.trim());
    if (f[0] && f[col] !== undefined) map.set(f[col] as string, f[0]);
  }
  return map;
}

/** Parses one `<x_v>` token into [level, value], or undefined. */
export function parseToken(t: unknown): [number, number] | undefined {
  if (typeof t !== 'string') return undefined;
  const m = /^<([a-z])_(\d+)>$/.exec(t.trim());
  if (!m) return undefined;
  return [(m[1] as string).charCodeAt(0) - 97, Number(m[2])];
}

/** The imported scheme. */
export const imported: IndexingScheme<ImportedConfig> = {
  name: 'imported',
  description: 'a published index in the LETTER / LC-Rec JSON format',
  spec: SPEC,
  defaults: defaultsOf(SPEC),
  resolve(partial) {
    return resolveConfig('imported', SPEC, partial);
  },
  async fit(input, c) {
    const startedAt = performance.now();
    let json: unknown;
    try {
      json = JSON.parse(await readText(c.path, 'index file'));
    } catch (e) {
      if (e instanceof SemidError) throw e;
      throw new SemidError('SEMID_ERR_PARSE', `${c.path} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new SemidError('SEMID_ERR_PARSE', `${c.path} must hold an object {"<item key>": ["<a_12>", ...]}`);
    }
    const idMap = c.idMap ? parseIdMap(await readText(c.idMap, 'id map'), c.idColumn, c.idMap) : undefined;
    const position = new Map(input.items.map((it, i) => [it.id, i]));
    const codes = new Map<number, number[]>();
    const problems: string[] = [];
    let L = -1;
    for (const [key, tokens] of Object.entries(json as Record<string, unknown>)) {
      let pos: number | undefined;
      if (idMap) {
        const id = idMap.get(key);
        pos = id === undefined ? undefined : position.get(id);
      } else {
        pos = position.get(key) ?? (/^\d+$/.test(key) && Number(key) < input.items.length ? Number(key) : undefined);
      }
      if (pos === undefined) {
        problems.push(`key "${key}" names no catalogue item`);
        continue;
      }
      const parsed = Array.isArray(tokens) ? tokens.map(parseToken) : [];
      if (parsed.length === 0 || parsed.some((p, l) => p === undefined || p[0] !== l)) {
        problems.push(
          `key "${key}": ${JSON.stringify(tokens)} is not a list of tokens <a_v>, <b_v>, ... in level order`,
        );
        continue;
      }
      if (L === -1) L = parsed.length;
      if (parsed.length !== L) {
        problems.push(`key "${key}" has ${parsed.length} tokens, earlier keys ${L}`);
        continue;
      }
      if (codes.has(pos)) problems.push(`item "${input.items[pos]?.id}" appears under two keys`);
      codes.set(
        pos,
        parsed.map((p) => (p as [number, number])[1]),
      );
    }
    const missing = input.items.filter((_, i) => !codes.has(i)).map((it) => it.id);
    if (missing.length > 0)
      problems.push(`${missing.length} catalogue items have no code (first: ${missing.slice(0, 5).join(', ')})`);
    if (problems.length > 0) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `index ${c.path} does not match the dataset (${problems.length} problems; is idMap/idColumn right?):\n  - ${problems.slice(0, 10).join('\n  - ')}`,
        { problems: problems.slice(0, 100) },
      );
    }
    const raw = input.items.map((_, i) => codes.get(i) as number[]);
    const sizes = Array.from({ length: L }, (_, l) => Math.max(...raw.map((r) => r[l] as number)) + 1);
    if (c.levelSize > 0) {
      const over = sizes.findIndex((s) => s > c.levelSize);
      if (over >= 0) {
        throw new SemidError(
          'SEMID_ERR_BAD_CONFIG',
          `level ${over} of ${c.path} uses value ${(sizes[over] as number) - 1}, beyond levelSize ${c.levelSize}`,
        );
      }
      sizes.fill(c.levelSize);
    }
    const { table, diagnostics } = finalizeCodes(raw, sizes, c.collisions, {
      items: input.items,
      startedAt,
      extra: { source: c.path },
    });
    return { table, diagnostics };
  },
};
