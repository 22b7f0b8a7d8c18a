#!/usr/bin/env node
// The CLI entry: runs the compiled TypeScript (npm ci builds it through the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  process.stderr.write('semid: the compiled CLI is missing (dist/). Run `npm run build` (npm ci runs it for you).\n');
  process.exit(1);
}
const { run } = await import(main);
process.exitCode = await run(process.argv.slice(2));
