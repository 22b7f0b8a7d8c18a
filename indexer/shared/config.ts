/**
 * Config fields several indexing schemes share, as entries of the one config mechanism
 * (src/core/config.ts).
 */
import type { EnumField, IntField } from '../../src/core/config.js';
import type { CollisionMode } from './diagnostics.js';

/** Every collision mode, for validation and help. */
export const COLLISION_MODES: readonly CollisionMode[] = ['dedup-level', 'sinkhorn', 'report'];

/** The shared `collisions` field, defaulting to `def` (dedup-level unless a scheme says otherwise). */
export function collisionsField(def: CollisionMode = 'dedup-level'): EnumField<CollisionMode> {
  return {
    kind: 'enum',
    values: COLLISION_MODES,
    default: def,
    doc: 'how codes shared by several items are made unique: dedup-level (TIGER extra level), sinkhorn (re-assign on the last level), report (dedup-level, and every collision group recorded in diagnostics)',
  };
}

/** The shared `collisions` field with the dedup-level default. */
export const COLLISIONS_FIELD = collisionsField();

/** The shared `suffixHeadroom` field of the schemes with a suffix level (title, category, keywords). */
export const SUFFIX_HEADROOM_FIELD: IntField = {
  kind: 'int',
  min: 0,
  max: 1 << 16,
  default: 1,
  doc: 'spare suffix values beyond the largest group, for new items',
};
