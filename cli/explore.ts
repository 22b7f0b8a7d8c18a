/**
 * `semid explore <bundle>`: the ID explorer page on its own, for one bundle. The server answers
 * only what the page uses (the page, its assets, /ui/api and POST /v1/recommend), never item
 * changes, reloads, metrics or the OpenAPI docs; `semid serve` has the same page at /ui beside the
 * whole API.
 */
import { basename, resolve } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { DEFAULT_MAX_COST } from '../server/budget.js';
import { toErrorBody } from '../server/errors.js';
import { Metrics } from '../server/metrics.js';
import { BundleRegistry } from '../server/registry.js';
import { recommendRoutes } from '../server/routes/recommend.js';
import { type UiOptions, uiRoutes } from '../server/routes/ui.js';
import { metaFromDataset } from '../server/ui/meta.js';
import { SemidError } from '../src/core/errors.js';
import { type Command, int, log, type ParsedArgs, str } from './command.js';
import { bundleLoader, SERVE_RUNTIMES, type ServeRuntime } from './serve.js';

/** The explorer app over `registry`: page, assets, /ui/api and POST /v1/recommend only. */
export async function buildExploreApp(registry: BundleRegistry, ui: UiOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, useDefaults: true, allErrors: false } },
  });
  // what the recommendation route reads: the bundles, its cost budget and its counters
  app.decorate('registry', registry);
  app.decorate('metrics', new Metrics(registry));
  app.decorate('semidLimits', { maxRequestCost: DEFAULT_MAX_COST });
  app.setErrorHandler((err, _req, reply) => {
    const { body } = toErrorBody(err);
    reply.code(body.statusCode).type('application/json').send(body);
  });
  await app.register(recommendRoutes);
  await app.register(uiRoutes, ui);
  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/ui'));
  return app;
}

/** `semid explore`. */
export const exploreCommand: Command = {
  name: 'explore',
  summary: 'browse a bundle in the browser: code tree, item search, live recommendations, item map',
  usage: 'semid explore <bundle dir> [--port 8090] [--host 127.0.0.1] [--data <dir|spec>] [--runtime auto|onnx|tfjs]',
  positionals: true,
  options: {
    port: { type: 'string', description: 'port to listen on (0 = any free port)', default: '8090' },
    host: { type: 'string', description: 'interface to listen on', default: '127.0.0.1' },
    data: {
      type: 'string',
      description: 'dataset for item titles (default: the one recorded in the model manifest)',
    },
    runtime: { type: 'string', description: `model runtime: ${SERVE_RUNTIMES.join(', ')}`, default: 'auto' },
  },
  async run(args: ParsedArgs): Promise<number> {
    const [dir, ...rest] = args.positionals;
    if (dir === undefined || rest.length > 0) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        'semid explore takes exactly one bundle directory: semid explore <dir>',
      );
    }
    const runtime = str(args, 'runtime') ?? 'auto';
    if (!(SERVE_RUNTIMES as readonly string[]).includes(runtime)) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `--runtime must be one of ${SERVE_RUNTIMES.join(', ')}, got "${runtime}"`,
      );
    }
    const port = int(args, 'port', 8090);
    if (port < 0 || port > 65535) throw new SemidError('SEMID_ERR_BAD_INPUT', `--port must be in 0-65535, got ${port}`);
    const data = str(args, 'data');
    const registry = await BundleRegistry.open(
      [{ name: basename(resolve(dir)), dir: resolve(dir) }],
      bundleLoader(runtime as ServeRuntime),
      { persist: false },
    );
    const app = await buildExploreApp(registry, data === undefined ? {} : { meta: () => metaFromDataset(data) });
    const url = await app.listen({ port, host: str(args, 'host') ?? '127.0.0.1' });
    log(`[explore] ${registry.bundles()[0]?.catalogue.size} items; open ${url}/ui`);
    await new Promise<void>((done) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        app
          .close()
          .then(() => registry.close())
          .then(done, done);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return 0;
  },
};
