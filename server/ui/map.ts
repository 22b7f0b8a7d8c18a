/**
 * The explorer's 2-D item map: UMAP (umap-js) over a bundle's item embeddings, computed once and
 * cached as `<bundle dir>/ui-map.json` (written to a temporary file and renamed). The cache records a
 * checksum of the ids and vectors it came from, so new embeddings are mapped afresh. The nearest
 * neighbours UMAP starts from come from the server's HNSW index rather than umap-js's own search,
 * and the optimisation yields to the event loop between epochs, so computing a map never stalls
 * the requests the server is answering.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UMAP } from 'umap-js';
import { readF32, readJson, writeFileAtomic } from '../../src/core/artifact.js';
import { createRng } from '../../src/core/rng.js';
import type { ItemId } from '../../src/core/types.js';
import { VectorIndex } from '../vectors.js';
import type { BundleLocation } from './meta.js';

/** Item embeddings: [ids.length x dim] float32, row i for ids[i]. */
export interface Embeddings {
  ids: ItemId[];
  dim: number;
  data: Float32Array;
}

/** A computed map: item i sits at (xy[2i], xy[2i+1]). */
export interface ItemMap {
  ids: ItemId[];
  xy: number[];
}

/** File name of the cached map inside a bundle directory. */
export const MAP_FILE = 'ui-map.json';

interface MapFile extends ItemMap {
  formatVersion: 1;
  kind: 'ui-map';
  checksum: string;
}

const NEIGHBOURS = 15;

/** Reads `item-embeddings.json` + `.f32` from the bundle directory, else from its index directory. */
export async function readEmbeddings(b: BundleLocation): Promise<Embeddings | undefined> {
  const dirs = [b.dir, typeof b.info.index === 'string' ? b.info.index : undefined, b.dir && join(b.dir, 'index')];
  for (const dir of dirs) {
    if (dir === undefined || !existsSync(join(dir, 'item-embeddings.json'))) continue;
    const m = await readJson<{ dim: number; ids: ItemId[] }>(join(dir, 'item-embeddings.json'), 'item embeddings');
    const data = await readF32(join(dir, 'item-embeddings.f32'), m.ids.length * m.dim);
    return { ids: m.ids, dim: m.dim, data };
  }
  return undefined;
}

/** sha256 of the ids and vectors a map is computed from. */
export function checksum(e: Embeddings): string {
  const h = createHash('sha256');
  h.update(`${e.dim}\n${e.ids.join('\n')}\n`);
  h.update(new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength));
  return h.digest('hex');
}

const yieldNow = () => new Promise<void>((r) => setImmediate(r));

/** UMAP of the embeddings (seeded: the same vectors and seed give the same map). */
export async function computeMap(e: Embeddings, seed = 1): Promise<ItemMap> {
  const n = e.ids.length;
  const row = (i: number) => e.data.subarray(i * e.dim, (i + 1) * e.dim);
  const k = Math.min(NEIGHBOURS, n - 1);
  const index = new VectorIndex(e.dim, n);
  for (let i = 0; i < n; i++) {
    index.add(String(i), row(i));
    if (i % 256 === 255) await yieldNow();
  }
  const knnIndices: number[][] = [];
  const knnDistances: number[][] = [];
  for (let i = 0; i < n; i++) {
    const hits = index.search(row(i), k - 1, (j) => j === String(i));
    knnIndices.push([i, ...hits.map((h) => Number(h.item))]);
    knnDistances.push([0, ...hits.map((h) => Math.max(0, 1 - h.similarity))]);
    if (i % 256 === 255) await yieldNow();
  }
  const rng = createRng(seed);
  const umap = new UMAP({ nComponents: 2, nNeighbors: k, minDist: 0.1, random: () => rng.next() });
  umap.setPrecomputedKNN(knnIndices, knnDistances);
  const rows = Array.from({ length: n }, (_, i) => Array.from(row(i)));
  const epochs = umap.initializeFit(rows);
  for (let ep = 0; ep < epochs; ep++) {
    umap.step();
    if (ep % 4 === 3) await yieldNow();
  }
  const xy: number[] = [];
  for (const p of umap.getEmbedding())
    xy.push(Math.round((p[0] as number) * 1000) / 1000, Math.round((p[1] as number) * 1000) / 1000);
  return { ids: e.ids, xy };
}

/** The cached map when it matches `sum`, else undefined. */
async function readCache(path: string, sum: string): Promise<ItemMap | undefined> {
  if (!existsSync(path)) return undefined;
  try {
    const f = await readJson<MapFile>(path, 'item map');
    if (f.formatVersion !== 1 || f.kind !== 'ui-map' || f.checksum !== sum) return undefined;
    if (!Array.isArray(f.ids) || !Array.isArray(f.xy) || f.xy.length !== 2 * f.ids.length) return undefined;
    return { ids: f.ids, xy: f.xy };
  } catch {
    return undefined; // a damaged cache is recomputed and replaced
  }
}

/**
 * The bundle's item map: the cached one when its checksum matches, else computed and cached (a
 * bundle directory that cannot be written only loses the cache). Undefined without embeddings.
 */
export async function itemMap(b: BundleLocation, log?: (line: string) => void): Promise<ItemMap | undefined> {
  const e = await readEmbeddings(b);
  if (!e) return undefined;
  const sum = checksum(e);
  const path = b.dir === undefined ? undefined : join(b.dir, MAP_FILE);
  const cached = path === undefined ? undefined : await readCache(path, sum);
  if (cached) return cached;
  const t0 = performance.now();
  const map = await computeMap(e);
  log?.(`item map of ${e.ids.length} items computed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (path !== undefined) {
    const file: MapFile = { formatVersion: 1, kind: 'ui-map', checksum: sum, ...map };
    await writeFileAtomic(path, JSON.stringify(file)).catch((err: Error) =>
      log?.(`item map not cached at ${path}: ${err.message}`),
    );
  }
  return map;
}
