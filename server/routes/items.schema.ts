/** JSON schemas of the item routes (lookup, similar, add, delete). */
import { bundleName, bundleQuery, code, errors, itemId, LIMITS, metadataFlag, metaFields } from './shared.schema.js';

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
        ...metaFields,
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
    properties: {
      k: { type: 'integer', minimum: 1, maximum: LIMITS.maxSimilarK, default: 10 },
      bundle: bundleName,
      metadata: metadataFlag,
    },
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
            properties: { item: { type: 'string' }, similarity: { type: 'number' }, code, ...metaFields },
          },
        },
        bundle: { type: 'string' },
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
