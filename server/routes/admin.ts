/** GET /health, GET /metrics, GET /docs, POST /v1/admin/reload (API key). */
import type { FastifyInstance } from 'fastify';
import { BatchingDecoder, type BatchStats } from '../batcher.js';
import type { Bundle } from '../bundle.js';
import { reloadSchema } from '../schemas.js';

const started = Date.now();

/** Registers the operational routes. */
export async function adminRoutes(app: FastifyInstance): Promise<void> {
  app.get('/health', { schema: { summary: 'Liveness and the loaded bundles', tags: ['ops'] } }, async () => ({
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
  }));

  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics (text format)', tags: ['ops'] } },
    async (_req, reply) => {
      const bundles = app.registry.bundles();
      const reloads = app.registry.reloadCounts;
      reply.type('text/plain; version=0.0.4; charset=utf-8');
      return app.metrics.render({
        semid_bundle_info: {
          help: 'One sample per loaded bundle; labels describe it.',
          samples: bundles.map((b) => [
            {
              bundle: b.name,
              levels: String(b.catalogue.levels),
              loaded_at: b.loadedAt.toISOString(),
              ...Object.fromEntries(
                Object.entries(b.info).map(([k, v]) => [k.replace(/[^a-zA-Z0-9_]/g, '_'), String(v)]),
              ),
            },
            1,
          ]),
        },
        semid_bundle_items: {
          help: 'Live (decodable) items per bundle.',
          samples: bundles.map((b) => [{ bundle: b.name }, b.catalogue.size]),
        },
        semid_bundle_retired_items: {
          help: 'Items removed from decoding per bundle (codes kept for histories).',
          samples: bundles.map((b) => [{ bundle: b.name }, b.catalogue.retired.size]),
        },
        ...batchGauges(bundles),
        semid_bundle_loaded_timestamp_seconds: {
          help: 'When each bundle was loaded (Unix seconds).',
          samples: bundles.map((b) => [{ bundle: b.name }, b.loadedAt.getTime() / 1000]),
        },
        semid_reloads: {
          help: 'Bundle reloads since start, by result.',
          samples: [
            [{ result: 'ok' }, reloads.ok],
            [{ result: 'failed' }, reloads.failed],
          ],
        },
      });
    },
  );

  app.get('/docs', { schema: { summary: 'OpenAPI 3 description of this API', tags: ['ops'] } }, async () =>
    app.swagger(),
  );

  app.post<{ Body: { bundles?: string[] } | null }>(
    '/v1/admin/reload',
    { schema: { ...reloadSchema, tags: ['ops'], security: [{ apiKey: [] }] }, preHandler: app.requireApiKey },
    async (req) => {
      const t = Date.now();
      const r = await app.registry.reload(req.body?.bundles);
      return { reloaded: r.reloaded, seconds: (Date.now() - t) / 1000 };
    },
  );
}

/** Micro-batching counters of each bundle whose decoder batches (they restart with a reload). */
function batchGauges(bundles: readonly Bundle[]) {
  const withStats = bundles.flatMap((b) =>
    b.decoder instanceof BatchingDecoder ? [[b.name, b.decoder.stats] as const] : [],
  );
  const family = (help: string, pick: (s: BatchStats) => number) => ({
    help,
    samples: withStats.map(([bundle, s]) => [{ bundle }, pick(s)] as [Record<string, string>, number]),
  });
  return {
    semid_decode_batches: family('Batched decoder calls since the bundle was loaded.', (s) => s.batches),
    semid_decode_batch_requests: family('Requests served through batched decoder calls.', (s) => s.calls),
    semid_decode_batch_histories: family('Histories decoded in batched decoder calls.', (s) => s.histories),
    semid_decode_batch_largest: family('Largest batch so far, in histories.', (s) => s.largest),
    semid_decode_batch_split_retries: family(
      'Batches that failed and were retried request by request.',
      (s) => s.splitRetries,
    ),
  };
}
