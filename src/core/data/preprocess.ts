/**
 * Preprocessing of a loaded Dataset into per-user chronological sequences: exact duplicate rows are
 * removed (counted), an optional iterative k-core filter is applied (counted), and each user's
 * interactions are ordered by timestamp with a stable tie order (equal timestamps keep file order).
 * `preprocess` then applies the leave-one-out split (split.ts).
 */
import { SemidError } from '../errors.js';
import type { Dataset, Item, ItemId, LoadReport, SplitData, UserId } from '../types.js';
import { DEFAULT_MAX_HISTORY, givenSplit, leaveOneOut, PART_RANK } from './split.js';

/** Options of preprocess. */
export interface PreprocessOptions {
  /** Keep only the k-core: every user and item with at least k interactions (iterated). Off when 0/undefined. */
  kcore?: number;
  /** History cap of the examples (most recent items kept). Default 20. */
  maxHistory?: number;
}

/** Per-user chronological sequences plus the catalogue they live in. */
export interface Sequences {
  items: Item[];
  users: UserId[];
  sequences: ItemId[][];
  /** For a pre-split dataset, the PART_RANK of every sequence position (train, then valid, then test). */
  parts?: number[][];
  report: LoadReport;
}

function checkInt(name: string, v: number | undefined, min: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min)) {
    throw new SemidError('SEMID_ERR_BAD_INPUT', `${name} must be an integer >= ${min}, got ${v}`);
  }
}

/**
 * Builds chronological sequences: drops exact duplicate (user, item, timestamp) rows (keeping the first),
 * groups by user in first-seen order and sorts each user's rows by timestamp, stably. With `kcore`, the
 * iterative k-core filter then removes users and items with fewer than k interactions until none is left;
 * the catalogue keeps only items that survive it.
 */
export function buildSequences(ds: Dataset, kcore?: number): Sequences {
  checkInt('kcore', kcore, 0);
  const report: LoadReport = { ...ds.report, warnings: [...ds.report.warnings] };
  type Row = { item: ItemId; ts: number; part: number };
  const byUser = new Map<UserId, Row[]>();
  for (const it of ds.interactions) {
    let rows = byUser.get(it.user);
    if (rows === undefined) {
      rows = [];
      byUser.set(it.user, rows);
    }
    rows.push({ item: it.item, ts: it.timestamp, part: it.split === undefined ? 0 : PART_RANK[it.split] });
  }
  let duplicates = 0;
  let users: UserId[] = [];
  let sequences: ItemId[][] = [];
  let parts: number[][] = [];
  for (const [user, rows] of byUser) {
    // Array.prototype.sort is stable (ES2019), so equal timestamps keep file order. A pre-split
    // dataset's parts come first: train, then valid, then test, each in time order.
    rows.sort((a, b) => a.part - b.part || a.ts - b.ts);
    // Exact duplicates share a timestamp, so they sit in the same run of equal timestamps: keep the first.
    const seq: ItemId[] = [];
    const seqParts: number[] = [];
    let runStart = 0;
    let runItems: Set<ItemId> | undefined;
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k] as Row;
      const prev = rows[k - 1];
      if (prev !== undefined && (r.ts !== prev.ts || r.part !== prev.part)) {
        runStart = k;
        runItems = undefined;
      }
      if (k > runStart) {
        if (runItems === undefined) {
          runItems = new Set();
          for (let j = runStart; j < k; j++) runItems.add((rows[j] as { item: ItemId }).item);
        }
        if (runItems.has(r.item)) {
          duplicates++;
          continue;
        }
        runItems.add(r.item);
      }
      seq.push(r.item);
      seqParts.push(r.part);
    }
    users.push(user);
    sequences.push(seq);
    parts.push(seqParts);
  }
  if (duplicates > 0) {
    report.duplicateRows += duplicates;
    report.warnings.push(`${duplicates} exact duplicate (user, item, timestamp) rows removed`);
  }
  let items = ds.items;
  if (kcore !== undefined && kcore > 0) {
    const before = { users: users.length, items: items.length, interactions: 0 };
    for (const s of sequences) before.interactions += s.length;
    let removed = 0;
    for (;;) {
      const count = new Map<ItemId, number>();
      for (const s of sequences) for (const i of s) count.set(i, (count.get(i) ?? 0) + 1);
      let changed = false;
      const nu: UserId[] = [];
      const ns: ItemId[][] = [];
      const np: number[][] = [];
      for (let u = 0; u < sequences.length; u++) {
        const s = sequences[u] as ItemId[];
        const keep = s.map((i) => (count.get(i) ?? 0) >= kcore);
        const kept = s.filter((_, t) => keep[t]);
        if (kept.length !== s.length) changed = true;
        if (kept.length < kcore) {
          changed = true;
          removed += kept.length;
        } else {
          nu.push(users[u] as UserId);
          ns.push(kept);
          np.push((parts[u] as number[]).filter((_, t) => keep[t]));
        }
        removed += s.length - kept.length;
      }
      users = nu;
      sequences = ns;
      parts = np;
      if (!changed) break;
    }
    const alive = new Set<ItemId>();
    for (const s of sequences) for (const i of s) alive.add(i);
    items = items.filter((it) => alive.has(it.id));
    report.kcoreRemoved += removed;
    report.warnings.push(
      `${kcore}-core filter removed ${removed} of ${before.interactions} interactions, ` +
        `${before.users - users.length} of ${before.users} users and ${before.items - items.length} of ${before.items} items`,
    );
  }
  return ds.presplit === true ? { items, users, sequences, parts, report } : { items, users, sequences, report };
}

/**
 * Dataset -> SplitData: duplicates removed, optional k-core, chronological sequences, then the
 * leave-one-out split of TIGER/P5/LETTER (see split.ts) with histories capped at maxHistory (default 20).
 */
export function preprocess(ds: Dataset, opts: PreprocessOptions = {}): SplitData {
  const maxHistory = opts.maxHistory ?? DEFAULT_MAX_HISTORY;
  checkInt('maxHistory', maxHistory, 1);
  const seq = buildSequences(ds, opts.kcore);
  const split =
    seq.parts === undefined
      ? leaveOneOut(seq.users, seq.sequences, maxHistory)
      : givenSplit(seq.users, seq.sequences, seq.parts, maxHistory);
  if (split.shortUsers > 0) {
    seq.report.warnings.push(
      seq.parts === undefined
        ? `${split.shortUsers} users have fewer than 3 interactions: they give no valid/test example ` +
            '(their sequence is training data only)'
        : `${split.shortUsers} users have no training interaction before their first valid/test item: ` +
            'that item gives no example (it has no history)',
    );
  }
  const itemIndex = new Map<ItemId, number>();
  seq.items.forEach((it, i) => {
    itemIndex.set(it.id, i);
  });
  return {
    name: ds.name,
    items: seq.items,
    itemIndex,
    users: seq.users,
    sequences: seq.sequences,
    trainSequences: split.trainSequences,
    train: split.train,
    valid: split.valid,
    test: split.test,
    maxHistory,
    report: seq.report,
    ...(seq.parts === undefined ? {} : { presplit: true }),
  };
}
