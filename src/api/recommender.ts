/**
 * Recommender: a bundle opened in-process, for applications that call semid directly rather than over
 * HTTP. It is the server's Bundle (same catalogue, constrained beam search, cold-start placement and
 * overlay persistence) loaded with the real index and model loaders.
 */
import { basename, resolve } from 'node:path';
import { type AssignedBy, Bundle, type NewItem, type RecommendedItem } from '../../server/bundle.js';
import { SemidError } from '../core/errors.js';
import type { Code, ItemId } from '../core/types.js';
import { bundleLoader, type ServeRuntime } from './bundle.js';

/** Options of `Recommender.open`. */
export interface OpenOptions {
  /** Model runtime: `auto` (onnxruntime, exporting the model when needed; the default), `onnx` or `tfjs`. */
  runtime?: ServeRuntime;
  /** Write items added or removed to `<dir>/overlay.json` so they survive a restart. Default true. */
  persist?: boolean;
}

/** Options of `recommend` and `recommendBatch`. */
export interface RecommendOptions {
  /** How many items. Default 10. */
  k?: number;
  /** Beams kept per decoding step. Default max(k, 20). */
  beamWidth?: number;
  /** Never recommend an item of the history. Default false. */
  excludeHistory?: boolean;
}

export type { AssignedBy, NewItem, RecommendedItem };

/** A scored candidate of `score`: its log-likelihood after the history (higher is better). */
export interface ScoredItem {
  item: ItemId;
  score: number;
  code: Code;
}

/** A neighbour of `similar`: cosine similarity by item embedding, or by code when the bundle has none. */
export interface SimilarItem {
  item: ItemId;
  similarity: number;
  code: Code;
}

function positiveInt(v: number, name: string, max: number): number {
  if (!Number.isInteger(v) || v < 1 || v > max) {
    throw new SemidError('SEMID_ERR_BAD_INPUT', `${name} must be an integer in [1, ${max}], got ${v}`);
  }
  return v;
}

/** A bundle (index + trained model) ready to recommend, score and change items. Call `close()` when done. */
export class Recommender {
  private closed = false;

  private constructor(private readonly bundle: Bundle) {}

  /**
   * Opens a bundle directory (a model directory written by `train` / `semid train`, which carries its
   * index; see docs/API.md for the other layouts). Works from any working directory.
   * @throws SemidError SEMID_ERR_ARTIFACT_MISSING / _CORRUPT naming what is missing
   */
  static async open(dir: string, opts: OpenOptions = {}): Promise<Recommender> {
    const abs = resolve(dir);
    const parts = await bundleLoader(opts.runtime ?? 'auto')(abs);
    const bundle = await Bundle.create(basename(abs), abs, parts, opts.persist ?? true, false);
    return new Recommender(bundle);
  }

  /** The bundle directory. */
  get dir(): string {
    return this.bundle.dir as string;
  }

  /** Scheme, runtime, index and model directories. */
  get info(): Readonly<Record<string, string | number>> {
    return this.bundle.info;
  }

  /** Live items (those recommendations can return). */
  get size(): number {
    return this.bundle.catalogue.size;
  }

  /** Codebook size per level. */
  get levelSizes(): readonly number[] {
    return this.bundle.catalogue.levelSizes;
  }

  /** The code of a live or removed item, or undefined. */
  codeOf(item: ItemId): Code | undefined {
    return this.bundle.catalogue.lookup(item)?.code;
  }

  /** The live item a code names, or undefined. */
  itemOf(code: Code): ItemId | undefined {
    return this.bundle.catalogue.itemOf(code);
  }

  /**
   * The top-k items after `history` (item ids, oldest first), best first, by constrained beam search.
   * @throws SemidError SEMID_ERR_UNKNOWN_ITEM listing unknown ids, SEMID_ERR_HISTORY_EMPTY
   */
  async recommend(history: readonly ItemId[], opts: RecommendOptions = {}): Promise<RecommendedItem[]> {
    const [out] = await this.recommendBatch([history], opts);
    return out as RecommendedItem[];
  }

  /** `recommend` for several histories in one batched beam search (same options for all). */
  async recommendBatch(
    histories: readonly (readonly ItemId[])[],
    opts: RecommendOptions = {},
  ): Promise<RecommendedItem[][]> {
    this.assertOpen();
    const k = positiveInt(opts.k ?? 10, 'k', 1000);
    const beamWidth = positiveInt(opts.beamWidth ?? Math.max(k, 20), 'beamWidth', 1000);
    if (histories.length === 0) return [];
    const out = await this.bundle.recommend(histories, {
      k,
      beamWidth,
      excludeHistory: opts.excludeHistory ?? false,
      mode: 'constrained',
    });
    return out.map((r) => r.items);
  }

  /** Log-likelihood of each candidate item after `history`, in the candidates' order. */
  async score(history: readonly ItemId[], candidates: readonly ItemId[]): Promise<ScoredItem[]> {
    this.assertOpen();
    return (await this.bundle.score(history, candidates)).scores;
  }

  /** The k items most similar to `item` (itself excluded), most similar first. */
  similar(item: ItemId, k = 10): SimilarItem[] {
    this.assertOpen();
    positiveInt(k, 'k', 1000);
    return this.bundle.similar(item, k).items;
  }

  /**
   * Adds an item: its code is the given one (a prefix is completed), else the index encoder's from its
   * text, else the nearest item's by embedding. Persisted before it is visible.
   * @throws SemidError SEMID_ERR_CONFLICT when the item exists or the code is taken
   */
  addItem(item: NewItem): Promise<{ item: ItemId; code: Code; assignedBy: AssignedBy }> {
    this.assertOpen();
    return this.bundle.addItem(item);
  }

  /** Removes a live item from recommendations; its code stays reserved so histories naming it still read. */
  removeItem(item: ItemId): Promise<{ item: ItemId; code: Code }> {
    this.assertOpen();
    return this.bundle.removeItem(item);
  }

  /** Frees the model. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.bundle.dispose();
  }

  private assertOpen(): void {
    if (this.closed) throw new SemidError('SEMID_ERR_BAD_INPUT', 'this Recommender is closed; open the bundle again');
  }
}
