/**
 * `semid serve`: serves one or more bundles over HTTP (server/), with the real loaders of
 * src/api/bundle.ts (see there for what a bundle directory may hold).
 */
import { basename, resolve } from 'node:path';
import { type ResolvedBatchOptions, resolveBatchOptions } from '../server/batcher.js';
import { BundleRegistry, type BundleSource } from '../server/registry.js';
import { startServer } from '../server/server.js';
import { bundleLoader, SERVE_RUNTIMES, type ServeRuntime } from '../src/api/bundle.js';
import { SemidError } from '../src/core/errors.js';
import { type Command, int, log, num, type ParsedArgs, str } from './command.js';

/** Parses repeated `--bundle [name=]dir` flags; a bare dir is named after its last path segment. */
export function parseBundleFlags(values: readonly string[]): BundleSource[] {
  if (values.length === 0)
    throw new SemidError('SEMID_ERR_BAD_INPUT', 'semid serve: give at least one --bundle <dir> (or name=dir)');
  return values.map((v) => {
    const eq = v.indexOf('=');
    const [name, dir] = eq > 0 ? [v.slice(0, eq), v.slice(eq + 1)] : [basename(resolve(v)), v];
    return { name, dir: resolve(dir) };
  });
}

/** The micro-batching flags, checked (server/batcher.ts bounds), or false with --no-batching. */
export function batchingFlags(args: ParsedArgs): ResolvedBatchOptions | false {
  if (args.values['no-batching'] === true) return false;
  const wait = num(args, 'max-wait-ms', 1);
  try {
    return resolveBatchOptions({
      maxBatch: int(args, 'max-batch', 32),
      maxInFlight: int(args, 'max-in-flight', 1),
      maxWaitMs: wait,
    });
  } catch (e) {
    if (e instanceof SemidError) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `semid serve: ${e.message} (flags --max-batch, --max-in-flight, --max-wait-ms)`,
      );
    }
    throw e;
  }
}

/** `semid serve`. */
export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve bundles (index + model) over HTTP: recommend, score, items, reload, metrics',
  usage:
    'semid serve --bundle <dir> [--bundle name=dir ...] [--port 8080] [--host 127.0.0.1] [--api-key-env NAME] [--runtime auto|onnx|tfjs] [--max-batch 32] [--max-in-flight 1] [--max-wait-ms 1] [--no-batching]',
  options: {
    bundle: {
      type: 'string',
      multiple: true,
      description: 'a bundle directory, or name=dir (repeatable; the first is the default)',
    },
    port: { type: 'string', description: 'port to listen on (0 = any free port)', default: '8080' },
    host: { type: 'string', description: 'interface to listen on', default: '127.0.0.1' },
    'api-key-env': {
      type: 'string',
      description: 'name of the environment variable holding the API key for item changes and reload',
    },
    runtime: { type: 'string', description: `model runtime: ${SERVE_RUNTIMES.join(', ')}`, default: 'auto' },
    'body-limit': { type: 'string', description: 'largest request body in bytes', default: String(1024 * 1024) },
    'log-requests': { type: 'boolean', description: 'log every request (JSON lines on stdout)' },
    'max-batch': {
      type: 'string',
      description: 'micro-batching: most concurrent recommendations decoded in one beam search (1-4096)',
      default: '32',
    },
    'max-in-flight': { type: 'string', description: 'micro-batching: batches decoding at the same time', default: '1' },
    'max-wait-ms': {
      type: 'string',
      description: 'micro-batching: how long a batch that could run beside another waits for more requests',
      default: '1',
    },
    'no-batching': { type: 'boolean', description: 'decode every request on its own (no micro-batching)' },
  },
  async run(args: ParsedArgs): Promise<number> {
    const raw = args.values.bundle;
    const sources = parseBundleFlags(Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : []);
    const runtime = str(args, 'runtime') ?? 'auto';
    if (!(SERVE_RUNTIMES as readonly string[]).includes(runtime)) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `--runtime must be one of ${SERVE_RUNTIMES.join(', ')}, got "${runtime}"`,
      );
    }
    const port = int(args, 'port', 8080);
    if (port < 0 || port > 65535) throw new SemidError('SEMID_ERR_BAD_INPUT', `--port must be in 0-65535, got ${port}`);
    const keyEnv = str(args, 'api-key-env');
    const apiKey = keyEnv === undefined ? undefined : process.env[keyEnv];
    if (keyEnv !== undefined && !apiKey) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `--api-key-env ${keyEnv}: the environment variable ${keyEnv} is empty or not set`,
      );
    }
    log(`[serve] loading ${sources.map((s) => `${s.name}=${s.dir}`).join(', ')}`);
    const batching = batchingFlags(args);
    const registry = await BundleRegistry.open(sources, bundleLoader(runtime as ServeRuntime), { batching });
    const srv = await startServer({
      registry,
      port,
      host: str(args, 'host') ?? '127.0.0.1',
      ...(apiKey ? { apiKey } : {}),
      bodyLimit: int(args, 'body-limit', 1024 * 1024),
      logger: args.values['log-requests'] === true,
    });
    for (const b of registry.bundles()) {
      log(
        `[serve] bundle "${b.name}": ${b.catalogue.size} items, levels [${b.catalogue.levelSizes}], ${b.info.runtime ?? ''} runtime`,
      );
    }
    log(
      `[serve] listening on ${srv.url} (docs at ${srv.url}/docs)${apiKey ? '' : '; no API key: item changes and reload are disabled'}`,
    );
    await srv.closed;
    return 0;
  },
};
