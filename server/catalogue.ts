/**
 * The catalogue a bundle decodes over: an immutable snapshot of which items are live (decodable),
 * which are retired (removed from decoding, but their codes still read in histories), and a CodeTrie
 * over the live codes. Adding or removing an item builds a new snapshot (with a fresh trie, never
 * mutated afterwards), so a request that captured the old one finishes on a consistent view.
 */
import type { CodeTable } from '../src/core/codes.js';
import { SemidError } from '../src/core/errors.js';
import { CodeTrie, type ItemPage } from '../src/core/trie.js';
import type { Code, ItemId } from '../src/core/types.js';

/** Key of a code in maps: its values joined by commas. */
export const codeKey = (code: Code): string => code.join(',');

/** Immutable view of a bundle's items: live codes (with a prefix trie) plus retired ones. */
export class Catalogue {
  /** Codebook size per level. */
  readonly levelSizes: readonly number[];
  /** Live items: decodable, returned by recommendations. */
  readonly live: CodeTable;
  /** Removed items whose codes stay reserved so histories that mention them still read. */
  readonly retired: ReadonlyMap<ItemId, Code>;
  /** Prefix trie over the live codes; do not mutate it (build a new snapshot instead). */
  readonly trie: CodeTrie;
  private readonly retiredByCode = new Map<string, ItemId>();

  constructor(live: CodeTable, retired: ReadonlyMap<ItemId, Code> = new Map()) {
    this.levelSizes = live.levelSizes;
    this.live = live;
    this.retired = retired;
    for (const [item, code] of retired) {
      if (live.encode(item) !== undefined) {
        throw new SemidError('SEMID_ERR_CONFLICT', `item "${item}" is both live and retired`);
      }
      const k = codeKey(code);
      const other = live.decode(code) ?? this.retiredByCode.get(k);
      if (other !== undefined) {
        throw new SemidError('SEMID_ERR_COLLISION', `retired item "${item}" shares code [${code}] with "${other}"`);
      }
      this.retiredByCode.set(k, item);
    }
    this.trie = CodeTrie.fromTable(live);
  }

  /** Number of live items. */
  get size(): number {
    return this.live.size;
  }
  /** Number of levels of every code. */
  get levels(): number {
    return this.levelSizes.length;
  }

  /** Valid next values after `prefix` among live codes, ascending; `[]` for a dead or full prefix. */
  next(prefix: readonly number[]): readonly number[] {
    return this.trie.next(prefix);
  }

  /** How many live items have codes starting with `prefix`. */
  countUnder(prefix: readonly number[]): number {
    return this.trie.count(prefix);
  }

  /** The code of a live or retired item, with whether it is live; undefined for an unknown item. */
  lookup(item: ItemId): { code: Code; live: boolean } | undefined {
    const c = this.live.encode(item);
    if (c !== undefined) return { code: c, live: true };
    const r = this.retired.get(item);
    return r === undefined ? undefined : { code: r, live: false };
  }

  /** The live item of a full code, or undefined. */
  itemOf(code: Code): ItemId | undefined {
    return this.live.decode(code);
  }

  /** Whether a full code is taken by a live or a retired item. */
  taken(code: Code): boolean {
    return this.live.decode(code) !== undefined || this.retiredByCode.has(codeKey(code));
  }

  /** Live items under `prefix` in code order, at most `limit`, after the full code `cursor` (exclusive). */
  itemsUnder(prefix: readonly number[], limit: number, cursor?: Code): ItemPage {
    return this.trie.itemsUnder(prefix, limit, cursor);
  }

  /** A new snapshot with `item` live at `code` (a retired item of that id is revived). */
  withItem(item: ItemId, code: Code): Catalogue {
    const retired = new Map(this.retired);
    retired.delete(item);
    return new Catalogue(this.live.with(item, code), retired);
  }

  /** A new snapshot with `item` retired: no longer decoded, its code still read in histories. */
  withoutItem(item: ItemId): Catalogue {
    const code = this.live.encode(item);
    if (code === undefined) throw new SemidError('SEMID_ERR_NOT_FOUND', `item "${item}" is not a live item`);
    const retired = new Map(this.retired);
    retired.set(item, code);
    return new Catalogue(this.live.without(item), retired);
  }
}
