/**
 * Imported item embeddings, so users can bring Sentence-T5 / LLM embeddings as TIGER and LETTER do:
 * a NumPy `.npy` file (float32 or float64, C or Fortran order) `[items, d]` with an id list (one
 * item id per line, in row order), or JSONL lines `{"id": ..., "embedding": [...]}`.
 */
import { readFile } from 'node:fs/promises';
import { SemidError } from '../../src/core/errors.js';
import type { Item, ItemId } from '../../src/core/types.js';

/** Embeddings keyed by item id. */
export interface ExternalEmbeddings {
  ids: ItemId[];
  dim: number;
  /** [ids, dim] float32, row-major. */
  data: Float32Array;
}

async function readBytes(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch {
    throw new SemidError('SEMID_ERR_NOT_FOUND', `${what} not found: ${path}`);
  }
}

/** Parses a `.npy` buffer holding a 2-D float32/float64 array. @returns [rows, cols] float32 */
export function parseNpy(buf: Uint8Array, path = '.npy'): { rows: number; cols: number; data: Float32Array } {
  const bad = (why: string) =>
    new SemidError(
      'SEMID_ERR_PARSE',
      `${path} is not a 2-D float .npy array: ${why}; save it with numpy.save(path, a.astype("float32"))`,
    );
  if (buf.length < 10 || buf[0] !== 0x93 || String.fromCharCode(...buf.subarray(1, 6)) !== 'NUMPY')
    throw bad('no NUMPY magic');
  const major = buf[6] as number;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(buf.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*True/.test(header);
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw bad(`unreadable header ${JSON.stringify(header.trim())}`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.length !== 2) throw bad(`shape (${shapeText}) is not 2-D`);
  const [rows, cols] = shape as [number, number];
  const width = descr === '<f4' ? 4 : descr === '<f8' ? 8 : 0;
  if (width === 0) throw bad(`dtype ${descr} (expected <f4 or <f8)`);
  const off = start + headerLen;
  if (buf.length - off !== rows * cols * width)
    throw bad(`${buf.length - off} data bytes for shape (${rows}, ${cols}) of ${descr}`);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < rows * cols; i++) {
    const v = width === 4 ? dv.getFloat32(off + i * 4, true) : dv.getFloat64(off + i * 8, true);
    // Fortran order stores column by column.
    const dst = fortran ? (i % rows) * cols + Math.floor(i / rows) : i;
    data[dst] = v;
  }
  return { rows, cols, data };
}

/** Encodes a 2-D float32 array as `.npy` (version 1.0, C order). */
export function encodeNpy(data: Float32Array, rows: number, cols: number): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64);
  header += '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** Reads `.npy` embeddings with their id list (one id per line, blank lines ignored). */
export async function readNpyEmbeddings(npyPath: string, idsPath: string): Promise<ExternalEmbeddings> {
  const { rows, cols, data } = parseNpy(await readBytes(npyPath, 'embedding file'), npyPath);
  const ids = (await readBytes(idsPath, 'id list'))
    .toString('utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (ids.length !== rows) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `${idsPath} lists ${ids.length} ids but ${npyPath} has ${rows} rows; the id list needs one id per row, in row order`,
    );
  }
  return { ids, dim: cols, data };
}

/** Reads JSONL embeddings, one `{"id": string|number, "embedding": number[]}` per line, all of one length. */
export async function readJsonlEmbeddings(path: string): Promise<ExternalEmbeddings> {
  const lines = (await readBytes(path, 'embedding file')).toString('utf8').split(/\r?\n/);
  const ids: string[] = [];
  const rows: number[][] = [];
  let dim = -1;
  lines.forEach((line, no) => {
    if (line.trim() === '') return;
    let v: { id?: unknown; embedding?: unknown };
    try {
      v = JSON.parse(line);
    } catch {
      throw new SemidError(
        'SEMID_ERR_PARSE',
        `${path}:${no + 1} is not JSON; expected {"id": ..., "embedding": [numbers]}`,
      );
    }
    const e = v.embedding;
    if (
      (typeof v.id !== 'string' && typeof v.id !== 'number') ||
      !Array.isArray(e) ||
      e.some((x) => typeof x !== 'number')
    ) {
      throw new SemidError('SEMID_ERR_PARSE', `${path}:${no + 1} needs {"id": string, "embedding": number[]}`);
    }
    if (dim === -1) dim = e.length;
    if (e.length !== dim) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `${path}:${no + 1} has an embedding of length ${e.length}, earlier lines ${dim}`,
      );
    }
    ids.push(String(v.id));
    rows.push(e as number[]);
  });
  if (rows.length === 0) throw new SemidError('SEMID_ERR_BAD_INPUT', `${path} holds no embeddings`);
  const data = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => {
    data.set(r, i * dim);
  });
  return { ids, dim, data };
}

/**
 * Puts external embeddings in catalogue order.
 * @param onMissing `error` (default) fails naming the missing items; `zero` gives them zero rows
 * @returns [items, dim] float32
 */
export function alignEmbeddings(
  items: readonly Item[],
  ext: ExternalEmbeddings,
  onMissing: 'error' | 'zero' = 'error',
): Float32Array {
  const row = new Map(ext.ids.map((id, i) => [id, i]));
  const out = new Float32Array(items.length * ext.dim);
  const missing: string[] = [];
  items.forEach((it, i) => {
    const r = row.get(it.id);
    if (r === undefined) missing.push(it.id);
    else out.set(ext.data.subarray(r * ext.dim, (r + 1) * ext.dim), i * ext.dim);
  });
  if (missing.length > 0 && onMissing === 'error') {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `${missing.length} of ${items.length} catalogue items have no embedding (first: ${missing.slice(0, 5).join(', ')}); embed every item or allow missing rows`,
      { missing: missing.slice(0, 100) },
    );
  }
  return out;
}
