/** Item lookups, similarity, and item changes (API key, checked before the body is read). */
import type { FastifyInstance } from 'fastify';
import { SemidError } from '../../src/core/errors.js';
import type { NewItem } from '../types.js';
import { addItemSchema, deleteItemSchema, getItemSchema, similarSchema } from './items.schema.js';

/** Registers /v1/items routes. */
export async function itemRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Params: { id: string }; Querystring: { bundle?: string; metadata?: boolean } }>(
    '/v1/items/:id',
    { schema: { ...getItemSchema, tags: ['items'] } },
    async (req) =>
      app.registry.use(req.query.bundle, (b) => {
        const found = b.catalogue.lookup(req.params.id);
        if (!found) throw new SemidError('SEMID_ERR_NOT_FOUND', `item "${req.params.id}" is not in bundle "${b.name}"`);
        return {
          item: req.params.id,
          code: found.code,
          live: found.live,
          ...(req.query.metadata !== false ? b.meta(req.params.id) : {}),
          bundle: b.name,
        };
      }),
  );

  app.get<{ Params: { id: string }; Querystring: { k?: number; bundle?: string; metadata?: boolean } }>(
    '/v1/items/:id/similar',
    { schema: { ...similarSchema, tags: ['items'] } },
    async (req) =>
      app.registry.use(req.query.bundle, (b) => {
        const r = b.similar(req.params.id, req.query.k ?? 10);
        const items = req.query.metadata !== false ? r.items.map((x) => ({ ...x, ...b.meta(x.item) })) : r.items;
        return { item: req.params.id, basis: r.basis, items, bundle: b.name };
      }),
  );

  app.post<{ Body: NewItem & { bundle?: string } }>(
    '/v1/items',
    {
      schema: { ...addItemSchema, tags: ['items'], security: [{ apiKey: [] }] },
      onRequest: app.requireApiKey,
    },
    async (req, reply) => {
      const { bundle: name, ...item } = req.body;
      const r = await app.registry.mutate(name, (b) => b.addItem(item).then((x) => ({ ...x, bundle: b.name })));
      app.metrics.itemChanged('add', r.bundle);
      reply.code(201);
      return r;
    },
  );

  app.delete<{ Params: { id: string }; Querystring: { bundle?: string } }>(
    '/v1/items/:id',
    {
      schema: { ...deleteItemSchema, tags: ['items'], security: [{ apiKey: [] }] },
      onRequest: app.requireApiKey,
    },
    async (req) => {
      const r = await app.registry.mutate(req.query.bundle, (b) =>
        b.removeItem(req.params.id).then((x) => ({ ...x, removed: true, bundle: b.name })),
      );
      app.metrics.itemChanged('remove', r.bundle);
      return r;
    },
  );
}
