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
 */

import type { TokenLayout } from './codes.js';
import { SemidError } from './errors.js';
import type { BeamRow, DecodingSession, Recommendation } from './model.js';
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
  process(rows: Float32Array[], ctx: StepContext): void {
    for (let r = 0; r < rows.length; r++) {
      const m = this.excludedUnder[(ctx.rows[r] as BeamRow).user];
      const prefix = ctx.prefixes[r];
      if (m === undefined || prefix === undefined) continue;
      const byValue = m.get(prefix.join(','));
      if (byValue === undefined) continue;
      const row = rows[r] as Float32Array;
      for (const [v, ex] of byValue) {
        if (ex >= this.trie.count([...prefix, v])) row[this.layout.token(ctx.level, v)] = Number.NEGATIVE_INFINITY;
      }
    }
  }
}

/** Replaces `row` by its log-softmax over all entries (float64 accumulation); returns the logsumexp. */
export function logSoftmaxInPlace(row: Float32Array): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < row.length; i++) if ((row[i] as number) > max) max = row[i] as number;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp((row[i] as number) - max);
  const lse = max + Math.log(sum);
  // NaN anywhere makes `sum` NaN; +Infinity or an all -Infinity row makes `max` non-finite.
  if (!Number.isFinite(max) || !Number.isFinite(lse)) {
    throw new SemidError(
      'SEMID_ERR_INTERNAL',
      `model returned a logit row with NaN/Infinity or no finite value (max ${max}); expected finite logits`,
    );
  }
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

/** Keeps the best `cap` candidates in a binary min-heap (root = worst kept). */
class TopHeap {
  readonly heap: Cand[] = [];
  constructor(readonly cap: number) {}
  /** Whether a candidate with this score could enter (cheap pre-check before allocating it). */
  admits(score: number): boolean {
    if (this.heap.length < this.cap) return true;
    return score > (this.heap[0] as Cand).score;
  }
  push(c: Cand): void {
    const h = this.heap;
    if (h.length < this.cap) {
      h.push(c);
      let i = h.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(h[i] as Cand, h[p] as Cand)) break;
        [h[i], h[p]] = [h[p] as Cand, h[i] as Cand];
        i = p;
      }
      return;
    }
    if (!worse(h[0] as Cand, c)) return;
    h[0] = c;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && worse(h[l] as Cand, h[m] as Cand)) m = l;
      if (r < h.length && worse(h[r] as Cand, h[m] as Cand)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m] as Cand, h[i] as Cand];
      i = m;
    }
  }
  /** Best first. */
  sorted(): Cand[] {
    return [...this.heap].sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
  }
}

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
  processors: readonly LogitsProcessor[],
  /** When given (constrained search), only the trie's continuations are scanned, not the whole row. */
  trie?: CodeTrie,
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
      logSoftmaxInPlace(row);
    }
    applyProcessors(processors, out, { level, rows, prefixes: flat.map((b) => b.values) });
    const heaps = Array.from({ length: users }, () => new TopHeap(width));
    let seq = 0;
    for (let r = 0; r < flat.length; r++) {
      const beam = flat[r] as Beam;
      const row = out[r] as Float32Array;
      const heap = heaps[beam.user] as TopHeap;
      if (trie !== undefined) {
        // Same order as the full scan (values ascending = tokens ascending), so ties break alike.
        const off = layout.offsets[level] as number;
        for (const v of beam.values === undefined ? [] : trie.next(beam.values)) {
          const lp = row[off + v] as number;
          if (lp === Number.NEGATIVE_INFINITY) continue;
          const s = beam.score + lp;
          seq++;
          if (heap.admits(s)) heap.push({ score: s, seq, beam, token: off + v });
        }
        continue;
      }
      for (let t = 0; t < row.length; t++) {
        const lp = row[t] as number;
        if (lp === Number.NEGATIVE_INFINITY) continue;
        const s = beam.score + lp;
        seq++;
        if (heap.admits(s)) heap.push({ score: s, seq, beam, token: t });
      }
    }
    beams = heaps.map((h) =>
      h.sorted().map((c) => {
        const p = c.token - (layout.offsets[level] as number);
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
  const processors: LogitsProcessor[] = [new TrieConstraint(trie, layout)];
  if (opts.exclude?.some((s) => s !== undefined && s.size > 0))
    processors.push(new ExcludeItems(trie, layout, opts.exclude));
  processors.push(...(opts.processors ?? []));
  const beams = await search(session, users, layout, Math.max(opts.beamWidth, topK), processors, trie);
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
  const beams = await search(session, users, layout, Math.max(opts.beamWidth, topK), opts.processors ?? []);
  return beams.map((list) =>
    list.slice(0, topK).map((b) => {
      const code = b.values !== undefined && b.values.length === layout.levels ? Object.freeze(b.values) : undefined;
      return { tokens: b.tokens, code, item: code === undefined ? undefined : trie.item(code), score: b.score };
    }),
  );
}
