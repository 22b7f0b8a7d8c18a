/**
 * A small zip reader (no dependency): reads the central directory, inflates each entry with
 * zlib.inflateRawSync (methods 0 "stored" and 8 "deflate") and checks its CRC-32. Enough for the
 * GroupLens MovieLens zips; zip64 and encrypted archives are refused with a clear error.
 */
import * as zlib from 'node:zlib';
import { SemidError } from '../errors.js';

/** One extracted file. */
export interface ZipEntry {
  /** Path inside the archive, `/`-separated. */
  name: string;
  data: Buffer;
}

const EOCD = 0x06054b50;
const CDH = 0x02014b50;
const LFH = 0x04034b50;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (the zip/gzip polynomial) of a buffer. */
export function crc32(buf: Uint8Array): number {
  const native = (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32;
  if (native) return native(buf) >>> 0;
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = (CRC_TABLE[(c ^ (buf[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Reads every file entry of a zip archive (directories are skipped).
 * @param what the archive's name for error messages
 * @throws SEMID_ERR_PARSE for a damaged, zip64, encrypted or unsafe (absolute or `..`) archive.
 */
export function readZip(buf: Buffer, what = 'zip archive'): ZipEntry[] {
  const fail = (msg: string): never => {
    throw new SemidError('SEMID_ERR_PARSE', `${what}: ${msg}; download it again`);
  };
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail('no end-of-central-directory record (not a zip file, or truncated)');
  const count = buf.readUInt16LE(eocd + 10);
  const cdSize = buf.readUInt32LE(eocd + 12);
  let p = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || p === 0xffffffff) fail('zip64 archives are not supported');
  if (p + cdSize > buf.length) fail('central directory lies outside the file (truncated)');
  const out: ZipEntry[] = [];
  for (let e = 0; e < count; e++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CDH) fail(`bad central directory entry ${e + 1}`);
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const csize = buf.readUInt32LE(p + 20);
    const usize = buf.readUInt32LE(p + 24);
    const nlen = buf.readUInt16LE(p + 28);
    const xlen = buf.readUInt16LE(p + 30);
    const clen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nlen).toString(flags & 0x800 ? 'utf8' : 'latin1');
    p += 46 + nlen + xlen + clen;
    if (name.endsWith('/')) continue;
    if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.split(/[\\/]/).includes('..')) {
      fail(`unsafe entry name "${name}"`);
    }
    if (flags & 1) fail(`entry "${name}" is encrypted`);
    if (csize === 0xffffffff || usize === 0xffffffff) fail('zip64 archives are not supported');
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== LFH) fail(`bad local header for "${name}"`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + csize);
    if (raw.length !== csize) fail(`entry "${name}" is truncated`);
    let data: Buffer;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) {
      try {
        data = zlib.inflateRawSync(raw);
      } catch (err) {
        return fail(`entry "${name}" does not inflate (${(err as Error).message})`);
      }
    } else
      return fail(`entry "${name}" uses compression method ${method}; only stored (0) and deflate (8) are supported`);
    if (data.length !== usize || crc32(data) !== crc) fail(`entry "${name}" fails its size/CRC-32 check`);
    out.push({ name, data });
  }
  return out;
}
