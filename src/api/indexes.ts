/**
 * Indexes for the library API: build one with any scheme (typed config per scheme), save it, load it,
 * and look items and codes up. An index lives in a directory (an index artifact); one built without
 * an `out` directory is kept in a temporary directory until it is saved, and that directory is
 * removed when the process exits.
 */
import { rmSync } from 'node:fs';
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildIndex as buildArtifact, type IndexManifest, loadIndex as loadArtifact } from '../../indexer/artifact.js';
import type { SCHEMES } from '../../indexer/registry.js';
import type { Diagnostics, IndexingScheme, SchemeName } from '../../indexer/types.js';
import { writeDirAtomic } from '../core/artifact.js';
import type { CodeTable } from '../core/codes.js';
import type { Code, ItemId, SplitData } from '../core/types.js';

/** The config type of every scheme, by name. */
export type SchemeConfigs = {
  [K in SchemeName]: (typeof SCHEMES)[K] extends IndexingScheme<infer C> ? C : never;
};

/** Options of buildIndex for scheme `S`: its config is typed (every field optional, defaults documented per scheme). */
export interface BuildIndexOptions<S extends SchemeName = SchemeName> {
  scheme: S;
  /** The dataset (from loadDataset); the scheme fits on its catalogue and TRAIN sequences only. */
  data: SplitData;
  /** Fields of the scheme's config; the rest take the scheme's defaults (some adapt to the catalogue size). */
  config?: Partial<SchemeConfigs[S]>;
  /** Seed of every random choice. Default 1. */
  seed?: number;
  /** Where to write the index artifact; default a temporary directory (save it with `index.save(dir)`). */
  out?: string;
  /** Progress and warning lines (degenerate levels are reported here). */
  log?: (line: string) => void;
}

const temporary = new Set<string>();
let cleanupInstalled = false;

async function temporaryDir(): Promise<string> {
  if (!cleanupInstalled) {
    cleanupInstalled = true;
    process.once('exit', () => {
      for (const d of temporary) rmSync(d, { recursive: true, force: true });
    });
  }
  const d = await mkdtemp(join(tmpdir(), 'semid-index-'));
  temporary.add(d);
  return d;
}

/** A built or loaded index: the item <-> code table of a fitted scheme, and its artifact directory. */
export class Index {
  private constructor(
    /** The artifact directory (a temporary one until `save` for an index built without `out`). */
    readonly dir: string,
    /** The manifest: scheme, resolved config, seed, dataset fingerprint, level sizes. */
    readonly manifest: IndexManifest,
    /** The item <-> code table. */
    readonly table: CodeTable,
    /** Level usage, collisions, reconstruction error, and `warnings` about degenerate levels. */
    readonly diagnostics: Diagnostics,
  ) {}

  /** Reads the index artifact in `dir` (what loadIndex does). */
  static async fromDir(dir: string): Promise<Index> {
    const a = await loadArtifact(dir, { encoder: false });
    return new Index(dir, a.manifest, a.table, a.diagnostics);
  }

  /** The scheme that built the index. */
  get scheme(): SchemeName {
    return this.manifest.scheme;
  }

  /** Size of every level's codebook, coarsest first. */
  get levelSizes(): readonly number[] {
    return this.table.levelSizes;
  }

  /** Number of items. */
  get size(): number {
    return this.table.size;
  }

  /** Warnings of the build (degenerate levels, each naming the option to change). */
  get warnings(): readonly string[] {
    const w = this.diagnostics.warnings;
    return Array.isArray(w) ? (w as string[]) : [];
  }

  /** The code of an item, or undefined when the index does not hold it. */
  codeOf(item: ItemId): Code | undefined {
    return this.table.encode(item);
  }

  /** The item a code names, or undefined. */
  itemOf(code: Code): ItemId | undefined {
    return this.table.decode(code);
  }

  /** Every (item, code) pair. */
  entries(): IterableIterator<[ItemId, Code]> {
    return this.table.entries() as IterableIterator<[ItemId, Code]>;
  }

  /** Writes the index artifact to `dir` (replaced atomically) and returns the index read from there. */
  async save(dir: string): Promise<Index> {
    const target = resolve(dir);
    if (target === resolve(this.dir)) return this;
    await writeDirAtomic(target, async (tmp) => {
      await cp(this.dir, tmp, { recursive: true });
    });
    return Index.fromDir(target);
  }
}

/**
 * Builds an index with `scheme` on the dataset's catalogue and TRAIN sequences.
 * @throws SemidError SEMID_ERR_BAD_CONFIG listing every config problem, SEMID_ERR_UNKNOWN_SCHEME
 */
export async function buildIndex<S extends SchemeName>(opts: BuildIndexOptions<S>): Promise<Index> {
  const out = opts.out !== undefined ? resolve(opts.out) : join(await temporaryDir(), 'index');
  await buildArtifact({
    scheme: opts.scheme,
    split: opts.data,
    ...(opts.config !== undefined ? { config: opts.config as Record<string, unknown> } : {}),
    seed: opts.seed ?? 1,
    out,
    ...(opts.log ? { log: opts.log } : {}),
  });
  return Index.fromDir(out);
}

/** Saves an index to `dir`; the same as `index.save(dir)`. */
export function saveIndex(index: Index, dir: string): Promise<Index> {
  return index.save(dir);
}

/**
 * Loads an index artifact (from buildIndex, `index.save` or `semid index build`).
 * @throws SemidError SEMID_ERR_ARTIFACT_MISSING / _CORRUPT / _VERSION saying what to rebuild
 */
export function loadIndex(dir: string): Promise<Index> {
  return Index.fromDir(resolve(dir));
}
