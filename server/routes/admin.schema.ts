/** JSON schemas of the operational routes. */
import { bundleName, errors } from './shared.schema.js';

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
