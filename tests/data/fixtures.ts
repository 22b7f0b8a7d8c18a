/** Test helpers: temporary folders filled with small hand-written dataset files (optionally gzipped). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll } from 'vitest';

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/**
 * Creates a temp folder holding `files` (name -> text or bytes). Text under a name ending in `.gz` is
 * gzipped; bytes are written as they are. Removed after the test file.
 */
export function fixtureDir(files: Record<string, string | Uint8Array>): string {
  const dir = mkdtempSync(join(tmpdir(), 'semid-data-'));
  made.push(dir);
  for (const [name, body] of Object.entries(files)) {
    if (typeof body !== 'string') writeFileSync(join(dir, name), body);
    else writeFileSync(join(dir, name), name.endsWith('.gz') ? gzipSync(body) : body);
  }
  return dir;
}

/** A fresh empty temp folder path (not created), removed after the test file. */
export function tempPath(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'semid-data-'));
  made.push(dir);
  return join(dir, name);
}

/** Lines joined with `\n` and a trailing newline. */
export const lines = (...ls: string[]) => `${ls.join('\n')}\n`;
