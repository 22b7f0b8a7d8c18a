import { describe, expect, it } from 'vitest';
import { parsePyLiteral } from '../../src/core/data/index.js';

describe('parsePyLiteral (Amazon 2014 metadata)', () => {
  it('parses dicts, lists, tuples, sets, numbers and constants', () => {
    expect(
      parsePyLiteral("{'a': [1, -2.5, 3e2, (4, 5)], 'b': {'c': None, 'd': True, 'e': False}, 'f': {'x', 'y'}}"),
    ).toEqual({
      a: [1, -2.5, 300, [4, 5]],
      b: { c: null, d: true, e: false },
      f: ['x', 'y'],
    });
    expect(parsePyLiteral('[]')).toEqual([]);
    expect(parsePyLiteral('{}')).toEqual({});
    expect(parsePyLiteral('[1, 2,]')).toEqual([1, 2]);
  });

  it('decodes string escapes and quotes', () => {
    expect(parsePyLiteral(`'it\\'s "x"\\n\\t\\\\'`)).toBe('it\'s "x"\n\t\\');
    expect(parsePyLiteral(`"it's"`)).toBe("it's");
    expect(parsePyLiteral(`u'\\u00e9\\U0001F600\\x41'`)).toBe('é😀A');
    expect(parsePyLiteral(`r'a\\nb'`)).toBe('a\\nb');
  });

  it('reads Python 2 byte-string escapes as UTF-8 when they form UTF-8, else as code points', () => {
    expect(parsePyLiteral(`'Caf\\xc3\\xa9'`)).toBe('Café');
    expect(parsePyLiteral(`'caf\\xe9'`)).toBe('café');
    expect(parsePyLiteral(`u'\\xc3\\xa9'`)).toBe('Ã©');
  });

  it('never evaluates code and keeps __proto__ as data', () => {
    expect(() => parsePyLiteral("__import__('os').system('echo hi')")).toThrow(
      /expected a Python literal .* at column 1,/,
    );
    expect(() => parsePyLiteral("{'a': open('x')}")).toThrow(/column 7/);
    const v = parsePyLiteral("{'__proto__': {'polluted': 1}}") as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(v)).toEqual(['__proto__']);
  });

  it('reports where it stopped', () => {
    expect(() => parsePyLiteral("{'a' 1}")).toThrow(/expected ":" at column 6/);
    expect(() => parsePyLiteral("{'a': 'open")).toThrow(/expected a closing ' at column 12/);
    expect(() => parsePyLiteral('[1, 2] x')).toThrow(/expected the end of the literal/);
  });
});
