/**
 * The exported ONNX directory format (docs/ONNX.md): `manifest.json`, `encode.onnx`, `step.onnx`.
 * Shared by the exporter (models/onnx/export.ts), the runtime (models/onnx/runtime.ts), and anyone
 * packaging a model trained elsewhere.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ManifestBase, manifestHead, writeDirAtomic, writeJson } from '../../src/core/artifact.js';
import { BOS, PAD, SEP, type TokenLayout } from '../../src/core/codes.js';
import { SemidError } from '../../src/core/errors.js';
import type { Code } from '../../src/core/types.js';

/** `kind` of the manifest of an exported ONNX directory. */
export const ONNX_KIND = 'onnx-model';

/**
 * How a history becomes the `history` token row, and what starts the decoded code. Tokens follow
 * TokenLayout (PAD=0, BOS=1, SEP=2, then one token range per level).
 */
export interface HistoryFormat {
  /** A BOS token before the first history item. */
  bos: boolean;
  /** A SEP token after every history item's code. */
  sepAfterItem: boolean;
  /**
   * The step graph's first token per row. "bos": BOS (an encoder-decoder's decoder start). "last": the
   * last history token, which is then left out of the encode graph's input (a decoder-only model
   * predicts the first level from the history's last position).
   */
  start: 'bos' | 'last';
}

/** manifest.json of an exported ONNX directory. */
export interface OnnxManifest extends ManifestBase {
  kind: typeof ONNX_KIND;
  /** Logits width of the step graph; equals TokenLayout(levelSizes).vocabSize. */
  vocabSize: number;
  /** Codebook size per level of the index the model was trained with. */
  levelSizes: number[];
  /** History items read; longer histories are cut to the most recent. */
  maxHistory: number;
  history: HistoryFormat;
  /** With `files.score`: the weight of its output added to a code's log-probability. Default 1. */
  scoreWeight?: number;
  /**
   * File names inside the directory. `score` (optional): per candidate code, a score added to its
   * log-probability (DecodingSession.itemScores), times `scoreWeight`; takes the encode outputs plus
   * `codes` [batch, items, levels] int64 and outputs `score` [batch, items]. A score graph with a
   * learned repeat bias (ModelConfig.denseRepeat) also takes `recency` [batch, items] int64: how recently
   * the candidate occurs in its user's history (0 = the most recent item), `maxHistory` where it does not.
   */
  files: { encode: string; step: string; score?: string };
  /** Where the graphs came from (architecture, config), informational. */
  source?: Record<string, unknown>;
}

/** The history laid out for the encode graph: tokens and mask [batch, T] int64, and each row's start token. */
export interface HistoryTokens {
  /** [batch, T] int64, left-padded with PAD. */
  tokens: BigInt64Array;
  /** [batch, T] int64, 1 on real tokens, 0 on padding. */
  mask: BigInt64Array;
  /** Columns T. */
  length: number;
  /** Per user, the step graph's first token. */
  start: number[];
}

/**
 * Lays out histories per `format` (cut to the most recent `maxHistory` items, left-padded). With
 * start "last" the last token of each row becomes its start token and is left out of `tokens`.
 */
export function layoutHistories(
  histories: readonly (readonly Code[])[],
  layout: TokenLayout,
  maxHistory: number,
  format: HistoryFormat,
): HistoryTokens {
  const rows = histories.map((h) => {
    const recent = h.slice(Math.max(0, h.length - maxHistory));
    const toks: number[] = format.bos ? [BOS] : [];
    for (const code of recent) {
      if (code.length !== layout.levels) {
        throw new SemidError(
          'SEMID_ERR_BAD_INPUT',
          `history code [${code}] has ${code.length} levels, the model expects ${layout.levels}`,
        );
      }
      toks.push(...layout.tokens(code));
      if (format.sepAfterItem) toks.push(SEP);
    }
    return toks;
  });
  const start: number[] = [];
  if (format.start === 'last') {
    for (const r of rows) {
      const last = r.pop();
      if (last === undefined) {
        throw new SemidError(
          'SEMID_ERR_HISTORY_EMPTY',
          'this model predicts from the last history token, so every history needs at least one item',
        );
      }
      start.push(last);
    }
  } else {
    for (let i = 0; i < rows.length; i++) start.push(BOS);
  }
  // At least one column (one item's worth without BOS, so rows still group into items) so every
  // tensor is non-empty; an all-padding row is masked out entirely.
  const minT = format.bos ? 1 : layout.levels + (format.sepAfterItem ? 1 : 0);
  const T = Math.max(minT, ...rows.map((r) => r.length));
  const tokens = new BigInt64Array(rows.length * T).fill(BigInt(PAD));
  const mask = new BigInt64Array(rows.length * T);
  rows.forEach((r, b) => {
    const off = b * T + (T - r.length);
    for (let j = 0; j < r.length; j++) {
      tokens[off + j] = BigInt(r[j] as number);
      mask[off + j] = 1n;
    }
  });
  return { tokens, mask, length: T, start };
}

/** What an exported directory's manifest says beyond the common head. */
export type OnnxManifestFields = Omit<OnnxManifest, keyof ManifestBase | 'files'>;

/**
 * Writes an exported ONNX directory atomically: the two serialised graphs and manifest.json.
 * @param encode the encode graph's ModelProto bytes; @param step the step graph's; @param score the
 *   optional item-score graph's.
 */
export async function writeOnnxDir(
  outDir: string,
  fields: OnnxManifestFields,
  encode: Uint8Array,
  step: Uint8Array,
  score?: Uint8Array,
): Promise<void> {
  const manifest: OnnxManifest = {
    ...manifestHead(ONNX_KIND),
    kind: ONNX_KIND,
    ...fields,
    files: { encode: 'encode.onnx', step: 'step.onnx', ...(score ? { score: 'score.onnx' } : {}) },
  };
  await writeDirAtomic(outDir, async (tmp) => {
    await writeFile(join(tmp, manifest.files.encode), encode);
    await writeFile(join(tmp, manifest.files.step), step);
    if (score && manifest.files.score) await writeFile(join(tmp, manifest.files.score), score);
    await writeJson(join(tmp, 'manifest.json'), manifest);
  });
}
