/**
 * Request micro-batching: BatchingDecoder wraps a BundleDecoder and coalesces concurrent
 * `recommend` / `generate` calls into one batched beam search (one `model.begin` and one
 * `session.next` per level for all of them). onnxruntime is far cheaper per user in a batch (a
 * 16-user batch costs about 12x one user, docs/BENCHMARKS.md "Inference"), so under load throughput rises while
 * a lone request is not delayed:
 *
 * - a call arriving while nothing decodes starts at the next turn of the event loop (`setImmediate`),
 *   together with every call that arrived in the same turn (requests parsed from one socket read);
 * - calls arriving while `maxInFlight` batches decode wait in a queue; when a batch finishes, the
 *   queue is flushed as the next batch (up to `maxBatch` histories), so the batch size follows the
 *   load by itself;
 * - with `maxInFlight` > 1, a free slot next to a running batch waits up to `maxWaitMs` for the
 *   queue to fill before it starts a smaller batch.
 *
 * Calls are compatible (share a batch) when they decode the same catalogue snapshot with the same
 * effective beam width (`max(k, beamWidth)`); constrained calls with different k run with the largest
 * k and each gets its own first k, which is exactly its unbatched answer (the beam search's top-k
 * list does not depend on k once the width is fixed). Per-history exclusions travel with their
 * history. If a batched call fails, each of its calls is retried alone, so one request's failure
 * never fails the others.
 */
import { type AnyField, type ConfigOf, resolveConfig } from '../src/core/config.js';
import { SemidError } from '../src/core/errors.js';
import type { Recommendation } from '../src/core/model.js';
import type { Code, ItemId } from '../src/core/types.js';
import type { Catalogue } from './catalogue.js';
import type { BeamOptions, BundleDecoder, ScoredCode } from './decoder.js';

/** Micro-batching settings: kind, default, bounds, doc. */
export const BATCH_SPEC = {
  maxBatch: {
    kind: 'int',
    default: 32,
    min: 1,
    max: 4096,
    doc: 'most histories decoded in one batched beam search; a single call with more runs alone',
  },
  maxInFlight: {
    kind: 'int',
    default: 1,
    min: 1,
    max: 64,
    doc: 'batches decoding at the same time (onnxruntime already uses both cores for one)',
  },
  maxWaitMs: {
    kind: 'number',
    default: 1,
    min: 0,
    max: 1000,
    doc: 'with maxInFlight > 1: how long (ms) a batch that could start next to a running one waits for more calls first; ignored when nothing is decoding',
  },
} satisfies Record<string, AnyField>;

/** BatchOptions with every default filled in. */
export type ResolvedBatchOptions = ConfigOf<typeof BATCH_SPEC>;

/** Micro-batching settings (all optional; see BATCH_SPEC for each field and its default). */
export type BatchOptions = Partial<ResolvedBatchOptions>;

/**
 * Fills in defaults and checks bounds.
 * @throws SEMID_ERR_BAD_INPUT naming every non-integer or out-of-range setting.
 */
export function resolveBatchOptions(o: BatchOptions = {}): ResolvedBatchOptions {
  return resolveConfig<ResolvedBatchOptions>('batching', BATCH_SPEC, o, { code: 'SEMID_ERR_BAD_INPUT' });
}

/** Counters of a BatchingDecoder (for /metrics and benchmarks). */
export interface BatchStats {
  /** Batched decoder calls made (retries after a failed batch included). */
  batches: number;
  /** Calls (requests) served through batches. */
  calls: number;
  /** Histories decoded. */
  histories: number;
  /** Largest batch, in histories. */
  largest: number;
  /** Batches that failed and were retried call by call. */
  splitRetries: number;
}

interface Job {
  kind: 'recommend' | 'generate';
  histories: readonly (readonly Code[])[];
  catalogue: Catalogue;
  k: number;
  /** Effective width: max(k, beamWidth). */
  width: number;
  exclude: readonly ReadonlySet<ItemId>[] | undefined;
  queuedAt: number;
  resolve: (out: Recommendation[][] | ScoredCode[][]) => void;
  reject: (e: unknown) => void;
}

const NO_EXCLUSION: ReadonlySet<ItemId> = new Set();

/** A BundleDecoder that batches concurrent recommend / generate calls on `inner`; `score` passes through. */
export class BatchingDecoder implements BundleDecoder {
  readonly maxHistory: number;
  /** The settings in use. */
  readonly options: ResolvedBatchOptions;
  private readonly queue: Job[] = [];
  private inFlight = 0;
  private scheduled = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly counts: BatchStats = { batches: 0, calls: 0, histories: 0, largest: 0, splitRetries: 0 };

  constructor(
    private readonly inner: BundleDecoder,
    opts: BatchOptions = {},
  ) {
    this.maxHistory = inner.maxHistory;
    this.options = resolveBatchOptions(opts);
  }

  /** A copy of the counters. */
  get stats(): BatchStats {
    return { ...this.counts };
  }

  recommend(
    histories: readonly (readonly Code[])[],
    catalogue: Catalogue,
    opts: BeamOptions & { exclude?: readonly ReadonlySet<ItemId>[] },
  ): Promise<Recommendation[][]> {
    if (opts.exclude !== undefined && opts.exclude.length !== histories.length) {
      return Promise.reject(
        new SemidError(
          'SEMID_ERR_BAD_INPUT',
          `exclude has ${opts.exclude.length} entries for ${histories.length} histories`,
        ),
      );
    }
    return this.submit('recommend', histories, catalogue, opts, opts.exclude) as Promise<Recommendation[][]>;
  }

  generate(histories: readonly (readonly Code[])[], catalogue: Catalogue, opts: BeamOptions): Promise<ScoredCode[][]> {
    return this.submit('generate', histories, catalogue, opts, undefined) as Promise<ScoredCode[][]>;
  }

  score(history: readonly Code[], candidates: readonly Code[]): Promise<number[]> {
    return this.inner.score(history, candidates);
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.inner.dispose();
  }

  private submit(
    kind: Job['kind'],
    histories: readonly (readonly Code[])[],
    catalogue: Catalogue,
    opts: BeamOptions,
    exclude: Job['exclude'],
  ): Promise<Recommendation[][] | ScoredCode[][]> {
    if (histories.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({
        kind,
        histories,
        catalogue,
        k: opts.k,
        width: Math.max(opts.k, opts.beamWidth),
        exclude,
        queuedAt: performance.now(),
        resolve,
        reject,
      });
      this.schedule();
    });
  }

  /** Runs `pump` at the next turn of the event loop (once, however many calls arrive meanwhile). */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Starts batches while slots are free. `waitOver`: the window timer fired, so the oldest call has waited enough. */
  private pump(waitOver = false): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const { maxBatch, maxInFlight, maxWaitMs } = this.options;
    while (this.queue.length > 0 && this.inFlight < maxInFlight) {
      if (this.inFlight > 0 && maxWaitMs > 0) {
        // Next to a running batch: start only a full batch, or once the oldest call has waited enough.
        const first = this.queue[0] as Job;
        const waited = performance.now() - first.queuedAt;
        const ready = this.queue.filter((j) => compatible(j, first)).reduce((n, j) => n + j.histories.length, 0);
        if (ready < maxBatch && waited < maxWaitMs && !waitOver) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.pump(true);
          }, maxWaitMs - waited);
          return;
        }
      }
      const batch = this.take(maxBatch);
      waitOver = false;
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        if (this.queue.length > 0) this.schedule();
      });
    }
  }

  /** Removes from the queue the oldest call and the compatible calls after it, up to `max` histories. */
  private take(max: number): Job[] {
    const first = this.queue[0] as Job;
    const batch: Job[] = [];
    let users = 0;
    for (let i = 0; i < this.queue.length; ) {
      const j = this.queue[i] as Job;
      if (compatible(j, first) && (batch.length === 0 || users + j.histories.length <= max)) {
        batch.push(j);
        users += j.histories.length;
        this.queue.splice(i, 1);
        if (users >= max) break;
      } else i++;
    }
    return batch;
  }

  /** Decodes a batch and hands every call its own part; a failed batch is retried call by call. */
  private async run(batch: readonly Job[]): Promise<void> {
    try {
      const out = await this.decode(batch);
      let at = 0;
      for (const j of batch) {
        const part = out.slice(at, at + j.histories.length);
        at += j.histories.length;
        j.resolve(
          j.kind === 'recommend' ? (part as Recommendation[][]).map((l) => l.slice(0, j.k)) : (part as ScoredCode[][]),
        );
      }
    } catch (e) {
      if (batch.length === 1) {
        (batch[0] as Job).reject(e);
        return;
      }
      this.counts.splitRetries++;
      for (const j of batch) {
        try {
          j.resolve(await this.decode([j]));
        } catch (err) {
          j.reject(err);
        }
      }
    }
  }

  private decode(batch: readonly Job[]): Promise<Recommendation[][] | ScoredCode[][]> {
    const first = batch[0] as Job;
    const histories = batch.flatMap((j) => j.histories);
    this.counts.batches++;
    this.counts.calls += batch.length;
    this.counts.histories += histories.length;
    this.counts.largest = Math.max(this.counts.largest, histories.length);
    if (first.kind === 'generate') {
      return this.inner.generate(histories, first.catalogue, { k: first.k, beamWidth: first.width });
    }
    const k = Math.max(...batch.map((j) => j.k));
    const exclude = batch.some((j) => j.exclude !== undefined)
      ? batch.flatMap((j) => j.exclude ?? j.histories.map(() => NO_EXCLUSION))
      : undefined;
    return this.inner.recommend(histories, first.catalogue, {
      k,
      beamWidth: first.width,
      ...(exclude ? { exclude } : {}),
    });
  }
}

/** Whether two calls can share one batched search (see the module comment). */
function compatible(a: Job, b: Job): boolean {
  return (
    a.kind === b.kind &&
    a.catalogue === b.catalogue &&
    a.width === b.width &&
    // generate keeps the top-k of the free search as is, so only equal k batch together
    (a.kind === 'recommend' || a.k === b.k)
  );
}
