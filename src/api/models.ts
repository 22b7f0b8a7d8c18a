/**
 * Opening trained models for the library API and the commands (eval, compare, serve, train): one
 * place that picks the runtime, keeps a model's ONNX export next to its weights, and makes short-lived ONNX copies of an
 * in-memory model for validation. Runtimes are imported lazily, so callers that need neither
 * TensorFlow.js nor onnxruntime never load them.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FusionChoice } from '../../models/train.js';
import type { CodeTransformer } from '../../models/transformer.js';
import { readJson } from '../core/artifact.js';
import type { GenerativeModel } from '../core/model.js';
import { createRng } from '../core/rng.js';
import type { Example } from '../core/types.js';

/** Runtimes a model can run on; `auto` is onnx whenever the model can be exported or already is. */
export type Runtime = 'onnx' | 'tfjs';

/** The `kind` of a directory's manifest.json, if it has one. */
export async function manifestKind(dir: string): Promise<string | undefined> {
  if (!existsSync(join(dir, 'manifest.json'))) return undefined;
  const m = await readJson<{ kind?: unknown }>(join(dir, 'manifest.json'), 'manifest');
  return typeof m.kind === 'string' ? m.kind : undefined;
}

/**
 * Opens a model directory. onnx: a semid model is exported to `<dir>/onnx` first when that export is
 * missing or older than the weights (ensureOnnx); an ONNX-only directory (a model trained elsewhere
 * that follows docs/ONNX.md) opens directly. tfjs: the TensorFlow.js model (fallback runtime).
 * `denseFusion` overrides the weight of a dense item head's score (a model without one ignores it).
 */
export async function openModel(
  dir: string,
  runtime: Runtime,
  opts: { denseFusion?: number } = {},
): Promise<GenerativeModel> {
  if (runtime === 'tfjs') {
    const { initTf } = await import('../core/tf.js');
    await initTf();
    const { loadModel } = await import('../../models/io.js');
    return loadModel(dir, opts.denseFusion !== undefined ? { denseFusion: opts.denseFusion } : {});
  }
  const { OnnxModel } = await import('../../models/onnx/runtime.js');
  if ((await manifestKind(dir)) !== 'onnx-model') {
    const { ensureOnnx } = await import('../../models/onnx/export.js');
    await ensureOnnx(dir);
  }
  return OnnxModel.load(dir, opts.denseFusion !== undefined ? { scoreWeight: opts.denseFusion } : {});
}

/**
 * An onnxruntime copy of an in-memory model's current weights (exported to a temporary directory), for
 * fast validation decoding; `load` opens another session on the same export (e.g. with another dense
 * score weight, which the caller disposes); `close` frees the first and removes the directory.
 */
export async function onnxReplica(model: CodeTransformer): Promise<{
  model: GenerativeModel;
  load: (opts: { scoreWeight?: number }) => Promise<GenerativeModel>;
  close: () => Promise<void>;
}> {
  const { exportWeights } = await import('../../models/onnx/export.js');
  const { OnnxModel } = await import('../../models/onnx/runtime.js');
  const dir = await mkdtemp(join(tmpdir(), 'semid-valid-onnx-'));
  try {
    await exportWeights(
      { config: model.config, levelSizes: model.layout.levelSizes, values: model.values() },
      join(dir, 'onnx'),
    );
    const m = await OnnxModel.load(dir);
    return {
      model: m,
      load: (opts) => OnnxModel.load(dir, opts),
      close: async () => {
        m.dispose();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The `selectFusion` hook of training: scores the model on `score` (validation NDCG@10) at every weight
 * of FUSION_GRID (0 = the code head alone) and keeps the best (the smaller weight on a tie).
 * `runtime` onnx exports the weights once and opens one onnxruntime session per weight; tfjs sets the
 * weight on the model itself.
 */
export function fusionSelector(
  runtime: Runtime,
  score: (model: GenerativeModel) => Promise<number>,
): (model: CodeTransformer) => Promise<FusionChoice> {
  return async (model) => {
    const { FUSION_GRID } = await import('../../models/presets.js');
    const scores: FusionChoice['scores'] = [];
    const copy = runtime === 'onnx' ? await onnxReplica(model) : undefined;
    try {
      for (const weight of FUSION_GRID) {
        if (copy) {
          const m = await copy.load({ scoreWeight: weight });
          try {
            scores.push({ weight, score: await score(m) });
          } finally {
            m.dispose();
          }
        } else {
          model.setDenseFusion(weight);
          scores.push({ weight, score: await score(model) });
        }
      }
    } finally {
      await copy?.close();
    }
    let best = scores[0] as FusionChoice['scores'][number];
    for (const s of scores) if (s.score > best.score) best = s;
    return { weight: best.weight, scores };
  };
}

/** `n` examples picked by a seeded shuffle, in their original order (all of them when n <= 0 or n >= length). */
export function sampleExamples(examples: readonly Example[], n: number, seed: number): readonly Example[] {
  if (n <= 0 || n >= examples.length) return examples;
  const idx = createRng(seed)
    .shuffle(examples.map((_, i) => i))
    .slice(0, n)
    .sort((a, b) => a - b);
  return idx.map((i) => examples[i] as Example);
}
