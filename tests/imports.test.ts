import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (n.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Top folders a file's relative imports reach. */
function importedTops(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const tops: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)) {
    const target = relative(root, resolve(dirname(file), m[1]!));
    const parts = target.split(/[\\/]/);
    tops.push(parts[0] === 'src' ? `src/${parts[1]}` : parts[0]!);
  }
  return tops;
}

// cli/ may import everything: it is the one folder that wires the others together.
describe('import direction (src/README.md)', () => {
  it('indexer/, models/ and server/ import from src/core only (and from themselves)', () => {
    const bad: string[] = [];
    for (const top of ['indexer', 'models', 'server']) {
      for (const f of tsFiles(join(root, top))) {
        for (const t of importedTops(f)) if (t !== top && t !== 'src/core') bad.push(`${relative(root, f)} -> ${t}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('the server never imports models/ or indexer/ (the CLI injects their loaders)', () => {
    const bad: string[] = [];
    for (const f of tsFiles(join(root, 'server'))) {
      for (const t of importedTops(f)) if (t === 'models' || t === 'indexer') bad.push(`${relative(root, f)} -> ${t}`);
    }
    expect(bad).toEqual([]);
  });

  it('nothing but cli/, tests/, bench/ and scripts/ imports cli/', () => {
    const bad: string[] = [];
    for (const top of ['src', 'indexer', 'models', 'server']) {
      for (const f of tsFiles(join(root, top))) {
        for (const t of importedTops(f)) if (t === 'cli') bad.push(`${relative(root, f)} -> ${t}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('indexer/shared imports nothing else of indexer/ (the schemes stand on it)', () => {
    const bad: string[] = [];
    const shared = join(root, 'indexer', 'shared');
    for (const f of tsFiles(shared)) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)) {
        const target = resolve(dirname(f), m[1]!);
        const inIndexer = !relative(join(root, 'indexer'), target).startsWith('..');
        const inShared = !relative(shared, target).startsWith('..');
        if (inIndexer && !inShared) bad.push(`${relative(root, f)} -> ${relative(root, target)}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('bench/ never imports tests/ (benchmarks keep their own helpers)', () => {
    const bad: string[] = [];
    for (const f of tsFiles(join(root, 'bench'))) {
      for (const t of importedTops(f)) if (t === 'tests') bad.push(relative(root, f));
    }
    expect(bad).toEqual([]);
  });

  it('only src/index.ts and src/api/ (the public API) import indexer/, models/ or server/ from src/', () => {
    const bad: string[] = [];
    for (const f of tsFiles(join(root, 'src'))) {
      const rel = relative(root, f);
      if (rel === join('src', 'index.ts') || rel.startsWith(join('src', 'api') + sep)) continue;
      for (const t of importedTops(f)) {
        if (t === 'models' || t === 'indexer' || t === 'server') bad.push(`${rel} -> ${t}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('src/api/ is imported only by src/index.ts, itself, cli/, tests/, bench/, scripts/ and examples/', () => {
    const bad: string[] = [];
    for (const top of ['src', 'indexer', 'models', 'server']) {
      for (const f of tsFiles(join(root, top))) {
        const rel = relative(root, f);
        if (rel === join('src', 'index.ts') || rel.startsWith(join('src', 'api') + sep)) continue;
        for (const t of importedTops(f)) if (t === 'src/api') bad.push(`${rel} -> ${t}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('src/core imports nothing outside src/core', () => {
    const bad: string[] = [];
    for (const f of tsFiles(join(root, 'src/core'))) {
      for (const t of importedTops(f)) if (t !== 'src/core') bad.push(`${relative(root, f)} -> ${t}`);
    }
    expect(bad).toEqual([]);
  });

  it('only src/core/tf.ts imports TensorFlow.js', () => {
    const bad: string[] = [];
    for (const top of ['src', 'cli', 'indexer', 'models', 'server']) {
      for (const f of tsFiles(join(root, top))) {
        if (relative(root, f) === join('src', 'core', 'tf.ts')) continue;
        if (/from\s+['"]@tensorflow\//.test(readFileSync(f, 'utf8'))) bad.push(relative(root, f));
      }
    }
    expect(bad).toEqual([]);
  });
});
