/**
 * Streaming line input for the loaders: files are read chunk by chunk (never whole), `.gz` files are
 * inflated on the fly, and every line comes with its 1-based number so errors can point at it.
 * `BadRows` is the one place that decides between failing on a bad row and counting it (skipBad).
 */
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { SemidError } from '../errors.js';
import { track } from '../progress.js';
import type { LoadReport } from '../types.js';

/** Text encodings the loaders read (MovieLens item files are Latin-1). */
export type TextEncoding = 'utf8' | 'latin1';

/** How many bad rows are described one by one in report.warnings before the rest are only counted. */
export const BAD_ROWS_DESCRIBED = 5;

/**
 * Calls `onLine(line, lineNo)` for every line of `path` (1-based numbers; `\r\n` and a UTF-8 BOM are
 * handled; a `.gz` path is gunzipped). `onLine` runs synchronously within each chunk, so a throw stops
 * the read at once; returning false stops it quietly.
 * @throws SEMID_ERR_NOT_FOUND when the file is missing, SEMID_ERR_PARSE when a .gz file is corrupt.
 */
export async function forEachLine(
  path: string,
  onLine: (line: string, lineNo: number) => unknown,
  encoding: TextEncoding = 'utf8',
): Promise<void> {
  const stream = openText(path);
  const decoder = new StringDecoder(encoding);
  let rest = '';
  let lineNo = 0;
  let stopped = false;
  const emit = (raw: string) => {
    lineNo++;
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    if (onLine(line, lineNo) === false) stopped = true;
  };
  try {
    for await (const chunk of stream) {
      const text = rest + decoder.write(chunk as Buffer);
      let start = 0;
      let nl = text.indexOf('\n', start);
      while (nl !== -1 && !stopped) {
        emit(text.slice(start, nl));
        start = nl + 1;
        nl = text.indexOf('\n', start);
      }
      rest = text.slice(start);
      if (stopped) return;
    }
  } catch (e) {
    throw readFailure(path, e);
  } finally {
    stream.destroy();
  }
  rest += decoder.end();
  if (rest.length > 0) emit(rest);
}

/**
 * The bytes of `path` as a stream, gunzipped when the name ends in `.gz`.
 * @throws SEMID_ERR_NOT_FOUND when the file is missing.
 */
export function openText(path: string): Readable {
  if (!existsSync(path)) throw new SemidError('SEMID_ERR_NOT_FOUND', `file not found: ${path}`);
  const file = createReadStream(path);
  const progress = track(`reading ${basename(path)}`, statSync(path).size, { unit: 'MB', scale: 1e6 });
  let read = 0;
  file.on('data', (chunk) => {
    read += chunk.length;
    progress.update(read);
  });
  file.on('close', () => progress.done());
  if (!path.endsWith('.gz')) return file;
  const gunzip = createGunzip();
  return pipeline(file, gunzip, (err) => {
    if (err) gunzip.destroy(err);
  });
}

/** The SemidError for a failed read of `path`: a SemidError as is, a corrupt .gz or any other error as SEMID_ERR_PARSE. */
export function readFailure(path: string, e: unknown): SemidError {
  if (e instanceof SemidError) return e;
  const err = e as NodeJS.ErrnoException;
  if (path.endsWith('.gz') && (err.code?.startsWith('Z_') || /gzip|header|unexpected end/i.test(err.message))) {
    return new SemidError(
      'SEMID_ERR_PARSE',
      `${path}: not a valid gzip file (${err.message}); re-download it or decompress it and drop the .gz suffix`,
      { file: path },
    );
  }
  return new SemidError('SEMID_ERR_PARSE', `${path}: read failed: ${err.message}`, { file: path });
}

/** Reads the first non-empty line of a file (undefined for an empty file). */
export async function firstLine(path: string): Promise<string | undefined> {
  let found: string | undefined;
  await forEachLine(path, (line) => {
    if (line.trim() === '') return;
    found = line;
    return false;
  });
  return found;
}

/**
 * Bad-row policy for one load: without skipBad the first bad row throws SEMID_ERR_PARSE naming the file,
 * the line and what was expected; with skipBad rows are counted in report.badRows and the first
 * BAD_ROWS_DESCRIBED are described in report.warnings.
 */
export class BadRows {
  private described = 0;
  constructor(
    private readonly report: LoadReport,
    private readonly skipBad: boolean,
  ) {}

  /**
   * Records a bad row. `expected` says what the row should look like, `got` what came instead.
   * @throws SEMID_ERR_PARSE unless skipBad.
   */
  bad(file: string, line: number, expected: string, got: string): void {
    const where = `${file}:${line}`;
    const what = `expected ${expected}, got ${got}`;
    if (!this.skipBad) {
      throw new SemidError(
        'SEMID_ERR_PARSE',
        `${where} (line ${line}): ${what}. Fix the row, or pass --skip-bad (skipBad) to skip and count bad rows.`,
        { file, line },
      );
    }
    this.report.badRows++;
    if (this.described < BAD_ROWS_DESCRIBED) {
      this.described++;
      this.report.warnings.push(`skipped bad row ${where}: ${what}`);
    }
  }

  /** Adds a summary warning for bad rows beyond the described ones; call once at the end of a load. */
  finish(): void {
    const more = this.report.badRows - this.described;
    if (more > 0) this.report.warnings.push(`... and ${more} more bad rows skipped (${this.report.badRows} in total)`);
  }
}

/** Shortens a value for an error message. */
export function preview(s: string, max = 80): string {
  const one = JSON.stringify(s);
  return one.length > max ? `${one.slice(0, max - 4)}..."` : one;
}

/** Lists the regular files of a directory (names only, sorted). */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) throw new SemidError('SEMID_ERR_NOT_FOUND', `data directory not found: ${dir}`);
  if (!statSync(dir).isDirectory()) {
    throw new SemidError('SEMID_ERR_BAD_INPUT', `expected a data directory, got a file: ${dir}; pass its folder`);
  }
  return readdirSync(dir)
    .filter((n) => statSync(join(dir, n)).isFile())
    .sort();
}

/** The path of `name` or `name.gz` in `files` of `dir`, or undefined. */
export function findFile(dir: string, files: readonly string[], name: string): string | undefined {
  if (files.includes(name)) return join(dir, name);
  if (files.includes(`${name}.gz`)) return join(dir, `${name}.gz`);
  return undefined;
}

/** `name` without a trailing `.gz`. */
export function stripGz(name: string): string {
  return name.endsWith('.gz') ? name.slice(0, -3) : name;
}

/** Quotes a CSV field when needed (comma, quote, CR or LF inside). */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * Re-decodes a line read as Latin-1: if its bytes are valid UTF-8 the UTF-8 text is returned, else the
 * Latin-1 text. MovieLens ships Latin-1 (ml-100k, ml-1m) and UTF-8 (later sets) under the same names.
 */
export function latin1OrUtf8(line: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: testing for pure ASCII
  if (/^[\x00-\x7f]*$/.test(line)) return line;
  try {
    return utf8Strict.decode(Buffer.from(line, 'latin1'));
  } catch {
    return line;
  }
}

/** Parses a finite number from a field, or undefined. */
export function toNumber(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = s.trim();
  if (t === '') return undefined;
  const v = Number(t);
  return Number.isFinite(v) ? v : undefined;
}
