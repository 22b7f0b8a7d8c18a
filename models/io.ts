/**
 * Model artifact I/O. A model directory holds:
 *   manifest.json   kind "model", model "code-transformer", the resolved config, levelSizes,
 *                   vocabSize, the index dir it was trained on, training summary, and `params`:
 *                   [{name, shape, file}] in a fixed order
 *   weights/<name>.f32   each weight as raw little-endian float32, row-major (models/weights.ts)
 * (see models/README.md). Written atomically with writeDirAtomic.
 */
import { join } from 'node:path';
import { type ManifestBase, manifestHead, readManifest, writeDirAtomic, writeJson } from '../src/core/artifact.js';
import { SemidError } from '../src/core/errors.js';
import { type ModelConfig, resolveModelConfig } from './config.js';
import { CodeTransformer } from './transformer.js';
import { type ParamEntry, readWeights, writeWeights } from './weights.js';

export { type ParamEntry, readWeights } from './weights.js';

/** Name of the index copy inside a model directory (a self-contained bundle). */
export const BUNDLED_INDEX = 'index';

/** Value of manifest.model for the code transformer. */
export const MODEL_KIND = 'code-transformer';

/** manifest.json of a model artifact. */
export interface ModelManifest extends ManifestBase {
  kind: 'model';
  model: typeof MODEL_KIND;
  config: ModelConfig;
  levelSizes: number[];
  vocabSize: number;
  parameterCount: number;
  /**
   * The index the model was trained on, relative to the model directory (`index`: a copy kept inside
   * it). Older manifests hold the path as given on the command line (working-directory relative or
   * absolute).
   */
  index?: string;
  /** What the training run reported (epochs, best valid NDCG@10, seconds...). */
  training?: Record<string, unknown>;
  params: ParamEntry[];
}

/**
 * Saves a model artifact atomically.
 * @param extra index dir and training summary for the manifest; `values` overrides the live weights
 *   (e.g. the best epoch's); `fill` may add more files to the temporary dir
 */
export async function saveModel(
  dir: string,
  model: CodeTransformer,
  extra: {
    index?: string;
    training?: Record<string, unknown>;
    values?: Map<string, Float32Array>;
    fill?: (tmp: string) => Promise<void>;
  } = {},
): Promise<void> {
  await writeDirAtomic(dir, async (tmp) => {
    const params = await writeWeights(tmp, model.specs, extra.values ?? model.values());
    const manifest: ModelManifest = {
      ...manifestHead('model'),
      kind: 'model',
      model: MODEL_KIND,
      config: model.config,
      levelSizes: [...model.layout.levelSizes],
      vocabSize: model.vocabSize,
      parameterCount: model.parameterCount,
      ...(extra.index !== undefined ? { index: extra.index } : {}),
      ...(extra.training !== undefined ? { training: extra.training } : {}),
      params,
    };
    await writeJson(join(tmp, 'manifest.json'), manifest);
    if (extra.fill) await extra.fill(tmp);
  });
}

/** Reads and checks a model manifest. */
export async function readModelManifest(dir: string): Promise<ModelManifest> {
  const m = await readManifest<ModelManifest>(dir, 'model');
  if (m.model !== MODEL_KIND) {
    throw new SemidError(
      'SEMID_ERR_ARTIFACT_CORRUPT',
      `${dir} holds a "${String(m.model)}" model; this loader reads "${MODEL_KIND}"`,
    );
  }
  if (!Array.isArray(m.levelSizes) || !Array.isArray(m.params)) {
    throw new SemidError('SEMID_ERR_ARTIFACT_CORRUPT', `${dir}/manifest.json lacks levelSizes or params`);
  }
  return m;
}

/** Loads a trained model (call `await initTf()` first). */
export async function loadModel(
  dir: string,
  overrides: Partial<Pick<ModelConfig, 'denseFusion'>> = {},
): Promise<CodeTransformer> {
  const m = await readModelManifest(dir);
  const config = resolveModelConfig({ ...m.config, ...overrides });
  const values = await readWeights(dir, m.params);
  return CodeTransformer.fromValues(config, m.levelSizes, values);
}
