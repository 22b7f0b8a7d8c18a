/**
 * BERT's tokenizer, as needed to feed an ONNX text encoder: basic tokenisation (lower-case, strip
 * accents, split on whitespace and punctuation, CJK characters on their own) followed by greedy
 * longest-match-first WordPiece with `##` continuation pieces, wrapped in [CLS] ... [SEP].
 */
import { readFile } from 'node:fs/promises';
import { SemidError } from '../../src/core/errors.js';

/** Token ids of one text. */
export interface Encoded {
  /** [T] token ids, [CLS] first and [SEP] last. */
  ids: number[];
}

const isPunct = (ch: string) => /[\p{P}\p{S}]/u.test(ch);
const isCjk = (cp: number) =>
  (cp >= 0x4e00 && cp <= 0x9fff) ||
  (cp >= 0x3400 && cp <= 0x4dbf) ||
  (cp >= 0x20000 && cp <= 0x2a6df) ||
  (cp >= 0xf900 && cp <= 0xfaff) ||
  (cp >= 0x2f800 && cp <= 0x2fa1f);

/** A WordPiece tokenizer over a BERT `vocab.txt` (one token per line, line number = id). */
export class WordPieceTokenizer {
  private readonly vocab: Map<string, number>;
  readonly clsId: number;
  readonly sepId: number;
  readonly unkId: number;
  readonly padId: number;

  constructor(
    tokens: readonly string[],
    readonly lowerCase = true,
    readonly maxInputCharsPerWord = 100,
  ) {
    this.vocab = new Map(tokens.map((t, i) => [t, i]));
    const need = (t: string) => {
      const id = this.vocab.get(t);
      if (id === undefined) {
        throw new SemidError(
          'SEMID_ERR_BAD_INPUT',
          `WordPiece vocabulary lacks the special token ${t}; give a BERT vocab.txt`,
        );
      }
      return id;
    };
    this.clsId = need('[CLS]');
    this.sepId = need('[SEP]');
    this.unkId = need('[UNK]');
    this.padId = need('[PAD]');
  }

  /** Reads a `vocab.txt`. */
  static async fromFile(path: string, lowerCase = true): Promise<WordPieceTokenizer> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      throw new SemidError('SEMID_ERR_NOT_FOUND', `WordPiece vocabulary not found: ${path}`);
    }
    const lines = text.split(/\r?\n/);
    if (lines.at(-1) === '') lines.pop();
    return new WordPieceTokenizer(lines, lowerCase);
  }

  get size(): number {
    return this.vocab.size;
  }

  /** Basic tokenisation: the words and punctuation marks of `text`. */
  basic(text: string): string[] {
    let t = text.normalize('NFC');
    if (this.lowerCase)
      t = t
        .toLowerCase()
        .normalize('NFD')
        .replace(/\p{Mn}/gu, '');
    const out: string[] = [];
    let cur = '';
    const flush = () => {
      if (cur !== '') out.push(cur);
      cur = '';
    };
    for (const ch of t) {
      const cp = ch.codePointAt(0) as number;
      if (cp === 0 || cp === 0xfffd || (/\p{Cc}/u.test(ch) && !/\s/.test(ch))) continue;
      if (/\s/.test(ch)) flush();
      else if (isPunct(ch) || isCjk(cp)) {
        flush();
        out.push(ch);
      } else cur += ch;
    }
    flush();
    return out;
  }

  /** WordPiece pieces of one basic token (greedy longest match first; [UNK] if it cannot be split). */
  wordPieces(word: string): number[] {
    const chars = [...word];
    if (chars.length > this.maxInputCharsPerWord) return [this.unkId];
    const ids: number[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: number | undefined;
      while (start < end) {
        const piece = (start > 0 ? '##' : '') + chars.slice(start, end).join('');
        const id = this.vocab.get(piece);
        if (id !== undefined) {
          found = id;
          break;
        }
        end--;
      }
      if (found === undefined) return [this.unkId];
      ids.push(found);
      start = end;
    }
    return ids;
  }

  /** [CLS] pieces... [SEP], truncated to `maxLength` tokens in total. */
  encode(text: string, maxLength = 128): Encoded {
    const body: number[] = [];
    for (const w of this.basic(text)) body.push(...this.wordPieces(w));
    const keep = Math.max(0, maxLength - 2);
    return { ids: [this.clsId, ...body.slice(0, keep), this.sepId] };
  }
}
