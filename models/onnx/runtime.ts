/**
 * OnnxModel: a GenerativeModel served by onnxruntime-node from an exported ONNX directory (two
 * graphs, `encode.onnx` and `step.onnx`, plus `manifest.json`; the signature is in docs/ONNX.md).
 *
 * `begin(histories)` lays the histories out as tokens (left-padded, with a mask) and runs the encode
 * graph once; its outputs are the cache, opaque to this runtime. Each `next(rows)` runs the step graph
 * on the cache plus the rows grouped under their users: tokens [users, beams, 1 + P], each row its
 * start token followed by the P tokens generated so far. The prefix is recomputed every step (it is
 * at most one code long), so beams need no cache reordering, and each user's beams attend to that
 * user's cache together (one matrix product per user and head, no per-row copy of the cache). Rows
 * with different prefix lengths run as separate groups.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readManifest } from '../../src/core/artifact.js';
import { recencyOf, TokenLayout } from '../../src/core/codes.js';
import { SemidError } from '../../src/core/errors.js';
import type { BeamRow, DecodingSession, GenerativeModel } from '../../src/core/model.js';
import type { Code } from '../../src/core/types.js';
import { layoutHistories, ONNX_KIND, type OnnxManifest } from './format.js';

/** Options for loading an OnnxModel. */
export interface OnnxModelOptions {
  /** onnxruntime intra-op threads (default 2, the machine's cores). */
  intraOpNumThreads?: number;
  /**
   * Whether onnxruntime's intra-op threads busy-wait for work (onnxruntime's own default). Default
   * false here: the graphs are small, so spinning gains little, and on a shared machine a spinning
   * thread that loses its core stalls a whole step (measured in docs/BENCHMARKS.md "onnxruntime threads").
   */
  spinning?: boolean;
  /** Weight of the score graph's output (overrides the manifest's `scoreWeight`); ignored without one. */
  scoreWeight?: number;
}

/** A GenerativeModel running an exported ONNX directory in onnxruntime-node. */
export class OnnxModel implements GenerativeModel {
  readonly vocabSize: number;
  readonly maxHistory: number;
  readonly layout: TokenLayout;
  private released = false;

  private constructor(
    readonly manifest: OnnxManifest,
    private readonly encode: ort.InferenceSession,
    private readonly step: ort.InferenceSession,
    private readonly score?: ort.InferenceSession,
    private readonly scoreWeight = 1,
  ) {
    this.vocabSize = manifest.vocabSize;
    this.maxHistory = manifest.maxHistory;
    this.layout = new TokenLayout(manifest.levelSizes);
  }

  /**
   * Loads an exported ONNX directory: `dir` itself (its manifest kind is "onnx-model") or `dir/onnx`
   * (a model or bundle directory the export was written into).
   * @throws SEMID_ERR_ARTIFACT_MISSING / _CORRUPT / _VERSION for a missing or unreadable export.
   */
  static async load(dir: string, opts: OnnxModelOptions = {}): Promise<OnnxModel> {
    const nested = existsSync(join(dir, 'onnx', 'manifest.json'));
    const onnxDir = nested ? join(dir, 'onnx') : dir;
    const m = await readManifest<OnnxManifest>(onnxDir, ONNX_KIND);
    checkManifest(m, onnxDir);
    if (nested) await checkFresh(dir, m);
    const sessionOpts: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: opts.intraOpNumThreads ?? 2,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: opts.spinning === true ? '1' : '0' } } },
    };
    const open = async (file: string) => {
      const path = join(onnxDir, file);
      let bytes: Buffer;
      try {
        bytes = await readFile(path);
      } catch {
        throw new SemidError('SEMID_ERR_ARTIFACT_MISSING', `ONNX graph not found: ${path}; re-run the export`);
      }
      try {
        return await ort.InferenceSession.create(bytes, sessionOpts);
      } catch (e) {
        throw new SemidError(
          'SEMID_ERR_ARTIFACT_CORRUPT',
          `onnxruntime could not load ${path}: ${(e as Error).message}; re-run the export`,
        );
      }
    };
    const encode = await open(m.files.encode);
    const step = await open(m.files.step);
    for (const name of ['history', 'history_mask']) {
      if (!encode.inputNames.includes(name)) {
        throw new SemidError(
          'SEMID_ERR_ARTIFACT_CORRUPT',
          `${onnxDir}/${m.files.encode} must take inputs history and history_mask, has [${encode.inputNames}]`,
        );
      }
    }
    const needed = [...encode.outputNames, 'tokens'];
    const missing = needed.filter((n) => !step.inputNames.includes(n));
    if (missing.length > 0 || !step.outputNames.includes('logits')) {
      throw new SemidError(
        'SEMID_ERR_ARTIFACT_CORRUPT',
        `${onnxDir}/${m.files.step} must take the encode outputs plus tokens and output logits; ` +
          `missing inputs [${missing}], outputs [${step.outputNames}]`,
      );
    }
    let score: ort.InferenceSession | undefined;
    if (m.files.score !== undefined) {
      score = await open(m.files.score);
      const want = [...encode.outputNames, 'codes'];
      const lacking = want.filter((n) => !score?.inputNames.includes(n));
      if (lacking.length > 0 || !score.outputNames.includes('score')) {
        throw new SemidError(
          'SEMID_ERR_ARTIFACT_CORRUPT',
          `${onnxDir}/${m.files.score} must take the encode outputs plus codes and output score; ` +
            `missing inputs [${lacking}], outputs [${score.outputNames}]`,
        );
      }
    }
    const weight = opts.scoreWeight ?? m.scoreWeight ?? 1;
    if (!Number.isFinite(weight) || weight < 0) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `the item-score weight must be a number >= 0, got ${weight}`);
    }
    return new OnnxModel(m, encode, step, score, weight);
  }

  async begin(histories: readonly (readonly Code[])[]): Promise<DecodingSession> {
    if (this.released) throw new SemidError('SEMID_ERR_INTERNAL', 'OnnxModel used after dispose()');
    if (histories.length === 0) throw new SemidError('SEMID_ERR_BAD_INPUT', 'begin() needs at least one history');
    const h = layoutHistories(histories, this.layout, this.maxHistory, this.manifest.history);
    const B = histories.length;
    const cache = await this.encode.run({
      history: new ort.Tensor('int64', h.tokens, [B, h.length]),
      history_mask: new ort.Tensor('int64', h.mask, [B, h.length]),
    });
    const session = new OnnxSession(this.step, cache, h.start, B, this.vocabSize, this.layout.levels);
    const score = this.score;
    if (score !== undefined) {
      const layout = this.layout;
      const weight = this.scoreWeight;
      const cut = () => histories.map((hh) => hh.slice(Math.max(0, hh.length - this.maxHistory)));
      const recency = score.inputNames.includes('recency') ? { histories: cut(), none: this.maxHistory } : undefined;
      session.itemScores = (users, codes) =>
        runScore(score, session.cacheOf(), B, layout, users, codes, weight, recency);
    }
    return session;
  }

  dispose(): void {
    if (this.released) return;
    this.released = true;
    void this.encode.release();
    void this.step.release();
    void this.score?.release();
  }
}

/**
 * Runs the score graph on candidate codes grouped under their users ([B, K, L], K = the most codes any
 * user has; unused slots repeat a valid code and are ignored): `weight` times one score per
 * (users[i], codes[i]). With `recency` (a score graph with a repeat bias), also each candidate's
 * recency in its user's history (`none` where the history does not hold it).
 */
async function runScore(
  score: ort.InferenceSession,
  cache: ort.InferenceSession.OnnxValueMapType,
  B: number,
  layout: TokenLayout,
  users: readonly number[],
  codes: readonly Code[],
  weight: number,
  recency?: { histories: readonly (readonly Code[])[]; none: number },
): Promise<Float32Array> {
  const out = new Float32Array(codes.length);
  if (codes.length === 0) return out;
  const L = layout.levels;
  const slotOf = new Int32Array(codes.length);
  const count = new Int32Array(B);
  users.forEach((u, i) => {
    if (!Number.isInteger(u) || u < 0 || u >= B) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `item score user ${u} outside [0, ${B})`);
    }
    slotOf[i] = count[u] as number;
    count[u] = (count[u] as number) + 1;
  });
  const K = Math.max(...count);
  const tokens = new BigInt64Array(B * K * L);
  const first = layout.tokens(codes[0] as Code);
  for (let r = 0; r < B * K; r++) for (let l = 0; l < L; l++) tokens[r * L + l] = BigInt(first[l] as number);
  codes.forEach((c, i) => {
    if (c.length !== L) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `code [${c}] has ${c.length} levels, the model expects ${L}`);
    }
    const t = layout.tokens(c);
    const o = ((users[i] as number) * K + (slotOf[i] as number)) * L;
    for (let l = 0; l < L; l++) tokens[o + l] = BigInt(t[l] as number);
  });
  const feeds: Record<string, ort.Tensor> = {
    ...(cache as Record<string, ort.Tensor>),
    codes: new ort.Tensor('int64', tokens, [B, K, L]),
  };
  if (recency !== undefined) {
    const rec = new BigInt64Array(B * K).fill(BigInt(recency.none));
    recencyOf(recency.histories, users, codes).forEach((r, i) => {
      if (r >= 0 && r < recency.none) rec[(users[i] as number) * K + (slotOf[i] as number)] = BigInt(r);
    });
    feeds.recency = new ort.Tensor('int64', rec, [B, K]);
  }
  const res = await score.run(feeds);
  const s = res.score;
  if (s?.dims.length !== 2 || s.dims[0] !== B || s.dims[1] !== K) {
    throw new SemidError(
      'SEMID_ERR_ARTIFACT_CORRUPT',
      `score graph returned shape [${s?.dims}], expected [${B}, ${K}]`,
    );
  }
  const data = s.data as Float32Array;
  users.forEach((u, i) => {
    out[i] = weight * (data[u * K + (slotOf[i] as number)] as number);
  });
  return out;
}

class OnnxSession implements DecodingSession {
  private cache: ort.InferenceSession.OnnxValueMapType | undefined;
  /** Set by OnnxModel.begin when the export has a score graph. */
  itemScores?: (users: readonly number[], codes: readonly Code[]) => Promise<Float32Array>;

  constructor(
    private readonly step: ort.InferenceSession,
    cache: ort.InferenceSession.OnnxValueMapType,
    private readonly start: readonly number[],
    private readonly batch: number,
    private readonly vocabSize: number,
    private readonly levels: number,
  ) {
    this.cache = cache;
  }

  async next(rows: readonly BeamRow[]): Promise<Float32Array[]> {
    const cache = this.cache;
    if (!cache) throw new SemidError('SEMID_ERR_INTERNAL', 'DecodingSession used after dispose()');
    const out: Float32Array[] = new Array(rows.length);
    // Group rows by prefix length: each group is one [rows, 1 + P] step run.
    const groups = new Map<number, number[]>();
    rows.forEach((r, i) => {
      if (!Number.isInteger(r.user) || r.user < 0 || r.user >= this.batch) {
        throw new SemidError('SEMID_ERR_BAD_INPUT', `beam row user ${r.user} outside [0, ${this.batch})`);
      }
      for (const t of r.prefix) {
        if (!Number.isInteger(t) || t < 0 || t >= this.vocabSize) {
          throw new SemidError(
            'SEMID_ERR_BAD_INPUT',
            `beam row token ${t} is outside the vocabulary [0, ${this.vocabSize})`,
          );
        }
      }
      if (r.prefix.length >= this.levels) {
        throw new SemidError(
          'SEMID_ERR_BAD_INPUT',
          `beam row prefix has ${r.prefix.length} tokens; codes have ${this.levels} levels, so at most ${this.levels - 1}`,
        );
      }
      const g = groups.get(r.prefix.length);
      if (g) g.push(i);
      else groups.set(r.prefix.length, [i]);
    });
    const V = this.vocabSize;
    const B = this.batch;
    for (const [P, idx] of groups) {
      // Slot every row under its user: tokens [B, K, 1 + P], K = the most rows any user has here.
      // Unused slots (users with fewer rows) hold PAD prefixes; their logits are ignored.
      const S = P + 1;
      const slotOf = new Int32Array(idx.length);
      const count = new Int32Array(B);
      idx.forEach((ri, k) => {
        const u = (rows[ri] as BeamRow).user;
        slotOf[k] = count[u] as number;
        count[u] = (count[u] as number) + 1;
      });
      const K = Math.max(...count);
      const tokens = new BigInt64Array(B * K * S);
      for (let u = 0; u < B; u++) {
        const start = BigInt(this.start[u] as number);
        for (let j = 0; j < K; j++) tokens[(u * K + j) * S] = start;
      }
      idx.forEach((ri, k) => {
        const row = rows[ri] as BeamRow;
        const o = (row.user * K + (slotOf[k] as number)) * S + 1;
        for (let j = 0; j < P; j++) tokens[o + j] = BigInt(row.prefix[j] as number);
      });
      const res = await this.step.run({ ...cache, tokens: new ort.Tensor('int64', tokens, [B, K, S]) });
      const logits = res.logits;
      if (logits?.dims.length !== 3 || logits.dims[0] !== B || logits.dims[1] !== K || logits.dims[2] !== V) {
        throw new SemidError(
          'SEMID_ERR_ARTIFACT_CORRUPT',
          `step graph returned logits of shape [${logits?.dims}], expected [${B}, ${K}, ${V}]`,
        );
      }
      const data = logits.data as Float32Array;
      idx.forEach((ri, k) => {
        const o = ((rows[ri] as BeamRow).user * K + (slotOf[k] as number)) * V;
        out[ri] = data.subarray(o, o + V);
      });
    }
    return out;
  }

  /** The encode outputs (throws after dispose). */
  cacheOf(): ort.InferenceSession.OnnxValueMapType {
    if (!this.cache) throw new SemidError('SEMID_ERR_INTERNAL', 'DecodingSession used after dispose()');
    return this.cache;
  }

  dispose(): void {
    this.cache = undefined;
  }
}

/**
 * An export inside a model directory must come from that directory's weights: when both manifests
 * record the model's createdAt, they must agree (a re-trained model next to an old export is refused).
 */
async function checkFresh(modelDir: string, m: OnnxManifest): Promise<void> {
  const exported = m.source?.modelCreatedAt;
  if (typeof exported !== 'string') return;
  let model: { kind?: unknown; createdAt?: unknown } | undefined;
  try {
    model = JSON.parse(await readFile(join(modelDir, 'manifest.json'), 'utf8')) as {
      kind?: unknown;
      createdAt?: unknown;
    };
  } catch {
    return; // no readable manifest next to the export: nothing to compare with
  }
  if (model?.kind === 'model' && typeof model.createdAt === 'string' && model.createdAt !== exported) {
    throw new SemidError(
      'SEMID_ERR_ARTIFACT_VERSION',
      `${modelDir}/onnx was exported from the model saved at ${exported}, but ${modelDir} holds a model saved at ` +
        `${model.createdAt}; re-run the ONNX export`,
    );
  }
}

function checkManifest(m: OnnxManifest, dir: string): void {
  const problems: string[] = [];
  if (!Array.isArray(m.levelSizes) || m.levelSizes.some((s) => !Number.isInteger(s) || s < 1)) {
    problems.push('levelSizes must be positive integers');
  } else if (m.vocabSize !== new TokenLayout(m.levelSizes).vocabSize) {
    problems.push(`vocabSize ${m.vocabSize} != ${new TokenLayout(m.levelSizes).vocabSize} from levelSizes`);
  }
  if (!Number.isInteger(m.maxHistory) || m.maxHistory < 1) problems.push('maxHistory must be a positive integer');
  const h = m.history;
  if (!h || typeof h.bos !== 'boolean' || typeof h.sepAfterItem !== 'boolean' || !['bos', 'last'].includes(h.start)) {
    problems.push('history must be {bos: boolean, sepAfterItem: boolean, start: "bos" | "last"}');
  }
  if (
    !m.files ||
    typeof m.files.encode !== 'string' ||
    typeof m.files.step !== 'string' ||
    (m.files.score !== undefined && typeof m.files.score !== 'string')
  ) {
    problems.push('files must be {encode: string, step: string, score?: string}');
  }
  if (problems.length > 0) {
    throw new SemidError('SEMID_ERR_ARTIFACT_CORRUPT', `${dir}/manifest.json: ${problems.join('; ')}`);
  }
}
