/**
 * Code completion for new items: checking a given code or prefix against the index's level sizes,
 * and finding the first free full code under a prefix (codes of live and retired items are never
 * handed out again).
 */
import { SemidError } from '../src/core/errors.js';
import type { Code } from '../src/core/types.js';
import type { Catalogue } from './catalogue.js';

/**
 * @throws `errCode` (SEMID_ERR_BAD_INPUT by default) when `code` has more levels than the index or
 *   a value outside its level's codebook.
 */
export function checkCode(
  code: readonly number[],
  levelSizes: readonly number[],
  what: string,
  errCode: 'SEMID_ERR_BAD_INPUT' | 'SEMID_ERR_INTERNAL' = 'SEMID_ERR_BAD_INPUT',
): void {
  if (code.length > levelSizes.length) {
    throw new SemidError(errCode, `${what} [${code}] has ${code.length} levels, the index has ${levelSizes.length}`);
  }
  code.forEach((v, l) => {
    if (!Number.isInteger(v) || v < 0 || v >= (levelSizes[l] as number)) {
      throw new SemidError(
        errCode,
        `${what} [${code}] has ${v} at level ${l}, expected an integer in [0, ${levelSizes[l]})`,
      );
    }
  });
}

/**
 * The first full code (in code order) extending `prefix` that no live or retired item holds. Taken
 * codes are at most the catalogue size, so at most size + 1 candidates are tried.
 * @throws SEMID_ERR_CONFLICT when every completion is taken.
 */
export function freeCompletion(cat: Catalogue, prefix: readonly number[], bundle = ''): Code {
  const L = cat.levels;
  const free = L - prefix.length;
  const sizes = cat.levelSizes.slice(prefix.length);
  const digits = new Array<number>(free).fill(0);
  const budget = cat.size + cat.retired.size + 1;
  for (let tried = 0; tried <= budget; tried++) {
    const code = [...prefix, ...digits];
    if (!cat.taken(code)) return code;
    // odometer increment, last level fastest
    let l = free - 1;
    while (l >= 0) {
      digits[l] = (digits[l] as number) + 1;
      if ((digits[l] as number) < (sizes[l] as number)) break;
      digits[l] = 0;
      l--;
    }
    if (l < 0) break;
  }
  throw new SemidError(
    'SEMID_ERR_CONFLICT',
    `every code under prefix [${prefix}] is taken${bundle ? ` in bundle "${bundle}"` : ''}; give another code or prefix`,
  );
}

/**
 * A free code as close to `prefix` as possible: the first free completion of the longest prefix of
 * `prefix` that still has room (a full dedup level falls back to the level above, and so on).
 */
export function shorteningCompletion(cat: Catalogue, prefix: readonly number[], bundle: string): Code {
  for (let n = prefix.length; n > 0; n--) {
    try {
      return freeCompletion(cat, prefix.slice(0, n), bundle);
    } catch (e) {
      if (!(e instanceof SemidError && e.code === 'SEMID_ERR_CONFLICT')) throw e;
    }
  }
  return freeCompletion(cat, [], bundle);
}
