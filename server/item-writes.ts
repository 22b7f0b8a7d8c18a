/**
 * Item writes: where a new item's code comes from (given, the index's encoder, or the nearest item
 * by embedding), completed to a free full code. The bundle persists the result in its OverlayStore
 * before the new catalogue snapshot becomes visible.
 */
import { SemidError } from '../src/core/errors.js';
import type { Code, Item } from '../src/core/types.js';
import type { Catalogue } from './catalogue.js';
import { checkCode, freeCompletion, shorteningCompletion } from './completion.js';
import type { AssignedBy, ItemMeta, NewItem, NewItemEncoder } from './types.js';
import type { VectorIndex } from './vectors.js';

const hasText = (i: Item): boolean =>
  Boolean(i.title || i.description || i.brand || (i.categories && i.categories.length > 0));

const toItem = (r: NewItem): Item => {
  const { embedding: _e, code: _c, ...item } = r;
  return item;
};

/** The title and most specific category of a new item, when given. */
export function metaOf(req: NewItem): ItemMeta | undefined {
  const category = req.categories?.at(-1);
  if (req.title === undefined && category === undefined) return undefined;
  return { ...(req.title !== undefined ? { title: req.title } : {}), ...(category !== undefined ? { category } : {}) };
}

/**
 * Chooses the code of a new item in catalogue `cat`: `code` as given (a prefix is completed with the
 * first free values), else the encoder's, else the nearest item's by embedding; those two keep as
 * long a prefix as has a free completion (dedup on the last level, then the level above...).
 * @throws SEMID_ERR_CONFLICT when the item is live or a given full code is taken;
 *   SEMID_ERR_BAD_INPUT when nothing given can place it.
 */
export async function placeItem(
  cat: Catalogue,
  req: NewItem,
  bundle: string,
  encoder: NewItemEncoder | undefined,
  itemIndex: VectorIndex | undefined,
): Promise<{ code: Code; assignedBy: AssignedBy }> {
  if (cat.live.encode(req.id) !== undefined) {
    throw new SemidError(
      'SEMID_ERR_CONFLICT',
      `item "${req.id}" already exists in bundle "${bundle}"; delete it first to re-add it`,
    );
  }
  const L = cat.levels;
  let prefix: number[];
  let assignedBy: AssignedBy;
  if (req.code !== undefined) {
    checkCode(req.code, cat.levelSizes, 'code');
    if (req.code.length === L && cat.taken(req.code)) {
      throw new SemidError('SEMID_ERR_CONFLICT', `code [${req.code}] is already taken in bundle "${bundle}"`, {
        code: req.code,
      });
    }
    prefix = req.code;
    assignedBy = 'given';
  } else if (encoder && (hasText(req) ? encoder.encode : req.embedding && encoder.encodeEmbeddings)) {
    const out = hasText(req)
      ? await (encoder.encode as NonNullable<NewItemEncoder['encode']>)([toItem(req)])
      : await (encoder.encodeEmbeddings as NonNullable<NewItemEncoder['encodeEmbeddings']>)([
          Float32Array.from(req.embedding as number[]),
        ]);
    prefix = out[0] ?? [];
    checkCode(prefix, cat.levelSizes, 'encoder output', 'SEMID_ERR_INTERNAL');
    assignedBy = 'encoder';
  } else if (req.embedding !== undefined && itemIndex) {
    if (req.embedding.length !== itemIndex.dim) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `embedding has ${req.embedding.length} values, bundle "${bundle}" uses ${itemIndex.dim}`,
      );
    }
    const near = itemIndex.search(req.embedding, 1)[0];
    if (!near) throw new SemidError('SEMID_ERR_CONFLICT', `bundle "${bundle}" has no item to place a new one near`);
    prefix = [...(cat.live.encode(near.item) as Code)].slice(0, L - 1);
    assignedBy = 'nearest-item';
  } else {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `bundle "${bundle}" cannot place item "${req.id}" from what was given: ${
        encoder
          ? 'its encoder needs text (title, description, categories or brand) or an embedding'
          : 'it has no item encoder'
      }${itemIndex ? `; an embedding of ${itemIndex.dim} values` : ''} or an explicit code works`,
    );
  }
  const code =
    prefix.length === L && !cat.taken(prefix)
      ? prefix
      : assignedBy === 'given'
        ? freeCompletion(cat, prefix, bundle)
        : shorteningCompletion(cat, prefix.slice(0, L - 1), bundle);
  return { code, assignedBy };
}
