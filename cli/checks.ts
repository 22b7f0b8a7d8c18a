/**
 * Cheap checks the commands run before any data is read: that a directory holds the kind of artifact
 * a flag expects (an index for --index, a model for --model), with a message saying what the
 * directory is instead and what to do, and that a scheme name exists (with a suggestion).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { getScheme, SCHEME_NAMES } from '../indexer/registry.js';
import type { IndexingScheme } from '../indexer/types.js';
import { readJson } from '../src/core/artifact.js';
import { SemidError } from '../src/core/errors.js';
import { didYouMean } from './suggest.js';

/** Artifact kinds a command may expect. */
export type ArtifactKind = 'index' | 'model';

/** What each manifest kind is, in words, and which command makes it. */
const KINDS: Record<string, { what: string; madeBy: string; flag?: string }> = {
  index: { what: 'an index', madeBy: 'semid index build', flag: '--index' },
  model: { what: 'a model', madeBy: 'semid train', flag: '--model' },
  'onnx-model': { what: 'an ONNX model', madeBy: 'a model export', flag: '--model' },
};

/** What a directory without a manifest looks like, in words, or undefined. */
function describeFolder(dir: string): string | undefined {
  const names = readdirSync(dir);
  if (names.includes('report.json')) {
    return `a compare report (its indexes and models are under ${join(dir, 'work', '<scheme>-s<seed>')})`;
  }
  if (names.some((n) => /^(interactions|train|test)\.(csv|tsv)(\.gz)?$|\.inter(\.gz)?$|^u\.data$/.test(n))) {
    return 'a dataset (pass it as --data)';
  }
  return undefined;
}

/**
 * Checks that `dir` holds a semid artifact of kind `want` (a model directory may also hold an ONNX-only
 * model). `usage` shows the right call.
 * @throws SEMID_ERR_ARTIFACT_MISSING when `dir` does not exist, SEMID_ERR_BAD_INPUT when it holds
 * something else (saying what it is).
 */
export async function expectKind(dir: string, want: ArtifactKind, usage: string): Promise<void> {
  const wanted = KINDS[want] as { what: string; madeBy: string };
  if (!existsSync(dir)) {
    throw new SemidError(
      'SEMID_ERR_ARTIFACT_MISSING',
      `${dir} not found; expected ${wanted.what} directory (made by \`${wanted.madeBy}\`). Usage: ${usage}`,
    );
  }
  if (!statSync(dir).isDirectory()) {
    throw new SemidError('SEMID_ERR_BAD_INPUT', `${dir} is a file; expected ${wanted.what} directory. Usage: ${usage}`);
  }
  if (!existsSync(join(dir, 'manifest.json'))) {
    const seen = describeFolder(dir);
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `${dir} is ${seen ?? 'not a semid artifact (no manifest.json)'}, not ${wanted.what}; pass ${wanted.what} directory ` +
        `(made by \`${wanted.madeBy}\`). Usage: ${usage}`,
    );
  }
  const m = await readJson<{ kind?: unknown }>(join(dir, 'manifest.json'), 'manifest');
  const kind = typeof m === 'object' && m !== null && typeof m.kind === 'string' ? m.kind : undefined;
  if (kind === want || (want === 'model' && kind === 'onnx-model')) return;
  const is = kind === undefined ? undefined : KINDS[kind];
  if (is === undefined) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `${dir} holds a manifest of kind ${JSON.stringify(kind)}, not ${wanted.what} (made by \`${wanted.madeBy}\`). Usage: ${usage}`,
    );
  }
  throw new SemidError(
    'SEMID_ERR_BAD_INPUT',
    `${dir} is ${is.what} (made by \`${is.madeBy}\`), not ${wanted.what}. ` +
      `Pass ${wanted.what} directory (made by \`${wanted.madeBy}\`)${is.flag ? `; ${is.what} goes to ${is.flag}` : ''}. Usage: ${usage}`,
  );
}

/**
 * The scheme called `name`.
 * @throws SEMID_ERR_UNKNOWN_SCHEME with the closest name and the list.
 */
export function schemeNamed(name: string): IndexingScheme<object> {
  if (!(SCHEME_NAMES as readonly string[]).includes(name)) {
    throw new SemidError(
      'SEMID_ERR_UNKNOWN_SCHEME',
      `unknown scheme "${name}".${didYouMean(name, SCHEME_NAMES)} Valid schemes: ${SCHEME_NAMES.join(', ')}`,
    );
  }
  return getScheme(name);
}

/**
 * Every field of a scheme's config (name, kind and bounds, default, meaning), for `--scheme X --help`.
 * Reads the scheme's `spec` when it has one; otherwise lists its documented defaults.
 */
export function schemeHelp(scheme: IndexingScheme<object>): string {
  const spec = (scheme as { spec?: Record<string, FieldLike> }).spec;
  const defaults = scheme.defaults as Record<string, unknown>;
  const names = Object.keys(spec ?? defaults);
  const rows = names.map((k) => {
    const f = spec?.[k];
    const def = f?.default !== undefined ? f.default : defaults[k];
    return [k, f ? kindText(f) : typeof def, JSON.stringify(def) ?? '-', f?.doc ?? ''] as const;
  });
  const w0 = Math.max(5, ...rows.map((r) => r[0].length));
  const w1 = Math.max(4, ...rows.map((r) => r[1].length));
  const w2 = Math.max(7, ...rows.map((r) => r[2].length));
  const lines = [
    `Scheme ${scheme.name}: ${scheme.description}`,
    '',
    'Config fields (set them in --config <file.json|yaml>, e.g. {"levels": 4}):',
    ...rows.map(([k, kind, def, doc]) => `  ${k.padEnd(w0)}  ${kind.padEnd(w1)}  ${def.padEnd(w2)}  ${doc}`.trimEnd()),
  ];
  if (names.length === 0) lines.push('  (none: this scheme has no options)');
  return lines.join('\n');
}

/** The parts of a config field entry the help reads. */
interface FieldLike {
  kind: string;
  doc?: string;
  default?: unknown;
  min?: number;
  max?: number;
  values?: readonly string[];
}

function kindText(f: FieldLike): string {
  if (f.kind === 'enum' && f.values) return f.values.join('|');
  if ((f.kind === 'int' || f.kind === 'number') && (f.min !== undefined || f.max !== undefined)) {
    return `${f.kind} ${f.min ?? ''}..${f.max ?? ''}`;
  }
  return f.kind;
}
