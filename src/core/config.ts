/**
 * The one config mechanism: a config is described by a spec with one entry per field (its kind,
 * default, bounds and doc). `resolveConfig` merges a partial config over the defaults, validates every
 * field and every cross-field rule, and reports ALL problems in one SemidError; `defaultsOf` reads the
 * defaults and `describeConfig` / `configTable` render the spec for `--help` and the docs. Every
 * scheme, model, batching and server config is resolved here.
 */
import { type ErrorCode, SemidError } from './errors.js';

interface FieldBase<T> {
  /** The value a field takes when the partial config leaves it out. */
  default: T;
  /** One line for help and docs: what the field does (and its unit). */
  doc: string;
}

/** Bounds of a numeric field: `min`/`max` inclusive, `above`/`below` exclusive. */
interface Bounds {
  min?: number;
  max?: number;
  above?: number;
  below?: number;
}

/** An integer field. */
export interface IntField extends FieldBase<number>, Bounds {
  kind: 'int';
}
/** A finite number field. */
export interface NumberField extends FieldBase<number>, Bounds {
  kind: 'number';
}
/** A boolean field. */
export interface BoolField extends FieldBase<boolean> {
  kind: 'bool';
}
/** A string field; `nonEmpty` makes the empty string a problem. */
export interface StringField extends FieldBase<string> {
  kind: 'string';
  nonEmpty?: boolean;
}
/** A field taking one of a closed set of strings. */
export interface EnumField<T extends string = string> extends FieldBase<T> {
  kind: 'enum';
  values: readonly T[];
}
/** A plain-object field (validated by the owner's rules). */
export interface ObjectField<T extends object = object> extends FieldBase<T> {
  kind: 'object';
}

/** Any field entry. */
export type AnyField = IntField | NumberField | BoolField | StringField | EnumField | ObjectField;

/** The entry kinds a field of type T may have. */
export type FieldSpec<T> = 0 extends 1 & T
  ? AnyField
  : [T] extends [boolean]
    ? BoolField
    : [T] extends [number]
      ? IntField | NumberField
      : [T] extends [string]
        ? string extends T
          ? StringField
          : EnumField<T & string>
        : [T] extends [object]
          ? ObjectField<T & object>
          : never;

/** A spec for every field of config C. */
export type ConfigSpec<C extends object> = { [K in keyof C]-?: FieldSpec<NonNullable<C[K]>> };

/** The config type a spec literal describes (enum fields keep their literal unions). */
export type ConfigOf<S extends Record<string, AnyField>> = {
  -readonly [K in keyof S]: S[K] extends { kind: 'enum'; values: readonly (infer T)[] }
    ? T
    : S[K] extends ObjectField<infer O>
      ? O
      : S[K] extends BoolField
        ? boolean
        : S[K] extends StringField
          ? string
          : number;
};

/** A cross-field rule: runs once every field it `needs` is valid (all fields when absent). */
export interface ConfigRule<C extends object> {
  needs?: readonly (keyof C)[];
  /** Problem lines, or none. */
  check(c: C): readonly string[] | string | undefined;
}

/** Options of `resolveConfig`. */
export interface ResolveOptions<C extends object> {
  /** Cross-field rules. */
  rules?: readonly ConfigRule<C>[];
  /** The error code thrown (default SEMID_ERR_BAD_CONFIG). */
  code?: ErrorCode;
}

/** The defaults of a spec, as a config. */
export function defaultsOf<C extends object>(spec: ConfigSpec<C>): C {
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(spec) as [string, AnyField][]) out[k] = f.default;
  return out as C;
}

function boundsProblem(name: string, f: Bounds, v: number): string | undefined {
  if (f.min !== undefined && v < f.min) return `${name} must be >= ${f.min}, got ${v}`;
  if (f.above !== undefined && !(v > f.above)) return `${name} must be > ${f.above}, got ${v}`;
  if (f.max !== undefined && v > f.max) return `${name} must be <= ${f.max}, got ${v}`;
  if (f.below !== undefined && !(v < f.below)) return `${name} must be < ${f.below}, got ${v}`;
  return undefined;
}

/** The problem of one field's value, if any. */
export function fieldProblem(name: string, f: AnyField, v: unknown): string | undefined {
  switch (f.kind) {
    case 'int':
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v))
        return `${name} must be ${f.kind === 'int' ? 'an integer' : 'a number'}, got ${JSON.stringify(v)}`;
      if (f.kind === 'int' && !Number.isInteger(v)) return `${name} must be an integer, got ${v}`;
      return boundsProblem(name, f, v);
    case 'bool':
      return typeof v === 'boolean' ? undefined : `${name} must be a boolean, got ${JSON.stringify(v)}`;
    case 'string':
      if (typeof v !== 'string') return `${name} must be a string, got ${JSON.stringify(v)}`;
      return f.nonEmpty && v === '' ? `${name} is required (${f.doc})` : undefined;
    case 'enum':
      return typeof v === 'string' && (f.values as readonly string[]).includes(v)
        ? undefined
        : `${name} must be one of ${f.values.join(', ')}, got ${JSON.stringify(v)}`;
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v)
        ? undefined
        : `${name} must be an object, got ${JSON.stringify(v)}`;
  }
}

/**
 * Merges `partial` over the spec's defaults (undefined values keep the default) and validates every
 * field and rule; unknown fields are problems too.
 * @param what names the config in the message ("rqvae", "model", "batching").
 * @throws SEMID_ERR_BAD_CONFIG (or `opts.code`) listing every problem found, in `details.problems`.
 */
export function resolveConfig<C extends object>(
  what: string,
  spec: ConfigSpec<C>,
  partial: Partial<C> | Record<string, unknown> | undefined,
  opts: ResolveOptions<C> = {},
): C {
  const code = opts.code ?? 'SEMID_ERR_BAD_CONFIG';
  if (partial !== undefined && (typeof partial !== 'object' || partial === null || Array.isArray(partial))) {
    throw new SemidError(code, `${what} config must be an object, got ${JSON.stringify(partial)}`);
  }
  const fields = spec as Record<string, AnyField>;
  const known = Object.keys(fields);
  const problems: string[] = [];
  const merged = defaultsOf<C>(spec) as Record<string, unknown>;
  for (const [k, v] of Object.entries(partial ?? {})) {
    if (!Object.hasOwn(fields, k)) problems.push(`unknown field "${k}" (valid fields: ${known.join(', ')})`);
    else if (v !== undefined) merged[k] = v;
  }
  const bad = new Set<string>();
  for (const k of known) {
    const p = fieldProblem(k, fields[k] as AnyField, merged[k]);
    if (p) {
      problems.push(p);
      bad.add(k);
    }
  }
  const c = merged as C;
  for (const rule of opts.rules ?? []) {
    const ready = rule.needs ? rule.needs.every((k) => !bad.has(k as string)) : bad.size === 0;
    if (!ready) continue;
    const out = rule.check(c);
    if (typeof out === 'string') problems.push(out);
    else if (out) problems.push(...out);
  }
  if (problems.length > 0) {
    throw new SemidError(
      code,
      `${what} config has ${problems.length} problem${problems.length > 1 ? 's' : ''}: ${problems.join('; ')}`,
      { problems },
    );
  }
  return c;
}

/** A field's kind and bounds in words: "int >= 1", "number in [0, 1)", "one of a, b". */
export function describeKind(f: AnyField): string {
  switch (f.kind) {
    case 'int':
    case 'number': {
      const lo = f.min !== undefined ? `[${f.min}` : f.above !== undefined ? `(${f.above}` : undefined;
      const hi = f.max !== undefined ? `${f.max}]` : f.below !== undefined ? `${f.below})` : undefined;
      if (lo && hi) return `${f.kind} in ${lo}, ${hi}`;
      if (lo) return `${f.kind} ${lo[0] === '[' ? '>=' : '>'} ${lo.slice(1)}`;
      if (hi) return `${f.kind} ${hi.endsWith(']') ? '<=' : '<'} ${hi.slice(0, -1)}`;
      return f.kind;
    }
    case 'enum':
      return `one of ${f.values.join(', ')}`;
    default:
      return f.kind;
  }
}

/** One help line per field: `name (kind and bounds, default D): doc`. */
export function describeConfig<C extends object>(spec: ConfigSpec<C>): string[] {
  return (Object.entries(spec) as [string, AnyField][]).map(
    ([k, f]) => `${k} (${describeKind(f)}, default ${JSON.stringify(f.default)}): ${f.doc}`,
  );
}

/** The spec as a Markdown table (field, type, default, meaning) for the docs. */
export function configTable<C extends object>(spec: ConfigSpec<C>): string {
  const rows = (Object.entries(spec) as [string, AnyField][]).map(
    ([k, f]) => `| \`${k}\` | ${describeKind(f)} | \`${JSON.stringify(f.default)}\` | ${f.doc.replace(/\|/g, '\\|')} |`,
  );
  return ['| field | type | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
