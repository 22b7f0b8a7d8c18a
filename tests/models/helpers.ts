/** Tiny fixtures for the model tests: a 12-item catalogue with 2-level codes and rule-following users. */

import type { ModelConfig } from '../../models/config.js';
import { CodeTable } from '../../src/core/codes.js';
import type { Code, Example, ItemId } from '../../src/core/types.js';

/** 12 items "i0".."i11", code of item k = [k % 3, floor(k / 3)] (levels 3 and 4). */
export function tinyTable(): CodeTable {
  return new CodeTable(
    [3, 4],
    Array.from({ length: 12 }, (_, k) => [`i${k}`, [k % 3, Math.floor(k / 3)]] as const),
  );
}

/** Users whose next item is always (previous + step) mod 12. */
export function ruleSequences(users: number, length: number, step = 1): ItemId[][] {
  return Array.from({ length: users }, (_, u) => Array.from({ length }, (_, j) => `i${(u * 5 + j * step) % 12}`));
}

/** The split pieces training reads, from full sequences (last two items held out as valid/test). */
export function tinySplit(seqs: ItemId[][]): { trainSequences: ItemId[][]; train: Example[] } {
  const trainSequences = seqs.map((s) => s.slice(0, -2));
  const train: Example[] = [];
  trainSequences.forEach((s, u) => {
    for (let j = 1; j < s.length; j++) train.push({ user: `u${u}`, history: s.slice(0, j), target: s[j] as ItemId });
  });
  return { trainSequences, train };
}

/** A tiny model config. */
export function tinyConfig(over: Partial<ModelConfig> = {}): Partial<ModelConfig> {
  return {
    dModel: 16,
    heads: 2,
    layers: 1,
    ffn: 32,
    maxHistory: 5,
    dropout: 0,
    labelSmoothing: 0,
    batch: 8,
    warmup: 0,
    lr: 1e-2,
    ...over,
  };
}

/** Codes of items. */
export function codesOf(table: CodeTable, items: readonly ItemId[]): Code[] {
  return items.map((i) => table.encode(i) as Code);
}
