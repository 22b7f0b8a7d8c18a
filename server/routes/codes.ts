/** GET /v1/codes/:code: the item of a full code, or the items under a prefix (paginated). */
import type { FastifyInstance } from 'fastify';
import { SemidError } from '../../src/core/errors.js';
import { codeSchema } from './codes.schema.js';

/** Parses "12-201-7-0" or "12,201,7,0" into values. */
export function parseCode(s: string): number[] {
  return s.split(/[-,]/).map(Number);
}

/** Formats a code as a path segment / cursor ("12-201-7-0"). */
export const formatCode = (code: readonly number[]): string => code.join('-');

/** Registers /v1/codes/:code. */
export async function codeRoutes(app: FastifyInstance): Promise<void> {
  app.get<{
    Params: { code: string };
    Querystring: { limit?: number; cursor?: string; bundle?: string; metadata?: boolean };
  }>('/v1/codes/:code', { schema: { ...codeSchema, tags: ['items'] } }, async (req) =>
    app.registry.use(req.query.bundle, (b) => {
      const cat = b.catalogue;
      const meta = req.query.metadata !== false;
      const values = parseCode(req.params.code);
      if (values.length > cat.levels) {
        throw new SemidError(
          'SEMID_ERR_BAD_INPUT',
          `code ${req.params.code} has ${values.length} levels, bundle "${b.name}" has ${cat.levels}`,
        );
      }
      values.forEach((v, l) => {
        if (v >= (cat.levelSizes[l] as number)) {
          throw new SemidError(
            'SEMID_ERR_BAD_INPUT',
            `code ${req.params.code} has ${v} at level ${l}; level ${l} has ${cat.levelSizes[l]} values (0-${(cat.levelSizes[l] as number) - 1})`,
          );
        }
      });
      if (values.length === cat.levels) {
        const item = cat.itemOf(values);
        if (item === undefined) {
          throw new SemidError('SEMID_ERR_NOT_FOUND', `no live item has code ${req.params.code} in bundle "${b.name}"`);
        }
        return { bundle: b.name, code: values, item, ...(meta ? b.meta(item) : {}) };
      }
      const limit = req.query.limit ?? 100;
      const after = req.query.cursor === undefined ? undefined : parseCode(req.query.cursor);
      if (after && after.length !== cat.levels) {
        throw new SemidError(
          'SEMID_ERR_BAD_INPUT',
          `cursor "${req.query.cursor}" is not a full code; pass nextCursor back unchanged`,
        );
      }
      const page = cat.itemsUnder(values, limit, after);
      return {
        bundle: b.name,
        prefix: values,
        total: cat.countUnder(values),
        items: meta ? page.items.map((x) => ({ ...x, ...b.meta(x.item) })) : page.items,
        ...(page.next ? { nextCursor: formatCode(page.next) } : {}),
      };
    }),
  );
}
