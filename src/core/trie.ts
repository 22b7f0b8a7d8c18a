/**
 * CodeTrie: a prefix tree over the valid codes, the structure constrained decoding walks. It replaces
 * a brute-force "is this prefix valid" scan over every code (GRID's `_check_valid_prefix`).
 *
 * Each node keeps its children as a sorted value array plus a parallel child-node array, and the
 * number of items in its subtree. Mutations (`add`, `remove`, used by the server at run time) are
 * copy-on-write on the touched nodes' arrays, so an array returned by `next` is never changed
 * afterwards: a beam search that holds one across an `await` sees a consistent snapshot of that node.
 */
import type { CodeTable } from './codes.js';
import { SemidError } from './errors.js';
import type { Code, ItemId } from './types.js';

interface TrieNode {
  /** Child values, ascending. Replaced (never mutated) on add/remove. */
  values: readonly number[];
  /** Child nodes, aligned with `values`. */
  kids: readonly TrieNode[];
  /** Items in this subtree. */
  count: number;
  /** The item at a leaf (depth == levels). */
  item: ItemId | undefined;
}

/** One page of `itemsUnder`. */
export interface ItemPage {
  /** Items under the prefix in ascending code order, at most `limit`. */
  items: { item: ItemId; code: Code }[];
  /** Pass as `cursor` to get the next page; undefined on the last page. */
  next: Code | undefined;
}

const EMPTY: readonly number[] = Object.freeze([]);

function newNode(): TrieNode {
  return { values: EMPTY, kids: [], count: 0, item: undefined };
}

/** Index of `v` in ascending `a`, or -(insertion point) - 1. */
function search(a: readonly number[], v: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = a[mid] as number;
    if (x < v) lo = mid + 1;
    else if (x > v) hi = mid - 1;
    else return mid;
  }
  return -lo - 1;
}

/** A prefix tree over item codes; every leaf is one item, every node has at least one item below it. */
export class CodeTrie {
  /** Codebook size per level (code values are checked against it). */
  readonly levelSizes: readonly number[];
  private readonly root: TrieNode = newNode();
  private readonly codes = new Map<ItemId, Code>();

  /**
   * @param levelSizes codebook size per level, as in CodeTable.
   * @param entries item -> code pairs (SEMID_ERR_COLLISION when two items share a code).
   */
  constructor(levelSizes: readonly number[], entries: Iterable<readonly [ItemId, Code]> = []) {
    if (levelSizes.length === 0 || levelSizes.some((s) => !Number.isInteger(s) || s < 1)) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `level sizes must be positive integers, got [${levelSizes}]`);
    }
    this.levelSizes = [...levelSizes];
    for (const [item, code] of entries) this.add(item, code);
  }

  /** A trie over every code of a CodeTable. */
  static fromTable(table: CodeTable): CodeTrie {
    return new CodeTrie(table.levelSizes, table.entries());
  }

  /** Number of levels (code length). */
  get levels(): number {
    return this.levelSizes.length;
  }

  /** Number of items. */
  get size(): number {
    return this.root.count;
  }

  private find(prefix: Code): TrieNode | undefined {
    if (prefix.length > this.levelSizes.length) return undefined;
    let node = this.root;
    for (const v of prefix) {
      const i = search(node.values, v);
      if (i < 0) return undefined;
      node = node.kids[i] as TrieNode;
    }
    return node;
  }

  /**
   * The valid next values after `prefix`, ascending. Empty for a dead prefix (no item below it) and
   * for a full code. The returned array is never mutated later.
   */
  next(prefix: Code): readonly number[] {
    return this.find(prefix)?.values ?? EMPTY;
  }

  /** The item whose full code is `code`, or undefined. */
  item(code: Code): ItemId | undefined {
    if (code.length !== this.levelSizes.length) return undefined;
    return this.find(code)?.item;
  }

  /** The code of `item`, or undefined when it is not in the trie. */
  codeOf(item: ItemId): Code | undefined {
    return this.codes.get(item);
  }

  /** Whether `item` is in the trie. */
  has(item: ItemId): boolean {
    return this.codes.has(item);
  }

  /** Number of items whose code starts with `prefix` (0 for a dead prefix; `size` for []). */
  count(prefix: Code): number {
    return this.find(prefix)?.count ?? 0;
  }

  /** Every item in the trie with its code, in insertion order. */
  entries(): IterableIterator<[ItemId, Code]> {
    return this.codes.entries();
  }

  private checkCode(item: ItemId, code: Code): void {
    const L = this.levelSizes.length;
    if (code.length !== L) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `code of item "${item}" has ${code.length} levels, expected ${L}`);
    }
    for (let l = 0; l < L; l++) {
      const v = code[l] as number;
      if (!Number.isInteger(v) || v < 0 || v >= (this.levelSizes[l] as number)) {
        throw new SemidError(
          'SEMID_ERR_BAD_INPUT',
          `code [${code}] of item "${item}" has value ${v} at level ${l}, expected an integer in [0, ${this.levelSizes[l]})`,
        );
      }
    }
  }

  /**
   * Adds `item` with `code`. If the item is already present with another code it is moved. Throws
   * SEMID_ERR_COLLISION when another item holds `code` (remove that one first).
   */
  add(item: ItemId, code: Code): void {
    this.checkCode(item, code);
    const holder = this.item(code);
    if (holder !== undefined) {
      if (holder === item) return;
      throw new SemidError('SEMID_ERR_COLLISION', `items "${holder}" and "${item}" share code [${code}]`, {
        items: [holder, item],
        code: [...code],
      });
    }
    if (this.codes.has(item)) this.remove(item);
    let node = this.root;
    node.count++;
    for (const v of code) {
      let i = search(node.values, v);
      if (i < 0) {
        i = -i - 1;
        const child = newNode();
        node.values = [...node.values.slice(0, i), v, ...node.values.slice(i)];
        node.kids = [...node.kids.slice(0, i), child, ...node.kids.slice(i)];
      }
      node = node.kids[i] as TrieNode;
      node.count++;
    }
    node.item = item;
    this.codes.set(item, Object.freeze([...code]));
  }

  /** Removes `item`; returns false when it was not in the trie. Prefixes left without items disappear. */
  remove(item: ItemId): boolean {
    const code = this.codes.get(item);
    if (code === undefined) return false;
    this.codes.delete(item);
    let node = this.root;
    node.count--;
    for (const v of code) {
      const i = search(node.values, v);
      const child = node.kids[i] as TrieNode;
      child.count--;
      if (child.count === 0) {
        // Drop the whole now-empty subtree in one step; the deeper nodes are unreachable.
        node.values = node.values.filter((_, j) => j !== i);
        node.kids = node.kids.filter((_, j) => j !== i);
        return true;
      }
      node = child;
    }
    node.item = undefined;
    return true;
  }

  /**
   * Items under `prefix` in ascending code order, for pagination: at most `limit` items whose code
   * is greater than `cursor` (the `next` of the previous page; omit for the first page).
   */
  itemsUnder(prefix: Code, limit: number, cursor?: Code): ItemPage {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `limit must be a positive integer, got ${limit}`);
    }
    const start = this.find(prefix);
    const L = this.levelSizes.length;
    if (cursor !== undefined && cursor.length !== L) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `cursor must be a full code of ${L} levels, got [${cursor}]`);
    }
    const out: { item: ItemId; code: Code }[] = [];
    if (start === undefined) return { items: out, next: undefined };
    // Only resume from the cursor when it lies inside this prefix's subtree; a cursor before it
    // means "from the start", after it means "nothing left".
    let bound: Code | undefined;
    if (cursor !== undefined) {
      for (let l = 0; l < prefix.length; l++) {
        const c = cursor[l] as number;
        const p = prefix[l] as number;
        if (c < p) break;
        if (c > p) return { items: out, next: undefined };
        if (l === prefix.length - 1) bound = cursor;
      }
      if (prefix.length === 0) bound = cursor;
    }
    const path = [...prefix];
    let more = false;
    // Depth-first in value order; `tight` = the path so far equals the cursor's, so values must be >= it.
    const walk = (node: TrieNode, depth: number, tight: boolean): boolean => {
      if (depth === L) {
        if (tight) return true; // this is the cursor item itself: already returned
        if (out.length === limit) {
          more = true;
          return false;
        }
        out.push({ item: node.item as ItemId, code: Object.freeze([...path]) });
        return true;
      }
      let from = 0;
      if (tight && bound !== undefined) {
        const i = search(node.values, bound[depth] as number);
        from = i >= 0 ? i : -i - 1;
      }
      for (let j = from; j < node.values.length; j++) {
        const v = node.values[j] as number;
        path[depth] = v;
        const stillTight = tight && bound !== undefined && v === bound[depth];
        if (!walk(node.kids[j] as TrieNode, depth + 1, stillTight)) return false;
      }
      path.length = depth;
      return true;
    };
    walk(start, prefix.length, bound !== undefined);
    const last = out[out.length - 1];
    return { items: out, next: more && last ? last.code : undefined };
  }
}
