/**
 * Artifact I/O: every artifact (index, model, bundle, report) is a directory written to a temporary
 * sibling and renamed into place, so an interrupted write never destroys a good artifact. Readers
 * validate the manifest's format version and give a clear error for a missing or corrupt artifact.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SemidError } from './errors.js';

/** Format version of every semid manifest; bump on an incompatible change. */
export const FORMAT_VERSION = 1;

/** The common head of every manifest.json. */
export interface ManifestBase {
  formatVersion: number;
  /** What the directory holds: "index", "model", "bundle". */
  kind: string;
  createdAt: string;
  semidVersion: string;
}

/**
 * Writes a directory atomically: `fill(tmpDir)` writes into a fresh temporary sibling, which then
 * replaces `dir` (the old one is moved aside first and removed only after the rename succeeded).
 */
export async function writeDirAtomic(dir: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const tag = randomBytes(4).toString('hex');
  const tmp = join(parent, `.${basename(dir)}.tmp-${tag}`);
  await mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  const old = join(parent, `.${basename(dir)}.old-${tag}`);
  const hadOld = existsSync(dir);
  if (hadOld) await rename(dir, old);
  try {
    await rename(tmp, dir);
  } catch (e) {
    if (hadOld) await rename(old, dir);
    throw e;
  }
  if (hadOld) await rm(old, { recursive: true, force: true });
}

/** Writes a file atomically (temporary sibling, then rename). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(4).toString('hex')}`);
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** Writes pretty JSON. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Reads and parses a JSON file with errors that name the file. */
export async function readJson<T>(path: string, what = 'file'): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new SemidError('SEMID_ERR_ARTIFACT_MISSING', `${what} not found: ${path}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new SemidError('SEMID_ERR_ARTIFACT_CORRUPT', `${what} ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * Reads `dir/manifest.json` and checks kind and format version.
 * @throws SEMID_ERR_ARTIFACT_MISSING, SEMID_ERR_ARTIFACT_CORRUPT or SEMID_ERR_ARTIFACT_VERSION
 */
export async function readManifest<M extends ManifestBase>(dir: string, kind: string): Promise<M> {
  if (!existsSync(dir)) {
    throw new SemidError('SEMID_ERR_ARTIFACT_MISSING', `${kind} directory not found: ${dir}`);
  }
  const m = await readJson<M>(join(dir, 'manifest.json'), `${kind} manifest`);
  if (typeof m !== 'object' || m === null || m.kind !== kind) {
    throw new SemidError(
      'SEMID_ERR_ARTIFACT_CORRUPT',
      `${dir}/manifest.json is not a semid ${kind} manifest (kind=${(m as { kind?: unknown })?.kind})`,
    );
  }
  if (m.formatVersion !== FORMAT_VERSION) {
    throw new SemidError(
      'SEMID_ERR_ARTIFACT_VERSION',
      `${kind} at ${dir} has format version ${m.formatVersion}, this semid reads version ${FORMAT_VERSION}; rebuild it`,
    );
  }
  return m;
}

/** Fills the common manifest head. */
export function manifestHead(kind: string): ManifestBase {
  return { formatVersion: FORMAT_VERSION, kind, createdAt: new Date().toISOString(), semidVersion: '0.1.0' };
}

/** Writes a Float32Array as raw little-endian bytes. */
export async function writeF32(path: string, a: Float32Array): Promise<void> {
  await writeFile(path, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

/** Reads raw little-endian float32 bytes, checking the expected length when given. */
export async function readF32(path: string, expected?: number): Promise<Float32Array> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch {
    throw new SemidError('SEMID_ERR_ARTIFACT_MISSING', `tensor file not found: ${path}`);
  }
  if (buf.byteLength % 4 !== 0 || (expected !== undefined && buf.byteLength !== expected * 4)) {
    throw new SemidError(
      'SEMID_ERR_ARTIFACT_CORRUPT',
      `${path} holds ${buf.byteLength} bytes, expected ${expected === undefined ? 'a multiple of 4' : expected * 4}`,
    );
  }
  const out = new Float32Array(buf.byteLength / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}
