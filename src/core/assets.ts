/**
 * The browser assets that ship with semid: the report and explorer scripts and styles in the
 * package's top-level `ui/` folder, and the ECharts build they draw with. Both the compiled
 * (`dist/`) and the source (`tsx`) layouts find them, since the package root is looked up from this
 * file's location rather than assumed.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SemidError } from './errors.js';

let root: string | undefined;

/** The package root: the nearest ancestor of this file that holds `ui/` and `package.json`. */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'ui'))) {
      root = dir;
      return dir;
    }
    const up = dirname(dir);
    if (up === dir) {
      throw new SemidError(
        'SEMID_ERR_ARTIFACT_MISSING',
        `semid's browser assets (the ui/ folder) were not found above ${fileURLToPath(import.meta.url)}; reinstall semid`,
      );
    }
    dir = up;
  }
}

const cache = new Map<string, string>();

/** Text of a file under `ui/` (e.g. `report/report.js`), read once. */
export async function uiAsset(name: string): Promise<string> {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  const text = await readFile(join(packageRoot(), 'ui', name), 'utf8');
  cache.set(name, text);
  return text;
}

/** Text of ECharts' minified browser build (the `echarts` npm package), read once. */
export async function echartsScript(): Promise<string> {
  const key = '\0echarts';
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const path = createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js');
  const text = await readFile(path, 'utf8');
  cache.set(key, text);
  return text;
}

/** `text` made safe to inline in a `<script>` element (no early `</script>`, no `<!--` parsing mode). */
export function inlineScript(text: string): string {
  return text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}
