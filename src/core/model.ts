/**
 * The interfaces between generative models, decoding, evaluation and the server. Runtimes
 * (TensorFlow.js, onnxruntime) implement DecodingSession; decoding works on plain Float32Arrays.
 */
import type { Code, ItemId } from './types.js';

/**
 * One decoding step's request: for user `user` (index into the batch given to `begin`), the code
 * tokens generated so far (`prefix`, model tokens, possibly empty).
 */
export interface BeamRow {
  user: number;
  prefix: readonly number[];
}

/** Next-token logits for a batch of users whose histories were fixed by `GenerativeModel.begin`. */
export interface DecodingSession {
  /** One Float32Array of length vocabSize per row: unnormalised next-token logits. */
  next(rows: readonly BeamRow[]): Promise<Float32Array[]>;
  /**
   * Optional: a score per finished code, added to its log-probability when beam search completes it
   * (an item-level model's dense item head: `denseFusion` * user vector . item embedding). Entry i
   * scores `codes[i]` (a complete code the trie holds) for batch user `users[i]`.
   */
  itemScores?(users: readonly number[], codes: readonly Code[]): Promise<Float32Array>;
  /** Frees what the session holds (caches, tensors). */
  dispose(): void;
}

/** A model that generates item codes as tokens (TokenLayout) from a user's history. */
export interface GenerativeModel {
  readonly vocabSize: number;
  /** How many history items the model reads; longer histories are cut to the most recent. */
  readonly maxHistory: number;
  /** Starts decoding for a batch of histories, each a list of item codes (oldest first). */
  begin(histories: readonly (readonly Code[])[]): Promise<DecodingSession>;
  dispose(): void;
}

/**
 * One recommended item. `score` is the code's log-probability under the model (higher is better), plus
 * the session's `itemScores` entry when it has one.
 */
export interface Recommendation {
  item: ItemId;
  score: number;
  code: Code;
}
