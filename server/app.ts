/**
 * The semid HTTP app: `buildApp(opts)` returns a fastify instance (not listening; server.ts listens,
 * tests use `inject`). Services are injected: the bundle registry, the API key, limits.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { SemidError } from '../src/core/errors.js';
import { toErrorBody } from './errors.js';
import { Metrics } from './metrics.js';
import type { BundleRegistry } from './registry.js';
import { adminRoutes } from './routes/admin.js';
import { itemRoutes } from './routes/items.js';
import { recommendRoutes } from './routes/recommend.js';
import { uiRoutes } from './routes/ui.js';

/** Options of buildApp. */
export interface AppOptions {
  /** The bundles to serve. The app does not close it; the caller (server.ts) does. */
  registry: BundleRegistry;
  /** Key required by item changes and reload (x-api-key or Authorization: Bearer); without one they answer 401. */
  apiKey?: string;
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** fastify logger option (default off). */
  logger?: boolean | object;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The served bundles. */
    registry: BundleRegistry;
    /** Request and bundle metrics. */
    metrics: Metrics;
    /** preHandler that rejects a request without the API key (SEMID_ERR_UNAUTHORIZED). */
    requireApiKey: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
  interface FastifyRequest {
    /** process.hrtime.bigint() at arrival, for the latency histogram. */
    semidStart?: bigint;
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Builds the app (routes, validation, error mapping, metrics, OpenAPI). Await `app.ready()` or inject. */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    routerOptions: { maxParamLength: 300 },
    // Reject unknown properties instead of silently dropping them; no array coercion of scalars.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, useDefaults: true, allErrors: false } },
    return503OnClosing: true,
  });
  app.decorate('registry', opts.registry);
  app.decorate('metrics', new Metrics());
  const keyDigest = opts.apiKey ? digest(opts.apiKey) : undefined;
  app.decorate('requireApiKey', async (req: FastifyRequest) => {
    if (!keyDigest) {
      throw new SemidError(
        'SEMID_ERR_UNAUTHORIZED',
        'this server has no API key configured, so item changes and reloads are disabled; start it with --api-key-env NAME',
      );
    }
    const header = req.headers['x-api-key'];
    const auth = req.headers.authorization;
    const given =
      typeof header === 'string'
        ? header
        : typeof auth === 'string' && /^Bearer /i.test(auth)
          ? auth.slice(7).trim()
          : '';
    if (!given || !timingSafeEqual(digest(given), keyDigest)) {
      throw new SemidError(
        'SEMID_ERR_UNAUTHORIZED',
        'missing or wrong API key: send it as x-api-key or Authorization: Bearer <key>',
      );
    }
  });

  app.addHook('onRequest', async (req) => {
    req.semidStart = process.hrtime.bigint();
    app.metrics.inFlight++;
  });
  app.addHook('onResponse', async (req, reply) => {
    app.metrics.inFlight--;
    const s = req.semidStart === undefined ? 0 : Number(process.hrtime.bigint() - req.semidStart) / 1e9;
    app.metrics.observeRequest(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, s);
  });

  // While closing, answers ask the client to close its connection, so a keep-alive connection that
  // was busy when close() started does not hold the shutdown until the keep-alive timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  app.setErrorHandler((err, req, reply) => {
    const { body, internal } = toErrorBody(err);
    if (internal) req.log.error({ err }, 'internal error');
    reply.code(body.statusCode).type('application/json').send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({
      statusCode: 404,
      code: 'SEMID_ERR_NOT_FOUND',
      error: 'Not Found',
      message: `no route ${req.method} ${req.url.split('?')[0]}; see GET /docs for the API`,
    });
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'semid',
        version: '0.1.0',
        description: 'Generative recommendation with semantic item IDs: constrained decoding over named bundles.',
      },
      components: {
        securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } },
      },
    },
  });
  await app.register(recommendRoutes);
  await app.register(itemRoutes);
  await app.register(adminRoutes);
  await app.register(uiRoutes);
  return app;
}
