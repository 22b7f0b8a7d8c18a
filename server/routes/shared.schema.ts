/**
 * Schema pieces shared by the route resources (each resource's schemas sit beside it in
 * `<resource>.schema.ts`): the bounds, ids, bundle names, codes, and the error body. Bodies are
 * validated strictly (no type coercion, no unknown properties); query strings and path parameters
 * are strings on the wire, so only they are coerced to the declared numbers.
 */

/** Bounds shared by schemas and handlers. */
export const LIMITS = {
  maxK: 100,
  maxBeamWidth: 200,
  maxHistory: 1000,
  maxCandidates: 1000,
  maxBatch: 64,
  maxItemIdLength: 256,
  maxEmbeddingDim: 4096,
  maxSimilarK: 200,
  maxPageLimit: 1000,
  maxTextLength: 20_000,
} as const;

/** An item id. */
export const itemId = { type: 'string', minLength: 1, maxLength: LIMITS.maxItemIdLength } as const;
/** A bundle name. */
export const bundleName = { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' } as const;
/** A code: one integer per level. */
export const code = { type: 'array', items: { type: 'integer' } } as const;
/** A history: item ids, oldest first. */
export const history = { type: 'array', items: itemId, maxItems: LIMITS.maxHistory } as const;

/** Error body: every error has a stable `code`. */
export const errorSchema = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string', description: 'stable error code, e.g. SEMID_ERR_UNKNOWN_ITEM' },
    error: { type: 'string' },
    message: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
  },
  required: ['statusCode', 'code', 'message'],
} as const;

/** The error answers of every route. */
export const errors = {
  400: errorSchema,
  401: errorSchema,
  404: errorSchema,
  409: errorSchema,
  413: errorSchema,
  422: errorSchema,
  429: errorSchema,
  500: errorSchema,
} as const;

/** Item metadata fields of an answer. */
export const metaFields = {
  title: { type: 'string', description: 'the item title, when the catalogue has one' },
  category: { type: 'string', description: 'the most specific category, when the catalogue has one' },
} as const;

/** The `metadata` flag: include titles and categories (default true). */
export const metadataFlag = {
  type: 'boolean',
  default: true,
  description: 'include item titles and categories when the catalogue has them',
} as const;

/** Query string selecting a bundle. */
export const bundleQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { bundle: bundleName, metadata: metadataFlag },
} as const;
