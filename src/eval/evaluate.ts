/**
 * Evaluation under the standard protocol of TIGER / P5 / LETTER: leave-one-out, the history cut to
 * its most recent 20 items, full ranking over the whole catalogue (for a generative model: constrained
 * beam search over every valid code), Recall@{5,10,20} and NDCG@{5,10,20}.
 *
 * Nothing is skipped silently: a target that is not in the catalogue counts as a miss and is
 * reported; history items without a code are dropped from the model input and counted; examples are
 * never deduplicated. Also reported: catalogue coverage of the top-k lists, head/tail slices by item
 * popularity (train sequences only), and optionally the invalid-code rate of unconstrained decoding.
 */

import { writeFileAtomic } from '../core/artifact.js';
import { type CodeTable, TokenLayout } from '../core/codes.js';
import { beamSearch, beamSearchUnconstrained } from '../core/decoding.js';
import { SemidError } from '../core/errors.js';
import type { DecodingSession, GenerativeModel } from '../core/model.js';
import { Progress } from '../core/progress.js';
import { topIndices } from '../core/topk.js';
import { CodeTrie } from '../core/trie.js';
import type { Code, Example, ItemId, UserId } from '../core/types.js';
import { coverageAt, MetricAccumulator, type MetricValues } from './metrics.js';

/** Settings shared by `evaluate` and `evaluateRanker`. */
export interface ProtocolOptions {
  /** The examples to score (valid for model selection, test for the report). */
  examples: readonly Example[];
  /** Cut-offs; the lists are max(ks) long. Default [5, 10, 20]. */
  ks?: readonly number[];
  /** Most recent history items the model reads. Default 20 (also capped by the model's own limit). */
  maxHistory?: number;
  /** Users per model call. Default 64. */
  batchSize?: number;
  /** Never recommend an item of the user's (capped) history. Default false, as in the usual protocol. */
  excludeHistory?: boolean;
  /**
   * Each user's train sequence, for the head/tail slices (item popularity = count in these sequences
   * only, never valid/test targets). Slices are left out when absent.
   */
  trainSequences?: readonly (readonly ItemId[])[];
  /** Share of the catalogue, most popular first, that forms the head slice. Default 0.2. */
  headShare?: number;
  /** Writes one JSON line per evaluated user: {"user","history","target","items"} (top-k, best first). */
  dumpRecs?: string;
  /** Shows a progress bar (stderr) with this label. */
  progress?: string;
}

/** Options of `evaluate` (a generative model under constrained beam search). */
export interface EvaluateOptions extends ProtocolOptions {
  model: GenerativeModel;
  /** The index the model was trained on; its items are the catalogue. */
  table: CodeTable;
  /** Beam width. Default 20 (the effective width is at least max(ks)). */
  beamWidth?: number;
  /** Also run an unconstrained pass and report how many generated codes are no item. Default false. */
  invalidRate?: boolean;
}

/** Metrics over the examples whose target falls in one popularity slice. */
export interface SliceResult {
  /** Examples whose target is in the slice. */
  examples: number;
  /** Items in the slice. */
  items: number;
  metrics: MetricValues;
}

/** Invalid-code rate of unconstrained beam search. */
export interface InvalidReport {
  /** `invalid@k`: share of the first k generated codes, over all users, that name no item. */
  rates: Record<string, number>;
  /** Share of users whose best generated code names no item. */
  top1: number;
  seconds: number;
}

/** What an evaluation returns. */
export interface EvalResult {
  /** Examples evaluated (every one given). */
  examples: number;
  /** Catalogue size the ranking is over. */
  catalogue: number;
  /** recall@k, ndcg@k, mrr@K. */
  metrics: MetricValues;
  /** `coverage@k`: share of the catalogue in at least one user's top-k. */
  coverage: Record<string, number>;
  /**
   * `history@k`: mean number of the user's own history items (the history the model read) in its top-k,
   * and `targetInHistory`: share of examples whose target is one of them (how often a repeat can hit).
   */
  repeats: Record<string, number>;
  /** Head (the `headShare` most popular items by train count) and tail (the rest); absent without trainSequences. */
  slices?: { headShare: number; head: SliceResult; tail: SliceResult };
  /** Targets not in the catalogue: counted as misses, never skipped. */
  targetsNotInCatalogue: number;
  /** History items without a code, dropped from the model input. */
  historyItemsNotInCatalogue: number;
  /** Users that got fewer than max(ks) items (only when fewer allowed items exist). */
  shortLists: number;
  invalid?: InvalidReport;
  settings: { ks: number[]; maxHistory: number; excludeHistory: boolean; beamWidth?: number };
  /** Wall seconds: total, and inside the model + decoding. */
  seconds: { total: number; model: number };
}

/** Item -> number of occurrences in the train sequences. */
export function popularity(trainSequences: readonly (readonly ItemId[])[]): Map<ItemId, number> {
  const counts = new Map<ItemId, number>();
  for (const seq of trainSequences) for (const item of seq) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

/**
 * The head slice: the ceil(share * |catalogue|) most popular catalogue items (ties in catalogue order).
 */
export function headItems(
  catalogue: readonly ItemId[],
  counts: ReadonlyMap<ItemId, number>,
  share: number,
): Set<ItemId> {
  if (!(share > 0 && share < 1))
    throw new SemidError('SEMID_ERR_BAD_INPUT', `headShare must be in (0, 1), got ${share}`);
  const order = catalogue.map((item, i) => ({ item, i, c: counts.get(item) ?? 0 }));
  order.sort((a, b) => b.c - a.c || a.i - b.i);
  return new Set(order.slice(0, Math.ceil(share * catalogue.length)).map((x) => x.item));
}

/** Collects ranked lists into metrics, coverage, slices and the dump; shared by both evaluators. */
class Collector {
  readonly ks: number[];
  readonly maxK: number;
  private readonly all: MetricAccumulator;
  private readonly head: MetricAccumulator;
  private readonly tail: MetricAccumulator;
  private readonly lists: ItemId[][] = [];
  private readonly lines: string[] = [];
  private readonly headSet: Set<ItemId> | undefined;
  targetsMissing = 0;
  shortLists = 0;
  private readonly historyIn: number[];
  private targetInHistory = 0;
  constructor(
    ks: readonly number[],
    private readonly catalogue: ReadonlySet<ItemId>,
    private readonly opts: ProtocolOptions,
  ) {
    this.all = new MetricAccumulator(ks);
    this.ks = [...this.all.ks];
    this.maxK = this.ks[this.ks.length - 1] as number;
    this.historyIn = this.ks.map(() => 0);
    this.head = new MetricAccumulator(ks);
    this.tail = new MetricAccumulator(ks);
    if (opts.trainSequences !== undefined) {
      this.headSet = headItems([...catalogue], popularity(opts.trainSequences), opts.headShare ?? 0.2);
    }
  }
  add(ex: Example, history: readonly ItemId[], items: readonly ItemId[]): void {
    if (new Set(items).size !== items.length) {
      throw new SemidError('SEMID_ERR_INTERNAL', `the list for user "${ex.user}" repeats an item; ranking bug`);
    }
    if (items.length < this.maxK) this.shortLists++;
    if (!this.catalogue.has(ex.target)) this.targetsMissing++;
    const rank = items.indexOf(ex.target);
    this.all.add(rank);
    const own = new Set(history);
    if (own.has(ex.target)) this.targetInHistory++;
    this.ks.forEach((k, j) => {
      let n = 0;
      for (let i = 0; i < Math.min(k, items.length); i++) if (own.has(items[i] as ItemId)) n++;
      this.historyIn[j] = (this.historyIn[j] as number) + n;
    });
    if (this.headSet !== undefined) (this.headSet.has(ex.target) ? this.head : this.tail).add(rank);
    this.lists.push([...items]);
    if (this.opts.dumpRecs !== undefined) {
      const line: { user: UserId; history: readonly ItemId[]; target: ItemId; items: readonly ItemId[] } = {
        user: ex.user,
        history,
        target: ex.target,
        items,
      };
      this.lines.push(JSON.stringify(line));
    }
  }
  async finish(
    extra: Pick<EvalResult, 'historyItemsNotInCatalogue' | 'settings' | 'seconds' | 'invalid'>,
  ): Promise<EvalResult> {
    if (this.opts.dumpRecs !== undefined) {
      await writeFileAtomic(this.opts.dumpRecs, this.lines.length ? `${this.lines.join('\n')}\n` : '');
    }
    const coverage: Record<string, number> = {};
    for (const k of this.ks) coverage[`coverage@${k}`] = coverageAt(this.lists, k, this.catalogue.size);
    const n = Math.max(1, this.all.count);
    const repeats: Record<string, number> = { targetInHistory: this.targetInHistory / n };
    this.ks.forEach((k, j) => {
      repeats[`history@${k}`] = (this.historyIn[j] as number) / n;
    });
    const result: EvalResult = {
      examples: this.all.count,
      catalogue: this.catalogue.size,
      metrics: this.all.means(),
      coverage,
      repeats,
      targetsNotInCatalogue: this.targetsMissing,
      historyItemsNotInCatalogue: extra.historyItemsNotInCatalogue,
      shortLists: this.shortLists,
      settings: extra.settings,
      seconds: extra.seconds,
    };
    if (this.headSet !== undefined) {
      const size = this.headSet.size;
      result.slices = {
        headShare: this.opts.headShare ?? 0.2,
        head: { examples: this.head.count, items: size, metrics: this.head.means() },
        tail: { examples: this.tail.count, items: this.catalogue.size - size, metrics: this.tail.means() },
      };
    }
    if (extra.invalid !== undefined) result.invalid = extra.invalid;
    return result;
  }
}

function checkProtocol(o: ProtocolOptions): { ks: number[]; maxHistory: number; batchSize: number } {
  const ks = [...(o.ks ?? [5, 10, 20])];
  const maxHistory = o.maxHistory ?? 20;
  const batchSize = o.batchSize ?? 64;
  const problems: string[] = [];
  if (ks.length === 0 || ks.some((k) => !Number.isInteger(k) || k < 1))
    problems.push(`ks must be positive integers, got [${ks}]`);
  if (!Number.isInteger(maxHistory) || maxHistory < 1)
    problems.push(`maxHistory must be a positive integer, got ${maxHistory}`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    problems.push(`batchSize must be a positive integer, got ${batchSize}`);
  if (problems.length > 0) throw new SemidError('SEMID_ERR_BAD_INPUT', problems.join('; '));
  return { ks, maxHistory, batchSize };
}

/**
 * Evaluates a generative model: per batch of users, `model.begin` on the history codes and
 * constrained beam search for the top max(ks) items (every one a real catalogue item).
 */
export async function evaluate(opts: EvaluateOptions): Promise<EvalResult> {
  const t0 = performance.now();
  const { ks, batchSize } = checkProtocol(opts);
  const { model, table, examples } = opts;
  const maxHistory = Math.min(opts.maxHistory ?? 20, model.maxHistory);
  const beamWidth = opts.beamWidth ?? 20;
  if (!Number.isInteger(beamWidth) || beamWidth < 1) {
    throw new SemidError('SEMID_ERR_BAD_INPUT', `beamWidth must be a positive integer, got ${beamWidth}`);
  }
  const layout = new TokenLayout(table.levelSizes);
  if (model.vocabSize !== layout.vocabSize) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `the model's vocabulary has ${model.vocabSize} tokens but the index's layout needs ${layout.vocabSize}; evaluate the model with the index it was trained on`,
    );
  }
  const trie = CodeTrie.fromTable(table);
  const catalogue = new Set(table.items());
  const col = new Collector(ks, catalogue, opts);
  const progress = opts.progress !== undefined ? new Progress(opts.progress, examples.length) : undefined;
  let historyMissing = 0;
  let modelSeconds = 0;

  // Histories as the model sees them: of the most recent maxHistory items, those that have a code.
  const prepare = (batch: readonly Example[]) =>
    batch.map((ex) => {
      const history = ex.history.slice(-maxHistory);
      const codes: Code[] = [];
      for (const item of history) {
        const c = table.encode(item);
        if (c === undefined) historyMissing++;
        else codes.push(c);
      }
      return { history, codes };
    });

  const run = async <T>(codes: Code[][], f: (s: DecodingSession) => Promise<T>) => {
    const tm = performance.now();
    const session = await model.begin(codes);
    try {
      return await f(session);
    } finally {
      session.dispose();
      modelSeconds += (performance.now() - tm) / 1000;
    }
  };

  const sortedKs = col.ks;
  const maxK = col.maxK;
  for (let i = 0; i < examples.length; i += batchSize) {
    const batch = examples.slice(i, i + batchSize);
    const prepared = prepare(batch);
    const exclude = opts.excludeHistory ? prepared.map((p) => new Set(p.history)) : undefined;
    const recs = await run(
      prepared.map((p) => p.codes),
      (s) => beamSearch(s, batch.length, { layout, trie, beamWidth, topK: maxK, exclude }),
    );
    batch.forEach((ex, j) => {
      col.add(
        ex,
        (prepared[j] as { history: ItemId[] }).history,
        (recs[j] ?? []).map((r) => r.item),
      );
    });
    if (i + batchSize < examples.length) progress?.update(i + batchSize);
  }
  progress?.done();

  let invalid: InvalidReport | undefined;
  if (opts.invalidRate) {
    const ti = performance.now();
    const bad = new Array<number>(sortedKs.length).fill(0);
    const total = new Array<number>(sortedKs.length).fill(0);
    let top1 = 0;
    const p2 =
      opts.progress !== undefined ? new Progress(`${opts.progress} (unconstrained)`, examples.length) : undefined;
    // The history counts were taken in the constrained pass; do not count them twice.
    const missingBefore = historyMissing;
    for (let i = 0; i < examples.length; i += batchSize) {
      const batch = examples.slice(i, i + batchSize);
      const prepared = prepare(batch);
      const gen = await run(
        prepared.map((p) => p.codes),
        (s) => beamSearchUnconstrained(s, batch.length, { layout, trie, beamWidth, topK: maxK }),
      );
      for (const list of gen) {
        if (list[0] !== undefined && list[0].item === undefined) top1++;
        sortedKs.forEach((k, j) => {
          const head = list.slice(0, k);
          total[j] = (total[j] as number) + head.length;
          bad[j] = (bad[j] as number) + head.filter((g) => g.item === undefined).length;
        });
      }
      if (i + batchSize < examples.length) p2?.update(i + batchSize);
    }
    p2?.done();
    historyMissing = missingBefore;
    const rates: Record<string, number> = {};
    sortedKs.forEach((k, j) => {
      rates[`invalid@${k}`] = (total[j] as number) > 0 ? (bad[j] as number) / (total[j] as number) : 0;
    });
    invalid = {
      rates,
      top1: examples.length > 0 ? top1 / examples.length : 0,
      seconds: (performance.now() - ti) / 1000,
    };
  }

  return col.finish({
    historyItemsNotInCatalogue: historyMissing,
    settings: { ks: sortedKs, maxHistory, excludeHistory: opts.excludeHistory ?? false, beamWidth },
    seconds: { total: (performance.now() - t0) / 1000, model: modelSeconds },
    invalid,
  });
}

/**
 * A training-loop validation hook: the model's `metric` (default `ndcg@10`) on `opts.examples` under
 * the same protocol. Pass a fixed subset of the valid examples to bound its cost per epoch.
 */
export function validationScore(
  opts: Omit<EvaluateOptions, 'model' | 'dumpRecs' | 'invalidRate'>,
  metric = 'ndcg@10',
): (model: GenerativeModel) => Promise<number> {
  return async (model) => {
    const r = await evaluate({ ...opts, model });
    const v = r.metrics[metric];
    if (v === undefined) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `validation metric "${metric}" is not computed; choose one of ${Object.keys(r.metrics).join(', ')}`,
      );
    }
    return v;
  };
}

/**
 * An ID-based model that scores the whole catalogue for a history (SASRec, most-popular). Scores are
 * aligned with `items`; higher is better.
 */
export interface ItemRanker {
  /** The catalogue, in the order of the score vectors. */
  readonly items: readonly ItemId[];
  /**
   * One Float32Array of items.length scores per history (oldest item first). Evaluators only read
   * the rows, so a ranker may return the same array for several histories.
   */
  score(histories: readonly (readonly ItemId[])[]): Promise<Float32Array[]>;
}

/** Options of `evaluateRanker`. */
export interface EvaluateRankerOptions extends ProtocolOptions {
  ranker: ItemRanker;
}

/** Evaluates an ID-based ranker under the same protocol (full ranking over `ranker.items`). */
export async function evaluateRanker(opts: EvaluateRankerOptions): Promise<EvalResult> {
  const t0 = performance.now();
  const { ks, maxHistory, batchSize } = checkProtocol(opts);
  const { ranker, examples } = opts;
  const index = new Map<ItemId, number>();
  for (let i = 0; i < ranker.items.length; i++) index.set(ranker.items[i] as ItemId, i);
  if (index.size !== ranker.items.length) {
    throw new SemidError('SEMID_ERR_BAD_INPUT', 'the ranker lists the same item twice in its catalogue');
  }
  const col = new Collector(ks, new Set(ranker.items), opts);
  const maxK = col.maxK;
  const progress = opts.progress !== undefined ? new Progress(opts.progress, examples.length) : undefined;
  let historyMissing = 0;
  let modelSeconds = 0;
  for (let i = 0; i < examples.length; i += batchSize) {
    const batch = examples.slice(i, i + batchSize);
    const histories = batch.map((ex) => ex.history.slice(-maxHistory));
    for (const h of histories) for (const item of h) if (!index.has(item)) historyMissing++;
    const tm = performance.now();
    const scores = await ranker.score(histories);
    modelSeconds += (performance.now() - tm) / 1000;
    if (scores.length !== batch.length) {
      throw new SemidError(
        'SEMID_ERR_INTERNAL',
        `ranker returned ${scores.length} score rows for ${batch.length} histories`,
      );
    }
    batch.forEach((ex, j) => {
      const row = scores[j] as Float32Array;
      if (row.length !== ranker.items.length) {
        throw new SemidError(
          'SEMID_ERR_INTERNAL',
          `ranker returned ${row.length} scores, expected one per catalogue item (${ranker.items.length})`,
        );
      }
      const h = histories[j] as ItemId[];
      const skip = opts.excludeHistory
        ? new Set(h.map((item) => index.get(item)).filter((x): x is number => x !== undefined))
        : undefined;
      col.add(
        ex,
        h,
        topIndices(row, maxK, skip).map((x) => ranker.items[x] as ItemId),
      );
    });
    if (i + batchSize < examples.length) progress?.update(i + batchSize);
  }
  progress?.done();
  return col.finish({
    historyItemsNotInCatalogue: historyMissing,
    settings: { ks: col.ks, maxHistory, excludeHistory: opts.excludeHistory ?? false },
    seconds: { total: (performance.now() - t0) / 1000, model: modelSeconds },
    invalid: undefined,
  });
}

/**
 * Flattens a result into the numbers a comparison report shows: metrics, coverage, history items per
 * top-k, head/tail
 * recall and NDCG (`head.recall@10`...), invalid-code rates, and the miss counts.
 */
export function resultValues(r: EvalResult): Record<string, number> {
  const out: Record<string, number> = { ...r.metrics, ...r.coverage, ...r.repeats };
  if (r.slices) {
    for (const [k, v] of Object.entries(r.slices.head.metrics)) out[`head.${k}`] = v;
    for (const [k, v] of Object.entries(r.slices.tail.metrics)) out[`tail.${k}`] = v;
  }
  if (r.invalid) {
    Object.assign(out, r.invalid.rates);
    out['invalid.top1'] = r.invalid.top1;
  }
  out.targetsNotInCatalogue = r.targetsNotInCatalogue;
  out.examples = r.examples;
  return out;
}
