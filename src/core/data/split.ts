/**
 * The leave-one-out split of TIGER, P5 and LETTER. Per user with a chronological sequence s of n >= 3
 * items: s[n-1] is the test target (history s[0..n-1)), s[n-2] the valid target (history s[0..n-2)),
 * and every earlier position t = 1..n-3 gives a training example (history s[0..t), target s[t]).
 * Histories keep the most recent maxHistory items. The train sequence is s without its last two items.
 * Users with fewer than 3 items give no valid/test example: their whole sequence is training data
 * (n = 2 gives one training example), and they are counted in `shortUsers`.
 */
import type { Example, ItemId, UserId } from '../types.js';

/** Default history cap (items), as in TIGER/LETTER. */
export const DEFAULT_MAX_HISTORY = 20;

/** The result of leaveOneOut. */
export interface LeaveOneOut {
  trainSequences: ItemId[][];
  train: Example[];
  valid: Example[];
  test: Example[];
  /** Users with fewer than 3 items (no valid/test example). */
  shortUsers: number;
}

/** The history before position `t` of `s`, capped to the last `maxHistory` items. */
function historyBefore(s: readonly ItemId[], t: number, maxHistory: number): ItemId[] {
  return s.slice(Math.max(0, t - maxHistory), t);
}

/** Splits per-user sequences (aligned with `users`) leave-one-out; see the module comment. */
export function leaveOneOut(
  users: readonly UserId[],
  sequences: readonly (readonly ItemId[])[],
  maxHistory: number,
): LeaveOneOut {
  const out: LeaveOneOut = { trainSequences: [], train: [], valid: [], test: [], shortUsers: 0 };
  for (let u = 0; u < sequences.length; u++) {
    const s = sequences[u] as readonly ItemId[];
    const user = users[u] as UserId;
    const n = s.length;
    const trainLen = n >= 3 ? n - 2 : n;
    if (n < 3) out.shortUsers++;
    out.trainSequences.push(s.slice(0, trainLen));
    for (let t = 1; t < trainLen; t++) {
      out.train.push({ user, history: historyBefore(s, t, maxHistory), target: s[t] as ItemId });
    }
    if (n >= 3) {
      out.valid.push({ user, history: historyBefore(s, n - 2, maxHistory), target: s[n - 2] as ItemId });
      out.test.push({ user, history: historyBefore(s, n - 1, maxHistory), target: s[n - 1] as ItemId });
    }
  }
  return out;
}

/** Rank of each part in a user's sequence: train items first, then valid, then test. */
export const PART_RANK = { train: 0, valid: 1, test: 2 } as const;

/**
 * The split a pre-split dataset ships, used as given. `parts[u][t]` is the PART_RANK of
 * `sequences[u][t]` (non-decreasing per user). The train sequence is the user's train items; every
 * train prefix gives a training example; each valid item is a valid example and each test item a test
 * example, with the history of everything before it (train, then valid, then earlier test items),
 * capped at maxHistory. Examples with an empty history are left out and counted in `shortUsers`.
 */
export function givenSplit(
  users: readonly UserId[],
  sequences: readonly (readonly ItemId[])[],
  parts: readonly (readonly number[])[],
  maxHistory: number,
): LeaveOneOut {
  const out: LeaveOneOut = { trainSequences: [], train: [], valid: [], test: [], shortUsers: 0 };
  for (let u = 0; u < sequences.length; u++) {
    const s = sequences[u] as readonly ItemId[];
    const p = parts[u] as readonly number[];
    const user = users[u] as UserId;
    let trainLen = 0;
    while (trainLen < s.length && p[trainLen] === PART_RANK.train) trainLen++;
    out.trainSequences.push(s.slice(0, trainLen));
    for (let t = 1; t < trainLen; t++) {
      out.train.push({ user, history: historyBefore(s, t, maxHistory), target: s[t] as ItemId });
    }
    let short = false;
    for (let t = trainLen; t < s.length; t++) {
      if (t === 0) {
        short = true;
        continue;
      }
      const ex = { user, history: historyBefore(s, t, maxHistory), target: s[t] as ItemId };
      (p[t] === PART_RANK.valid ? out.valid : out.test).push(ex);
    }
    if (short) out.shortUsers++;
  }
  return out;
}
