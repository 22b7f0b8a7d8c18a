/**
 * BundleDecoder: what the server asks of a bundle's model, and ModelDecoder, the implementation over
 * any GenerativeModel (TensorFlow.js or onnxruntime; a fake logits table in tests). Scores are exact
 * log-probabilities under the model: each step's logits are log-softmax-normalised over the FULL
 * vocabulary before any mask, so a constrained recommendation's score equals `score()` of its code.
 */
import { TokenLayout } from '../src/core/codes.js';
import { SemidError } from '../src/core/errors.js';
import type { BeamRow, DecodingSession, GenerativeModel } from '../src/core/model.js';
import type { Code } from '../src/core/types.js';
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
   * Constrained beam search: the top-k live codes of `catalogue` per history, best first. Codes in
   * `exclude[i]` are never returned for history i (and do not use up one of the k places).
   */
  recommend(
    histories: readonly (readonly Code[])[],
    catalogue: Catalogue,
    opts: BeamOptions & { exclude?: readonly (readonly Code[])[] },
  ): Promise<ScoredCode[][]>;
  /**
   * Free beam search (BIGRec-style): each level may take any value of its codebook, so a result may
   * name no item. Top-k well-formed codes per history, best first.
   */
  generate(histories: readonly (readonly Code[])[], opts: BeamOptions): Promise<ScoredCode[][]>;
  /** Exact log-likelihood of each candidate's full code after `history`. */
  score(history: readonly Code[], candidates: readonly Code[]): Promise<number[]>;
  /** Frees the model. Called once, after the last request using it finished. */
  dispose(): void;
}

/** log(sum(exp(row))), stable. */
function logSumExp(row: Float32Array): number {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < row.length; i++) if ((row[i] as number) > m) m = row[i] as number;
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.exp((row[i] as number) - m);
  return m + Math.log(s);
}

interface Beam {
  values: number[];
  score: number;
}

/** Keeps the `n` best of `cands` (score descending, ties by code order for determinism). */
function topN(cands: Beam[], n: number): Beam[] {
  cands.sort((a, b) => b.score - a.score || compareCodes(a.values, b.values));
  if (cands.length > n) cands.length = n;
  return cands;
}

function compareCodes(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** BundleDecoder over a GenerativeModel, with the bundle's TokenLayout. */
export class ModelDecoder implements BundleDecoder {
  readonly maxHistory: number;
  private readonly layout: TokenLayout;

  /** @param model a loaded model whose vocabulary follows `new TokenLayout(levelSizes)`. */
  constructor(
    private readonly model: GenerativeModel,
    levelSizes: readonly number[],
  ) {
    this.layout = new TokenLayout(levelSizes);
    if (model.vocabSize < this.layout.vocabSize) {
      throw new SemidError(
        'SEMID_ERR_ARTIFACT_CORRUPT',
        `model vocabulary has ${model.vocabSize} tokens, the index needs at least ${this.layout.vocabSize} (level sizes [${levelSizes}]); the model was trained on another index`,
      );
    }
    this.maxHistory = model.maxHistory;
  }

  recommend(
    histories: readonly (readonly Code[])[],
    catalogue: Catalogue,
    opts: BeamOptions & { exclude?: readonly (readonly Code[])[] },
  ): Promise<ScoredCode[][]> {
    const excluded = histories.map((_, u) => new Set((opts.exclude?.[u] ?? []).map(codeKey)));
    const L = this.layout.levels;
    return this.search(histories, opts, (u, values) => {
      const next = catalogue.next(values);
      if (values.length < L - 1 || excluded[u]?.size === 0) return next;
      return next.filter((v) => !excluded[u]?.has(codeKey([...values, v])));
    });
  }

  generate(histories: readonly (readonly Code[])[], opts: BeamOptions): Promise<ScoredCode[][]> {
    const all = this.layout.levelSizes.map((s) => Array.from({ length: s }, (_, v) => v));
    return this.search(histories, opts, (_u, values) => all[values.length] as number[]);
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
      const lse = logits.map(logSumExp);
      return candidates.map((c) => {
        let s = 0;
        for (let l = 0; l < L; l++) {
          const r = rowIndex.get(codeKey(c.slice(0, l))) as number;
          s += ((logits[r] as Float32Array)[this.layout.token(l, c[l] as number)] as number) - (lse[r] as number);
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

  /** Beam search where `allowed(user, prefixValues)` lists the values the next level may take. */
  private async search(
    histories: readonly (readonly Code[])[],
    opts: BeamOptions,
    allowed: (user: number, values: readonly number[]) => readonly number[],
  ): Promise<ScoredCode[][]> {
    const width = Math.max(opts.beamWidth, opts.k);
    const L = this.layout.levels;
    let beams: Beam[][] = histories.map(() => [{ values: [], score: 0 }]);
    if (histories.length === 0) return [];
    const session: DecodingSession = await this.model.begin(histories);
    try {
      for (let l = 0; l < L; l++) {
        const rows: BeamRow[] = [];
        const owners: [number, Beam][] = [];
        beams.forEach((bs, u) => {
          for (const b of bs) {
            rows.push({ user: u, prefix: this.layout.tokens(b.values) });
            owners.push([u, b]);
          }
        });
        if (rows.length === 0) break;
        const logits = await session.next(rows);
        const cands: Beam[][] = histories.map(() => []);
        owners.forEach(([u, b], r) => {
          const row = logits[r] as Float32Array;
          const lse = logSumExp(row);
          for (const v of allowed(u, b.values)) {
            const s = b.score + (row[this.layout.token(l, v)] as number) - lse;
            if (Number.isNaN(s)) continue;
            (cands[u] as Beam[]).push({ values: [...b.values, v], score: s });
          }
        });
        beams = cands.map((c) => topN(c, l === L - 1 ? opts.k : width));
      }
    } finally {
      session.dispose();
    }
    return beams.map((bs) => bs.filter((b) => b.values.length === L).map((b) => ({ code: b.values, score: b.score })));
  }
}
