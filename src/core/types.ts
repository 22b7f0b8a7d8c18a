/** Core data types shared by every part of semid: items, interactions, datasets, splits and codes. */

/** A real catalogue entry's id, as the dataset spells it. */
export type ItemId = string;
/** A user's id, as the dataset spells it. */
export type UserId = string;

/** The fixed-length tuple naming one item, coarse to fine, e.g. `[12, 201, 7, 0]`. */
export type Code = readonly number[];

/** One catalogue item with its text. Fields the source lacks are left out. */
export interface Item {
  id: ItemId;
  title?: string;
  categories?: string[];
  brand?: string;
  description?: string;
}

/** One user-item interaction. `timestamp` orders a user's interactions (seconds, or a position). */
export interface Interaction {
  user: UserId;
  item: ItemId;
  timestamp: number;
  /** The part of a pre-split dataset (train/valid/test files) the row came from; absent otherwise. */
  split?: SplitPart;
}

/** A part of a pre-split dataset. */
export type SplitPart = 'train' | 'valid' | 'test';

/** A loaded dataset before preprocessing. */
export interface Dataset {
  /** Short name, e.g. "beauty", "ml-100k", "synthetic". */
  name: string;
  items: Item[];
  interactions: Interaction[];
  /** What the loader reported on the way (bad rows skipped, unknown items...). Nothing is dropped silently. */
  report: LoadReport;
  /** True when the source ships its own train/valid/test split (every interaction carries `split`). */
  presplit?: boolean;
}

/** Counts of everything a loader or preprocessing step left out, with the reason. */
export interface LoadReport {
  /** Rows that could not be parsed and were skipped (only with skipBad). */
  badRows: number;
  /** Interactions whose item is not in the catalogue (kept out of sequences). */
  unknownItemInteractions: number;
  /** Distinct unknown item ids seen. */
  unknownItems: number;
  /** Exact duplicate (user, item, timestamp) rows removed. */
  duplicateRows: number;
  /** Interactions removed by the k-core filter. */
  kcoreRemoved: number;
  /** Free-form warnings, one line each. */
  warnings: string[];
}

/** One leave-one-out example: the history (oldest first, capped at maxHistory) and the item that follows. */
export interface Example {
  user: UserId;
  history: ItemId[];
  target: ItemId;
}

/**
 * A dataset after preprocessing and the leave-one-out split used by TIGER, P5 and LETTER:
 * per user, last item -> test, second-to-last -> valid, every earlier prefix -> a training example.
 */
export interface SplitData {
  name: string;
  /** The catalogue, in dataset order. */
  items: Item[];
  /** item id -> position in `items`. */
  itemIndex: ReadonlyMap<ItemId, number>;
  /** Users in first-seen order, aligned with `sequences`. */
  users: UserId[];
  /** Each user's full chronological sequence (stable tie order). */
  sequences: ItemId[][];
  /** Each user's sequence without the valid and test items: the ONLY interactions an index may fit on. */
  trainSequences: ItemId[][];
  /** Training examples: every prefix of trainSequences (target at position >= 1). */
  train: Example[];
  valid: Example[];
  test: Example[];
  /** History cap used for the examples. */
  maxHistory: number;
  report: LoadReport;
  /** True when valid/test come from the dataset's own split files rather than leave-one-out. */
  presplit?: boolean;
}

/** Returns an empty load report. */
export function emptyReport(): LoadReport {
  return { badRows: 0, unknownItemInteractions: 0, unknownItems: 0, duplicateRows: 0, kcoreRemoved: 0, warnings: [] };
}
