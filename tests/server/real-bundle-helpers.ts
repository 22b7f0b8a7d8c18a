/** A real tiny bundle on disk (category index + untrained code transformer + its ONNX export) and an app over it. */
import { join } from 'node:path';
import { buildIndex } from '../../indexer/artifact.js';
import { type ModelConfig, resolveModelConfig } from '../../models/config.js';
import { saveModel } from '../../models/io.js';
import { exportOnnx } from '../../models/onnx/export.js';
import { CodeTransformer } from '../../models/transformer.js';
import { buildApp } from '../../server/app.js';
import { BundleRegistry } from '../../server/registry.js';
import { bundleLoader } from '../../src/api/bundle.js';
import { loadSplit } from '../../src/core/data/index.js';
import type { SplitData } from '../../src/core/types.js';
import { KEY } from './helpers.js';

/**
 * Writes `<dir>/index` (a category index of a 60-item synthetic dataset) and `<dir>/model` (an untrained
 * model of `config` over tiny defaults, with its ONNX export). Call `initTf()` first.
 */
export async function writeTinyBundle(dir: string, config: Partial<ModelConfig> = {}): Promise<SplitData> {
  const split = await loadSplit('synthetic:items=60,users=120,seed=5,minLength=4,maxLength=8');
  const { table } = await buildIndex({ scheme: 'category', split, seed: 1, out: join(dir, 'index') });
  const cfg = resolveModelConfig({ dModel: 16, layers: 1, heads: 2, ffn: 32, maxHistory: 4, dropout: 0, ...config });
  let model = CodeTransformer.create(cfg, table.levelSizes);
  if (cfg.denseRepeat) {
    // an untrained repeat bias is all zeros: give it values, so the bundle's scores depend on it
    const values = model.values();
    values.set(
      'dense.repeat',
      Float32Array.from({ length: cfg.maxHistory }, (_, r) => (r % 2 === 0 ? -1 : 0.5)),
    );
    model.dispose();
    model = CodeTransformer.fromValues(cfg, table.levelSizes, values);
  }
  await saveModel(join(dir, 'model'), model, { index: join(dir, 'index') });
  model.dispose();
  await exportOnnx(join(dir, 'model'));
  return split;
}

/** The app over the bundle in `dir` (named "tiny"), loaded by `semid serve`'s loader with `runtime`. */
export async function openTinyBundle(dir: string, runtime: 'tfjs' | 'onnx') {
  const registry = await BundleRegistry.open([{ name: 'tiny', dir }], bundleLoader(runtime), { persist: false });
  const app = await buildApp({ registry, apiKey: KEY });
  const close = async () => {
    await app.close();
    await registry.close();
  };
  return { app, registry, close };
}
