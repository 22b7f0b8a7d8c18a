/**
 * Constrained decoding on plain Float32Arrays: logits processors (mask rows in place and compose as a
 * list, as in transformers.js `logits_process.js`), the trie constraint, and batched beam search.
 *
 * Scoring choice: every row from the model is turned into log-probabilities with a log-softmax over
 * the FULL vocabulary first, and only then masked by the processors (the order of Hugging Face
 * `generate`, whose `prefix_allowed_tokens_fn` masks log-probs). A beam's score is therefore the
 * true log-probability of its code under the model, `sum_l log p(token_l | history, prefix)`, and
 * scores of different items are comparable. Renormalising over the valid continuations instead would
 * favour items in sparse subtrees (a prefix with one child gets probability 1 at the next level).
 * A session with `itemScores` (an item-level model's dense item head) adds its score to every finished
 * code before the last level's beams are chosen, so it re-ranks and also decides which items survive
 * the last level; the score stays comparable across items of one user. Unconstrained search ignores it.
 *
 * Speed: in constrained search without extra processors no row is rewritten; each row's log-sum-exp
 * is computed once (`logSumExp`, a table-driven exp about 2.5x faster than Math.exp in V8, within
 * ~1e-15 relative) and only the trie's continuations are scored as float32(logit - lse), bit for bit
 * what the full path (`logSoftmaxInPlace`, then masks) would have stored.
 */

import type { TokenLayout } from './codes.js';
import { SemidError } from './errors.js';
import type { BeamRow, DecodingSession, Recommendation } from './model.js';
import { TopK } from './topk.js';
import type { CodeTrie } from './trie.js';
import type { Code, ItemId } from './types.js';

/** What a processor knows about the rows of one decoding step. */
export interface StepContext {
  /** The level being generated (0 = coarsest). */
  level: number;
  /** The rows as sent to the model: batch user index and token prefix. */
  rows: readonly BeamRow[];
  /**
   * Each row's prefix as code values, aligned with `rows`. Undefined for a row whose tokens are not a
   * well-formed code prefix (possible only in unconstrained decoding).
   */
  prefixes: readonly (Code | undefined)[];
}

/** Changes next-token rows in place: one Float32Array of length vocabSize per row of `ctx.rows`. */
export interface LogitsProcessor {
  process(rows: Float32Array[], ctx: StepContext): void;
}

/** Applies processors in order. */
export function applyProcessors(processors: readonly LogitsProcessor[], rows: Float32Array[], ctx: StepContext): void {
  for (const p of processors) p.process(rows, ctx);
}

/**
 * Keeps only the tokens of the trie's valid continuations at the current level; everything else
 * (other levels' tokens, specials, dead values) becomes -Infinity.
 */
export class TrieConstraint implements LogitsProcessor {
  constructor(
    readonly trie: CodeTrie,
    readonly layout: TokenLayout,
  ) {}
  process(rows: Float32Array[], ctx: StepContext): void {
    const kept: number[] = [];
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r] as Float32Array;
      const prefix = ctx.prefixes[r];
      const values = prefix === undefined ? [] : this.trie.next(prefix);
      kept.length = 0;
      for (const v of values) kept.push(row[this.layout.token(ctx.level, v)] as number);
      row.fill(Number.NEGATIVE_INFINITY);
      for (let j = 0; j < values.length; j++)
        row[this.layout.token(ctx.level, values[j] as number)] = kept[j] as number;
    }
  }
}

/**
 * Masks continuations whose subtree holds only excluded items (e.g. the user's history), per batch
 * user. Because a beam is never spent on an all-excluded prefix, every surviving beam still reaches
 * at least one allowed item, so a beam width >= k gives k allowed items whenever k exist.
 */
export class ExcludeItems implements LogitsProcessor {
  /** Per batch user: parent prefix key -> (child value -> number of excluded items under the child). */
  private readonly excludedUnder: (Map<string, Map<number, number>> | undefined)[];
  constructor(
    readonly trie: CodeTrie,
    readonly layout: TokenLayout,
    exclude: readonly (ReadonlySet<ItemId> | undefined)[],
  ) {
    this.excludedUnder = exclude.map((set) => {
      if (set === undefined || set.size === 0) return undefined;
      const m = new Map<string, Map<number, number>>();
      for (const item of set) {
        const code = trie.codeOf(item);
        if (code === undefined) continue;
        for (let l = 0; l < code.length; l++) {
          const k = code.slice(0, l).join(',');
          let byValue = m.get(k);
          if (byValue === undefined) {
            byValue = new Map();
            m.set(k, byValue);
          }
          const v = code[l] as number;
          byValue.set(v, (byValue.get(v) ?? 0) + 1);
        }
      }
      return m;
    });
  }
  /**
   * The values that must not follow `prefix` for batch user `user`: those whose whole subtree is
   * excluded. Undefined when there is none.
   */
  blocked(user: number, prefix: Code | undefined): number[] | undefined {
    const m = this.excludedUnder[user];
    if (m === undefined || prefix === undefined) return undefined;
    const byValue = m.get(prefix.join(','));
    if (byValue === undefined) return undefined;
    const out: number[] = [];
    for (const [v, ex] of byValue) {
      if (ex >= this.trie.count([...prefix, v])) out.push(v);
    }
    return out.length > 0 ? out : undefined;
  }
  process(rows: Float32Array[], ctx: StepContext): void {
    for (let r = 0; r < rows.length; r++) {
      const blocked = this.blocked((ctx.rows[r] as BeamRow).user, ctx.prefixes[r]);
      if (blocked === undefined) continue;
      const row = rows[r] as Float32Array;
      for (const v of blocked) row[this.layout.token(ctx.level, v)] = Number.NEGATIVE_INFINITY;
    }
  }
}

/** 2^(j/64), j = 0..63: the table of `expNonPositive`. */
const EXP_T = Float64Array.from({ length: 64 }, (_, j) => 2 ** (j / 64));
/** 2^-e, e = 0..1099: the power-of-two scale of `expNonPositive` (exact). */
const EXP_P2 = Float64Array.from({ length: 1100 }, (_, e) => 2 ** -e);
const EXP_INV = 64 / Math.LN2;
/** ln2/64 split in a float32-exact high part and the rest, so that k * HI is exact for |k| < 2^29. */
const EXP_HI = Math.fround(Math.LN2 / 64);
const EXP_LO = Math.LN2 / 64 - EXP_HI;
/** 1.5 * 2^52: adding and subtracting it rounds a double to the nearest integer. */
const EXP_SHIFT = 6755399441055744;

/**
 * exp(x) for -708 <= x <= 0 (NaN gives NaN), within about 3e-16 relative of Math.exp, and about 2.5x
 * faster in V8: x = k ln2/64 + r with |r| <= ln2/128, exp(r) by its degree-6 Taylor polynomial
 * (truncation < 1e-19), times 2^(k mod 64 / 64) from a table and 2^floor(k/64) exactly.
 */
function expNonPositive(x: number): number {
  const k = x * EXP_INV + EXP_SHIFT - EXP_SHIFT;
  const r = x - k * EXP_HI - k * EXP_LO;
  const p = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720))))));
  const ki = k | 0;
  return (EXP_P2[-(ki >> 6)] as number) * (EXP_T[ki & 63] as number) * p;
}

/**
 * log(sum_i exp(row_i)) over the whole row, float64 accumulation (terms below e^-708 of the largest
 * are skipped: they cannot change the sum). The log-softmax of entry i is `row[i] - lse`.
 * @throws SEMID_ERR_INTERNAL when the row holds NaN or +Infinity, or no finite value.
 */
export function logSumExp(row: Float32Array): number {
  const n = row.length;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const x = row[i] as number;
    if (x > max) max = x;
  }
  let sum = 0;
  if (max > Number.NEGATIVE_INFINITY && max < Number.POSITIVE_INFINITY) {
    for (let i = 0; i < n; i++) {
      const x = (row[i] as number) - max;
      // NaN fails this test too, so it reaches the sum and makes it NaN.
      if (x < -708) continue;
      sum += expNonPositive(x);
    }
  }
  const lse = max + Math.log(sum);
  // NaN anywhere makes `sum` NaN; +Infinity or an all -Infinity row makes `max` non-finite.
  if (!Number.isFinite(max) || !Number.isFinite(lse)) {
    throw new SemidError(
      'SEMID_ERR_INTERNAL',
      `model returned a logit row with NaN/Infinity or no finite value (max ${max}); expected finite logits`,
    );
  }
  return lse;
}

/** Replaces `row` by its log-softmax over all entries (float64 accumulation); returns the logsumexp. */
export function logSoftmaxInPlace(row: Float32Array): number {
  const lse = logSumExp(row);
  for (let i = 0; i < row.length; i++) row[i] = (row[i] as number) - lse;
  return lse;
}

/** Options of `beamSearch`. */
export interface BeamSearchOptions {
  layout: TokenLayout;
  /** The valid codes. Every returned item is in it. */
  trie: CodeTrie;
  /** Beams kept per user at each level; the effective width is max(beamWidth, topK). */
  beamWidth: number;
  /** Items returned per user. */
  topK: number;
  /** Extra processors, run after the trie constraint (and after the exclusion) on log-prob rows. */
  processors?: readonly LogitsProcessor[];
  /** Per batch user, items that must not be returned (e.g. the history); undefined = none. */
  exclude?: readonly (ReadonlySet<ItemId> | undefined)[];
}

/** One finished beam in unconstrained decoding. */
export interface GeneratedCode {
  /** The generated tokens, one per level. */
  tokens: number[];
  /** The code when every token is a code token of its own level, else undefined. */
  code: Code | undefined;
  /** The item with that code, or undefined: an invalid code (hallucinated item). */
  item: ItemId | undefined;
  /** Sum of the tokens' log-probabilities under the model. */
  score: number;
}

interface Beam {
  user: number;
  tokens: number[];
  /** Code values; undefined once a token is not a code token of its level. */
  values: number[] | undefined;
  score: number;
}

/** A candidate extension during selection. */
interface Cand {
  score: number;
  /** Order of discovery: ties go to the earlier (higher-ranked parent beam, then lower token). */
  seq: number;
  beam: Beam;
  token: number;
}

/** True when a is worse than b (lower score; on equal scores, discovered later). */
function worse(a: Cand, b: Cand): boolean {
  return a.score < b.score || (a.score === b.score && a.seq > b.seq);
}

/** Whether a candidate with this score could enter (cheap pre-check before allocating it). */
function admits(heap: TopK<Cand>, score: number): boolean {
  return !heap.full || score > (heap.worst() as Cand).score;
}

/**
 * How `search` scores a row. `full`: log-softmax the whole row, run the processors on it, then read
 * the trie's continuations (constrained) or every finite entry (unconstrained). `trie`: the
 * constrained fast path when no extra processor needs whole rows; the row's log-sum-exp is computed
 * once and only the trie's continuations are scored as `logit - lse`, which is exactly what the
 * full path reads after its log-softmax and trie mask (no row is written).
 */
type Scoring =
  | { kind: 'full'; processors: readonly LogitsProcessor[]; trie?: CodeTrie }
  | { kind: 'trie'; trie: CodeTrie; exclude?: ExcludeItems };

/**
 * The shared level-by-level search. Per level: one `session.next` call for every live beam of every
 * user, log-softmax over the full vocabulary, processors, then per user the best `width` extensions
 * over all finite entries. Returns per user the finished beams, best first (at most `width`).
 */
async function search(
  session: DecodingSession,
  users: number,
  layout: TokenLayout,
  width: number,
  scoring: Scoring,
): Promise<Beam[][]> {
  const L = layout.levels;
  let beams: Beam[][] = Array.from({ length: users }, (_, u) => [{ user: u, tokens: [], values: [], score: 0 }]);
  for (let level = 0; level < L; level++) {
    const flat = beams.flat();
    if (flat.length === 0) break;
    const rows: BeamRow[] = flat.map((b) => ({ user: b.user, prefix: b.tokens }));
    const out = await session.next(rows);
    if (out.length !== rows.length) {
      throw new SemidError(
        'SEMID_ERR_INTERNAL',
        `decoding session returned ${out.length} rows for ${rows.length} requested`,
      );
    }
    for (const row of out) {
      if (row.length !== layout.vocabSize) {
        throw new SemidError(
          'SEMID_ERR_INTERNAL',
          `decoding session returned a row of ${row.length} logits, expected the vocabulary size ${layout.vocabSize}; does the model match the index?`,
        );
      }
    }
    if (scoring.kind === 'full') {
      for (const row of out) logSoftmaxInPlace(row);
      applyProcessors(scoring.processors, out, { level, rows, prefixes: flat.map((b) => b.values) });
    }
    const heaps = Array.from({ length: users }, () => new TopK<Cand>(width, worse));
    const off = layout.offsets[level] as number;
    const trie = scoring.trie;
    const extra = level === L - 1 && trie !== undefined ? await finalScores(session, flat, trie) : undefined;
    let seq = 0;
    for (let r = 0; r < flat.length; r++) {
      const beam = flat[r] as Beam;
      const row = out[r] as Float32Array;
      const heap = heaps[beam.user] as TopK<Cand>;
      const bonus = extra?.scores.subarray(extra.start[r] as number);
      if (scoring.kind === 'trie') {
        const lse = logSumExp(row);
        const values = beam.values === undefined ? [] : scoring.trie.next(beam.values);
        const blocked = scoring.exclude?.blocked(beam.user, beam.values);
        for (let j = 0; j < values.length; j++) {
          const v = values[j] as number;
          if (blocked?.includes(v)) continue;
          // Rounded to float32 as the full path's in-place log-softmax stores it.
          const lp = Math.fround((row[off + v] as number) - lse);
          if (lp === Number.NEGATIVE_INFINITY) continue;
          const s = beam.score + lp + (bonus ? (bonus[j] as number) : 0);
          seq++;
          if (admits(heap, s)) heap.push({ score: s, seq, beam, token: off + v });
        }
        continue;
      }
      if (scoring.trie !== undefined) {
        // Same order as the full scan (values ascending = tokens ascending), so ties break alike.
        const values = beam.values === undefined ? [] : scoring.trie.next(beam.values);
        for (let j = 0; j < values.length; j++) {
          const v = values[j] as number;
          const lp = row[off + v] as number;
          if (lp === Number.NEGATIVE_INFINITY) continue;
          const s = beam.score + lp + (bonus ? (bonus[j] as number) : 0);
          seq++;
          if (admits(heap, s)) heap.push({ score: s, seq, beam, token: off + v });
        }
        continue;
      }
      for (let t = 0; t < row.length; t++) {
        const lp = row[t] as number;
        if (lp === Number.NEGATIVE_INFINITY) continue;
        const s = beam.score + lp;
        seq++;
        if (admits(heap, s)) heap.push({ score: s, seq, beam, token: t });
      }
    }
    beams = heaps.map((h) =>
      h.sorted().map((c) => {
        const p = c.token - off;
        const ok = c.beam.values !== undefined && p >= 0 && p < (layout.levelSizes[level] as number);
        return {
          user: c.beam.user,
          tokens: [...c.beam.tokens, c.token],
          values: ok ? [...(c.beam.values as number[]), p] : undefined,
          score: c.score,
        };
      }),
    );
  }
  return beams;
}

/**
 * The session's per-item scores (DecodingSession.itemScores) of every trie continuation of the last
 * level's beams, in the order `search` visits them: row r's continuations start at `start[r]`.
 * Undefined when the session has none.
 */
async function finalScores(
  session: DecodingSession,
  flat: readonly Beam[],
  trie: CodeTrie,
): Promise<{ scores: Float32Array; start: Int32Array } | undefined> {
  if (typeof session.itemScores !== 'function') return undefined;
  const start = new Int32Array(flat.length);
  const users: number[] = [];
  const codes: Code[] = [];
  flat.forEach((beam, r) => {
    start[r] = codes.length;
    if (beam.values === undefined) return;
    for (const v of trie.next(beam.values)) {
      users.push(beam.user);
      codes.push([...beam.values, v]);
    }
  });
  const scores = await session.itemScores(users, codes);
  if (scores.length !== codes.length) {
    throw new SemidError(
      'SEMID_ERR_INTERNAL',
      `decoding session returned ${scores.length} item scores for ${codes.length} codes`,
    );
  }
  return { scores, start };
}

function checkCommon(session: DecodingSession, users: number, beamWidth: number, topK: number): void {
  if (!session || typeof session.next !== 'function') {
    throw new SemidError('SEMID_ERR_BAD_INPUT', 'beamSearch needs a DecodingSession (from GenerativeModel.begin)');
  }
  if (!Number.isInteger(users) || users < 0) {
    throw new SemidError('SEMID_ERR_BAD_INPUT', `users must be a non-negative integer, got ${users}`);
  }
  if (!Number.isInteger(beamWidth) || beamWidth < 1 || !Number.isInteger(topK) || topK < 1) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `beamWidth and topK must be positive integers, got beamWidth ${beamWidth}, topK ${topK}`,
    );
  }
}

/**
 * Constrained beam search: per batch user (index into the histories given to `model.begin`), the
 * top-k items, best first, each with its code and its log-probability under the model. Every result
 * is a real item of the trie and never an excluded one; fewer than k come back only when the trie
 * holds fewer than k allowed items. One `session.next` call per level covers all beams of all users.
 */
export async function beamSearch(
  session: DecodingSession,
  users: number,
  opts: BeamSearchOptions,
): Promise<Recommendation[][]> {
  checkCommon(session, users, opts.beamWidth, opts.topK);
  const { layout, trie, topK } = opts;
  if (layout.levels !== trie.levels || layout.levelSizes.some((s, l) => s !== trie.levelSizes[l])) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `token layout levels [${layout.levelSizes}] do not match the trie's [${trie.levelSizes}]; use the index the model was trained on`,
    );
  }
  if (opts.exclude !== undefined && opts.exclude.length !== users) {
    throw new SemidError('SEMID_ERR_BAD_INPUT', `exclude has ${opts.exclude.length} entries for ${users} users`);
  }
  const exclude = opts.exclude?.some((s) => s !== undefined && s.size > 0)
    ? new ExcludeItems(trie, layout, opts.exclude)
    : undefined;
  // Extra processors see whole masked log-prob rows; without them only the trie's continuations are scored.
  const scoring: Scoring =
    opts.processors !== undefined && opts.processors.length > 0
      ? {
          kind: 'full',
          processors: [new TrieConstraint(trie, layout), ...(exclude ? [exclude] : []), ...opts.processors],
          trie,
        }
      : { kind: 'trie', trie, ...(exclude ? { exclude } : {}) };
  const beams = await search(session, users, layout, Math.max(opts.beamWidth, topK), scoring);
  return beams.map((list) => {
    const recs: Recommendation[] = [];
    for (const b of list) {
      if (recs.length === topK) break;
      if (b.values === undefined || b.values.length !== layout.levels) continue;
      const item = trie.item(b.values);
      // Only a concurrent trie.remove during the search can leave a beam without an item.
      if (item === undefined) continue;
      recs.push({ item, score: b.score, code: Object.freeze(b.values) });
    }
    return recs;
  });
}

/** Options of `beamSearchUnconstrained`: no trie constraint; the trie only tells valid from invalid. */
export interface UnconstrainedOptions {
  layout: TokenLayout;
  trie: CodeTrie;
  beamWidth: number;
  topK: number;
  processors?: readonly LogitsProcessor[];
}

/**
 * Unconstrained beam search over the whole vocabulary (any token at any level, specials included),
 * to measure how often the model generates codes of no item. Per user the top-k generated token
 * sequences, best first, each with its item or undefined.
 */
export async function beamSearchUnconstrained(
  session: DecodingSession,
  users: number,
  opts: UnconstrainedOptions,
): Promise<GeneratedCode[][]> {
  checkCommon(session, users, opts.beamWidth, opts.topK);
  const { layout, trie, topK } = opts;
  const beams = await search(session, users, layout, Math.max(opts.beamWidth, topK), {
    kind: 'full',
    processors: opts.processors ?? [],
  });
  return beams.map((list) =>
    list.slice(0, topK).map((b) => {
      const code = b.values !== undefined && b.values.length === layout.levels ? Object.freeze(b.values) : undefined;
      return { tokens: b.tokens, code, item: code === undefined ? undefined : trie.item(code), score: b.score };
    }),
  );
}
