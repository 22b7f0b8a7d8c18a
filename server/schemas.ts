/**
 * JSON schemas of every route: request validation (additionalProperties false, bounds on every
 * number, string and array) and response shapes (fast serialisation, OpenAPI at /docs).
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

const itemId = { type: 'string', minLength: 1, maxLength: LIMITS.maxItemIdLength } as const;
const bundleName = { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' } as const;
const code = { type: 'array', items: { type: 'integer' } } as const;
const history = { type: 'array', items: itemId, maxItems: LIMITS.maxHistory } as const;

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

const errors = { 400: errorSchema, 401: errorSchema, 404: errorSchema, 409: errorSchema, 500: errorSchema } as const;

const recommendFields = {
  history: {
    ...history,
    description: 'item ids, oldest first; longer than the model window is cut to the most recent',
  },
  k: { type: 'integer', minimum: 1, maximum: LIMITS.maxK, default: 10 },
  beamWidth: { type: 'integer', minimum: 1, maximum: LIMITS.maxBeamWidth, description: 'default max(k, 20)' },
  excludeHistory: { type: 'boolean', default: false },
  mode: {
    type: 'string',
    enum: ['constrained', 'grounded'],
    default: 'constrained',
    description: 'constrained: trie-masked beam search; grounded: free decoding mapped to the nearest items (BIGRec)',
  },
} as const;

const recommendItem = {
  type: 'object',
  properties: {
    item: { type: 'string' },
    score: { type: 'number', description: 'log-probability of the code under the model' },
    code,
    generated: { ...code, description: 'grounded mode: the generated code when it named no usable item' },
  },
  required: ['item', 'score', 'code'],
} as const;

const recommendResult = {
  type: 'object',
  properties: {
    items: { type: 'array', items: recommendItem },
    bundle: { type: 'string' },
    truncatedHistory: { type: 'integer', description: 'oldest history items cut to fit the model window' },
    invalidCodes: { type: 'integer', description: 'grounded mode: generated codes naming no live item' },
    generated: { type: 'integer', description: 'grounded mode: codes generated' },
  },
  required: ['items', 'bundle'],
} as const;

/** POST /v1/recommend */
export const recommendSchema = {
  summary: 'Top-k next items for one history',
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['history'],
    properties: { ...recommendFields, bundle: bundleName },
  },
  response: { 200: recommendResult, ...errors },
} as const;

/** POST /v1/recommend/batch */
export const recommendBatchSchema = {
  summary: 'Top-k next items for many histories at once',
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['requests'],
    properties: {
      bundle: bundleName,
      requests: {
        type: 'array',
        minItems: 1,
        maxItems: LIMITS.maxBatch,
        items: { type: 'object', additionalProperties: false, required: ['history'], properties: recommendFields },
      },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: { results: { type: 'array', items: recommendResult }, bundle: { type: 'string' } },
    },
    ...errors,
  },
} as const;

/** POST /v1/score */
export const scoreSchema = {
  summary: 'Exact log-likelihood of each candidate item after a history (ranking mode)',
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['history', 'candidates'],
    properties: {
      history,
      candidates: { type: 'array', items: itemId, minItems: 1, maxItems: LIMITS.maxCandidates },
      bundle: bundleName,
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        scores: {
          type: 'array',
          items: {
            type: 'object',
            properties: { item: { type: 'string' }, score: { type: 'number' }, code },
            required: ['item', 'score', 'code'],
          },
        },
        bundle: { type: 'string' },
        truncatedHistory: { type: 'integer' },
      },
    },
    ...errors,
  },
} as const;

const bundleQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { bundle: bundleName },
} as const;

const itemParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: itemId },
} as const;

/** GET /v1/items/:id */
export const getItemSchema = {
  summary: "An item's code",
  params: itemParams,
  querystring: bundleQuery,
  response: {
    200: {
      type: 'object',
      properties: {
        item: { type: 'string' },
        code,
        live: { type: 'boolean', description: 'false once deleted: the code still reads in histories' },
        bundle: { type: 'string' },
      },
    },
    ...errors,
  },
} as const;

/** GET /v1/items/:id/similar */
export const similarSchema = {
  summary: 'Nearest items by embedding (or by code when the bundle has no embeddings), through HNSW',
  params: itemParams,
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: { k: { type: 'integer', minimum: 1, maximum: LIMITS.maxSimilarK, default: 10 }, bundle: bundleName },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        item: { type: 'string' },
        basis: { type: 'string', enum: ['embedding', 'code'] },
        items: {
          type: 'array',
          items: {
            type: 'object',
            properties: { item: { type: 'string' }, similarity: { type: 'number' }, code },
          },
        },
        bundle: { type: 'string' },
      },
    },
    ...errors,
  },
} as const;

/** GET /v1/codes/:code */
export const codeSchema = {
  summary: 'The item of a full code, or the items under a prefix (paginated)',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['code'],
    properties: {
      code: { type: 'string', pattern: '^[0-9]{1,9}([-,][0-9]{1,9}){0,15}$', description: 'e.g. 12-201-7-0 or 12,201' },
    },
  },
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      limit: { type: 'integer', minimum: 1, maximum: LIMITS.maxPageLimit, default: 100 },
      cursor: {
        type: 'string',
        pattern: '^[0-9]{1,9}(-[0-9]{1,9}){0,15}$',
        description: 'nextCursor of the previous page',
      },
      bundle: bundleName,
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        bundle: { type: 'string' },
        code,
        item: { type: 'string' },
        prefix: code,
        total: { type: 'integer' },
        items: { type: 'array', items: { type: 'object', properties: { item: { type: 'string' }, code } } },
        nextCursor: { type: 'string' },
      },
    },
    ...errors,
  },
} as const;

/** POST /v1/items */
export const addItemSchema = {
  summary: 'Add a new item (API key); its code comes from the index encoder, an embedding, or is given',
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['id'],
    properties: {
      id: itemId,
      title: { type: 'string', maxLength: LIMITS.maxTextLength },
      description: { type: 'string', maxLength: LIMITS.maxTextLength },
      brand: { type: 'string', maxLength: 1000 },
      categories: { type: 'array', maxItems: 100, items: { type: 'string', maxLength: 1000 } },
      embedding: { type: 'array', minItems: 1, maxItems: LIMITS.maxEmbeddingDim, items: { type: 'number' } },
      code: { type: 'array', minItems: 1, maxItems: 16, items: { type: 'integer', minimum: 0 } },
      bundle: bundleName,
    },
  },
  response: {
    201: {
      type: 'object',
      properties: {
        item: { type: 'string' },
        code,
        assignedBy: { type: 'string', enum: ['given', 'encoder', 'nearest-item'] },
        bundle: { type: 'string' },
      },
    },
    ...errors,
  },
} as const;

/** DELETE /v1/items/:id */
export const deleteItemSchema = {
  summary: 'Remove an item from decoding (API key); its code stays reserved for histories',
  params: itemParams,
  querystring: bundleQuery,
  response: {
    200: {
      type: 'object',
      properties: { item: { type: 'string' }, code, removed: { type: 'boolean' }, bundle: { type: 'string' } },
    },
    ...errors,
  },
} as const;

/** POST /v1/admin/reload */
export const reloadSchema = {
  summary: 'Reload bundles from disk (API key), swapping them without failing in-flight requests',
  body: {
    type: ['object', 'null'],
    additionalProperties: false,
    properties: { bundles: { type: 'array', items: bundleName, minItems: 1, maxItems: 64 } },
  },
  response: {
    200: {
      type: 'object',
      properties: { reloaded: { type: 'array', items: { type: 'string' } }, seconds: { type: 'number' } },
    },
    ...errors,
  },
} as const;
