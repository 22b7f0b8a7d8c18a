/**
 * Opening bundles with the real index and model loaders: the `LoadBundle` the server (server/) is
 * given by `semid serve`, `semidPlugin` and `Recommender.open`.
 *
 * A bundle directory is one of:
 *   - a model directory written by semid: its manifest records its index, stored inside it (`index/`);
 *     older model directories whose manifest holds an absolute or working-directory-relative index
 *     path still load, resolved as before;
 *   - `<dir>/manifest.json` of kind "bundle": `{"index": "<path>", "model": "<path>", "runtime"?: "auto"|"onnx"|"tfjs"}`
 *     (paths relative to `<dir>`);
 *   - a directory holding `index/` (an index artifact) and `model/` (a model artifact, optionally with
 *     its ONNX export in `model/onnx/`, or an ONNX export itself).
 * Optional `<dir>/item-embeddings.json` (`{"dim": d, "ids": [...]}`) + `item-embeddings.f32`
 * ([ids x d] float32) give `/similar` item embeddings. The server writes `<dir>/overlay.json`.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BundleParts, LoadBundle } from '../../server/bundle.js';
import { ModelDecoder } from '../../server/decoder.js';
import { readF32, readJson } from '../core/artifact.js';
import { SemidError } from '../core/errors.js';
import type { GenerativeModel } from '../core/model.js';
import { manifestKind, openModel } from './models.js';
import { modelIndexDir } from './paths.js';

/** Model runtimes `semid serve` can use; `auto` picks ONNX when the model has an export. */
export const SERVE_RUNTIMES = ['auto', 'onnx', 'tfjs'] as const;
export type ServeRuntime = (typeof SERVE_RUNTIMES)[number];

/** Where a bundle's parts live. */
export interface BundleLayout {
  indexDir: string;
  modelDir: string;
  runtime: ServeRuntime;
}

/** Finds the index and model directories of a bundle directory (see the file comment). */
export async function resolveBundleLayout(dir: string, runtime: ServeRuntime = 'auto'): Promise<BundleLayout> {
  if (!existsSync(dir)) throw new SemidError('SEMID_ERR_ARTIFACT_MISSING', `bundle directory not found: ${dir}`);
  const kind = await manifestKind(dir);
  if (kind === 'bundle') {
    const m = await readJson<{ index?: unknown; model?: unknown; runtime?: unknown }>(
      join(dir, 'manifest.json'),
      'bundle manifest',
    );
    if (typeof m.index !== 'string' || typeof m.model !== 'string') {
      throw new SemidError(
        'SEMID_ERR_ARTIFACT_CORRUPT',
        `${dir}/manifest.json (kind "bundle") needs "index" and "model" paths`,
      );
    }
    const rt =
      runtime !== 'auto'
        ? runtime
        : (SERVE_RUNTIMES as readonly unknown[]).includes(m.runtime)
          ? (m.runtime as ServeRuntime)
          : 'auto';
    return { indexDir: resolve(dir, m.index), modelDir: resolve(dir, m.model), runtime: rt };
  }
  if (existsSync(join(dir, 'index')) && existsSync(join(dir, 'model'))) {
    return { indexDir: join(dir, 'index'), modelDir: join(dir, 'model'), runtime };
  }
  if (kind === 'model') {
    const m = await readJson<{ index?: unknown }>(join(dir, 'manifest.json'), 'model manifest');
    const found = modelIndexDir(dir, m.index);
    if (found) return { indexDir: found, modelDir: dir, runtime };
  }
  throw new SemidError(
    'SEMID_ERR_ARTIFACT_MISSING',
    `${dir} is not a bundle: expected a manifest of kind "bundle", index/ and model/ subdirectories, or a model directory whose manifest names an existing index`,
  );
}

/**
 * Opens the model of a bundle. `auto` serves with onnxruntime (exporting a semid model next to its
 * weights when needed), or TF.js only when asked for.
 */
async function openBundleModel(
  modelDir: string,
  runtime: ServeRuntime,
): Promise<{ model: GenerativeModel; runtime: 'onnx' | 'tfjs' }> {
  const rt = runtime === 'tfjs' ? 'tfjs' : 'onnx';
  return { model: await openModel(modelDir, rt), runtime: rt };
}

/** Reads the optional item embeddings of a bundle. */
async function readItemEmbeddings(dir: string): Promise<BundleParts['itemEmbeddings']> {
  const meta = join(dir, 'item-embeddings.json');
  if (!existsSync(meta)) return undefined;
  const m = await readJson<{ dim?: unknown; ids?: unknown }>(meta, 'item embeddings');
  if (!Number.isInteger(m.dim) || (m.dim as number) < 1 || !Array.isArray(m.ids)) {
    throw new SemidError('SEMID_ERR_ARTIFACT_CORRUPT', `${meta} needs {"dim": positive integer, "ids": [item ids]}`);
  }
  const dim = m.dim as number;
  const ids = m.ids as string[];
  const data = await readF32(join(dir, 'item-embeddings.f32'), ids.length * dim);
  return { dim, vectors: ids.map((id, i) => [id, data.subarray(i * dim, (i + 1) * dim)] as const) };
}

/** The real bundle loader: index (with its encoder when it has one), model, optional embeddings. */
export function bundleLoader(runtime: ServeRuntime = 'auto'): LoadBundle {
  return async (dir) => {
    const layout = await resolveBundleLayout(dir, runtime);
    const { loadIndex } = await import('../../indexer/artifact.js');
    const index = await loadIndex(layout.indexDir);
    const { model, runtime: used } = await openBundleModel(layout.modelDir, layout.runtime);
    try {
      const modelLevels = (model as { layout?: { levelSizes?: readonly number[] } }).layout?.levelSizes;
      if (modelLevels && modelLevels.join(',') !== index.table.levelSizes.join(',')) {
        throw new SemidError(
          'SEMID_ERR_ARTIFACT_CORRUPT',
          `model ${layout.modelDir} was trained on level sizes [${modelLevels}], index ${layout.indexDir} has [${index.table.levelSizes}]; bundle a model with its own index`,
        );
      }
      // the bundle's own vectors win; else those the indexer wrote beside the codes
      const itemEmbeddings = (await readItemEmbeddings(dir)) ?? (await readItemEmbeddings(layout.indexDir));
      return {
        table: index.table,
        decoder: new ModelDecoder(model, index.table.levelSizes),
        ...(index.encoder ? { encoder: index.encoder } : {}),
        ...(itemEmbeddings ? { itemEmbeddings } : {}),
        info: { scheme: index.manifest.scheme, runtime: used, index: layout.indexDir, model: layout.modelDir },
      };
    } catch (e) {
      model.dispose();
      throw e;
    }
  };
}
