/**
 * The last step of every loader: checks interactions against the catalogue. Interactions naming
 * items the catalogue lacks are left out and COUNTED (report.unknownItemInteractions / unknownItems,
 * plus a warning naming the first few), never dropped silently. When a source has no item file at
 * all, the catalogue is built from the interaction ids (no text) and a warning says so.
 */
import type { Dataset, Interaction, Item, LoadReport } from '../types.js';

/** How many unknown item ids a warning names. */
const UNKNOWN_NAMED = 5;

/**
 * Builds a Dataset from parsed parts.
 * @param items the catalogue, or undefined when the source has no item file
 * @param itemSource file name used in warnings ("items.jsonl", "u.item", ...)
 */
export function assembleDataset(
  name: string,
  items: Item[] | undefined,
  interactions: Interaction[],
  report: LoadReport,
  itemSource: string,
): Dataset {
  if (items === undefined) {
    const seen = new Set<string>();
    const built: Item[] = [];
    for (const it of interactions) {
      if (!seen.has(it.item)) {
        seen.add(it.item);
        built.push({ id: it.item });
      }
    }
    report.warnings.push(
      `no item file (${itemSource}) found: the catalogue is the ${built.length} item ids seen in interactions, without text`,
    );
    return { name, items: built, interactions, report };
  }
  const known = new Set<string>();
  for (const it of items) known.add(it.id);
  const unknown = new Map<string, number>();
  const kept: Interaction[] = [];
  for (const it of interactions) {
    if (known.has(it.item)) kept.push(it);
    else unknown.set(it.item, (unknown.get(it.item) ?? 0) + 1);
  }
  if (unknown.size > 0) {
    const dropped = interactions.length - kept.length;
    report.unknownItemInteractions += dropped;
    report.unknownItems += unknown.size;
    const first = [...unknown.keys()].slice(0, UNKNOWN_NAMED).map((s) => JSON.stringify(s));
    report.warnings.push(
      `${dropped} interactions name ${unknown.size} items that are not in ${itemSource} ` +
        `(first: ${first.join(', ')}${unknown.size > UNKNOWN_NAMED ? ', ...' : ''}); they are left out of the sequences`,
    );
  }
  return { name, items, interactions: kept, report };
}
