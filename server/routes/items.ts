/** Item and code lookups, similarity, and item changes (API key). */
import type { FastifyInstance } from 'fastify';
import { SemidError } from '../../src/core/errors.js';
import type { NewItem } from '../bundle.js';
import { addItemSchema, codeSchema, deleteItemSchema, getItemSchema, similarSchema } from '../schemas.js';

/** Parses "12-201-7-0" or "12,201,7,0" into values. */
export function parseCode(s: string): number[] {
  return s.split(/[-,]/).map(Number);
}

/** Formats a code as a path segment / cursor ("12-201-7-0"). */
export const formatCode = (code: readonly number[]): string => code.join('-');

/** Registers /v1/items and /v1/codes routes. */
export async function itemRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Params: { id: string }; Querystring: { bundle?: string } }>(
    '/v1/items/:id',
    { schema: { ...getItemSchema, tags: ['items'] } },
    async (req) =>
      app.registry.use(req.query.bundle, (b) => {
        const found = b.catalogue.lookup(req.params.id);
        if (!found) throw new SemidError('SEMID_ERR_NOT_FOUND', `item "${req.params.id}" is not in bundle "${b.name}"`);
        return { item: req.params.id, code: found.code, live: found.live, bundle: b.name };
      }),
  );

  app.get<{ Params: { id: string }; Querystring: { k?: number; bundle?: string } }>(
    '/v1/items/:id/similar',
    { schema: { ...similarSchema, tags: ['items'] } },
    async (req) =>
      app.registry.use(req.query.bundle, (b) => {
        const r = b.similar(req.params.id, req.query.k ?? 10);
        return { item: req.params.id, basis: r.basis, items: r.items, bundle: b.name };
      }),
  );

  app.get<{ Params: { code: string }; Querystring: { limit?: number; cursor?: string; bundle?: string } }>(
    '/v1/codes/:code',
    { schema: { ...codeSchema, tags: ['items'] } },
    async (req) =>
      app.registry.use(req.query.bundle, (b) => {
        const cat = b.catalogue;
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
            throw new SemidError(
              'SEMID_ERR_NOT_FOUND',
              `no live item has code ${req.params.code} in bundle "${b.name}"`,
            );
          }
          return { bundle: b.name, code: values, item };
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
          items: page.items,
          ...(page.next ? { nextCursor: formatCode(page.next) } : {}),
        };
      }),
  );

  app.post<{ Body: NewItem & { bundle?: string } }>(
    '/v1/items',
    { schema: { ...addItemSchema, tags: ['items'], security: [{ apiKey: [] }] }, preHandler: app.requireApiKey },
    async (req, reply) => {
      const { bundle: name, ...item } = req.body;
      const r = await app.registry.mutate(name, (b) => b.addItem(item).then((x) => ({ ...x, bundle: b.name })));
      app.metrics.inc('semid_item_changes_total', 'Items added or removed through the API.', {
        op: 'add',
        bundle: r.bundle,
      });
      reply.code(201);
      return r;
    },
  );

  app.delete<{ Params: { id: string }; Querystring: { bundle?: string } }>(
    '/v1/items/:id',
    { schema: { ...deleteItemSchema, tags: ['items'], security: [{ apiKey: [] }] }, preHandler: app.requireApiKey },
    async (req) => {
      const r = await app.registry.mutate(req.query.bundle, (b) =>
        b.removeItem(req.params.id).then((x) => ({ ...x, removed: true, bundle: b.name })),
      );
      app.metrics.inc('semid_item_changes_total', 'Items added or removed through the API.', {
        op: 'remove',
        bundle: r.bundle,
      });
      return r;
    },
  );
}
