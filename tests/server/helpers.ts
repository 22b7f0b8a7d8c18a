/**
 * Server test fixtures: a tiny catalogue and a fake GenerativeModel whose logits come from a
 * hand-made table, so the exact log-probability of every code (and so the expected top items) can be
 * computed by hand or by brute force.
 */
import { type AppOptions, buildApp } from '../../server/app.js';
import type { BatchOptions } from '../../server/batcher.js';
import type { BundleParts, LoadBundle } from '../../server/bundle.js';
import { ModelDecoder } from '../../server/decoder.js';
import { BundleRegistry } from '../../server/registry.js';
import { CodeTable, TokenLayout } from '../../src/core/codes.js';
import type { BeamRow, DecodingSession, GenerativeModel } from '../../src/core/model.js';
import type { Code } from '../../src/core/types.js';

/** Level sizes of the fixture index: 3 x 4 x 2 codes. */
export const LEVELS = [3, 4, 2] as const;
export const LAYOUT = new TokenLayout(LEVELS);

/** The fixture catalogue: item -> code. */
export const CATALOGUE: Record<string, number[]> = {
  a: [0, 0, 0],
  b: [0, 1, 0],
  c: [1, 0, 0],
  d: [1, 0, 1],
  e: [2, 3, 0],
  f: [0, 0, 1],
  g: [2, 1, 1],
};

/** Per-level base logits of each value: W[level][value]. */
export const W: number[][] = [
  [2, 1, 0.5],
  [1.5, 1, 0, -1],
  [0.2, 0],
];

/** Logit every non-code or other-level token gets (it still takes probability mass). */
export const OTHER_LOGIT = -1;

/** Bonus for the level-0 value of the last history item: the model "prefers the same region". */
export const HISTORY_BONUS = 3;

/**
 * The fake model's logits for one row: level-l token v gets W[l][v] (+ HISTORY_BONUS at level 0
 * for the last history item's first value); every other token gets OTHER_LOGIT.
 */
export function fakeLogits(history: readonly Code[], prefixTokens: readonly number[]): Float32Array {
  const row = new Float32Array(LAYOUT.vocabSize).fill(OTHER_LOGIT);
  const l = prefixTokens.length;
  const last = history[history.length - 1];
  for (let v = 0; v < (LEVELS[l] ?? 0); v++) {
    row[LAYOUT.token(l, v)] = (W[l]?.[v] ?? 0) + (l === 0 && last?.[0] === v ? HISTORY_BONUS : 0);
  }
  return row;
}

/** Exact log-probability of `code` under the fake model (the brute-force reference). */
export function exactLogProb(history: readonly Code[], code: Code): number {
  let s = 0;
  for (let l = 0; l < code.length; l++) {
    const row = fakeLogits(history, LAYOUT.tokens(code.slice(0, l)));
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
    s += (row[LAYOUT.token(l, code[l] as number)] as number) - lse;
  }
  return s;
}

/** The fake GenerativeModel. Counts sessions, optional per-step delay, fails if used after dispose. */
export class FakeModel implements GenerativeModel {
  readonly vocabSize = LAYOUT.vocabSize;
  disposed = false;
  sessions = 0;
  openSessions = 0;
  /** histories seen by `begin`, for assertions */
  seen: Code[][] = [];
  constructor(
    readonly maxHistory = 3,
    private readonly delayMs = 0,
    /** When it returns true for any history of a session, that session's `next` throws (a model failure). */
    private readonly failOn?: (history: readonly Code[]) => boolean,
  ) {}
  async begin(histories: readonly (readonly Code[])[]): Promise<DecodingSession> {
    if (this.disposed) throw new Error('FakeModel used after dispose');
    this.sessions++;
    this.openSessions++;
    this.seen.push(...histories.map((h) => [...h]));
    const model = this;
    return {
      async next(rows: readonly BeamRow[]): Promise<Float32Array[]> {
        if (model.delayMs > 0) await new Promise((r) => setTimeout(r, model.delayMs));
        if (model.disposed) throw new Error('FakeModel used after dispose');
        if (model.failOn && histories.some((h) => model.failOn?.(h))) throw new Error('FakeModel failure on request');
        return rows.map((r) => fakeLogits(histories[r.user] ?? [], r.prefix));
      },
      dispose() {
        model.openSessions--;
      },
    };
  }
  dispose(): void {
    this.disposed = true;
  }
}

/** Bundle parts over the fixture catalogue and a fresh FakeModel. */
export function fakeParts(
  opts: {
    delayMs?: number;
    maxHistory?: number;
    embeddings?: boolean;
    extra?: Record<string, number[]>;
    failOn?: (history: readonly Code[]) => boolean;
    /** Give every catalogue item a title ("Item <id>") and a category ("cat <first level>"). */
    metadata?: boolean;
    /** Extra `info` entries (e.g. paths, which the server must never show). */
    info?: Record<string, string>;
  } = {},
): {
  parts: BundleParts;
  model: FakeModel;
} {
  const model = new FakeModel(opts.maxHistory ?? 3, opts.delayMs ?? 0, opts.failOn);
  const table = new CodeTable(LEVELS, Object.entries({ ...CATALOGUE, ...(opts.extra ?? {}) }));
  const parts: BundleParts = {
    table,
    decoder: new ModelDecoder(model, LEVELS),
    info: { scheme: 'fixture', model: 'fake', ...(opts.info ?? {}) },
    ...(opts.metadata
      ? {
          metadata: new Map(
            [...table.entries()].map(([item, code]) => [item, { title: `Item ${item}`, category: `cat ${code[0]}` }]),
          ),
        }
      : {}),
    encoder: {
      // Text encoder stand-in: the first letter of the title picks the first level.
      async encode(items) {
        return items.map((i) => [(i.title ?? 'a').charCodeAt(0) % 3, 0]);
      },
    },
    ...(opts.embeddings
      ? {
          itemEmbeddings: {
            dim: 3,
            // Embedding = one-hot-ish of the first level plus a small item-specific part.
            vectors: [...table.entries()].map(([item, code]) => {
              const v = [0.1, 0.1, 0.1];
              v[code[0] as number] = 1 + (code[1] as number) * 0.1;
              return [item, v] as const;
            }),
          },
        }
      : {}),
  };
  return { parts, model };
}

/** A loader that builds fake parts per call and remembers the models it made. */
export function fakeLoader(opts: Parameters<typeof fakeParts>[0] = {}): { load: LoadBundle; models: FakeModel[] } {
  const models: FakeModel[] = [];
  return {
    models,
    load: async () => {
      const { parts, model } = fakeParts(opts);
      models.push(model);
      return parts;
    },
  };
}

/** The API key tests use. */
export const KEY = 'test-key-123';

/** An app over one fake bundle named "main" (not persisted), plus its loader's models. */
export async function fakeApp(
  opts: Parameters<typeof fakeParts>[0] & {
    names?: string[];
    batching?: BatchOptions | false;
    /** Extra buildApp options. */
    app?: Partial<AppOptions>;
  } = {},
) {
  const { load, models } = fakeLoader(opts);
  const registry = await BundleRegistry.open(
    (opts.names ?? ['main']).map((name) => ({ name, dir: `mem:${name}` })),
    load,
    { persist: false, ...(opts.batching !== undefined ? { batching: opts.batching } : {}) },
  );
  const app = await buildApp({ registry, apiKey: KEY, logger: false, ...(opts.app ?? {}) });
  return { app, registry, models };
}
