/**
 * BundleDecoder: what the server asks of a bundle's model, and ModelDecoder, the implementation over
 * any GenerativeModel (TensorFlow.js or onnxruntime; a fake logits table in tests) using the shared
 * beam search of src/core/decoding.ts. Scores are exact log-probabilities under the model: each
 * step's logits are log-softmax-normalised over the FULL vocabulary before any mask, so a
 * constrained recommendation's score equals `score()` of its code.
 */
import { TokenLayout } from '../src/core/codes.js';
import {
  beamSearch,
  beamSearchUnconstrained,
  type LogitsProcessor,
  logSoftmaxInPlace,
  type StepContext,
} from '../src/core/decoding.js';
import { SemidError } from '../src/core/errors.js';
import type { BeamRow, GenerativeModel, Recommendation } from '../src/core/model.js';
import type { Code, ItemId } from '../src/core/types.js';
import { type Catalogue, codeKey } from './catalogue.js';

/** A generated code with its log-probability under the model (higher is better). */
export interface ScoredCode {
  code: Code;
  score: number;
}

/** Options of a beam search. */
export interface BeamOptions {
  /** How many codes to return per history. */
  k: number;
  /** Beams kept per step; raised to k when smaller. */
  beamWidth: number;
}

/** What the server needs from a bundle's model. Histories are lists of item codes, oldest first. */
export interface BundleDecoder {
  /** How many history items the model reads; the server cuts longer histories to the most recent. */
  readonly maxHistory: number;
  /**
   * Constrained beam search: the top-k live items of `catalogue` per history, best first. Items in
   * `exclude[i]` are never returned for history i (and do not use up one of the k places).
   */
  recommend(
    histories: readonly (readonly Code[])[],
    catalogue: Catalogue,
    opts: BeamOptions & { exclude?: readonly ReadonlySet<ItemId>[] },
  ): Promise<Recommendation[][]>;
  /**
   * Free beam search (BIGRec-style): each level may take any value of its codebook, so a result may
   * name no item. Top-k well-formed codes per history, best first.
   */
  generate(histories: readonly (readonly Code[])[], catalogue: Catalogue, opts: BeamOptions): Promise<ScoredCode[][]>;
  /** Exact log-likelihood of each candidate's full code after `history`. */
  score(history: readonly Code[], candidates: readonly Code[]): Promise<number[]>;
  /** Frees the model. Called once, after the last request using it finished. */
  dispose(): void;
}

/**
 * Keeps each row to the tokens of the level being generated (specials and other levels' tokens
 * become -Infinity): free decoding still yields well-formed codes, which grounding can embed.
 */
export class LevelGrammar implements LogitsProcessor {
  constructor(readonly layout: TokenLayout) {}
  process(rows: Float32Array[], ctx: StepContext): void {
    const lo = this.layout.offsets[ctx.level] as number;
    const hi = lo + (this.layout.levelSizes[ctx.level] as number);
    for (const row of rows) {
      row.fill(Number.NEGATIVE_INFINITY, 0, lo);
      row.fill(Number.NEGATIVE_INFINITY, hi);
    }
  }
}

/** BundleDecoder over a GenerativeModel, with the bundle's TokenLayout. */
export class ModelDecoder implements BundleDecoder {
  readonly maxHistory: number;
  private readonly layout: TokenLayout;

  /** @param model a loaded model whose vocabulary is `new TokenLayout(levelSizes)`'s. */
  constructor(
    private readonly model: GenerativeModel,
    levelSizes: readonly number[],
  ) {
    this.layout = new TokenLayout(levelSizes);
    if (model.vocabSize !== this.layout.vocabSize) {
      throw new SemidError(
        'SEMID_ERR_ARTIFACT_CORRUPT',
        `model vocabulary has ${model.vocabSize} tokens, the index needs ${this.layout.vocabSize} (level sizes [${levelSizes}]); the model was trained on another index`,
      );
    }
    this.maxHistory = model.maxHistory;
  }

  async recommend(
    histories: readonly (readonly Code[])[],
    catalogue: Catalogue,
    opts: BeamOptions & { exclude?: readonly ReadonlySet<ItemId>[] },
  ): Promise<Recommendation[][]> {
    if (histories.length === 0) return [];
    const session = await this.model.begin(histories);
    try {
      return await beamSearch(session, histories.length, {
        layout: this.layout,
        trie: catalogue.trie,
        beamWidth: opts.beamWidth,
        topK: opts.k,
        ...(opts.exclude ? { exclude: opts.exclude } : {}),
      });
    } finally {
      session.dispose();
    }
  }

  async generate(
    histories: readonly (readonly Code[])[],
    catalogue: Catalogue,
    opts: BeamOptions,
  ): Promise<ScoredCode[][]> {
    if (histories.length === 0) return [];
    const session = await this.model.begin(histories);
    try {
      const out = await beamSearchUnconstrained(session, histories.length, {
        layout: this.layout,
        trie: catalogue.trie,
        beamWidth: opts.beamWidth,
        topK: opts.k,
        processors: [new LevelGrammar(this.layout)],
      });
      return out.map((list) => list.flatMap((g) => (g.code === undefined ? [] : [{ code: g.code, score: g.score }])));
    } finally {
      session.dispose();
    }
  }

  async score(history: readonly Code[], candidates: readonly Code[]): Promise<number[]> {
    if (candidates.length === 0) return [];
    const L = this.layout.levels;
    // One row per distinct proper prefix of the candidates, all in one batch.
    const rowIndex = new Map<string, number>();
    const rows: BeamRow[] = [];
    for (const c of candidates) {
      for (let l = 0; l < L; l++) {
        const k = codeKey(c.slice(0, l));
        if (!rowIndex.has(k)) {
          rowIndex.set(k, rows.length);
          rows.push({ user: 0, prefix: this.layout.tokens(c.slice(0, l)) });
        }
      }
    }
    const session = await this.model.begin([history]);
    try {
      const logits = await session.next(rows);
      for (const row of logits) logSoftmaxInPlace(row);
      // a model with item scores (a dense item head) adds them, as beam search does
      const extra =
        typeof session.itemScores === 'function'
          ? await session.itemScores(
              candidates.map(() => 0),
              candidates,
            )
          : undefined;
      return candidates.map((c, i) => {
        let s = extra ? (extra[i] as number) : 0;
        for (let l = 0; l < L; l++) {
          const r = rowIndex.get(codeKey(c.slice(0, l))) as number;
          s += (logits[r] as Float32Array)[this.layout.token(l, c[l] as number)] as number;
        }
        return s;
      });
    } finally {
      session.dispose();
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}
