/**
 * semid as a fastify plugin: `app.register(semidRoutes, { registry, prefix: '/semid' })` mounts every
 * semid route in a user's own fastify app. The plugin is encapsulated: its validation (strict JSON
 * bodies, coerced query strings), error mapping, not-found answers, API-key check, optional rate
 * limit, metrics and API docs apply to its routes only. Server-wide settings (body limit, timeouts,
 * the HTTP parser's error answers) belong to the host app; `buildApp` (server/app.ts) sets them.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Ajv } from 'ajv';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SemidError } from '../src/core/errors.js';
import { DEFAULT_MAX_COST } from './budget.js';
import { toErrorBody } from './errors.js';
import { Metrics } from './metrics.js';
import type { BundleRegistry } from './registry.js';
import { adminRoutes } from './routes/admin.js';
import { codeRoutes } from './routes/codes.js';
import { itemRoutes } from './routes/items.js';
import { recommendRoutes } from './routes/recommend.js';
import { uiRoutes } from './routes/ui.js';

/** Options of the semid plugin. */
export interface SemidPluginOptions {
  /** The bundles to serve. The plugin does not close it; its owner does. */
  registry: BundleRegistry;
  /** Key required by item changes and reload (x-api-key or Authorization: Bearer); without one they answer 401. */
  apiKey?: string;
  /** Largest decoding cost of one request, in beam rows (server/budget.ts). Default DEFAULT_MAX_COST (8192). */
  maxRequestCost?: number;
  /**
   * Requests per time window per client (the API key when one is sent, else the client address);
   * health and metrics are exempt. Default: no rate limit.
   */
  rateLimit?: { max: number; timeWindowMs?: number };
  /** Serve the API docs (Swagger UI at /docs, OpenAPI JSON at /docs/json). Default true. */
  docs?: boolean;
}

/** Limits the routes read. */
export interface SemidLimits {
  maxRequestCost: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The served bundles. */
    registry: BundleRegistry;
    /** Request and bundle metrics. */
    metrics: Metrics;
    /** Request limits. */
    semidLimits: SemidLimits;
    /** onRequest hook that rejects a request without the API key (SEMID_ERR_UNAUTHORIZED), before its body is read. */
    requireApiKey: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
  interface FastifyRequest {
    /** process.hrtime.bigint() at arrival, for the latency histogram. */
    semidStart?: bigint;
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The key an API client presents (x-api-key or Authorization: Bearer), or ''. */
function presentedKey(req: FastifyRequest): string {
  const header = req.headers['x-api-key'];
  const auth = req.headers.authorization;
  if (typeof header === 'string') return header;
  return typeof auth === 'string' && /^Bearer /i.test(auth) ? auth.slice(7).trim() : '';
}

/** Validators: JSON bodies exactly as sent (no coercion); query strings and path parameters coerced from text. */
function validators() {
  const common = { removeAdditional: false, useDefaults: true, allErrors: false, allowUnionTypes: true } as const;
  const strict = new Ajv({ ...common, coerceTypes: false });
  const coercing = new Ajv({ ...common, coerceTypes: true });
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === 'body' ? strict : coercing).compile(schema);
}

/** The semid routes as an encapsulated fastify plugin (see the file comment). */
export async function semidRoutes(app: FastifyInstance, opts: SemidPluginOptions): Promise<void> {
  const maxRequestCost = opts.maxRequestCost ?? DEFAULT_MAX_COST;
  if (!Number.isInteger(maxRequestCost) || maxRequestCost < 1) {
    throw new SemidError('SEMID_ERR_BAD_INPUT', `maxRequestCost must be a positive integer, got ${maxRequestCost}`);
  }
  app.decorate('registry', opts.registry);
  app.decorate('metrics', new Metrics(opts.registry));
  app.decorate('semidLimits', { maxRequestCost });
  const keyDigest = opts.apiKey ? digest(opts.apiKey) : undefined;
  app.decorate('requireApiKey', async (req: FastifyRequest) => {
    if (!keyDigest) {
      throw new SemidError(
        'SEMID_ERR_UNAUTHORIZED',
        'this server has no API key configured, so item changes and reloads are disabled; start it with --api-key-env NAME',
      );
    }
    const given = presentedKey(req);
    if (!given || !timingSafeEqual(digest(given), keyDigest)) {
      throw new SemidError(
        'SEMID_ERR_UNAUTHORIZED',
        'missing or wrong API key: send it as x-api-key or Authorization: Bearer <key>',
      );
    }
  });
  app.setValidatorCompiler(validators());

  app.addHook('onRequest', async (req) => {
    req.semidStart = process.hrtime.bigint();
    app.metrics.started();
  });
  app.addHook('onResponse', async (req, reply) => {
    const s = req.semidStart === undefined ? 0 : Number(process.hrtime.bigint() - req.semidStart) / 1e9;
    app.metrics.observeRequest(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, s);
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

  if (opts.rateLimit) {
    const { max, timeWindowMs = 60_000 } = opts.rateLimit;
    await app.register(rateLimit, {
      max,
      timeWindow: timeWindowMs,
      keyGenerator: (req) => {
        const key = presentedKey(req);
        return key ? `key:${digest(key).toString('hex')}` : `ip:${req.ip}`;
      },
      errorResponseBuilder: (_req, ctx) =>
        new SemidError(
          'SEMID_ERR_RATE_LIMITED',
          `rate limit of ${ctx.max} requests per ${ctx.after} reached; retry after ${ctx.after}`,
          { retryAfterSeconds: Math.ceil(ctx.ttl / 1000) },
        ),
    });
  }

  if (opts.docs ?? true) {
    await app.register(swagger, {
      openapi: {
        info: {
          title: 'semid',
          version: '0.1.0',
          description: 'Generative recommendation with semantic item IDs: constrained decoding over named bundles.',
        },
        components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } } },
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  }
  await app.register(recommendRoutes);
  await app.register(itemRoutes);
  await app.register(codeRoutes);
  await app.register(adminRoutes);
  await app.register(uiRoutes);
}
