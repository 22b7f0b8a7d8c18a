/**
 * The semid HTTP app: `buildApp(opts)` returns a fastify instance (not listening; server.ts listens,
 * tests use `inject`) with the server-wide settings semid needs (body limit, timeouts, JSON answers
 * to malformed HTTP, structured logs) and the semid plugin (server/plugin.ts) mounted at the root.
 */
import Fastify, { type FastifyInstance, type FastifyReply, LogController } from 'fastify';
import { SemidError } from '../src/core/errors.js';
import { handleClientError, toErrorBody } from './errors.js';
import { type SemidPluginOptions, semidRoutes } from './plugin.js';

/** Default timeouts (ms). */
export const TIMEOUTS = {
  /** Whole request (headers and body) must arrive within this. */
  requestTimeoutMs: 30_000,
  /** A socket with no traffic for this long is closed. */
  connectionTimeoutMs: 60_000,
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: 5_000,
} as const;

/** Options of buildApp. */
export interface AppOptions extends SemidPluginOptions {
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /**
   * fastify logger option. Default: structured JSON logs at level info on stdout (internal errors
   * and reload failures); `false` turns logging off.
   */
  logger?: boolean | object;
  /** Log every request and response (default false). */
  logRequests?: boolean;
  /** Time for a whole request to arrive before it is answered 408 (ms, default 30 s; 0 = none). */
  requestTimeoutMs?: number;
  /** Idle socket timeout (ms, default 60 s). */
  connectionTimeoutMs?: number;
  /** Idle keep-alive timeout (ms, default 5 s). */
  keepAliveTimeoutMs?: number;
}

/** Builds the app (routes, validation, error mapping, metrics, OpenAPI). Await `app.ready()` or inject. */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const requestTimeout = opts.requestTimeoutMs ?? TIMEOUTS.requestTimeoutMs;
  const app = Fastify({
    logger: opts.logger ?? { level: 'info' },
    logController: new LogController({ disableRequestLogging: !opts.logRequests }),
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    routerOptions: { maxParamLength: 300 },
    requestTimeout,
    connectionTimeout: opts.connectionTimeoutMs ?? TIMEOUTS.connectionTimeoutMs,
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? TIMEOUTS.keepAliveTimeoutMs,
    // Node checks request timeouts on this interval; a short one makes the timeout hold closely.
    http: {
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(requestTimeout / 4) || 1000)),
      headersTimeout: requestTimeout > 0 ? Math.min(requestTimeout, 60_000) : 60_000,
    },
    clientErrorHandler: handleClientError,
    // Errors of routing itself (a malformed URL...) get semid bodies too.
    frameworkErrors: (err, _req, reply) => {
      const { body } = toErrorBody(err);
      (reply as FastifyReply).code(body.statusCode).type('application/json').send(body);
    },
    // Requests arriving while closing get a semid 503 from the hook below instead of fastify's own.
    return503OnClosing: false,
  });

  // While closing, new requests are refused with 503 SEMID_ERR_UNAVAILABLE and answers ask the client
  // to close its connection, so a keep-alive connection that was busy when close() started does not
  // hold the shutdown until the keep-alive timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async () => {
    if (closing) {
      throw new SemidError('SEMID_ERR_UNAVAILABLE', 'the server is shutting down; retry on another instance or later');
    }
  });
  app.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.setErrorHandler((err, req, reply) => {
    const { body, internal } = toErrorBody(err);
    if (internal) req.log.error({ err }, 'internal error');
    reply.code(body.statusCode).type('application/json').send(body);
  });

  await app.register(semidRoutes, opts);
  return app;
}
