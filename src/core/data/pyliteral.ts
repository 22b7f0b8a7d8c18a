/**
 * A safe parser for Python literals (what `str(dict)` prints), used for the Amazon 2014 metadata,
 * whose lines look like `{'asin': '0000031852', 'title': 'Girls Ballet Tutu', 'categories': [['A', 'B']]}`.
 * Nothing is evaluated: only dicts, lists, tuples, sets, strings (any quote, u/b/r prefixes, escapes),
 * numbers, True/False/None are accepted. The 2014 files were written by Python 2, whose byte strings
 * print UTF-8 bytes as `\xNN` escapes; a run of `\x` escapes that forms valid multi-byte UTF-8 is
 * therefore decoded as UTF-8 (`u'...'` strings always treat `\xNN` as a code point).
 */

/** Thrown with the 0-based column where the literal stopped making sense. */
export class PyLiteralError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message);
    this.name = 'PyLiteralError';
  }
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Parsed value: objects have a null prototype, so keys like `__proto__` are plain data. */
export type PyValue = null | boolean | number | string | PyValue[] | { [k: string]: PyValue };

/**
 * Parses one Python literal. Dict keys become strings (`str(key)` for numbers).
 * @throws PyLiteralError with the column of the problem.
 */
export function parsePyLiteral(text: string): PyValue {
  let i = 0;
  const n = text.length;
  const fail = (what: string): never => {
    const got = i < n ? JSON.stringify(text.slice(i, i + 12)) : 'the end of the line';
    throw new PyLiteralError(`expected ${what} at column ${i + 1}, got ${got}`, i);
  };
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };

  const parseString = (): string => {
    let unicode = false;
    let raw = false;
    while (i < n && /[uUbBrR]/.test(text[i] as string)) {
      const c = (text[i] as string).toLowerCase();
      if (c === 'u') unicode = true;
      if (c === 'r') raw = true;
      i++;
    }
    const q = text[i];
    if (q !== "'" && q !== '"') return fail('a quote');
    const triple = text.startsWith(q.repeat(3), i);
    i += triple ? 3 : 1;
    let out = '';
    let bytes: number[] = [];
    const flushBytes = () => {
      if (bytes.length === 0) return;
      let decoded: string | undefined;
      if (!unicode && bytes.some((b) => b >= 0x80)) {
        try {
          decoded = utf8Strict.decode(Uint8Array.from(bytes));
        } catch {
          decoded = undefined;
        }
      }
      out += decoded ?? String.fromCharCode(...bytes);
      bytes = [];
    };
    for (;;) {
      if (i >= n) return fail(`a closing ${q}`);
      const c = text[i] as string;
      if (triple ? text.startsWith(q.repeat(3), i) : c === q) {
        i += triple ? 3 : 1;
        break;
      }
      if (c !== '\\' || raw) {
        flushBytes();
        out += c;
        i++;
        continue;
      }
      const e = text[i + 1];
      if (e === undefined) return fail('an escape character');
      if (e === 'x') {
        const h = text.slice(i + 2, i + 4);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) return fail('two hex digits after \\x');
        bytes.push(Number.parseInt(h, 16));
        i += 4;
        continue;
      }
      flushBytes();
      i += 2;
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case 'a':
          out += '\x07';
          break;
        case '\\':
        case "'":
        case '"':
          out += e;
          break;
        case '\n':
          break;
        case 'u':
        case 'U': {
          const len = e === 'u' ? 4 : 8;
          const h = text.slice(i, i + len);
          if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(h)) return fail(`${len} hex digits after \\${e}`);
          const cp = Number.parseInt(h, 16);
          if (cp > 0x10ffff) return fail('a code point up to 10FFFF');
          out += String.fromCodePoint(cp);
          i += len;
          break;
        }
        default:
          if (/[0-7]/.test(e)) {
            let oct = e;
            while (oct.length < 3 && /[0-7]/.test(text[i] ?? '')) oct += text[i++];
            out += String.fromCharCode(Number.parseInt(oct, 8));
          } else {
            out += `\\${e}`;
          }
      }
    }
    flushBytes();
    return out;
  };

  const parseSeq = (close: string): PyValue[] => {
    const arr: PyValue[] = [];
    ws();
    if (text[i] === close) {
      i++;
      return arr;
    }
    for (;;) {
      arr.push(parseValue());
      ws();
      if (text[i] === ',') {
        i++;
        ws();
        if (text[i] === close) {
          i++;
          return arr;
        }
        continue;
      }
      if (text[i] === close) {
        i++;
        return arr;
      }
      return fail(`"," or "${close}"`);
    }
  };

  const parseDict = (): PyValue => {
    const obj: { [k: string]: PyValue } = Object.create(null);
    ws();
    if (text[i] === '}') {
      i++;
      return obj;
    }
    let first = true;
    for (;;) {
      const k = parseValue();
      ws();
      if (first && (text[i] === '}' || text[i] === ',')) {
        // A set literal {'a', 'b'}: kept as a list.
        const comma = text[i] === ',';
        i++;
        return comma ? [k, ...parseSeq('}')] : [k];
      }
      first = false;
      if (text[i] !== ':') return fail('":"');
      i++;
      const v = parseValue();
      if (typeof k === 'object' && k !== null) return fail('a string or number dict key');
      obj[String(k)] = v;
      ws();
      if (text[i] === ',') {
        i++;
        ws();
        if (text[i] === '}') {
          i++;
          return obj;
        }
        continue;
      }
      if (text[i] === '}') {
        i++;
        return obj;
      }
      return fail('"," or "}"');
    }
  };

  const parseValue = (): PyValue => {
    ws();
    const c = text[i];
    if (c === undefined) return fail('a value');
    if (c === '{') {
      i++;
      return parseDict();
    }
    if (c === '[') {
      i++;
      return parseSeq(']');
    }
    if (c === '(') {
      i++;
      return parseSeq(')');
    }
    if (c === "'" || c === '"' || (/[uUbBrR]/.test(c) && /^[uUbBrR]{1,2}['"]/.test(text.slice(i, i + 3)))) {
      return parseString();
    }
    const word = /^(True|False|None|nan|inf|-inf)\b/.exec(text.slice(i, i + 6));
    if (word !== null) {
      i += (word[1] as string).length;
      switch (word[1]) {
        case 'True':
          return true;
        case 'False':
          return false;
        case 'None':
          return null;
        case 'nan':
          return Number.NaN;
        case 'inf':
          return Number.POSITIVE_INFINITY;
        default:
          return Number.NEGATIVE_INFINITY;
      }
    }
    const num = /^[-+]?(\d[\d_]*\.?\d*|\.\d+)([eE][-+]?\d+)?[lLjJ]?/.exec(text.slice(i, i + 64));
    if (num !== null && num[0] !== '' && /\d/.test(num[0])) {
      i += num[0].length;
      return Number(num[0].replace(/[_lLjJ]/g, ''));
    }
    return fail('a Python literal (dict, list, tuple, string, number, True, False or None)');
  };

  const v = parseValue();
  ws();
  if (i < n) fail('the end of the literal');
  return v;
}
