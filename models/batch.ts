/**
 * Training batches as plain typed arrays (transferable to worker threads), and the functions that
 * build them from a user's item codes. Layout (see models/README.md):
 *
 * decoder-only: one row per window, left-padded to T tokens. The full sequence of a window is
 *   [BOS, item1 tokens (L), item2 tokens, ...]; `tokens` = sequence[0..n-2], `targets` = sequence[1..n-1].
 *   Positions count from BOS (0) on; level ids are the token's level, `levels` (L) for BOS.
 * encoder-decoder: encoder rows are [BOS, history tokens] left-padded, positions count back from the
 *   last token (0 = most recent); decoder input [BOS, c0 .. c(L-2)], targets [c0 .. c(L-1)].
 */
import { BOS, PAD, type TokenLayout } from '../src/core/codes.js';
import type { Code } from '../src/core/types.js';

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

/** Either batch kind. */
export type TrainBatch = DecoderBatch | EncDecBatch;

/** Number of real targets in a batch (the loss normaliser). */
export function targetCount(b: TrainBatch): number {
  if (b.kind === 'encdec') return b.b * b.levels;
  let n = 0;
  for (let i = 0; i < b.weights.length; i++) n += b.weights[i] as number;
  return n;
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
