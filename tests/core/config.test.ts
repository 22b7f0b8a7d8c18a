import { describe, expect, it } from 'vitest';
import { COLLAB_SPEC } from '../../indexer/features/collab.js';
import { SCHEMES } from '../../indexer/registry.js';
import { MODEL_SPEC, resolveModelConfig } from '../../models/config.js';
import { resolveSasrecConfig, SASREC_SPEC } from '../../models/sasrec.js';
import { BATCH_SPEC, resolveBatchOptions } from '../../server/batcher.js';
import {
  type AnyField,
  type ConfigSpec,
  configTable,
  defaultsOf,
  describeConfig,
  describeKind,
  resolveConfig,
} from '../../src/core/config.js';
import { SemidError } from '../../src/core/errors.js';

interface Toy {
  n: number;
  rate: number;
  on: boolean;
  name: string;
  mode: 'a' | 'b';
}

const TOY: ConfigSpec<Toy> = {
  n: { kind: 'int', default: 2, min: 1, max: 8, doc: 'count' },
  rate: { kind: 'number', default: 0.5, above: 0, below: 1, doc: 'a share' },
  on: { kind: 'bool', default: true, doc: 'switch' },
  name: { kind: 'string', default: 'x', nonEmpty: true, doc: 'a name' },
  mode: { kind: 'enum', values: ['a', 'b'], default: 'a', doc: 'which' },
};

function problemsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SemidError);
    return (e as SemidError).details?.problems as string[];
  }
  throw new Error('expected a config error');
}

describe('the config mechanism', () => {
  it('fills every default, and keeps given values (undefined keeps the default)', () => {
    expect(defaultsOf(TOY)).toEqual({ n: 2, rate: 0.5, on: true, name: 'x', mode: 'a' });
    expect(resolveConfig('toy', TOY, { n: 3, mode: 'b', name: undefined })).toEqual({
      n: 3,
      rate: 0.5,
      on: true,
      name: 'x',
      mode: 'b',
    });
  });

  it('reports every problem at once, each saying what was expected and what came', () => {
    const bad = { n: 9, rate: 1, on: 'yes', name: '', mode: 'c', extra: 1 } as never;
    const problems = problemsOf(() => resolveConfig('toy', TOY, bad));
    expect(problems).toEqual([
      'unknown field "extra" (valid fields: n, rate, on, name, mode)',
      'n must be <= 8, got 9',
      'rate must be < 1, got 1',
      'on must be a boolean, got "yes"',
      'name is required (a name)',
      'mode must be one of a, b, got "c"',
    ]);
    expect(() => resolveConfig('toy', TOY, { n: 1.5 })).toThrow(
      /toy config has 1 problem: n must be an integer, got 1.5/,
    );
    expect(problemsOf(() => resolveConfig('toy', TOY, { rate: 0, n: 0 }))).toEqual([
      'n must be >= 1, got 0',
      'rate must be > 0, got 0',
    ]);
    expect(() => resolveConfig('toy', TOY, [] as never)).toThrow(/toy config must be an object/);
  });

  it('runs a rule only when the fields it needs are valid, and throws the code asked for', () => {
    const rules = [
      { needs: ['n', 'rate'] as const, check: (c: Toy) => (c.n * c.rate > 2 ? 'n * rate must be <= 2' : undefined) },
      { check: (c: Toy) => (c.on && c.mode === 'b' ? ['mode b needs on false'] : []) },
    ];
    expect(problemsOf(() => resolveConfig('toy', TOY, { n: 5, rate: 0.9, mode: 'b' }, { rules }))).toEqual([
      'n * rate must be <= 2',
      'mode b needs on false',
    ]);
    // `on` is bad: the rule without `needs` waits for every field, the other still runs
    expect(problemsOf(() => resolveConfig('toy', TOY, { n: 5, rate: 0.9, on: 1 as never }, { rules }))).toEqual([
      'on must be a boolean, got 1',
      'n * rate must be <= 2',
    ]);
    expect(() => resolveConfig('toy', TOY, { n: 0 }, { code: 'SEMID_ERR_BAD_INPUT' })).toThrow(
      expect.objectContaining({ code: 'SEMID_ERR_BAD_INPUT' }),
    );
  });

  it('renders help lines and a docs table from the spec', () => {
    expect(describeConfig(TOY)).toEqual([
      'n (int in [1, 8], default 2): count',
      'rate (number in (0, 1), default 0.5): a share',
      'on (bool, default true): switch',
      'name (string, default "x"): a name',
      'mode (one of a, b, default "a"): which',
    ]);
    expect(describeKind({ kind: 'int', default: 0, min: 0, doc: '' })).toBe('int >= 0');
    expect(describeKind({ kind: 'number', default: 0, below: 1, doc: '' })).toBe('number < 1');
    expect(configTable(TOY).split('\n').slice(0, 3)).toEqual([
      '| field | type | default | meaning |',
      '| --- | --- | --- | --- |',
      '| `n` | int in [1, 8] | `2` | count |',
    ]);
  });

  it('every scheme, model, SASRec, batching and collaborative spec resolves its own defaults', () => {
    const specs: [string, Record<string, AnyField>][] = [
      ...Object.values(SCHEMES).map((s): [string, Record<string, AnyField>] => [s.name, s.spec as never]),
      ['model', MODEL_SPEC],
      ['sasrec', SASREC_SPEC],
      ['batching', BATCH_SPEC],
      ['collab', COLLAB_SPEC],
    ];
    for (const [name, spec] of specs) {
      // the imported scheme has one required field (the file to import)
      const given = name === 'imported' ? { path: 'index.json' } : {};
      const d = defaultsOf<Record<string, unknown>>(spec as never);
      expect(resolveConfig(name, spec as never, given), name).toEqual({ ...d, ...given });
      for (const [k, f] of Object.entries(spec)) expect(f.doc.length, `${name}.${k}`).toBeGreaterThan(3);
    }
    for (const s of Object.values(SCHEMES)) {
      if (s.name !== 'imported') expect(s.resolve(undefined), s.name).toEqual(s.defaults);
    }
    expect(resolveModelConfig(undefined)).toEqual(defaultsOf(MODEL_SPEC as never));
    expect(resolveSasrecConfig(undefined)).toEqual(defaultsOf(SASREC_SPEC as never));
    expect(resolveBatchOptions()).toEqual({ maxBatch: 32, maxInFlight: 1, maxWaitMs: 1 });
  });
});
