/**
 * The item co-occurrence graph of the TRAIN sequences: items i and j are linked with weight equal to
 * how often they appear within `window` positions of each other in a user's training sequence.
 */
import type { Item, ItemId } from '../../src/core/types.js';
import { type Csr, csrFromRows } from './linalg.js';

/**
 * Builds the symmetric co-occurrence adjacency [items, items] (no self loops) over catalogue
 * positions. Sequence items not in the catalogue are skipped.
 */
export function cooccurrenceGraph(
  items: readonly Item[],
  trainSequences: readonly (readonly ItemId[])[],
  window: number,
): Csr {
  const index = new Map(items.map((it, i) => [it.id, i]));
  const rows = items.map(() => new Map<number, number>());
  for (const seq of trainSequences) {
    const ids: number[] = [];
    for (const id of seq) {
      const i = index.get(id);
      if (i !== undefined) ids.push(i);
    }
    for (let a = 0; a < ids.length; a++) {
      for (let b = a + 1; b < ids.length && b - a <= window; b++) {
        const i = ids[a] as number;
        const j = ids[b] as number;
        if (i === j) continue;
        const ri = rows[i] as Map<number, number>;
        const rj = rows[j] as Map<number, number>;
        ri.set(j, (ri.get(j) ?? 0) + 1);
        rj.set(i, (rj.get(i) ?? 0) + 1);
      }
    }
  }
  return csrFromRows(rows, items.length);
}

/** The sub-graph induced by `nodes` (positions into A), in the order given. */
export function subgraph(A: Csr, nodes: readonly number[]): Csr {
  const local = new Map(nodes.map((g, i) => [g, i]));
  const rows = nodes.map((g) => {
    const r = new Map<number, number>();
    for (let p = A.indptr[g] as number; p < (A.indptr[g + 1] as number); p++) {
      const j = local.get(A.indices[p] as number);
      if (j !== undefined) r.set(j, A.values[p] as number);
    }
    return r;
  });
  return csrFromRows(rows, nodes.length);
}
