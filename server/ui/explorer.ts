/**
 * What the ID explorer asks of a bundle, answered from its current catalogue snapshot: the code tree
 * one level at a time (counts and example titles under each prefix), item search by id or title
 * words, an item's code with its siblings and nearest neighbours, and titles for a list of ids.
 */
import { SemidError } from '../../src/core/errors.js';
import type { Code, ItemId } from '../../src/core/types.js';
import type { Bundle } from '../bundle.js';
import type { Catalogue } from '../catalogue.js';
import type { ItemMeta, ItemMetaMap } from './meta.js';

/** An item as the explorer shows it. */
export interface ItemView extends ItemMeta {
  item: ItemId;
  code: Code;
}

/** One child of a prefix in the code tree. */
export interface TreeChild {
  value: number;
  /** Live items under prefix + value. */
  count: number;
  /** Titles (or ids) of the first items under it, in code order. */
  examples: string[];
}

/** A prefix's node: its children and, when few enough, its items. */
export interface TreeNode {
  prefix: number[];
  total: number;
  levelSizes: readonly number[];
  children: TreeChild[];
  /** The items under the prefix (at most `ITEMS_SHOWN`), when the prefix is one level short of a full code or holds that few. */
  items?: ItemView[];
}

/** Most items a tree node or a sibling list returns. */
export const ITEMS_SHOWN = 200;
const EXAMPLES = 3;
/** Tree nodes kept per snapshot before the cache starts over. */
const NODES_KEPT = 512;

/** The explorer's view of one bundle; metadata may arrive after construction. */
export class ExplorerData {
  private meta: ItemMetaMap = new Map();
  /** Lower-cased search text per item, built once the metadata is in. */
  private haystack = new Map<ItemId, string>();
  private nodes: { snapshot: Catalogue | undefined; byPrefix: Map<string, TreeNode> } = {
    snapshot: undefined,
    byPrefix: new Map(),
  };

  constructor(private readonly bundle: Bundle) {}

  /** Installs the item metadata (titles, categories). */
  setMeta(meta: ItemMetaMap): void {
    this.meta = meta;
    const h = new Map<ItemId, string>();
    for (const [id, m] of meta) h.set(id, `${id} ${m.title ?? ''} ${m.category ?? ''}`.toLowerCase());
    this.haystack = h;
    this.nodes = { snapshot: undefined, byPrefix: new Map() };
  }

  /** Whether any item has a title. */
  get hasTitles(): boolean {
    for (const m of this.meta.values()) if (m.title !== undefined) return true;
    return false;
  }

  /** An item with its metadata. */
  view(item: ItemId, code: Code): ItemView {
    return { item, code, ...this.meta.get(item) };
  }

  private label(item: ItemId): string {
    return this.meta.get(item)?.title ?? item;
  }

  /** The node at `prefix` (kept per catalogue snapshot: the first levels are asked for on every page view). */
  tree(prefix: number[]): TreeNode {
    const cat = this.bundle.catalogue;
    if (this.nodes.snapshot !== cat || this.nodes.byPrefix.size >= NODES_KEPT) {
      this.nodes = { snapshot: cat, byPrefix: new Map() };
    }
    const key = prefix.join('-');
    const hit = this.nodes.byPrefix.get(key);
    if (hit) return hit;
    const node = this.buildNode(cat, prefix);
    this.nodes.byPrefix.set(key, node);
    return node;
  }

  private buildNode(cat: Catalogue, prefix: number[]): TreeNode {
    if (prefix.length > cat.levels - 1) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `prefix [${prefix}] has ${prefix.length} levels; a tree node has at most ${cat.levels - 1} (codes have ${cat.levels})`,
      );
    }
    const total = cat.countUnder(prefix);
    const children = cat.next(prefix).map((value) => {
      const p = [...prefix, value];
      const examples = cat.itemsUnder(p, EXAMPLES).items.map((x) => this.label(x.item));
      return { value, count: cat.countUnder(p), examples };
    });
    const node: TreeNode = { prefix, total, levelSizes: cat.levelSizes, children };
    if (prefix.length === cat.levels - 1 || total <= ITEMS_SHOWN) {
      node.items = total === 0 ? [] : cat.itemsUnder(prefix, ITEMS_SHOWN).items.map((x) => this.view(x.item, x.code));
    }
    return node;
  }

  /** Live items whose id, title or category contains every word of `query`, exact id first. */
  search(query: string, limit: number): ItemView[] {
    const cat = this.bundle.catalogue;
    const q = query.trim();
    if (q === '') return [];
    const out: ItemView[] = [];
    const exact = cat.live.encode(q);
    if (exact !== undefined) out.push(this.view(q, exact));
    const words = q.toLowerCase().split(/\s+/);
    for (const [item, code] of cat.live.entries()) {
      if (out.length >= limit) break;
      if (item === q) continue;
      const text = this.haystack.get(item) ?? item.toLowerCase();
      if (words.every((w) => text.includes(w))) out.push(this.view(item, code));
    }
    return out;
  }

  /** An item's code and metadata, the items sharing all but its last level, and its nearest neighbours. */
  item(id: ItemId, k: number) {
    const cat = this.bundle.catalogue;
    const found = cat.lookup(id);
    if (!found) throw new SemidError('SEMID_ERR_NOT_FOUND', `item "${id}" is not in bundle "${this.bundle.name}"`);
    const parent = found.code.slice(0, cat.levels - 1);
    const siblings = cat
      .itemsUnder(parent, ITEMS_SHOWN + 1)
      .items.filter((x) => x.item !== id)
      .slice(0, ITEMS_SHOWN)
      .map((x) => this.view(x.item, x.code));
    const sim = this.bundle.similar(id, k);
    return {
      ...this.view(id, found.code),
      live: found.live,
      siblingsTotal: cat.countUnder(parent) - (found.live ? 1 : 0),
      siblings,
      basis: sim.basis,
      neighbours: sim.items.map((n) => ({ ...this.view(n.item, n.code), similarity: n.similarity })),
    };
  }

  /** Metadata of the given ids (unknown ids get none). */
  describe(ids: readonly ItemId[]): Record<ItemId, ItemMeta> {
    const out: Record<ItemId, ItemMeta> = Object.create(null);
    for (const id of ids) out[id] = this.meta.get(id) ?? {};
    return out;
  }
}
