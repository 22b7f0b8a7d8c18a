/**
 * The types a bundle is built from and answers with: what a loader returns (`BundleParts`), how
 * new items are described and encoded, and the shapes of recommendation requests and results.
 */
import type { CodeTable } from '../src/core/codes.js';
import type { Code, Item, ItemId } from '../src/core/types.js';
import type { BundleDecoder } from './decoder.js';

/**
 * Encodes NEW items with the bundle's fitted index (structurally the indexer's ItemEncoder, plus an
 * optional embedding entry point). Returns a code or a code prefix per item, before dedup.
 */
export interface NewItemEncoder {
  encode?(items: readonly Item[]): Promise<number[][]>;
  /** Codes from item embeddings, each [dim] float32 in the index's embedding space. */
  encodeEmbeddings?(vectors: readonly Float32Array[]): Promise<number[][]>;
}

/** Descriptive fields of an item returned next to its id (when the catalogue has them). */
export interface ItemMeta {
  title?: string;
  /** The item's most specific category. */
  category?: string;
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
  /** Titles and categories of catalogue items, returned by item and recommendation routes. */
  metadata?: ReadonlyMap<ItemId, ItemMeta>;
  /**
   * Free-form description for /health and /metrics (scheme, model, runtime...). Values that look
   * like filesystem paths are never shown.
   */
  info?: Record<string, string | number>;
}

/** Loads a bundle's parts from its directory. Injected by the caller; tests pass fakes. */
export type LoadBundle = (dir: string) => Promise<BundleParts>;

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
export interface RecommendedItem extends ItemMeta {
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
