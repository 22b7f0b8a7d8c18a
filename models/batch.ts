/**
 * Batching, all in one place: training windows of a user's sequence, length buckets, one epoch's
 * batches, and the batches themselves as plain typed arrays (transferable to worker threads) with
 * the functions that pack them from item codes. Layout (see models/README.md):
 *
 * decoder-only: one row per window, left-padded to T tokens. The full sequence of a window is
 *   [BOS, item1 tokens (L), item2 tokens, ...]; `tokens` = sequence[0..n-2], `targets` = sequence[1..n-1].
 *   Positions count from BOS (0) on; level ids are the token's level, `levels` (L) for BOS.
 * encoder-decoder: encoder rows are [BOS, history tokens] left-padded, positions count back from the
 *   last token (0 = most recent); decoder input [BOS, c0 .. c(L-2)], targets [c0 .. c(L-1)].
 * item-level: one row per window of items w1..wm, t slots [BOS, padding..., w1 .. w(m-1)]: slot 0 is
 *   the start (position 0), item slots take positions 1, 2, ...; padding slots sit between the start
 *   and the items (they look like the start and are masked out as attention keys). Every real slot's
 *   target is the next item's code (slot 0: w1).
 */
import { BOS, type CodeTable, PAD, type TokenLayout } from '../src/core/codes.js';
import { SemidError } from '../src/core/errors.js';
import { createRng, type Rng } from '../src/core/rng.js';
import type { Code, SplitData } from '../src/core/types.js';
import type { ModelConfig } from './config.js';

/** A decoder-only training batch: every non-pad position is a next-token target. */
export interface DecoderBatch {
  kind: 'decoder';
  /** Rows. */
  b: number;
  /** Tokens per row. */
  t: number;
  /** [b*t] int32 input tokens (PAD on the left). */
  tokens: Int32Array;
  /** [b*t] int32 next tokens (PAD where weights are 0). */
  targets: Int32Array;
  /** [b*t] float32: 1 for a real target, 0 for padding. */
  weights: Float32Array;
  /** [b*t] int32 position ids (0 = BOS). */
  pos: Int32Array;
  /** [b*t] int32 level ids (levels = BOS/special). */
  lvl: Int32Array;
  /** [b*t] float32: 1 for a real input token, 0 for padding (attention key mask). */
  keep: Float32Array;
}

/** An encoder-decoder training batch: history -> the next item's code. */
export interface EncDecBatch {
  kind: 'encdec';
  b: number;
  /** Encoder tokens per row. */
  te: number;
  /** Code levels (decoder length). */
  levels: number;
  /** [b*te] int32 encoder tokens, [BOS, history tokens] left-padded. */
  encTokens: Int32Array;
  /** [b*te] int32 encoder positions, counted back from the last token. */
  encPos: Int32Array;
  /** [b*te] int32 encoder level ids. */
  encLvl: Int32Array;
  /** [b*te] float32: 1 for a real encoder token. */
  encKeep: Float32Array;
  /** [b*levels] int32 decoder input [BOS, c0 .. c(L-2)]. */
  decIn: Int32Array;
  /** [b*levels] int32 targets [c0 .. c(L-1)]. */
  decTargets: Int32Array;
}

/** An item-level training batch: one slot per history item, each slot's target the next item's code. */
export interface ItemBatch {
  kind: 'item';
  b: number;
  /** Slots per row (the start slot plus items). */
  t: number;
  /** Code levels. */
  levels: number;
  /**
   * [b*t*levels] int32 input tokens of every slot, slot-major: an item slot holds its item's L tokens,
   * the start and padding slots BOS followed by -1 (no term: see models/ops.ts embedSum).
   */
  slotTokens: Int32Array;
  /** [b*t] int32 slot positions: 0 for the start and padding, 1.. for items. */
  pos: Int32Array;
  /** [b*t] int32 hashed code bucket of each item slot (`codeBucket`), -1 for the start, padding, or when off. */
  bucket: Int32Array;
  /** [b*t] float32: 1 for the start and item slots, 0 for padding (attention key mask). */
  keep: Float32Array;
  /** [b*t*levels] int32 tokens of the next item's code per slot (PAD where weights are 0). */
  targets: Int32Array;
  /** [b*t] float32: 1 for a slot with a target. */
  weights: Float32Array;
  /**
   * The training catalogue the dense item head (ModelConfig.dense) ranks, shared by every batch of a
   * run (the same arrays, not copies); absent when the head is off.
   */
  catalogue?: ItemCatalogue;
  /** With `catalogue`: [b*t] int32 row of each slot's target in it, -1 where weights are 0. */
  targetItem?: Int32Array;
  /** With `catalogue`: [b*t] int32 row of each item slot's own item in it, -1 for the start and padding. */
  slotItem?: Int32Array;
}

/** The items a dense item head ranks in training: their code tokens and code buckets, one row per item. */
export interface ItemCatalogue {
  /** Items. */
  n: number;
  /** [n*levels] int32 code tokens, row-major. */
  tokens: Int32Array;
  /** [n] int32 hashed code bucket (`codeBucket`), -1 when code buckets are off. */
  bucket: Int32Array;
}

/**
 * The catalogue of `codes` (one per item, no duplicates) for the dense item head, and a lookup of a
 * code's row by its comma-joined tokens.
 */
export function itemCatalogue(
  layout: TokenLayout,
  codes: readonly Code[],
  buckets = 0,
): { catalogue: ItemCatalogue; rowOf: Map<string, number> } {
  const L = layout.levels;
  const { tokens, bucket } = codeRows(layout, codes, buckets);
  const rowOf = new Map<string, number>();
  for (let i = 0; i < codes.length; i++) rowOf.set(tokens.subarray(i * L, (i + 1) * L).join(','), i);
  return { catalogue: { n: codes.length, tokens, bucket }, rowOf };
}

/**
 * Codes as model inputs: [n*levels] int32 tokens (row-major) and [n] code buckets (`codeBucket`,
 * -1 when `buckets` is 0). Shared by the dense head's training catalogue and its decoding scores.
 */
export function codeRows(
  layout: TokenLayout,
  codes: readonly Code[],
  buckets = 0,
): { tokens: Int32Array; bucket: Int32Array } {
  const L = layout.levels;
  const tokens = new Int32Array(codes.length * L);
  const bucket = new Int32Array(codes.length).fill(-1);
  codes.forEach((c, i) => {
    for (let l = 0; l < L; l++) tokens[i * L + l] = layout.token(l, c[l] as number);
    if (buckets > 0) bucket[i] = codeBucket(tokens.subarray(i * L, (i + 1) * L), layout.vocabSize, buckets);
  });
  return { tokens, bucket };
}

/** Any batch kind. */
export type TrainBatch = DecoderBatch | EncDecBatch | ItemBatch;

/** Number of real targets (tokens) in a batch (the loss normaliser). */
export function targetCount(b: TrainBatch): number {
  if (b.kind === 'encdec') return b.b * b.levels;
  let n = 0;
  for (let i = 0; i < b.weights.length; i++) n += b.weights[i] as number;
  return b.kind === 'item' ? n * b.levels : n; // an item slot's target is a whole code
}

/** Flattened tokens of [BOS, codes...] and their level ids (BOS gets level `layout.levels`). */
export function flatten(layout: TokenLayout, codes: readonly Code[]): { tokens: number[]; lvl: number[] } {
  const tokens = [BOS];
  const lvl = [layout.levels];
  for (const c of codes) {
    for (let l = 0; l < c.length; l++) {
      tokens.push(layout.token(l, c[l] as number));
      lvl.push(l);
    }
  }
  return { tokens, lvl };
}

/**
 * Builds a decoder-only batch from windows (each a list of item codes, oldest first; at most
 * maxHistory+1 items). Rows are left-padded to the longest window.
 */
export function decoderBatch(layout: TokenLayout, windows: readonly (readonly Code[])[]): DecoderBatch {
  const seqs = windows.map((w) => flatten(layout, w));
  const t = Math.max(1, ...seqs.map((s) => s.tokens.length - 1));
  const b = windows.length;
  const out: DecoderBatch = {
    kind: 'decoder',
    b,
    t,
    tokens: new Int32Array(b * t),
    targets: new Int32Array(b * t),
    weights: new Float32Array(b * t),
    pos: new Int32Array(b * t),
    lvl: new Int32Array(b * t).fill(layout.levels),
    keep: new Float32Array(b * t),
  };
  for (let r = 0; r < b; r++) {
    const s = seqs[r] as { tokens: number[]; lvl: number[] };
    const n = s.tokens.length - 1;
    const pad = t - n;
    for (let j = 0; j < n; j++) {
      const o = r * t + pad + j;
      out.tokens[o] = s.tokens[j] as number;
      out.targets[o] = s.tokens[j + 1] as number;
      out.weights[o] = 1;
      out.pos[o] = j;
      out.lvl[o] = s.lvl[j] as number;
      out.keep[o] = 1;
    }
    for (let j = 0; j < pad; j++) out.tokens[r * t + j] = PAD;
  }
  return out;
}

/**
 * The hashed bucket of an item code (its tokens), as the item-level model and its ONNX export compute
 * it: h = 0; h = (h * vocabSize + token) mod buckets for each token, coarse to fine. Codes that differ
 * only in their last token never share a bucket (when that level is smaller than `buckets`).
 */
export function codeBucket(tokens: ArrayLike<number>, vocabSize: number, buckets: number): number {
  let h = 0;
  for (let i = 0; i < tokens.length; i++) h = (h * vocabSize + (tokens[i] as number)) % buckets;
  return h;
}

/**
 * Lays out histories (item codes, oldest first) as item slots [BOS, padding..., items], `t` slots per
 * row (at least 1 + the longest history). Shared by training batches and decoding.
 * @param buckets hashed code buckets (ModelConfig.codeBuckets); 0 leaves `bucket` at -1
 */
export function itemSlots(
  layout: TokenLayout,
  histories: readonly (readonly Code[])[],
  buckets = 0,
  t: number = 1 + Math.max(0, ...histories.map((h) => h.length)),
): { t: number; slotTokens: Int32Array; pos: Int32Array; keep: Float32Array; bucket: Int32Array } {
  const L = layout.levels;
  const b = histories.length;
  const slotTokens = new Int32Array(b * t * L).fill(-1);
  const pos = new Int32Array(b * t);
  const keep = new Float32Array(b * t);
  const bucket = new Int32Array(b * t).fill(-1);
  for (let r = 0; r < b; r++) {
    const h = histories[r] as readonly Code[];
    const pad = t - 1 - h.length;
    for (let s = 0; s <= pad; s++) slotTokens[(r * t + s) * L] = BOS;
    keep[r * t] = 1;
    h.forEach((c, k) => {
      const slot = r * t + 1 + pad + k;
      for (let l = 0; l < L; l++) slotTokens[slot * L + l] = layout.token(l, c[l] as number);
      pos[slot] = k + 1;
      keep[slot] = 1;
      if (buckets > 0)
        bucket[slot] = codeBucket(slotTokens.subarray(slot * L, (slot + 1) * L), layout.vocabSize, buckets);
    });
  }
  return { t, slotTokens, pos, keep, bucket };
}

/**
 * Builds an item-level batch from windows (each a list of item codes, oldest first; at most
 * maxHistory+1 items): the inputs are each window minus its last item, every slot's target the next item.
 * @param buckets hashed code buckets (ModelConfig.codeBuckets, 0 = none)
 */
export function itemBatch(
  layout: TokenLayout,
  windows: readonly (readonly Code[])[],
  buckets = 0,
  dense?: { catalogue: ItemCatalogue; rowOf: ReadonlyMap<string, number> },
): ItemBatch {
  const L = layout.levels;
  const b = windows.length;
  const inputs = windows.map((w) => w.slice(0, Math.max(0, w.length - 1)));
  const slots = itemSlots(layout, inputs, buckets);
  const t = slots.t;
  const targets = new Int32Array(b * t * L);
  const weights = new Float32Array(b * t);
  windows.forEach((w, r) => {
    if (w.length === 0) return;
    const first = r * t + (t - w.length); // the start slot's target sits at the slot before the items
    const put = (slot: number, c: Code) => {
      weights[slot] = 1;
      for (let l = 0; l < L; l++) targets[slot * L + l] = layout.token(l, c[l] as number);
    };
    put(r * t, w[0] as Code);
    for (let k = 1; k < w.length; k++) put(first + k, w[k] as Code);
  });
  const out: ItemBatch = { kind: 'item', b, levels: L, ...slots, targets, weights };
  if (dense === undefined) return out;
  const rowOf = (tokens: Int32Array, what: string): number => {
    const k = tokens.join(',');
    const row = dense.rowOf.get(k);
    if (row === undefined) {
      throw new SemidError(
        'SEMID_ERR_INTERNAL',
        `${what} code [${k}] is not in the dense head's catalogue; build the catalogue from the same index`,
      );
    }
    return row;
  };
  const targetItem = new Int32Array(b * t).fill(-1);
  const slotItem = new Int32Array(b * t).fill(-1);
  for (let i = 0; i < b * t; i++) {
    if (weights[i] === 1) targetItem[i] = rowOf(targets.subarray(i * L, (i + 1) * L), 'target');
    if (slots.pos[i] !== 0) slotItem[i] = rowOf(slots.slotTokens.subarray(i * L, (i + 1) * L), 'history');
  }
  return { ...out, catalogue: dense.catalogue, targetItem, slotItem };
}

/** Builds an encoder-decoder batch from (history codes, target code) pairs. */
export function encDecBatch(
  layout: TokenLayout,
  examples: readonly { history: readonly Code[]; target: Code }[],
): EncDecBatch {
  const L = layout.levels;
  const seqs = examples.map((e) => flatten(layout, e.history));
  const te = Math.max(1, ...seqs.map((s) => s.tokens.length));
  const b = examples.length;
  const out: EncDecBatch = {
    kind: 'encdec',
    b,
    te,
    levels: L,
    encTokens: new Int32Array(b * te),
    encPos: new Int32Array(b * te),
    encLvl: new Int32Array(b * te).fill(L),
    encKeep: new Float32Array(b * te),
    decIn: new Int32Array(b * L),
    decTargets: new Int32Array(b * L),
  };
  for (let r = 0; r < b; r++) {
    const s = seqs[r] as { tokens: number[]; lvl: number[] };
    const n = s.tokens.length;
    const pad = te - n;
    for (let j = 0; j < n; j++) {
      const o = r * te + pad + j;
      out.encTokens[o] = s.tokens[j] as number;
      out.encPos[o] = n - 1 - j;
      out.encLvl[o] = s.lvl[j] as number;
      out.encKeep[o] = 1;
    }
    const tgt = layout.tokens((examples[r] as { target: Code }).target);
    out.decIn[r * L] = BOS;
    for (let l = 0; l < L; l++) {
      out.decTargets[r * L + l] = tgt[l] as number;
      if (l + 1 < L) out.decIn[r * L + l + 1] = tgt[l] as number;
    }
  }
  return out;
}

/**
 * Training windows of one user's sequence (item codes, or SASRec's item indices): the window of at
 * most maxHistory+1 items ending at the sequence end, then windows ending every `stride` items earlier. With `rng`, the earlier
 * windows are shifted by a random phase in [0, stride) each epoch, so across epochs every target is
 * seen with long histories even when windows do not overlap. With `stopAtStart`, no window follows
 * one that already starts at the sequence start (SASRec's windows).
 */
export function userWindows<T>(
  seq: readonly T[],
  maxHistory: number,
  stride: number,
  rng?: Rng,
  stopAtStart = false,
): T[][] {
  const out: T[][] = [];
  const span = maxHistory + 1;
  const n = seq.length;
  if (n === 0) return out;
  out.push(seq.slice(Math.max(0, n - span), n));
  if (stopAtStart && n - span <= 0) return out;
  const phase = rng ? rng.int(stride) : 0;
  for (let end = n - stride - phase; end >= 2; end -= stride) {
    out.push(seq.slice(Math.max(0, end - span), end));
    if (end - span <= 0) break;
  }
  return out;
}

/** Groups shuffled units into batches of similar length (less padding), in random batch order. */
export function bucketBatches<T>(units: T[], len: (u: T) => number, batch: number, rng: Rng): T[][] {
  rng.shuffle(units);
  const chunk = batch * 50;
  const batches: T[][] = [];
  for (let c = 0; c < units.length; c += chunk) {
    const part = units.slice(c, c + chunk).sort((a, b) => len(a) - len(b));
    for (let i = 0; i < part.length; i += batch) batches.push(part.slice(i, i + batch));
  }
  return rng.shuffle(batches);
}

/**
 * Builds one epoch's batches of the code transformer (seeded by seed and epoch, so a resumed run
 * replays the same order): windows of each user's codes (decoder, item) or the split's training
 * examples (encdec), bucketed by length.
 * @param dense the dense item head's catalogue (built once per run), when the head is on
 * @returns the batches, their target count and how many items had no code
 */
export function epochBatches(
  cfg: ModelConfig,
  table: CodeTable,
  data: Pick<SplitData, 'trainSequences' | 'train'>,
  epoch: number,
  layout: TokenLayout,
  dense?: ReturnType<typeof itemCatalogue>,
): { batches: TrainBatch[]; tokens: number; missing: number } {
  const rng = createRng((cfg.seed * 1000003 + epoch * 7919) >>> 0);
  let missing = 0;
  const codesOf = (items: readonly string[]): Code[] => {
    const out: Code[] = [];
    for (const it of items) {
      const c = table.encode(it);
      if (c) out.push(c);
      else missing++;
    }
    return out;
  };
  const L = layout.levels;
  if (cfg.arch === 'decoder' || cfg.arch === 'item') {
    const windows: Code[][] = [];
    for (const seq of data.trainSequences)
      windows.push(...userWindows(codesOf(seq), cfg.maxHistory, cfg.windowStride, rng));
    const groups = bucketBatches(windows, (w) => w.length, cfg.batch, rng);
    const batches = groups.map((g) =>
      cfg.arch === 'item' ? itemBatch(layout, g, cfg.codeBuckets, dense) : decoderBatch(layout, g),
    );
    return { batches, tokens: windows.reduce((a, w) => a + w.length * L, 0), missing };
  }
  const examples: { history: Code[]; target: Code }[] = [];
  for (const e of data.train) {
    const target = table.encode(e.target);
    if (!target) {
      missing++;
      continue;
    }
    const history = codesOf(e.history.slice(Math.max(0, e.history.length - cfg.maxHistory)));
    examples.push({ history, target });
  }
  const groups = bucketBatches(examples, (e) => e.history.length, cfg.batch, rng);
  const batches = groups.map((g) => encDecBatch(layout, g));
  return { batches, tokens: examples.length * L, missing };
}

/** Splits a batch into `n` contiguous row shards (for data-parallel workers); empty shards are dropped. */
export function shardBatch<B extends TrainBatch>(batch: B, n: number): B[] {
  const per = Math.ceil(batch.b / n);
  const out: B[] = [];
  for (let s = 0; s < n; s++) {
    const r0 = s * per;
    const r1 = Math.min(batch.b, r0 + per);
    if (r1 <= r0) break;
    out.push(sliceRows(batch, r0, r1));
  }
  return out;
}

function sliceRows<B extends TrainBatch>(batch: B, r0: number, r1: number): B {
  if (batch.kind === 'item') {
    const t = batch.t;
    const s = <T extends Int32Array | Float32Array>(a: T, per: number) => a.slice(r0 * per, r1 * per) as T;
    const L = batch.levels;
    return {
      ...batch,
      b: r1 - r0,
      slotTokens: s(batch.slotTokens, t * L),
      pos: s(batch.pos, t),
      bucket: s(batch.bucket, t),
      keep: s(batch.keep, t),
      targets: s(batch.targets, t * L),
      weights: s(batch.weights, t),
      ...(batch.targetItem ? { targetItem: s(batch.targetItem, t) } : {}),
      ...(batch.slotItem ? { slotItem: s(batch.slotItem, t) } : {}),
    };
  }
  if (batch.kind === 'decoder') {
    const t = batch.t;
    const s = <T extends Int32Array | Float32Array>(a: T) => a.slice(r0 * t, r1 * t) as T;
    return {
      ...batch,
      b: r1 - r0,
      tokens: s(batch.tokens),
      targets: s(batch.targets),
      weights: s(batch.weights),
      pos: s(batch.pos),
      lvl: s(batch.lvl),
      keep: s(batch.keep),
    };
  }
  const te = batch.te;
  const L = batch.levels;
  const e = <T extends Int32Array | Float32Array>(a: T) => a.slice(r0 * te, r1 * te) as T;
  const d = (a: Int32Array) => a.slice(r0 * L, r1 * L);
  return {
    ...batch,
    b: r1 - r0,
    encTokens: e(batch.encTokens),
    encPos: e(batch.encPos),
    encLvl: e(batch.encLvl),
    encKeep: e(batch.encKeep),
    decIn: d(batch.decIn),
    decTargets: d(batch.decTargets),
  };
}
