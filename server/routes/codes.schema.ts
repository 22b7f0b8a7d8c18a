/** JSON schema of the code route. */
import { bundleName, code, errors, LIMITS, metadataFlag, metaFields } from './shared.schema.js';

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
      metadata: metadataFlag,
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        bundle: { type: 'string' },
        code,
        item: { type: 'string' },
        ...metaFields,
        prefix: code,
        total: { type: 'integer' },
        items: {
          type: 'array',
          items: { type: 'object', properties: { item: { type: 'string' }, code, ...metaFields } },
        },
        nextCursor: { type: 'string' },
      },
    },
    ...errors,
  },
} as const;
