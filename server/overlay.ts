/**
 * The item store of a bundle: the items added and removed through the API, kept in `Map`s (ids are
 * user-supplied, so they are never used as keys of plain objects) and persisted as an append-only
 * journal, `<dir>/overlay.journal`.
 *
 * Journal: a sequence of records, each `u32 payload length | u32 crc32(payload) | payload` (little
 * endian); a payload is `u32 header length | header JSON | embedding as float32 LE` where the header is
 * `{"op": "add", "id", "code", "dim"?}` or `{"op": "remove", "id", "code"}`. An API change is appended
 * and fsynced before it is acknowledged. A torn last record (a crash during its write, so never
 * acknowledged) is dropped when read; a damaged record followed by others is corruption. Opening the
 * store with `persist` compacts the journal (one record per item, written to a temporary file,
 * fsynced and renamed into place) and migrates the older `overlay.json` format into it.
 */
import { existsSync } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { SemidError } from '../src/core/errors.js';
import type { Code, ItemId } from '../src/core/types.js';
import type { ItemMeta } from './types.js';

/** File name of the journal inside a bundle directory. */
export const JOURNAL_FILE = 'overlay.journal';
/** File name of the older whole-file overlay, read and migrated into the journal. */
export const LEGACY_OVERLAY_FILE = 'overlay.json';

/** An item added through the API. */
export interface AddedItem {
  code: Code;
  embedding?: Float32Array;
  meta?: ItemMeta;
}

/** One journal record. */
export type OverlayOp =
  | { op: 'add'; id: ItemId; code: Code; embedding?: Float32Array; meta?: ItemMeta }
  | { op: 'remove'; id: ItemId; code: Code };

/** The replayed state: added items and removed items (with the code they keep for histories). */
export interface OverlayState {
  readonly added: ReadonlyMap<ItemId, AddedItem>;
  readonly removed: ReadonlyMap<ItemId, Code>;
}

/** Applies one record to a state (idempotent: replaying a record twice gives the same state). */
function apply(added: Map<ItemId, AddedItem>, removed: Map<ItemId, Code>, op: OverlayOp): void {
  if (op.op === 'add') {
    removed.delete(op.id);
    const { op: _op, id: _id, ...item } = op;
    added.set(op.id, item);
  } else {
    added.delete(op.id);
    removed.set(op.id, op.code);
  }
}

/** Encodes one record (length, checksum, payload). */
export function encodeRecord(op: OverlayOp): Buffer {
  const emb = op.op === 'add' ? op.embedding : undefined;
  const meta = op.op === 'add' ? op.meta : undefined;
  const header = Buffer.from(
    JSON.stringify({
      op: op.op,
      id: op.id,
      code: [...op.code],
      ...(emb ? { dim: emb.length } : {}),
      ...(meta ? { meta } : {}),
    }),
  );
  const embBytes = emb ? emb.length * 4 : 0;
  const payload = Buffer.allocUnsafe(4 + header.length + embBytes);
  payload.writeUInt32LE(header.length, 0);
  header.copy(payload, 4);
  if (emb) {
    for (let i = 0; i < emb.length; i++) payload.writeFloatLE(emb[i] as number, 4 + header.length + 4 * i);
  }
  const out = Buffer.allocUnsafe(8 + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  payload.copy(out, 8);
  return out;
}

const isCode = (c: unknown): c is number[] =>
  Array.isArray(c) && c.every((v) => Number.isInteger(v) && (v as number) >= 0);

/** The title / category of a record, keeping string fields only. */
function readMeta(m: unknown): ItemMeta | undefined {
  if (typeof m !== 'object' || m === null) return undefined;
  const { title, category } = m as { title?: unknown; category?: unknown };
  const out: ItemMeta = {
    ...(typeof title === 'string' ? { title } : {}),
    ...(typeof category === 'string' ? { category } : {}),
  };
  return out.title === undefined && out.category === undefined ? undefined : out;
}

function decodePayload(payload: Buffer, where: string): OverlayOp {
  const bad = (why: string) => new SemidError('SEMID_ERR_ARTIFACT_CORRUPT', `${where}: ${why}`);
  if (payload.length < 4) throw bad('record too short');
  const hlen = payload.readUInt32LE(0);
  if (4 + hlen > payload.length) throw bad('record header longer than the record');
  let h: { op?: unknown; id?: unknown; code?: unknown; dim?: unknown; meta?: unknown };
  try {
    h = JSON.parse(payload.subarray(4, 4 + hlen).toString('utf8'));
  } catch {
    throw bad('record header is not JSON');
  }
  if ((h.op !== 'add' && h.op !== 'remove') || typeof h.id !== 'string' || !isCode(h.code)) {
    throw bad('record header needs {op: "add"|"remove", id: string, code: number[]}');
  }
  const rest = payload.length - 4 - hlen;
  if (h.op === 'remove') return { op: 'remove', id: h.id, code: h.code };
  const dim = h.dim === undefined ? 0 : h.dim;
  if (!Number.isInteger(dim) || (dim as number) * 4 !== rest) throw bad('embedding size does not match its dim');
  const meta = readMeta(h.meta);
  const op: OverlayOp = { op: 'add', id: h.id, code: h.code, ...(meta ? { meta } : {}) };
  if (dim === 0) return op;
  const emb = new Float32Array(dim as number);
  for (let i = 0; i < emb.length; i++) emb[i] = payload.readFloatLE(4 + hlen + 4 * i);
  return { ...op, embedding: emb };
}

/**
 * Decodes a journal. `torn`: the last record was incomplete or damaged (a write cut by a crash) and
 * was dropped. @throws SEMID_ERR_ARTIFACT_CORRUPT for a damaged record that is not the last one.
 */
export function decodeJournal(buf: Buffer, where = JOURNAL_FILE): { ops: OverlayOp[]; torn: boolean } {
  const ops: OverlayOp[] = [];
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at < 8) return { ops, torn: true };
    const len = buf.readUInt32LE(at);
    const sum = buf.readUInt32LE(at + 4);
    const end = at + 8 + len;
    if (end > buf.length) return { ops, torn: true };
    const payload = buf.subarray(at + 8, end);
    if (crc32(payload) !== sum) {
      if (end === buf.length) return { ops, torn: true };
      throw new SemidError(
        'SEMID_ERR_ARTIFACT_CORRUPT',
        `${where}: damaged record at byte ${at}; the journal records items added or deleted through the API, restore it from a backup or remove it`,
      );
    }
    ops.push(decodePayload(payload, `${where} at byte ${at}`));
    at = end;
  }
  return { ops, torn: false };
}

/** Reads the older `overlay.json` format (`{kind: "overlay", added: {id: {code, embedding?}}, removed: {id: code}}`). */
async function readLegacy(path: string): Promise<OverlayOp[]> {
  let o: { kind?: unknown; formatVersion?: unknown; added?: unknown; removed?: unknown };
  try {
    o = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    throw new SemidError('SEMID_ERR_ARTIFACT_CORRUPT', `${LEGACY_OVERLAY_FILE} is not valid JSON`);
  }
  const isObj = (x: unknown): x is object => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObj(o) || o.kind !== 'overlay' || !isObj(o.added) || !isObj(o.removed)) {
    throw new SemidError(
      'SEMID_ERR_ARTIFACT_CORRUPT',
      `${LEGACY_OVERLAY_FILE} is not a semid overlay ({kind: "overlay", added, removed})`,
    );
  }
  if (o.formatVersion !== 1) {
    throw new SemidError(
      'SEMID_ERR_ARTIFACT_VERSION',
      `${LEGACY_OVERLAY_FILE} has format version ${o.formatVersion}, expected 1`,
    );
  }
  const ops: OverlayOp[] = [];
  // Object.entries reads own properties only, "__proto__" included (JSON.parse defines it as one).
  for (const [id, code] of Object.entries(o.removed)) {
    if (!isCode(code))
      throw new SemidError('SEMID_ERR_ARTIFACT_CORRUPT', `${LEGACY_OVERLAY_FILE}: bad code of "${id}"`);
    ops.push({ op: 'remove', id, code });
  }
  for (const [id, a] of Object.entries(o.added)) {
    const rec = a as { code?: unknown; embedding?: unknown };
    if (!isObj(rec) || !isCode(rec.code)) {
      throw new SemidError('SEMID_ERR_ARTIFACT_CORRUPT', `${LEGACY_OVERLAY_FILE}: bad entry of "${id}"`);
    }
    const emb = Array.isArray(rec.embedding) ? Float32Array.from(rec.embedding as number[]) : undefined;
    ops.push({ op: 'add', id, code: rec.code, ...(emb ? { embedding: emb } : {}) });
  }
  return ops;
}

async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** The added / removed items of one bundle, with their journal when persisted. */
export class OverlayStore implements OverlayState {
  private readonly addedMap = new Map<ItemId, AddedItem>();
  private readonly removedMap = new Map<ItemId, Code>();

  private constructor(private readonly path: string | undefined) {}

  /**
   * Opens the store of bundle directory `dir`: replays `overlay.json` (older format) then the journal.
   * With `persist`, the journal is compacted and the older file removed; without, nothing is written
   * (changes live in memory). `dir` undefined: an in-memory store.
   */
  static async open(dir: string | undefined, persist: boolean): Promise<OverlayStore> {
    const path = dir !== undefined && persist ? join(dir, JOURNAL_FILE) : undefined;
    const store = new OverlayStore(path);
    if (dir === undefined) return store;
    const legacy = join(dir, LEGACY_OVERLAY_FILE);
    const journal = join(dir, JOURNAL_FILE);
    const ops: OverlayOp[] = existsSync(legacy) ? await readLegacy(legacy) : [];
    let rewrite = ops.length > 0;
    if (existsSync(journal)) {
      const read = decodeJournal(await readFile(journal));
      ops.push(...read.ops);
      rewrite ||= read.torn;
    }
    for (const op of ops) apply(store.addedMap, store.removedMap, op);
    rewrite ||= ops.length > store.addedMap.size + store.removedMap.size;
    if (path !== undefined && rewrite) {
      await store.compact(dir);
      if (existsSync(legacy)) await unlink(legacy);
    }
    return store;
  }

  /** Items added through the API. */
  get added(): ReadonlyMap<ItemId, AddedItem> {
    return this.addedMap;
  }

  /** Items removed through the API, with the code they keep. */
  get removed(): ReadonlyMap<ItemId, Code> {
    return this.removedMap;
  }

  /** Records a change: appended to the journal and fsynced (when persisted), then applied. */
  async record(op: OverlayOp): Promise<void> {
    if (this.path !== undefined) {
      const created = !existsSync(this.path);
      await appendDurably(this.path, encodeRecord(op));
      if (created) await fsyncDir(join(this.path, '..'));
    }
    apply(this.addedMap, this.removedMap, op);
  }

  /** Rewrites the journal with one record per item (temporary file, fsync, rename, fsync of the directory). */
  private async compact(dir: string): Promise<void> {
    const records: Buffer[] = [];
    for (const [id, code] of this.removedMap) records.push(encodeRecord({ op: 'remove', id, code }));
    for (const [id, a] of this.addedMap) records.push(encodeRecord({ op: 'add', id, ...a }));
    const tmp = join(dir, `.${JOURNAL_FILE}.tmp-${process.pid}`);
    const h = await open(tmp, 'w');
    try {
      await h.writeFile(Buffer.concat(records));
      await h.sync();
    } finally {
      await h.close();
    }
    await rename(tmp, join(dir, JOURNAL_FILE));
    await fsyncDir(dir);
  }
}

/** Appends `data` and fsyncs it before returning (callers serialise changes, so appends never interleave). */
async function appendDurably(path: string, data: Buffer): Promise<void> {
  const h = await open(path, 'a');
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
}
