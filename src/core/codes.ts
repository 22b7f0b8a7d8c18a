/**
 * CodeTable: the fitted, immutable bijection item <-> code that every indexing scheme returns, and
 * TokenLayout: the one place that maps (level, value) <-> model token.
 */
import { SemidError } from './errors.js';
import type { Code, ItemId } from './types.js';

/** A fitted, immutable item <-> code bijection. */
export interface ItemTokenizer {
  /** Codebook size per level; every code has `levelSizes.length` values, value < levelSizes[l]. */
  readonly levelSizes: readonly number[];
  readonly size: number;
  encode(item: ItemId): Code | undefined;
  decode(code: Code): ItemId | undefined;
  entries(): IterableIterator<[ItemId, Code]>;
}

const key = (code: Code) => code.join(',');

/** The one concrete ItemTokenizer. Owns (de)serialisation; checks the bijection on construction. */
export class CodeTable implements ItemTokenizer {
  readonly levelSizes: readonly number[];
  private readonly byItem = new Map<ItemId, Code>();
  private readonly byCode = new Map<string, ItemId>();

  /**
   * @param entries item -> code pairs; every code must have levelSizes.length values in range, and no
   *   two items may share a code (SEMID_ERR_COLLISION).
   */
  constructor(levelSizes: readonly number[], entries: Iterable<readonly [ItemId, Code]>) {
    this.levelSizes = [...levelSizes];
    const L = levelSizes.length;
    if (L === 0 || levelSizes.some((s) => !Number.isInteger(s) || s < 1)) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `level sizes must be positive integers, got [${levelSizes}]`);
    }
    for (const [item, code] of entries) {
      if (code.length !== L) {
        throw new SemidError('SEMID_ERR_BAD_INPUT', `code of item "${item}" has ${code.length} levels, expected ${L}`);
      }
      for (let l = 0; l < L; l++) {
        const v = code[l] as number;
        if (!Number.isInteger(v) || v < 0 || v >= (levelSizes[l] as number)) {
          throw new SemidError(
            'SEMID_ERR_BAD_INPUT',
            `code [${code}] of item "${item}" has value ${v} at level ${l}, outside [0, ${levelSizes[l]})`,
          );
        }
      }
      if (this.byItem.has(item)) throw new SemidError('SEMID_ERR_BAD_INPUT', `item "${item}" appears twice`);
      const k = key(code);
      const other = this.byCode.get(k);
      if (other !== undefined) {
        throw new SemidError('SEMID_ERR_COLLISION', `items "${other}" and "${item}" share code [${code}]`, {
          items: [other, item],
          code: [...code],
        });
      }
      const frozen = Object.freeze([...code]);
      this.byItem.set(item, frozen);
      this.byCode.set(k, item);
    }
  }

  get size(): number {
    return this.byItem.size;
  }
  get levels(): number {
    return this.levelSizes.length;
  }
  encode(item: ItemId): Code | undefined {
    return this.byItem.get(item);
  }
  decode(code: Code): ItemId | undefined {
    return this.byCode.get(key(code));
  }
  entries(): IterableIterator<[ItemId, Code]> {
    return this.byItem.entries();
  }
  items(): ItemId[] {
    return [...this.byItem.keys()];
  }
  /** A new table with `item` added (or replaced). Throws SEMID_ERR_COLLISION if its code is taken. */
  with(item: ItemId, code: Code): CodeTable {
    const rest = [...this.byItem.entries()].filter(([i]) => i !== item);
    return new CodeTable(this.levelSizes, [...rest, [item, code] as const]);
  }
  /** A new table without `item`. */
  without(item: ItemId): CodeTable {
    return new CodeTable(
      this.levelSizes,
      [...this.byItem.entries()].filter(([i]) => i !== item),
    );
  }
  toJSON(): CodeTableJSON {
    return {
      levelSizes: [...this.levelSizes],
      codes: Object.fromEntries([...this.byItem].map(([i, c]) => [i, [...c]])),
    };
  }
  static fromJSON(j: CodeTableJSON): CodeTable {
    if (!j || !Array.isArray(j.levelSizes) || typeof j.codes !== 'object' || j.codes === null) {
      throw new SemidError(
        'SEMID_ERR_ARTIFACT_CORRUPT',
        'code table JSON needs {levelSizes: number[], codes: {item: number[]}}',
      );
    }
    return new CodeTable(j.levelSizes, Object.entries(j.codes));
  }
}

/** Serialised CodeTable (codes.json in an index artifact). */
export interface CodeTableJSON {
  levelSizes: number[];
  codes: Record<ItemId, number[]>;
}

/** Special tokens, before any code token. */
export const PAD = 0;
export const BOS = 1;
export const SEP = 2;
export const NUM_SPECIAL = 3;

/**
 * Maps (level, value) <-> model token: token = NUM_SPECIAL + offset[level] + value. Each level has
 * its own token range, so the same value at two levels is two tokens (as in TIGER).
 */
export class TokenLayout {
  readonly levelSizes: readonly number[];
  /** Offset of each level's first token, after the specials. */
  readonly offsets: readonly number[];
  readonly vocabSize: number;
  constructor(levelSizes: readonly number[]) {
    this.levelSizes = [...levelSizes];
    const offsets: number[] = [];
    let o = NUM_SPECIAL;
    for (const s of levelSizes) {
      offsets.push(o);
      o += s;
    }
    this.offsets = offsets;
    this.vocabSize = o;
  }
  get levels(): number {
    return this.levelSizes.length;
  }
  token(level: number, value: number): number {
    return (this.offsets[level] as number) + value;
  }
  /** [level, value] of a code token, or undefined for a special token or out of range. */
  parse(token: number): [number, number] | undefined {
    for (let l = this.levels - 1; l >= 0; l--) {
      const off = this.offsets[l] as number;
      if (token >= off) return token - off < (this.levelSizes[l] as number) ? [l, token - off] : undefined;
    }
    return undefined;
  }
  /** The tokens of a full code. */
  tokens(code: Code): number[] {
    return code.map((v, l) => this.token(l, v));
  }
}

/**
 * How recently each (user, code) pair occurs in the users' histories: 0 when `codes[i]` is user
 * `users[i]`'s most recent history item, 1 the one before, ..., -1 when the history does not hold it.
 * Histories oldest first, as the model reads them (already cut to its maxHistory).
 */
export function recencyOf(
  histories: readonly (readonly Code[])[],
  users: readonly number[],
  codes: readonly Code[],
): Int32Array {
  const maps = new Map<number, Map<string, number>>();
  const out = new Int32Array(codes.length).fill(-1);
  codes.forEach((c, i) => {
    const u = users[i] as number;
    let m = maps.get(u);
    if (m === undefined) {
      m = recencyMap((histories[u] ?? []).map((h) => h.join(',')));
      maps.set(u, m);
    }
    out[i] = m.get(c.join(',')) ?? -1;
  });
  return out;
}

/**
 * Each distinct entry of a history (oldest first) with its recency: 0 for the last entry, 1 for the
 * one before, ...; an entry that occurs twice keeps its most recent occurrence.
 */
export function recencyMap<K>(history: readonly K[]): Map<K, number> {
  const m = new Map<K, number>();
  for (let k = 0; k < history.length; k++) m.set(history[k] as K, history.length - 1 - k);
  return m;
}
