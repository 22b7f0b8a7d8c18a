/**
 * Bundle: one named index + model as the server serves it. The caller injects a `LoadBundle`
 * (the real index and model loaders, or fakes in tests); the server adds what it owns: the live
 * catalogue snapshot, vector indexes, item metadata, and the items added or removed through the API
 * (an OverlayStore, server/overlay.ts, re-applied on every load). Reads take `catalogue` once and
 * work on that snapshot; writes build a new snapshot and persist the change before it is visible.
 */
import { isAbsolute } from 'node:path';
import { CodeTable } from '../src/core/codes.js';
import { SemidError } from '../src/core/errors.js';
import type { Recommendation } from '../src/core/model.js';
import type { Code, ItemId } from '../src/core/types.js';
import { BatchingDecoder, type BatchOptions } from './batcher.js';
import { Catalogue, codeKey } from './catalogue.js';
import type { BundleDecoder, ScoredCode } from './decoder.js';
import { metaOf, placeItem } from './item-writes.js';
import { OverlayStore } from './overlay.js';
import type {
  AssignedBy,
  BundleParts,
  ItemMeta,
  NewItem,
  NewItemEncoder,
  RecommendedItem,
  RecommendOptions,
  RecommendResult,
  ResolvedHistory,
} from './types.js';
import { CodeEmbedder, type Neighbour, VectorIndex } from './vectors.js';

export { freeCompletion } from './completion.js';
export { JOURNAL_FILE, LEGACY_OVERLAY_FILE } from './overlay.js';
export type * from './types.js';

/** One recommendation request of a batch: a history and its options. */
export interface RecommendRequest {
  history: readonly ItemId[];
  options: RecommendOptions;
}

/** Whether a value of a loader's `info` may be shown (filesystem paths are not). */
const shown = (v: string | number): boolean => typeof v === 'number' || !(isAbsolute(v) || /[\\/]/.test(v));

/** A loaded bundle. */
export class Bundle {
  readonly name: string;
  readonly dir: string | undefined;
  readonly loadedAt: Date = new Date();
  /** The bundle's decoder, wrapped in a BatchingDecoder unless batching is off. */
  readonly decoder: BundleDecoder;
  /** What the loader says about the bundle, without filesystem paths. */
  readonly info: Record<string, string | number>;
  private readonly encoder: NewItemEncoder | undefined;
  private readonly codeEmbedder: CodeEmbedder;
  /** live items by code embedding: grounding and the similarity fallback */
  private readonly codeIndex: VectorIndex;
  /** live items by item embedding, when the bundle has embeddings */
  private readonly itemIndex: VectorIndex | undefined;
  private readonly metadata: Map<ItemId, ItemMeta>;
  private current: Catalogue;

  private constructor(
    name: string,
    dir: string | undefined,
    parts: BundleParts,
    private readonly store: OverlayStore,
    batching: BatchOptions | false,
  ) {
    this.name = name;
    this.dir = dir;
    this.decoder = batching === false ? parts.decoder : new BatchingDecoder(parts.decoder, batching);
    this.encoder = parts.encoder;
    this.info = Object.fromEntries(Object.entries(parts.info ?? {}).filter(([, v]) => shown(v)));
    this.metadata = new Map(parts.metadata ?? []);
    for (const [id, a] of store.added) if (a.meta) this.metadata.set(id, a.meta);
    this.current = applyOverlay(parts.table, store);
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
        if (live.encode(item) === undefined || this.store.added.has(item)) continue;
        idx.add(item, v);
        await tick();
      }
      for (const [item, a] of this.store.added) {
        if (a.embedding && a.embedding.length === idx.dim) idx.add(item, a.embedding);
      }
    }
  }

  /**
   * Builds a bundle from its parts, applying the items changed through the API in `dir` (see
   * server/overlay.ts). With `persist`, changes are journalled in `dir`. `batching`: concurrent
   * recommendations on this bundle are coalesced into batched beam searches (server/batcher.ts;
   * default settings when omitted), or `false` for one decoder call per request.
   */
  static async create(
    name: string,
    dir: string | undefined,
    parts: BundleParts,
    persist = false,
    batching: BatchOptions | false = {},
  ): Promise<Bundle> {
    const store = await OverlayStore.open(dir, persist);
    const b = new Bundle(name, dir, parts, store, batching);
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

  /** Title and category of an item, when the catalogue (or its API addition) has them. */
  meta(item: ItemId): ItemMeta | undefined {
    return this.metadata.get(item);
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
    this.assertKnown(history, cat);
    const keep = history.slice(Math.max(0, history.length - this.decoder.maxHistory));
    return {
      codes: keep.map((i) => (cat.lookup(i) as { code: Code }).code),
      truncated: history.length - keep.length,
    };
  }

  /** @throws SEMID_ERR_UNKNOWN_ITEM listing every id (of all given) that the bundle does not know. */
  assertKnown(ids: Iterable<ItemId>, cat: Catalogue = this.current): void {
    const unknown = new Set<ItemId>();
    for (const i of ids) if (cat.lookup(i) === undefined) unknown.add(i);
    if (unknown.size > 0) throw unknownItems(this.name, [...unknown]);
  }

  /**
   * Recommends for several histories sharing the same options. Histories are item ids, oldest first.
   * All unknown ids of all histories are reported together.
   */
  async recommend(histories: readonly (readonly ItemId[])[], opts: RecommendOptions): Promise<RecommendResult[]> {
    const cat = this.current;
    this.assertKnown(histories.flat(), cat);
    return this.decode(histories, opts, cat);
  }

  /**
   * Recommends for requests with their own options (the batch route): all unknown ids are reported
   * together, then requests with equal options decode together, in one batched beam search.
   */
  async recommendMany(requests: readonly RecommendRequest[]): Promise<RecommendResult[]> {
    const cat = this.current;
    this.assertKnown(
      requests.flatMap((r) => r.history),
      cat,
    );
    const groups = new Map<string, number[]>();
    requests.forEach((r, i) => {
      const o = r.options;
      const key = `${o.k}/${o.beamWidth}/${o.excludeHistory}/${o.mode}`;
      const g = groups.get(key);
      if (g) g.push(i);
      else groups.set(key, [i]);
    });
    const results: RecommendResult[] = new Array(requests.length);
    await Promise.all(
      [...groups.values()].map(async (idx) => {
        const opts = (requests[idx[0] as number] as RecommendRequest).options;
        const out = await this.decode(
          idx.map((i) => (requests[i] as RecommendRequest).history),
          opts,
          cat,
        );
        idx.forEach((i, j) => {
          results[i] = out[j] as RecommendResult;
        });
      }),
    );
    return results;
  }

  private async decode(
    histories: readonly (readonly ItemId[])[],
    opts: RecommendOptions,
    cat: Catalogue,
  ): Promise<RecommendResult[]> {
    const codes = histories.map((h) => this.resolveHistory(h, cat).codes);
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
    this.assertKnown([...history, ...candidates], cat);
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
   * Adds an item (its code chosen by `placeItem`, server/item-writes.ts). Persists before it becomes
   * visible. @throws SEMID_ERR_CONFLICT when the item is live or a given full code is taken.
   */
  async addItem(req: NewItem): Promise<{ item: ItemId; code: Code; assignedBy: AssignedBy }> {
    const cat = this.current;
    const { code, assignedBy } = await placeItem(cat, req, this.name, this.encoder, this.itemIndex);
    const next = cat.withItem(req.id, code);
    const meta = metaOf(req);
    const embedding = req.embedding ? Float32Array.from(req.embedding) : undefined;
    await this.store.record({
      op: 'add',
      id: req.id,
      code: [...code],
      ...(embedding ? { embedding } : {}),
      ...(meta ? { meta } : {}),
    });
    this.current = next;
    if (meta) this.metadata.set(req.id, meta);
    else this.metadata.delete(req.id);
    this.codeIndex.add(req.id, this.codeEmbedder.embed(code));
    if (this.itemIndex && embedding?.length === this.itemIndex.dim) this.itemIndex.add(req.id, embedding);
    return { item: req.id, code, assignedBy };
  }

  /** Removes a live item from decoding and similarity; its code stays reserved for histories. */
  async removeItem(item: ItemId): Promise<{ item: ItemId; code: Code }> {
    const cat = this.current;
    const code = cat.live.encode(item);
    if (code === undefined)
      throw new SemidError('SEMID_ERR_NOT_FOUND', `item "${item}" is not a live item of bundle "${this.name}"`);
    const next = cat.withoutItem(item);
    await this.store.record({ op: 'remove', id: item, code: [...code] });
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

/** The base table with the store's removals retired and its additions live. */
function applyOverlay(table: CodeTable, store: OverlayStore): Catalogue {
  try {
    const removed = new Map<ItemId, Code>();
    for (const [item, code] of store.removed) removed.set(item, table.encode(item) ?? code);
    const addedKeys = new Set([...store.added.values()].map((a) => codeKey(a.code)));
    const entries: [ItemId, Code][] = [];
    for (const [item, code] of table.entries()) {
      if (removed.has(item) || store.added.has(item)) continue;
      if (addedKeys.has(codeKey(code))) {
        throw new SemidError(
          'SEMID_ERR_COLLISION',
          `an added item's code [${code}] is now held by index item "${item}"`,
        );
      }
      entries.push([item, code]);
    }
    for (const [item, a] of store.added) entries.push([item, a.code]);
    return new Catalogue(new CodeTable(table.levelSizes, entries), removed);
  } catch (e) {
    if (e instanceof SemidError) {
      throw new SemidError(
        e.code === 'SEMID_ERR_COLLISION' ? 'SEMID_ERR_COLLISION' : 'SEMID_ERR_ARTIFACT_CORRUPT',
        `the bundle's item journal does not fit its index: ${e.message}. Remove or fix overlay.journal (it records items added or deleted through the API)`,
      );
    }
    throw e;
  }
}
