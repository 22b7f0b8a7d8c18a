/**
 * Bundle: one named index + model as the server serves it. The caller injects a `LoadBundle`
 * (cli/serve.ts wires the real index and model loaders); the server adds what it owns: the live
 * catalogue snapshot, vector indexes, and the items added or removed through the API, persisted as
 * `<dir>/overlay.json` (written to a temporary file and renamed, so a crash never leaves it half
 * written) and re-applied on every load.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeFileAtomic } from '../src/core/artifact.js';
import { CodeTable } from '../src/core/codes.js';
import { SemidError } from '../src/core/errors.js';
import type { Recommendation } from '../src/core/model.js';
import type { Code, Item, ItemId } from '../src/core/types.js';
import { BatchingDecoder, type BatchOptions } from './batcher.js';
import { Catalogue, codeKey } from './catalogue.js';
import type { BundleDecoder, ScoredCode } from './decoder.js';
import { CodeEmbedder, type Neighbour, VectorIndex } from './vectors.js';

/**
 * Encodes NEW items with the bundle's fitted index (structurally the indexer's ItemEncoder, plus an
 * optional embedding entry point). Returns a code or a code prefix per item, before dedup.
 */
export interface NewItemEncoder {
  encode?(items: readonly Item[]): Promise<number[][]>;
  /** Codes from item embeddings, each [dim] float32 in the index's embedding space. */
  encodeEmbeddings?(vectors: readonly Float32Array[]): Promise<number[][]>;
}

/** What a bundle loader returns: everything the server cannot build itself. */
export interface BundleParts {
  /** The index's item <-> code table (before the server's overlay). */
  table: CodeTable;
  /** The model behind a decoder (ModelDecoder over any GenerativeModel, or another implementation). */
  decoder: BundleDecoder;
  /** Encoder for new items (cold start); absent when the index cannot encode new items. */
  encoder?: NewItemEncoder;
  /** Item embeddings for `/similar` (each [dim] float32); without them similarity falls back to codes. */
  itemEmbeddings?: { dim: number; vectors: Iterable<readonly [ItemId, ArrayLike<number>]> };
  /** Free-form description for /health and /metrics (scheme, model, runtime...). */
  info?: Record<string, string | number>;
}

/** Loads a bundle's parts from its directory. Injected by the caller; tests pass fakes. */
export type LoadBundle = (dir: string) => Promise<BundleParts>;

/** The server-written record of API changes to a bundle's items (`<dir>/overlay.json`). */
export interface OverlayJSON {
  formatVersion: 1;
  kind: 'overlay';
  /** Items added through the API, with their codes and (when given) embeddings. */
  added: Record<ItemId, { code: number[]; embedding?: number[] }>;
  /** Items removed from decoding, with the code they keep for reading histories. */
  removed: Record<ItemId, number[]>;
}

/** File name of the overlay inside a bundle directory. */
export const OVERLAY_FILE = 'overlay.json';

/** A request to add an item: exactly how its code is found depends on which fields are set. */
export interface NewItem extends Item {
  /** Embedding in the index's (or the similarity index's) space. */
  embedding?: number[];
  /** A full code, or a prefix the server completes with the first free values. */
  code?: number[];
}

/** How an added item got its code. */
export type AssignedBy = 'given' | 'encoder' | 'nearest-item';

/** One recommended item. */
export interface RecommendedItem {
  item: ItemId;
  score: number;
  code: Code;
  /** Grounded mode only: the generated code when it named no item (or an excluded one). */
  generated?: Code;
}

/** A history turned into codes. */
export interface ResolvedHistory {
  codes: Code[];
  /** How many of the oldest items were cut to fit the model's window (0 when none). */
  truncated: number;
}

/** Options of one recommendation request. */
export interface RecommendOptions {
  k: number;
  beamWidth: number;
  excludeHistory: boolean;
  mode: 'constrained' | 'grounded';
}

/** The result for one history. */
export interface RecommendResult {
  items: RecommendedItem[];
  /** Grounded mode: how many generated codes named no live item. */
  invalidCodes?: number;
  /** Grounded mode: how many codes were generated. */
  generated?: number;
}

/** A loaded bundle. Reads take `catalogue` once and work on that snapshot. */
export class Bundle {
  readonly name: string;
  readonly dir: string | undefined;
  readonly loadedAt: Date = new Date();
  /** The bundle's decoder, wrapped in a BatchingDecoder unless batching is off. */
  readonly decoder: BundleDecoder;
  readonly info: Record<string, string | number>;
  private readonly encoder: NewItemEncoder | undefined;
  private readonly codeEmbedder: CodeEmbedder;
  /** live items by code embedding: grounding and the similarity fallback */
  private readonly codeIndex: VectorIndex;
  /** live items by item embedding, when the bundle has embeddings */
  private readonly itemIndex: VectorIndex | undefined;
  private current: Catalogue;
  private overlay: OverlayJSON;
  private readonly persistPath: string | undefined;

  private constructor(
    name: string,
    dir: string | undefined,
    parts: BundleParts,
    overlay: OverlayJSON,
    persist: boolean,
    batching: BatchOptions | false,
  ) {
    this.name = name;
    this.dir = dir;
    this.decoder = batching === false ? parts.decoder : new BatchingDecoder(parts.decoder, batching);
    this.encoder = parts.encoder;
    this.info = { ...(parts.info ?? {}) };
    this.overlay = overlay;
    this.persistPath = persist && dir !== undefined ? join(dir, OVERLAY_FILE) : undefined;
    this.current = applyOverlay(parts.table, overlay, dir);
    const live = this.current.live;
    this.codeEmbedder = new CodeEmbedder(live.levelSizes);
    this.codeIndex = new VectorIndex(this.codeEmbedder.dim, live.size + 64);
    if (parts.itemEmbeddings) this.itemIndex = new VectorIndex(parts.itemEmbeddings.dim, live.size + 64);
  }

  /**
   * Fills the vector indexes. HNSW insertion is synchronous native work (seconds for a 12k-item
   * catalogue), so it runs in slices that yield to the event loop: a reload never stalls the
   * requests the old bundle is still serving.
   */
  private async buildIndexes(parts: BundleParts): Promise<void> {
    const live = this.current.live;
    const SLICE = 64;
    let n = 0;
    const tick = async () => {
      if (++n % SLICE === 0) await new Promise((r) => setImmediate(r));
    };
    for (const [item, code] of live.entries()) {
      this.codeIndex.add(item, this.codeEmbedder.embed(code));
      await tick();
    }
    const idx = this.itemIndex;
    if (idx && parts.itemEmbeddings) {
      for (const [item, v] of parts.itemEmbeddings.vectors) {
        if (live.encode(item) === undefined) continue;
        idx.add(item, v);
        await tick();
      }
      for (const [item, a] of Object.entries(this.overlay.added)) {
        if (a.embedding && a.embedding.length === idx.dim) idx.add(item, a.embedding);
      }
    }
  }

  /**
   * Builds a bundle from its parts, applying `<dir>/overlay.json` when present. With `persist`,
   * API changes are written back to that file. `batching`: concurrent recommendations on this bundle
   * are coalesced into batched beam searches (server/batcher.ts; default settings when omitted),
   * or `false` for one decoder call per request.
   */
  static async create(
    name: string,
    dir: string | undefined,
    parts: BundleParts,
    persist = false,
    batching: BatchOptions | false = {},
  ): Promise<Bundle> {
    const overlay = dir !== undefined ? await readOverlay(dir) : emptyOverlay();
    const b = new Bundle(name, dir, parts, overlay, persist, batching);
    await b.buildIndexes(parts);
    return b;
  }

  /** The current catalogue snapshot. */
  get catalogue(): Catalogue {
    return this.current;
  }

  /** Whether similarity uses item embeddings ('embedding') or codes ('code'). */
  get similarityBasis(): 'embedding' | 'code' {
    return this.itemIndex ? 'embedding' : 'code';
  }

  /**
   * Turns item ids into codes (live or retired items), cut to the model's window.
   * @throws SEMID_ERR_HISTORY_EMPTY for an empty history, SEMID_ERR_UNKNOWN_ITEM listing unknown ids.
   */
  resolveHistory(history: readonly ItemId[], cat: Catalogue = this.current): ResolvedHistory {
    if (history.length === 0) {
      throw new SemidError(
        'SEMID_ERR_HISTORY_EMPTY',
        'history is empty: give at least one item id the user interacted with',
      );
    }
    const unknown = history.filter((i) => cat.lookup(i) === undefined);
    if (unknown.length > 0) throw unknownItems(this.name, unknown);
    const keep = history.slice(Math.max(0, history.length - this.decoder.maxHistory));
    return {
      codes: keep.map((i) => (cat.lookup(i) as { code: Code }).code),
      truncated: history.length - keep.length,
    };
  }

  /** @throws SEMID_ERR_UNKNOWN_ITEM listing every id (of all given) that the bundle does not know. */
  assertKnown(ids: readonly ItemId[]): void {
    const cat = this.current;
    const unknown = [...new Set(ids.filter((i) => cat.lookup(i) === undefined))];
    if (unknown.length > 0) throw unknownItems(this.name, unknown);
  }

  /**
   * Recommends for several histories sharing the same options. Histories are item ids, oldest first.
   * All unknown ids of all histories are reported together.
   */
  async recommend(histories: readonly (readonly ItemId[])[], opts: RecommendOptions): Promise<RecommendResult[]> {
    const cat = this.current;
    const unknown = [...new Set(histories.flat().filter((i) => cat.lookup(i) === undefined))];
    if (unknown.length > 0) throw unknownItems(this.name, unknown);
    const resolved = histories.map((h) => this.resolveHistory(h, cat));
    const codes = resolved.map((r) => r.codes);
    // Excluded: every history item (including the part cut from the window).
    const excluded = histories.map((h) => (opts.excludeHistory ? new Set(h) : new Set<ItemId>()));
    if (opts.mode === 'constrained') {
      const out = await this.decoder.recommend(codes, cat, { k: opts.k, beamWidth: opts.beamWidth, exclude: excluded });
      return out.map((list) => ({ items: this.checked(list, cat) }));
    }
    const width = Math.max(opts.k, opts.beamWidth);
    const generated = await this.decoder.generate(codes, cat, { k: width, beamWidth: width });
    return generated.map((list, u) => this.ground(list, cat, excluded[u] as Set<ItemId>, opts.k));
  }

  /**
   * Exact log-likelihood of each candidate item's code after `history`.
   * @throws SEMID_ERR_UNKNOWN_ITEM listing every unknown id of history and candidates.
   */
  async score(
    history: readonly ItemId[],
    candidates: readonly ItemId[],
  ): Promise<{ scores: { item: ItemId; score: number; code: Code }[]; truncated: number }> {
    const cat = this.current;
    const unknown = [...new Set([...history, ...candidates].filter((i) => cat.lookup(i) === undefined))];
    if (unknown.length > 0) throw unknownItems(this.name, unknown);
    const h = this.resolveHistory(history, cat);
    const codes = candidates.map((c) => (cat.lookup(c) as { code: Code }).code);
    const s = await this.decoder.score(h.codes, codes);
    return {
      scores: candidates.map((item, i) => ({ item, score: s[i] as number, code: codes[i] as Code })),
      truncated: h.truncated,
    };
  }

  /** The `k` items most similar to `item` (itself excluded), by item embedding or else by code. */
  similar(item: ItemId, k: number): { basis: 'embedding' | 'code'; items: (Neighbour & { code: Code })[] } {
    const cat = this.current;
    const found = cat.lookup(item);
    if (!found) throw new SemidError('SEMID_ERR_NOT_FOUND', `item "${item}" is not in bundle "${this.name}"`);
    const v = this.itemIndex?.vector(item);
    const [basis, index, query] =
      v && this.itemIndex
        ? (['embedding', this.itemIndex, v] as const)
        : (['code', this.codeIndex, this.codeEmbedder.embed(found.code)] as const);
    const hits = index.search(query, k, (i) => i === item);
    return {
      basis,
      items: hits.map((n) => ({ ...n, code: cat.live.encode(n.item) as Code })),
    };
  }

  /**
   * Adds an item: its code is `code` (a prefix is completed with the first free values), else the
   * encoder's, else the nearest item's by embedding; those two keep as long a prefix as has a free
   * completion (dedup on the last level, then the level above...). Persists before it becomes visible.
   * @throws SEMID_ERR_CONFLICT when the item is live or a given full code is taken.
   */
  async addItem(req: NewItem): Promise<{ item: ItemId; code: Code; assignedBy: AssignedBy }> {
    const cat = this.current;
    if (cat.live.encode(req.id) !== undefined) {
      throw new SemidError(
        'SEMID_ERR_CONFLICT',
        `item "${req.id}" already exists in bundle "${this.name}"; delete it first to re-add it`,
      );
    }
    const L = cat.levels;
    let prefix: number[];
    let assignedBy: AssignedBy;
    if (req.code !== undefined) {
      checkCode(req.code, cat.levelSizes, 'code');
      if (req.code.length === L && cat.taken(req.code)) {
        throw new SemidError('SEMID_ERR_CONFLICT', `code [${req.code}] is already taken in bundle "${this.name}"`, {
          code: req.code,
        });
      }
      prefix = req.code;
      assignedBy = 'given';
    } else if (this.encoder && (hasText(req) ? this.encoder.encode : req.embedding && this.encoder.encodeEmbeddings)) {
      const out = hasText(req)
        ? await (this.encoder.encode as NonNullable<NewItemEncoder['encode']>)([toItem(req)])
        : await (this.encoder.encodeEmbeddings as NonNullable<NewItemEncoder['encodeEmbeddings']>)([
            Float32Array.from(req.embedding as number[]),
          ]);
      prefix = out[0] ?? [];
      checkCode(prefix, cat.levelSizes, 'encoder output', 'SEMID_ERR_INTERNAL');
      assignedBy = 'encoder';
    } else if (req.embedding !== undefined && this.itemIndex) {
      if (req.embedding.length !== this.itemIndex.dim) {
        throw new SemidError(
          'SEMID_ERR_BAD_INPUT',
          `embedding has ${req.embedding.length} values, bundle "${this.name}" uses ${this.itemIndex.dim}`,
        );
      }
      const near = this.itemIndex.search(req.embedding, 1)[0];
      if (!near)
        throw new SemidError('SEMID_ERR_CONFLICT', `bundle "${this.name}" has no item to place a new one near`);
      prefix = [...(cat.live.encode(near.item) as Code)].slice(0, L - 1);
      assignedBy = 'nearest-item';
    } else {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `bundle "${this.name}" cannot place item "${req.id}" from what was given: ${
          this.encoder
            ? 'its encoder needs text (title, description, categories or brand) or an embedding'
            : 'it has no item encoder'
        }${this.itemIndex ? `; an embedding of ${this.itemIndex.dim} values` : ''} or an explicit code works`,
      );
    }
    const code =
      prefix.length === L && !cat.taken(prefix)
        ? prefix
        : assignedBy === 'given'
          ? freeCompletion(cat, prefix, this.name)
          : shorteningCompletion(cat, prefix.slice(0, L - 1), this.name);
    const next = cat.withItem(req.id, code);
    const overlay = cloneOverlay(this.overlay);
    delete overlay.removed[req.id];
    overlay.added[req.id] = { code: [...code], ...(req.embedding ? { embedding: req.embedding } : {}) };
    await this.persist(overlay);
    this.overlay = overlay;
    this.current = next;
    this.codeIndex.add(req.id, this.codeEmbedder.embed(code));
    if (this.itemIndex && req.embedding?.length === this.itemIndex.dim) this.itemIndex.add(req.id, req.embedding);
    return { item: req.id, code, assignedBy };
  }

  /** Removes a live item from decoding and similarity; its code stays reserved for histories. */
  async removeItem(item: ItemId): Promise<{ item: ItemId; code: Code }> {
    const cat = this.current;
    const code = cat.live.encode(item);
    if (code === undefined)
      throw new SemidError('SEMID_ERR_NOT_FOUND', `item "${item}" is not a live item of bundle "${this.name}"`);
    const next = cat.withoutItem(item);
    const overlay = cloneOverlay(this.overlay);
    delete overlay.added[item];
    overlay.removed[item] = [...code];
    await this.persist(overlay);
    this.overlay = overlay;
    this.current = next;
    this.codeIndex.remove(item);
    this.itemIndex?.remove(item);
    return { item, code };
  }

  /** Frees the model. */
  dispose(): void {
    this.decoder.dispose();
  }

  /** The decoder's items, checked to be live in `cat` (a decoder returning others is a bug, not bad input). */
  private checked(list: readonly Recommendation[], cat: Catalogue): RecommendedItem[] {
    for (const r of list) {
      if (cat.itemOf(r.code) !== r.item) {
        throw new SemidError(
          'SEMID_ERR_INTERNAL',
          `decoder returned item "${r.item}" with code [${r.code}], not a live item`,
        );
      }
    }
    return list.map((r) => ({ item: r.item, score: r.score, code: r.code }));
  }

  /** Maps freely generated codes to distinct live items, best generated score first. */
  private ground(
    list: readonly ScoredCode[],
    cat: Catalogue,
    excluded: ReadonlySet<ItemId>,
    k: number,
  ): RecommendResult {
    const chosen = new Set<ItemId>();
    const items: RecommendedItem[] = [];
    let invalid = 0;
    for (const s of list) {
      const exact = cat.itemOf(s.code);
      if (exact === undefined) invalid++;
      if (items.length >= k) continue;
      if (exact !== undefined && !excluded.has(exact) && !chosen.has(exact)) {
        chosen.add(exact);
        items.push({ item: exact, score: s.score, code: s.code });
        continue;
      }
      const near = this.codeIndex.search(
        this.codeEmbedder.embed(s.code),
        1,
        (i) => chosen.has(i) || excluded.has(i),
      )[0];
      if (near) {
        chosen.add(near.item);
        items.push({ item: near.item, score: s.score, code: cat.live.encode(near.item) as Code, generated: s.code });
      }
    }
    return { items, invalidCodes: invalid, generated: list.length };
  }

  private async persist(overlay: OverlayJSON): Promise<void> {
    if (this.persistPath === undefined) return;
    await writeFileAtomic(this.persistPath, `${JSON.stringify(overlay)}\n`);
  }
}

function unknownItems(bundle: string, unknown: readonly ItemId[]): SemidError {
  const shown = unknown.slice(0, 20);
  return new SemidError(
    'SEMID_ERR_UNKNOWN_ITEM',
    `${unknown.length} item id(s) not in bundle "${bundle}": ${shown.map((i) => JSON.stringify(i)).join(', ')}${
      unknown.length > shown.length ? ', ...' : ''
    }; use ids from the catalogue the bundle was built on, or add new items with POST /v1/items`,
    { unknownItems: unknown.slice(0, 1000) },
  );
}

const hasText = (i: Item): boolean =>
  Boolean(i.title || i.description || i.brand || (i.categories && i.categories.length > 0));

const toItem = (r: NewItem): Item => {
  const { embedding: _e, code: _c, ...item } = r;
  return item;
};

function checkCode(
  code: readonly number[],
  levelSizes: readonly number[],
  what: string,
  errCode: 'SEMID_ERR_BAD_INPUT' | 'SEMID_ERR_INTERNAL' = 'SEMID_ERR_BAD_INPUT',
): void {
  if (code.length > levelSizes.length) {
    throw new SemidError(errCode, `${what} [${code}] has ${code.length} levels, the index has ${levelSizes.length}`);
  }
  code.forEach((v, l) => {
    if (!Number.isInteger(v) || v < 0 || v >= (levelSizes[l] as number)) {
      throw new SemidError(
        errCode,
        `${what} [${code}] has ${v} at level ${l}, expected an integer in [0, ${levelSizes[l]})`,
      );
    }
  });
}

/**
 * The first full code (in code order) extending `prefix` that no live or retired item holds. Taken
 * codes are at most the catalogue size, so at most size + 1 candidates are tried.
 * @throws SEMID_ERR_CONFLICT when every completion is taken.
 */
export function freeCompletion(cat: Catalogue, prefix: readonly number[], bundle = ''): Code {
  const L = cat.levels;
  const free = L - prefix.length;
  const sizes = cat.levelSizes.slice(prefix.length);
  const digits = new Array<number>(free).fill(0);
  const budget = cat.size + cat.retired.size + 1;
  for (let tried = 0; tried <= budget; tried++) {
    const code = [...prefix, ...digits];
    if (!cat.taken(code)) return code;
    // odometer increment, last level fastest
    let l = free - 1;
    while (l >= 0) {
      digits[l] = (digits[l] as number) + 1;
      if ((digits[l] as number) < (sizes[l] as number)) break;
      digits[l] = 0;
      l--;
    }
    if (l < 0) break;
  }
  throw new SemidError(
    'SEMID_ERR_CONFLICT',
    `every code under prefix [${prefix}] is taken${bundle ? ` in bundle "${bundle}"` : ''}; give another code or prefix`,
  );
}

/**
 * A free code as close to `prefix` as possible: the first free completion of the longest prefix of
 * `prefix` that still has room (a full dedup level falls back to the level above, and so on).
 */
function shorteningCompletion(cat: Catalogue, prefix: readonly number[], bundle: string): Code {
  for (let n = prefix.length; n > 0; n--) {
    try {
      return freeCompletion(cat, prefix.slice(0, n), bundle);
    } catch (e) {
      if (!(e instanceof SemidError && e.code === 'SEMID_ERR_CONFLICT')) throw e;
    }
  }
  return freeCompletion(cat, [], bundle);
}

function emptyOverlay(): OverlayJSON {
  return { formatVersion: 1, kind: 'overlay', added: {}, removed: {} };
}

function cloneOverlay(o: OverlayJSON): OverlayJSON {
  return { formatVersion: 1, kind: 'overlay', added: { ...o.added }, removed: { ...o.removed } };
}

/** Reads `<dir>/overlay.json`, or an empty overlay when the file does not exist. */
export async function readOverlay(dir: string): Promise<OverlayJSON> {
  const path = join(dir, OVERLAY_FILE);
  if (!existsSync(path)) return emptyOverlay();
  const o = await readJson<OverlayJSON>(path, 'bundle overlay');
  if (
    typeof o !== 'object' ||
    o === null ||
    o.kind !== 'overlay' ||
    typeof o.added !== 'object' ||
    o.added === null ||
    typeof o.removed !== 'object' ||
    o.removed === null
  ) {
    throw new SemidError(
      'SEMID_ERR_ARTIFACT_CORRUPT',
      `${path} is not a semid overlay ({kind: "overlay", added, removed})`,
    );
  }
  if (o.formatVersion !== 1) {
    throw new SemidError('SEMID_ERR_ARTIFACT_VERSION', `${path} has format version ${o.formatVersion}, expected 1`);
  }
  return o;
}

/** The base table with the overlay's removals retired and its additions live. */
function applyOverlay(table: CodeTable, overlay: OverlayJSON, dir: string | undefined): Catalogue {
  const where = dir === undefined ? 'the overlay' : join(dir, OVERLAY_FILE);
  try {
    const removed = new Map<ItemId, Code>();
    for (const [item, code] of Object.entries(overlay.removed)) {
      removed.set(item, table.encode(item) ?? code);
    }
    const added = Object.entries(overlay.added);
    const addedKeys = new Set(added.map(([, a]) => codeKey(a.code)));
    const entries: [ItemId, Code][] = [];
    for (const [item, code] of table.entries()) {
      if (removed.has(item) || overlay.added[item] !== undefined) continue;
      if (addedKeys.has(codeKey(code))) {
        throw new SemidError(
          'SEMID_ERR_COLLISION',
          `an added item's code [${code}] is now held by index item "${item}"`,
        );
      }
      entries.push([item, code]);
    }
    for (const [item, a] of added) entries.push([item, a.code]);
    const live = new CodeTable(table.levelSizes, entries);
    return new Catalogue(live, removed);
  } catch (e) {
    if (e instanceof SemidError) {
      throw new SemidError(
        e.code === 'SEMID_ERR_COLLISION' ? 'SEMID_ERR_COLLISION' : 'SEMID_ERR_ARTIFACT_CORRUPT',
        `${where} does not fit the bundle's index: ${e.message}. Remove or fix the file (it records items added or deleted through the API)`,
      );
    }
    throw e;
  }
}
