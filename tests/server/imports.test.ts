import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const serverDir = join(root, 'server');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('server import boundaries', () => {
  it('imports only server/, src/core/ and its runtime packages (never training or index fitting code)', () => {
    const allowedPackages = new Set([
      'fastify',
      '@fastify/swagger',
      '@fastify/swagger-ui',
      '@fastify/rate-limit',
      'ajv',
      'prom-client',
      'hnswlib-node',
      'umap-js',
    ]);
    const bad: string[] = [];
    for (const f of files(serverDir)) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(
        /(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
      )) {
        const spec = (m[1] ?? m[2]) as string;
        if (spec.startsWith('node:')) continue;
        if (!spec.startsWith('.')) {
          if (!allowedPackages.has(spec)) bad.push(`${relative(root, f)} -> ${spec}`);
          continue;
        }
        const target = relative(root, resolve(dirname(f), spec));
        if (!(target.startsWith('server/') || target.startsWith('src/core/')))
          bad.push(`${relative(root, f)} -> ${target}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
