/**
 * Config resolution for indexing schemes: a typed spec per field (kind, range, allowed values,
 * documentation) and one `resolveConfig` that validates a partial config against it and reports ALL
 * problems at once in a single SEMID_ERR_BAD_CONFIG error.
 */
import { SemidError } from '../../src/core/errors.js';
import type { CollisionMode } from '../types.js';

/** One field's validation rule and documentation. */
export type FieldSpec =
  | { kind: 'int'; min?: number; max?: number; doc: string }
  | { kind: 'number'; min?: number; max?: number; doc: string }
  | { kind: 'bool'; doc: string }
  | { kind: 'string'; nonEmpty?: boolean; doc: string }
  | { kind: 'enum'; values: readonly string[]; doc: string }
  | { kind: 'object'; doc: string };

/** A spec for every field of config C. */
export type ConfigSpec<C extends object> = { [K in keyof C]-?: FieldSpec };

/** Every collision mode, for validation and help. */
export const COLLISION_MODES: readonly CollisionMode[] = ['dedup-level', 'sinkhorn', 'report'];

/** The shared `collisions` field spec. */
export const COLLISIONS_FIELD: FieldSpec = {
  kind: 'enum',
  values: COLLISION_MODES,
  doc: 'how codes shared by several items are made unique: dedup-level (TIGER extra level), sinkhorn (re-assign on the last level), report (dedup-level, and every collision group recorded in diagnostics)',
};

/** The shared `suffixHeadroom` field spec of the schemes with a suffix level (title, category, keywords). */
export const SUFFIX_HEADROOM_FIELD: FieldSpec = {
  kind: 'int',
  min: 0,
  max: 1 << 16,
  doc: 'spare suffix values beyond the largest group, for new items',
};

function checkField(name: string, spec: FieldSpec, v: unknown): string | undefined {
  switch (spec.kind) {
    case 'int':
    case 'number': {
      if (typeof v !== 'number' || !Number.isFinite(v)) return `${name} must be a number, got ${JSON.stringify(v)}`;
      if (spec.kind === 'int' && !Number.isInteger(v)) return `${name} must be an integer, got ${v}`;
      if (spec.min !== undefined && v < spec.min) return `${name} must be >= ${spec.min}, got ${v}`;
      if (spec.max !== undefined && v > spec.max) return `${name} must be <= ${spec.max}, got ${v}`;
      return undefined;
    }
    case 'bool':
      return typeof v === 'boolean' ? undefined : `${name} must be true or false, got ${JSON.stringify(v)}`;
    case 'string':
      if (typeof v !== 'string') return `${name} must be a string, got ${JSON.stringify(v)}`;
      if (spec.nonEmpty && v === '') return `${name} is required (${spec.doc})`;
      return undefined;
    case 'enum':
      return typeof v === 'string' && spec.values.includes(v)
        ? undefined
        : `${name} must be one of ${spec.values.join(', ')}, got ${JSON.stringify(v)}`;
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v)
        ? undefined
        : `${name} must be an object, got ${JSON.stringify(v)}`;
  }
}

/**
 * Merges `partial` over `defaults` and validates every field; unknown keys are problems too.
 * `extra` may add cross-field checks (run on the merged config, returning problem strings).
 * @throws SEMID_ERR_BAD_CONFIG listing every problem found.
 */
export function resolveConfig<C extends object>(
  scheme: string,
  defaults: C,
  spec: ConfigSpec<C>,
  partial: Partial<C> | undefined,
  extra?: (c: C) => string[],
): C {
  const problems: string[] = [];
  if (partial !== undefined && (typeof partial !== 'object' || partial === null || Array.isArray(partial))) {
    throw new SemidError('SEMID_ERR_BAD_CONFIG', `${scheme} config must be an object, got ${JSON.stringify(partial)}`);
  }
  const known = Object.keys(spec);
  for (const k of Object.keys(partial ?? {})) {
    if (!known.includes(k)) problems.push(`unknown field "${k}" (valid fields: ${known.join(', ')})`);
  }
  const merged = { ...defaults } as Record<string, unknown>;
  for (const [k, v] of Object.entries(partial ?? {})) if (v !== undefined && known.includes(k)) merged[k] = v;
  for (const k of known) {
    const p = checkField(k, spec[k as keyof C], merged[k]);
    if (p) problems.push(p);
  }
  const c = merged as C;
  if (problems.length === 0 && extra) problems.push(...extra(c));
  if (problems.length > 0) {
    throw new SemidError(
      'SEMID_ERR_BAD_CONFIG',
      `${scheme} config has ${problems.length} problem${problems.length > 1 ? 's' : ''}:\n  - ${problems.join('\n  - ')}`,
      { problems },
    );
  }
  return c;
}

/** Documentation lines for a spec with its defaults (for help output and docs). */
export function describeConfig<C extends object>(defaults: C, spec: ConfigSpec<C>): string[] {
  return (Object.keys(spec) as (keyof C)[]).map(
    (k) => `${String(k)} (${spec[k].kind}, default ${JSON.stringify(defaults[k])}): ${spec[k].doc}`,
  );
}
