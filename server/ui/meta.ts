/**
 * Item titles and categories for the explorer. A bundle does not carry its catalogue's text, so it
 * is read from the dataset the model was trained on: the model manifest records the data spec
 * (`training.data`, a directory or a `synthetic:...` spec). Where that dataset is gone, the explorer
 * shows item ids only.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { readJson } from '../../src/core/artifact.js';
import { isSyntheticSpec, loadDatasetSpec } from '../../src/core/data/index.js';
import type { ItemId } from '../../src/core/types.js';

/** What the explorer shows beside an item id. */
export interface ItemMeta {
  title?: string;
  /** The most specific category name (the last of the item's category path). */
  category?: string;
}

/** Item metadata by id; empty when the catalogue has no text. */
export type ItemMetaMap = ReadonlyMap<ItemId, ItemMeta>;

/** Where a bundle's parts are, as far as the explorer needs them. */
export interface BundleLocation {
  dir: string | undefined;
  info: Readonly<Record<string, string | number>>;
}

/** The model directory of a bundle: its `info.model`, else `<dir>/model`, else the bundle dir itself. */
export function modelDirOf(b: BundleLocation): string | undefined {
  if (typeof b.info.model === 'string') return b.info.model;
  if (b.dir === undefined) return undefined;
  return existsSync(join(b.dir, 'model', 'manifest.json')) ? join(b.dir, 'model') : b.dir;
}

/** The data spec the model was trained on (`training.data` in its manifest), when recorded. */
export async function trainingDataOf(modelDir: string): Promise<string | undefined> {
  const path = join(modelDir, 'manifest.json');
  if (!existsSync(path)) return undefined;
  const m = await readJson<{ training?: { data?: unknown } }>(path, 'model manifest');
  return typeof m.training?.data === 'string' ? m.training.data : undefined;
}

/** Resolves a recorded data directory: as given (from the working directory), else beside the model. */
function findDataDir(spec: string, modelDir: string): string | undefined {
  if (isAbsolute(spec)) return existsSync(spec) ? spec : undefined;
  for (const base of [process.cwd(), modelDir, dirname(modelDir), dirname(dirname(modelDir))]) {
    const p = resolve(base, spec);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Titles and categories of the items of dataset `spec` (a directory or a synthetic spec). */
export async function metaFromDataset(spec: string, modelDir = process.cwd()): Promise<Map<ItemId, ItemMeta>> {
  const where = isSyntheticSpec(spec) ? spec : findDataDir(spec, modelDir);
  const out = new Map<ItemId, ItemMeta>();
  if (where === undefined) return out;
  const data = await loadDatasetSpec(where);
  for (const it of data.items) {
    const category = it.categories?.[it.categories.length - 1];
    out.set(it.id, {
      ...(it.title !== undefined ? { title: it.title } : {}),
      ...(category !== undefined ? { category } : {}),
    });
  }
  return out;
}

/** The default metadata source: the dataset recorded in the bundle's model manifest (empty if none). */
export async function metaFromTrainingData(b: BundleLocation): Promise<Map<ItemId, ItemMeta>> {
  const modelDir = modelDirOf(b);
  const spec = modelDir === undefined ? undefined : await trainingDataOf(modelDir);
  return spec === undefined || modelDir === undefined ? new Map() : metaFromDataset(spec, modelDir);
}
