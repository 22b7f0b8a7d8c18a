import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  alignEmbeddings,
  encodeNpy,
  parseNpy,
  readJsonlEmbeddings,
  readNpyEmbeddings,
} from '../../indexer/features/external.js';

const dir = mkdtempSync(join(tmpdir(), 'semid-ext-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A .npy v1 file with an arbitrary header and payload, as numpy writes it. */
function npy(header: string, payload: Uint8Array): Uint8Array {
  const h = header.padEnd(118, ' ') + '\n';
  const out = new Uint8Array(10 + h.length + payload.length);
  out.set([0x93, 78, 85, 77, 80, 89, 1, 0]);
  new DataView(out.buffer).setUint16(8, h.length, true);
  out.set(Buffer.from(h, 'latin1'), 10);
  out.set(payload, 10 + h.length);
  return out;
}

describe('.npy embeddings', () => {
  it('round-trips float32 C-order arrays with a 64-byte aligned header', () => {
    const data = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const bytes = encodeNpy(data, 2, 3);
    const headerLen = new DataView(bytes.buffer).getUint16(8, true);
    expect((10 + headerLen) % 64).toBe(0);
    const r = parseNpy(bytes);
    expect(r).toMatchObject({ rows: 2, cols: 3 });
    expect(Array.from(r.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('reads float64 and Fortran order', () => {
    const f8 = new Float64Array([1, 4, 2, 5, 3, 6]); // column-major [[1,2,3],[4,5,6]]
    const bytes = npy("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", new Uint8Array(f8.buffer));
    expect(Array.from(parseNpy(bytes).data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects other dtypes, shapes and truncated files with a hint', () => {
    const i4 = npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1), }", new Uint8Array(4));
    expect(() => parseNpy(i4)).toThrow(/dtype <i4.*astype\("float32"\)/);
    const v = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", new Uint8Array(12));
    expect(() => parseNpy(v)).toThrow(/not 2-D/);
    const short = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", new Uint8Array(12));
    expect(() => parseNpy(short)).toThrow(/12 data bytes/);
    expect(() => parseNpy(new Uint8Array(20))).toThrow(/NUMPY magic/);
  });

  it('pairs rows with an id list and aligns them to the catalogue', async () => {
    writeFileSync(join(dir, 'e.npy'), encodeNpy(Float32Array.from([1, 1, 2, 2, 3, 3]), 3, 2));
    writeFileSync(join(dir, 'ids.txt'), 'c\na\nb\n');
    const ext = await readNpyEmbeddings(join(dir, 'e.npy'), join(dir, 'ids.txt'));
    const aligned = alignEmbeddings([{ id: 'a' }, { id: 'b' }, { id: 'c' }], ext);
    expect(Array.from(aligned)).toEqual([2, 2, 3, 3, 1, 1]);
    expect(() => alignEmbeddings([{ id: 'a' }, { id: 'zz' }], ext)).toThrow(
      /1 of 2 catalogue items have no embedding \(first: zz\)/,
    );
    expect(Array.from(alignEmbeddings([{ id: 'zz' }], ext, 'zero'))).toEqual([0, 0]);
    writeFileSync(join(dir, 'ids2.txt'), 'a\nb\n');
    await expect(readNpyEmbeddings(join(dir, 'e.npy'), join(dir, 'ids2.txt'))).rejects.toThrow(
      /lists 2 ids but .* has 3 rows/,
    );
  });
});

describe('JSONL embeddings', () => {
  it('reads {id, embedding} lines', async () => {
    writeFileSync(join(dir, 'e.jsonl'), '{"id": "a", "embedding": [1, 2]}\n\n{"id": 7, "embedding": [3, 4]}\n');
    const r = await readJsonlEmbeddings(join(dir, 'e.jsonl'));
    expect(r.ids).toEqual(['a', '7']);
    expect(r.dim).toBe(2);
    expect(Array.from(r.data)).toEqual([1, 2, 3, 4]);
  });
  it('names the bad line', async () => {
    writeFileSync(join(dir, 'bad.jsonl'), '{"id": "a", "embedding": [1, 2]}\n{"id": "b", "embedding": [1]}\n');
    await expect(readJsonlEmbeddings(join(dir, 'bad.jsonl'))).rejects.toThrow(
      /bad\.jsonl:2 has an embedding of length 1/,
    );
    writeFileSync(join(dir, 'bad2.jsonl'), 'nope\n');
    await expect(readJsonlEmbeddings(join(dir, 'bad2.jsonl'))).rejects.toMatchObject({ code: 'SEMID_ERR_PARSE' });
  });
});
