/**
 * The index artifact: a directory with `manifest.json` (format version, scheme, resolved config,
 * seed, dataset fingerprint, level sizes), `codes.json` (the CodeTable), `diagnostics.json` and
 * `state/` (what the scheme needs to encode new items: vectoriser, vocabulary, codebooks...).
 * Written atomically (temporary sibling, then rename), validated on load.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ManifestBase,
  manifestHead,
  readJson,
  readManifest,
  writeDirAtomic,
  writeF32,
  writeJson,
} from '../src/core/artifact.js';
import { CodeTable, type CodeTableJSON } from '../src/core/codes.js';
import { datasetFingerprint } from '../src/core/data/fingerprint.js';
import { SemidError } from '../src/core/errors.js';
import { createRng } from '../src/core/rng.js';
import type { Code, Item, ItemId, SplitData } from '../src/core/types.js';
import { getScheme } from './registry.js';
import { degenerateLevelWarnings } from './shared/degenerate.js';
import type { CollisionMode, Diagnostics, IndexingScheme, ItemEncoder, SchemeName } from './types.js';

/** What an index is built from: the catalogue and the TRAIN sequences (users/sequences only feed the fingerprint). */
export type IndexData = Pick<SplitData, 'name' | 'items' | 'trainSequences'> &
  Partial<Pick<SplitData, 'users' | 'sequences'>>;

/** manifest.json of an index. */
export interface IndexManifest extends ManifestBase {
  kind: 'index';
  scheme: SchemeName;
  /** The resolved scheme config. */
  config: Record<string, unknown>;
  seed: number;
  dataset: { name: string; fingerprint: string; items: number };
  levelSizes: number[];
  /** Whether the last level is a dedup level (new items then get a free value under their prefix). */
  dedupLevel: boolean;
  /** Whether `state/` holds what `loadEncoder` needs. */
  hasEncoder: boolean;
}

/** A loaded index. */
export interface LoadedIndex {
  dir: string;
  manifest: IndexManifest;
  table: CodeTable;
  diagnostics: Diagnostics;
  /** Present when the scheme can encode new items and the artifact holds its state. */
  encoder?: ItemEncoder;
}

/** Arguments of buildIndex. */
export interface BuildIndexOptions {
  scheme: SchemeName | IndexingScheme<any>;
  split: IndexData;
  /** Partial scheme config; resolved (and validated) by the scheme. */
  config?: Record<string, unknown>;
  /** Overrides the config's collision mode (only for schemes that have one). */
  collisions?: CollisionMode;
  seed: number;
  /** Artifact directory (replaced atomically). */
  out: string;
  log?: (line: string) => void;
}

/** The dataset fingerprint: the data layer's (items + full sequences) when users and sequences are given, else sha256 of item ids and train sequences. */
export function fingerprintOf(split: IndexData): string {
  if (split.users && split.sequences) {
    return datasetFingerprint({ items: split.items, users: split.users, sequences: split.sequences });
  }
  const h = createHash('sha256');
  h.update(`semid-index-train-v1\nitems ${split.items.length}\n`);
  for (const it of split.items) h.update(`${JSON.stringify(it.id)}\n`);
  for (const s of split.trainSequences) h.update(`${JSON.stringify(s)}\n`);
  return h.digest('hex');
}

/**
 * Fits a scheme on the catalogue and TRAIN sequences, checks the result is a bijection over the whole
 * catalogue, and writes the artifact atomically.
 * @throws SEMID_ERR_BAD_CONFIG (config), SEMID_ERR_COLLISION (not a bijection)
 */
export async function buildIndex(
  o: BuildIndexOptions,
): Promise<{ manifest: IndexManifest; table: CodeTable; diagnostics: Diagnostics }> {
  const t0 = performance.now();
  const scheme = typeof o.scheme === 'string' ? getScheme(o.scheme) : o.scheme;
  const partial: Record<string, unknown> = { ...(o.config ?? {}) };
  if (o.collisions !== undefined) {
    if (!('collisions' in (scheme.defaults as object))) {
      throw new SemidError(
        'SEMID_ERR_BAD_CONFIG',
        `scheme "${scheme.name}" gives unique codes by construction; --collisions does not apply to it`,
      );
    }
    partial.collisions = o.collisions;
  }
  const config = scheme.resolve(partial);
  const fitted = await scheme.fit(
    { items: o.split.items, trainSequences: o.split.trainSequences, rng: createRng(o.seed), log: o.log },
    config,
  );
  const { table } = fitted;
  const missing = o.split.items.filter((it) => table.encode(it.id) === undefined);
  if (missing.length > 0 || table.size !== o.split.items.length || fitted.diagnostics.collisionsAfter !== 0) {
    throw new SemidError(
      'SEMID_ERR_COLLISION',
      `scheme "${scheme.name}" did not give a bijection over the catalogue: ${table.size} codes for ${o.split.items.length} items, ${missing.length} items without a code, collisionsAfter=${fitted.diagnostics.collisionsAfter}`,
    );
  }
  const warnings = degenerateLevelWarnings({
    scheme: scheme.name,
    codes: o.split.items.map((it) => table.encode(it.id) as Code),
    levelSizes: table.levelSizes,
    dedupLevel: fitted.diagnostics.dedupLevel === true,
    collisionRateBefore: fitted.diagnostics.collisionRateBefore,
  });
  for (const w of warnings) o.log?.(`warning: ${w}`);
  const diagnostics: Diagnostics = {
    ...fitted.diagnostics,
    buildSeconds: (performance.now() - t0) / 1000,
    warnings,
  };
  const manifest: IndexManifest = {
    ...manifestHead('index'),
    kind: 'index',
    scheme: scheme.name,
    config: config as Record<string, unknown>,
    seed: o.seed,
    dataset: { name: o.split.name, fingerprint: fingerprintOf(o.split), items: o.split.items.length },
    levelSizes: [...table.levelSizes],
    dedupLevel: diagnostics.dedupLevel === true,
    hasEncoder: Boolean(scheme.loadEncoder && fitted.saveState),
  };
  await writeDirAtomic(o.out, async (tmp) => {
    if (fitted.saveState) {
      await mkdir(join(tmp, 'state'));
      await fitted.saveState(join(tmp, 'state'));
    }
    await writeJson(join(tmp, 'codes.json'), table.toJSON());
    await writeJson(join(tmp, 'diagnostics.json'), diagnostics);
    if (fitted.itemEmbeddings) await writeItemEmbeddings(tmp, o.split.items, fitted.itemEmbeddings);
    await writeJson(join(tmp, 'manifest.json'), manifest);
  });
  o.log?.(`index "${scheme.name}" written to ${o.out} (${table.size} items, levels [${table.levelSizes}])`);
  return { manifest, table, diagnostics };
}

/** File names of the item vectors inside an index (or bundle) directory. */
export const ITEM_EMBEDDINGS_META = 'item-embeddings.json';
export const ITEM_EMBEDDINGS_DATA = 'item-embeddings.f32';

async function writeItemEmbeddings(
  dir: string,
  items: readonly Item[],
  e: { dim: number; data: Float32Array },
): Promise<void> {
  if (e.data.length !== items.length * e.dim) {
    throw new SemidError(
      'SEMID_ERR_INTERNAL',
      `item embeddings hold ${e.data.length} values, expected ${items.length} items x ${e.dim}`,
    );
  }
  await writeF32(join(dir, ITEM_EMBEDDINGS_DATA), e.data);
  await writeJson(join(dir, ITEM_EMBEDDINGS_META), { dim: e.dim, ids: items.map((it) => it.id) });
}

const isIntArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x));

/**
 * Loads and validates an index artifact (and its encoder unless `encoder: false`).
 * @throws SEMID_ERR_ARTIFACT_MISSING, SEMID_ERR_ARTIFACT_CORRUPT, SEMID_ERR_ARTIFACT_VERSION
 */
export async function loadIndex(dir: string, opts: { encoder?: boolean } = {}): Promise<LoadedIndex> {
  const manifest = await readManifest<IndexManifest>(dir, 'index');
  if (typeof manifest.scheme !== 'string' || !isIntArray(manifest.levelSizes) || typeof manifest.config !== 'object') {
    throw new SemidError(
      'SEMID_ERR_ARTIFACT_CORRUPT',
      `${dir}/manifest.json lacks scheme, levelSizes or config; rebuild the index`,
    );
  }
  let scheme: IndexingScheme<any>;
  try {
    scheme = getScheme(manifest.scheme);
  } catch (e) {
    throw new SemidError('SEMID_ERR_ARTIFACT_CORRUPT', `${dir}: ${(e as Error).message}`);
  }
  const codesPath = join(dir, 'codes.json');
  const json = await readJson<CodeTableJSON>(codesPath, 'index code table');
  let table: CodeTable;
  try {
    table = CodeTable.fromJSON(json);
  } catch (e) {
    throw new SemidError(
      'SEMID_ERR_ARTIFACT_CORRUPT',
      `${codesPath} is not a valid code table: ${(e as Error).message}`,
    );
  }
  if (table.levelSizes.join(',') !== manifest.levelSizes.join(',')) {
    throw new SemidError(
      'SEMID_ERR_ARTIFACT_CORRUPT',
      `${codesPath} has level sizes [${table.levelSizes}] but the manifest says [${manifest.levelSizes}]; rebuild the index`,
    );
  }
  const diagnostics = await readJson<Diagnostics>(join(dir, 'diagnostics.json'), 'index diagnostics');
  if (typeof diagnostics !== 'object' || diagnostics === null || !Array.isArray(diagnostics.levels)) {
    throw new SemidError('SEMID_ERR_ARTIFACT_CORRUPT', `${dir}/diagnostics.json is not an index diagnostics object`);
  }
  const out: LoadedIndex = { dir, manifest, table, diagnostics };
  if (opts.encoder !== false && manifest.hasEncoder && scheme.loadEncoder) {
    const stateDir = join(dir, 'state');
    if (!existsSync(stateDir))
      throw new SemidError(
        'SEMID_ERR_ARTIFACT_MISSING',
        `${stateDir} (the encoder state) is missing; rebuild the index`,
      );
    out.encoder = await scheme.loadEncoder(stateDir, manifest.config);
  }
  return out;
}

/** The outcome for one new item. */
export interface NewItemCode {
  item: ItemId;
  /** The code prefix the scheme's encoder gave (before the dedup level). */
  prefix: number[];
  /** The unique code, when one could be given. */
  code?: Code;
  /**
   * `ok`: a free code was found; `exists`: the item is already indexed (its code is returned);
   * `full`: every dedup value under its prefix is taken (the index must be rebuilt with room);
   * `taken`: the code belongs to another item and the index has no dedup level.
   */
  status: 'ok' | 'exists' | 'full' | 'taken';
}

/**
 * Codes for NEW items (cold start) with a loaded index: the scheme's encoder gives a prefix from the
 * item's text, made unique against the existing table with the dedup level (the smallest free value).
 * @returns per item the outcome, and the table extended with the items that got a code
 * @throws SEMID_ERR_BAD_INPUT when the scheme cannot encode new items
 */
export async function encodeNewItems(
  index: LoadedIndex,
  items: readonly Item[],
): Promise<{ results: NewItemCode[]; table: CodeTable }> {
  if (!index.encoder) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `index ${index.dir} (scheme "${index.manifest.scheme}") cannot encode new items: its codes need interactions or it kept no encoder state; schemes that can: title, category, keywords and the text-based quantisers`,
    );
  }
  const { table, manifest } = index;
  const L = table.levelSizes.length;
  const prefixLen = manifest.dedupLevel ? L - 1 : L;
  const prefixes = await index.encoder.encode(items);
  const used = new Set<string>();
  for (const [, c] of table.entries()) used.add(c.join(','));
  const results: NewItemCode[] = [];
  const added: [ItemId, Code][] = [];
  items.forEach((it, i) => {
    const prefix = [...((prefixes[i] ?? []) as number[])].slice(0, prefixLen);
    if (
      prefix.length !== prefixLen ||
      prefix.some((v, l) => !Number.isInteger(v) || v < 0 || v >= (table.levelSizes[l] as number))
    ) {
      throw new SemidError(
        'SEMID_ERR_INTERNAL',
        `encoder of scheme "${manifest.scheme}" gave [${prefixes[i]}] for item "${it.id}"; expected ${prefixLen} values within [${table.levelSizes.slice(0, prefixLen)}]`,
      );
    }
    const existing = table.encode(it.id) ?? added.find(([a]) => a === it.id)?.[1];
    if (existing) {
      results.push({ item: it.id, prefix, code: existing, status: 'exists' });
      return;
    }
    let code: number[] | undefined;
    if (manifest.dedupLevel) {
      const size = table.levelSizes[L - 1] as number;
      for (let v = 0; v < size && !code; v++) if (!used.has([...prefix, v].join(','))) code = [...prefix, v];
    } else if (!used.has(prefix.join(','))) code = prefix;
    if (!code) {
      results.push({ item: it.id, prefix, status: manifest.dedupLevel ? 'full' : 'taken' });
      return;
    }
    used.add(code.join(','));
    added.push([it.id, code]);
    results.push({ item: it.id, prefix, code, status: 'ok' });
  });
  return { results, table: new CodeTable(table.levelSizes, [...table.entries(), ...added]) };
}

/**
 * Writes `index` with `table` (the index's table extended by `encodeNewItems`) as an index artifact
 * at `out`, atomically; `out` may be the index's own directory (updated in place: a crash keeps the
 * old artifact). The encoder state and diagnostics are kept; the manifest records how many items
 * were added and the catalogue size.
 * @throws SEMID_ERR_BAD_INPUT when `table` drops or recodes an item of the index
 */
export async function writeExtendedIndex(index: LoadedIndex, table: CodeTable, out: string): Promise<void> {
  for (const [id, code] of index.table.entries()) {
    const now = table.encode(id);
    if (!now || now.join(',') !== code.join(',')) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `the extended table does not keep item "${id}" at its code [${code}]; extend the index with encodeNewItems`,
      );
    }
  }
  const added = table.size - index.table.size;
  const prior = (index.manifest as IndexManifest & { extended?: { added: number } }).extended?.added ?? 0;
  const manifest = {
    ...index.manifest,
    dataset: { ...index.manifest.dataset, items: table.size },
    extended: { added: prior + added, at: new Date().toISOString() },
  };
  await writeDirAtomic(out, async (tmp) => {
    const state = join(index.dir, 'state');
    if (existsSync(state)) await cp(state, join(tmp, 'state'), { recursive: true });
    for (const f of [ITEM_EMBEDDINGS_META, ITEM_EMBEDDINGS_DATA]) {
      if (existsSync(join(index.dir, f))) await cp(join(index.dir, f), join(tmp, f));
    }
    await writeJson(join(tmp, 'codes.json'), table.toJSON());
    await writeJson(join(tmp, 'diagnostics.json'), index.diagnostics);
    await writeJson(join(tmp, 'manifest.json'), manifest);
  });
}
