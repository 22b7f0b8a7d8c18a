/**
 * The catalogue a bundle decodes over: an immutable snapshot of which items are live (decodable),
 * which are retired (removed from decoding, but their codes still read in histories), and a prefix
 * trie over the live codes. Adding or removing an item builds a new snapshot, so a request that
 * captured the old one finishes on a consistent view.
 */
import type { CodeTable } from '../src/core/codes.js';
import { SemidError } from '../src/core/errors.js';
import type { Code, ItemId } from '../src/core/types.js';

/** Key of a code in maps: its values joined by commas. */
export const codeKey = (code: Code): string => code.join(',');

interface Node {
  /** child value -> node, kept sorted by value in `values` */
  children: Map<number, Node>;
  values: number[];
  /** live items under this prefix */
  count: number;
}

const newNode = (): Node => ({ children: new Map(), values: [], count: 0 });

/** Immutable view of a bundle's items: live codes (with a prefix trie) plus retired ones. */
export class Catalogue {
  /** Codebook size per level. */
  readonly levelSizes: readonly number[];
  /** Live items: decodable, returned by recommendations. */
  readonly live: CodeTable;
  /** Removed items whose codes stay reserved so histories that mention them still read. */
  readonly retired: ReadonlyMap<ItemId, Code>;
  private readonly root: Node = newNode();
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
    for (const [, code] of live.entries()) {
      let node = this.root;
      node.count++;
      for (const v of code) {
        let child = node.children.get(v);
        if (!child) {
          child = newNode();
          node.children.set(v, child);
          node.values.push(v);
        }
        child.count++;
        node = child;
      }
    }
    const sortAll = (n: Node): void => {
      n.values.sort((a, b) => a - b);
      for (const c of n.children.values()) sortAll(c);
    };
    sortAll(this.root);
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
    return this.node(prefix)?.values ?? [];
  }

  /** How many live items have codes starting with `prefix`. */
  countUnder(prefix: readonly number[]): number {
    return this.node(prefix)?.count ?? 0;
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

  /**
   * Live items whose code starts with `prefix`, in code order, starting after `after` (a full code,
   * exclusive), at most `limit`. Walks the trie, so a page costs O(limit * levels).
   */
  itemsUnder(prefix: readonly number[], limit: number, after?: Code): { item: ItemId; code: Code }[] {
    const out: { item: ItemId; code: Code }[] = [];
    const start = this.node(prefix);
    if (!start) return out;
    const path = [...prefix];
    const walk = (n: Node, depth: number, bounded: boolean): void => {
      if (depth === this.levels) {
        const item = this.live.decode(path);
        if (item !== undefined && !(bounded && after !== undefined)) out.push({ item, code: Object.freeze([...path]) });
        return;
      }
      const lo = bounded && after !== undefined ? (after[depth] as number) : Number.NEGATIVE_INFINITY;
      for (const v of n.values) {
        if (out.length >= limit) return;
        if (v < lo) continue;
        path.push(v);
        walk(n.children.get(v) as Node, depth + 1, bounded && v === lo);
        path.pop();
      }
    };
    // `after` only constrains the walk when it lies under `prefix`.
    const afterApplies = after !== undefined && prefix.every((v, l) => after[l] === v);
    walk(start, prefix.length, afterApplies);
    return out;
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

  private node(prefix: readonly number[]): Node | undefined {
    let n: Node | undefined = this.root;
    for (const v of prefix) {
      n = n.children.get(v);
      if (!n) return undefined;
    }
    return n;
  }
}
