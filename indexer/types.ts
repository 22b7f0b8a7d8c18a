/**
 * The indexing-scheme interface. Every scheme (random, sequential, ..., letter) implements
 * IndexingScheme and passes the one shared contract suite (tests/indexer/contract.test.ts).
 */
import type { CodeTable } from '../src/core/codes.js';
import type { ConfigSpec } from '../src/core/config.js';
import type { Rng } from '../src/core/rng.js';
import type { Item, ItemId } from '../src/core/types.js';
import type { Diagnostics } from './shared/diagnostics.js';

export type { CollisionMode, Diagnostics, LevelDiagnostics } from './shared/diagnostics.js';

/** Every scheme name, a closed literal union. */
export type SchemeName =
  | 'random'
  | 'sequential'
  | 'atomic'
  | 'title'
  | 'category'
  | 'keywords'
  | 'collaborative'
  | 'rqvae'
  | 'rqkmeans'
  | 'hybrid'
  | 'letter'
  | 'imported';

/** What a scheme may fit on: the catalogue and the TRAIN split only (never valid/test targets). */
export interface FitInput {
  items: readonly Item[];
  /** Each user's training sequence (valid and test items removed), oldest first. */
  trainSequences: readonly (readonly ItemId[])[];
  rng: Rng;
  /** Progress lines for long fits. */
  log?: (line: string) => void;
}

/** A fitted index: the code table plus what is needed to encode new items later. */
export interface FittedIndex {
  table: CodeTable;
  diagnostics: Diagnostics;
  /** Writes the scheme's extra state (vectoriser, weights, codebooks) into the artifact dir. */
  saveState?(dir: string): Promise<void>;
  /**
   * The item vectors the codes were fitted on ([items, dim] float32 in catalogue order), when the
   * scheme has them; written as item-embeddings.f32/.json so the server's similar-items search uses
   * them instead of code embeddings.
   */
  itemEmbeddings?: { dim: number; data: Float32Array };
}

/** Encodes NEW items (cold start) with a fitted index: returns a code prefix per item, before dedup. */
export interface ItemEncoder {
  encode(items: readonly Item[]): Promise<number[][]>;
}

export interface IndexingScheme<C extends object = object> {
  readonly name: SchemeName;
  readonly description: string;
  /** Every config field: kind, default, bounds and doc (rendered by `--help` and the docs). */
  readonly spec: ConfigSpec<C>;
  /** The defaults of `spec`. */
  readonly defaults: C;
  /** Validates a partial config; reports ALL problems at once (SEMID_ERR_BAD_CONFIG). */
  resolve(partial: Partial<C> | undefined): C;
  fit(input: FitInput, config: C): Promise<FittedIndex>;
  /** Loads what `saveState` wrote, for encoding new items; absent when the scheme cannot encode new items. */
  loadEncoder?(dir: string, config: C): Promise<ItemEncoder>;
}
