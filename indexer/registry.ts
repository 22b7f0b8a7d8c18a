/**
 * The typed registry of indexing schemes: one name per scheme, all behind IndexingScheme, all run by
 * the one contract suite (tests/indexer/contract.test.ts).
 */
import { SemidError } from '../src/core/errors.js';
import { atomic } from './atomic.js';
import { category } from './category.js';
import { collaborative } from './collaborative.js';
import { hybrid } from './hybrid.js';
import { imported } from './imported.js';
import { keywords } from './keywords.js';
import { letter } from './letter.js';
import { random } from './random.js';
import { rqkmeans } from './rqkmeans.js';
import { rqvae } from './rqvae.js';
import { sequential } from './sequential.js';
import { title } from './title.js';
import type { IndexingScheme, SchemeName } from './types.js';

/** Every available scheme by name. */
export const SCHEMES = {
  random,
  sequential,
  atomic,
  title,
  category,
  keywords,
  collaborative,
  rqvae,
  rqkmeans,
  hybrid,
  letter,
  imported,
} satisfies Record<SchemeName, IndexingScheme<any>>;

/** Names of the schemes in SCHEMES. */
export const SCHEME_NAMES = Object.keys(SCHEMES) as (keyof typeof SCHEMES)[];

/**
 * The scheme called `name`.
 * @throws SEMID_ERR_UNKNOWN_SCHEME naming the valid schemes
 */
export function getScheme(name: string): IndexingScheme<any> {
  const s = (SCHEMES as Partial<Record<string, IndexingScheme<any>>>)[name];
  if (!s || !Object.hasOwn(SCHEMES, name)) {
    throw new SemidError(
      'SEMID_ERR_UNKNOWN_SCHEME',
      `unknown indexing scheme "${name}"; valid schemes: ${SCHEME_NAMES.join(', ')}`,
    );
  }
  return s;
}
