/** JSON schemas of the recommendation routes (recommend, batch, score). */
import { bundleName, code, errors, history, itemId, LIMITS, metadataFlag, metaFields } from './shared.schema.js';

const recommendFields = {
  history: {
    ...history,
    description: 'item ids, oldest first; longer than the model window is cut to the most recent',
  },
  k: { type: 'integer', minimum: 1, maximum: LIMITS.maxK, default: 10 },
  beamWidth: { type: 'integer', minimum: 1, maximum: LIMITS.maxBeamWidth, description: 'default max(k, 20)' },
  excludeHistory: { type: 'boolean', default: false },
  metadata: metadataFlag,
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
    ...metaFields,
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
