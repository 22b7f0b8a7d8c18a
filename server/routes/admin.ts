/** GET /health, GET /metrics, POST /v1/admin/reload (API key, checked before the body is read). */
import type { FastifyInstance } from 'fastify';
import { SemidError } from '../../src/core/errors.js';
import { redactPaths } from '../redact.js';
import { reloadSchema } from './admin.schema.js';

const started = Date.now();

/** Registers the operational routes (never rate limited). */
export async function adminRoutes(app: FastifyInstance): Promise<void> {
  const unlimited = { rateLimit: false } as const;
  app.get(
    '/health',
    { schema: { summary: 'Liveness and the loaded bundles', tags: ['ops'] }, config: unlimited },
    async () => ({
      status: 'ok',
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      defaultBundle: app.registry.defaultName,
      bundles: app.registry.bundles().map((b) => ({
        name: b.name,
        items: b.catalogue.size,
        retiredItems: b.catalogue.retired.size,
        levelSizes: b.catalogue.levelSizes,
        maxHistory: b.decoder.maxHistory,
        similarity: b.similarityBasis,
        loadedAt: b.loadedAt.toISOString(),
        info: b.info,
      })),
    }),
  );

  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics (text format)', tags: ['ops'] }, config: unlimited },
    async (_req, reply) => {
      reply.type(app.metrics.contentType);
      return app.metrics.render();
    },
  );

  app.post<{ Body: { bundles?: string[] } | null }>(
    '/v1/admin/reload',
    {
      schema: { ...reloadSchema, tags: ['ops'], security: [{ apiKey: [] }] },
      onRequest: app.requireApiKey,
    },
    async (req) => {
      const t = Date.now();
      try {
        const r = await app.registry.reload(req.body?.bundles);
        return { reloaded: r.reloaded, seconds: (Date.now() - t) / 1000 };
      } catch (e) {
        if (!(e instanceof SemidError)) throw e;
        // The log keeps the full message; the answer names bundles, never directories.
        req.log.error({ err: e }, 'reload failed');
        throw new SemidError(
          e.code,
          `reload failed, still serving the previous bundles: ${redactPaths(e.message, app.registry)}`,
        );
      }
    },
  );
}
