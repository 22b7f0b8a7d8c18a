/** No source file outside generated code holds more than 500 lines (a longer file holds two ideas). */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MAX_LINES = 500;

/** Files still being split by their owners (each named with the split it waits for). */
const PENDING = new Set([
  // the ONNX graph builder and one exporter per architecture
  'models/onnx/export.ts',
  // LETTER's loss terms passed into RQ-VAE training instead of branches inside it
  'indexer/quant/rqvae-model.ts',
]);

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    if (n === 'node_modules' || n === 'dist' || n.startsWith('.')) continue;
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|js|mjs)$/.test(n) && !n.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

describe('file size', () => {
  it(`no source file is over ${MAX_LINES} lines`, () => {
    const long: string[] = [];
    for (const top of ['src', 'cli', 'indexer', 'models', 'server', 'bench', 'scripts', 'tests', 'bin']) {
      let files: string[] = [];
      try {
        files = sources(join(root, top));
      } catch {
        continue;
      }
      for (const f of files) {
        const rel = relative(root, f).split('\\').join('/');
        const lines = readFileSync(f, 'utf8').split('\n').length;
        if (lines > MAX_LINES && !PENDING.has(rel)) long.push(`${rel}: ${lines} lines`);
      }
    }
    expect(long).toEqual([]);
  });
});
