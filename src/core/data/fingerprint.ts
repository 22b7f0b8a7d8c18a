/**
 * A stable fingerprint of preprocessed data, recorded in artifacts so a model or index can tell it is
 * used with the data it was built on. It covers the catalogue ids in order (positions matter: they
 * index embeddings) and each user's chronological sequence, with users taken in sorted id order, so
 * the same data read from another file layout or row order gives the same fingerprint. Item text and
 * timestamps are not included (only the order they produce). For a pre-split dataset the length of each
 * user's train part is included too.
 */
import { createHash } from 'node:crypto';
import type { SplitData } from '../types.js';

/** sha256 hex of the catalogue ids and the per-user sequences (users sorted by id). */
export function datasetFingerprint(
  split: Pick<SplitData, 'items' | 'users' | 'sequences'> & Partial<Pick<SplitData, 'presplit' | 'trainSequences'>>,
): string {
  const h = createHash('sha256');
  // Hash in ~1 MB pieces: one update per line is several times slower.
  let buf = `semid-data-v1\nitems ${split.items.length}\n`;
  const add = (s: string) => {
    buf += s;
    if (buf.length > 1 << 20) {
      h.update(buf);
      buf = '';
    }
  };
  for (const it of split.items) add(`${JSON.stringify(it.id)}\n`);
  const order = split.users.map((_, i) => i);
  order.sort((a, b) => {
    const ua = split.users[a] as string;
    const ub = split.users[b] as string;
    return ua < ub ? -1 : ua > ub ? 1 : 0;
  });
  add(`users ${order.length}\n`);
  for (const u of order) add(`${JSON.stringify([split.users[u], split.sequences[u]])}\n`);
  // A shipped split is part of the data: the same sequences cut elsewhere are other data.
  if (split.presplit === true && split.trainSequences !== undefined) {
    add('presplit\n');
    for (const u of order) add(`${split.trainSequences[u]?.length ?? 0}\n`);
  }
  h.update(buf);
  return h.digest('hex');
}
