/**
 * `semid serve`: serves one or more bundles over HTTP (server/). This file is the only place that
 * wires the real index and model loaders into the server's injected `LoadBundle`.
 *
 * A bundle directory is one of:
 *   - `<dir>/manifest.json` of kind "bundle": `{"index": "<path>", "model": "<path>", "runtime"?: "auto"|"onnx"|"tfjs"}`
 *     (paths relative to `<dir>`);
 *   - a directory holding `index/` (an index artifact) and `model/` (a model artifact, optionally with
 *     its ONNX export in `model/onnx/`, or an ONNX export itself);
 *   - a model directory whose manifest records the index it was trained on.
 * Optional `<dir>/item-embeddings.json` (`{"dim": d, "ids": [...]}`) + `item-embeddings.f32`
 * ([ids x d] float32) give `/similar` item embeddings. The server writes `<dir>/overlay.json`.
 */
import { existsSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { TIMEOUTS } from '../server/app.js';
import { type ResolvedBatchOptions, resolveBatchOptions } from '../server/batcher.js';
import { DEFAULT_MAX_COST } from '../server/budget.js';
import type { BundleParts, LoadBundle } from '../server/bundle.js';
import { ModelDecoder } from '../server/decoder.js';
import { BundleRegistry, type BundleSource } from '../server/registry.js';
import { DEFAULT_CLOSE_GRACE_MS, type ServerOptions, startServer } from '../server/server.js';
import { readF32, readJson } from '../src/core/artifact.js';
import { SemidError } from '../src/core/errors.js';
import type { GenerativeModel } from '../src/core/model.js';
import { type Command, int, log, num, type ParsedArgs, str } from './command.js';
import { manifestKind, openModel } from './models.js';

/** Model runtimes `semid serve` can use; `auto` picks ONNX when the model has an export. */
export const SERVE_RUNTIMES = ['auto', 'onnx', 'tfjs'] as const;
export type ServeRuntime = (typeof SERVE_RUNTIMES)[number];

/** Where a bundle's parts live. */
export interface BundleLayout {
  indexDir: string;
  modelDir: string;
  runtime: ServeRuntime;
}

/** Finds the index and model directories of a bundle directory (see the file comment). */
export async function resolveBundleLayout(dir: string, runtime: ServeRuntime = 'auto'): Promise<BundleLayout> {
  if (!existsSync(dir)) throw new SemidError('SEMID_ERR_ARTIFACT_MISSING', `bundle directory not found: ${dir}`);
  const kind = await manifestKind(dir);
  if (kind === 'bundle') {
    const m = await readJson<{ index?: unknown; model?: unknown; runtime?: unknown }>(
      join(dir, 'manifest.json'),
      'bundle manifest',
    );
    if (typeof m.index !== 'string' || typeof m.model !== 'string') {
      throw new SemidError(
        'SEMID_ERR_ARTIFACT_CORRUPT',
        `${dir}/manifest.json (kind "bundle") needs "index" and "model" paths`,
      );
    }
    const rt =
      runtime !== 'auto'
        ? runtime
        : (SERVE_RUNTIMES as readonly unknown[]).includes(m.runtime)
          ? (m.runtime as ServeRuntime)
          : 'auto';
    return { indexDir: resolve(dir, m.index), modelDir: resolve(dir, m.model), runtime: rt };
  }
  if (existsSync(join(dir, 'index')) && existsSync(join(dir, 'model'))) {
    return { indexDir: join(dir, 'index'), modelDir: join(dir, 'model'), runtime };
  }
  if (kind === 'model') {
    const m = await readJson<{ index?: unknown }>(join(dir, 'manifest.json'), 'model manifest');
    if (typeof m.index === 'string') {
      const candidates = isAbsolute(m.index) ? [m.index] : [resolve(m.index), resolve(dir, m.index)];
      const found = candidates.find((c) => existsSync(c));
      if (found) return { indexDir: found, modelDir: dir, runtime };
    }
  }
  throw new SemidError(
    'SEMID_ERR_ARTIFACT_MISSING',
    `${dir} is not a bundle: expected a manifest of kind "bundle", index/ and model/ subdirectories, or a model directory whose manifest names an existing index`,
  );
}

/**
 * Opens the model of a bundle. `auto` serves with onnxruntime (exporting a semid model next to its
 * weights when needed), or TF.js only when asked for.
 */
async function openBundleModel(
  modelDir: string,
  runtime: ServeRuntime,
): Promise<{ model: GenerativeModel; runtime: 'onnx' | 'tfjs' }> {
  const rt = runtime === 'tfjs' ? 'tfjs' : 'onnx';
  return { model: await openModel(modelDir, rt), runtime: rt };
}

/** Reads the optional item embeddings of a bundle. */
async function readItemEmbeddings(dir: string): Promise<BundleParts['itemEmbeddings']> {
  const meta = join(dir, 'item-embeddings.json');
  if (!existsSync(meta)) return undefined;
  const m = await readJson<{ dim?: unknown; ids?: unknown }>(meta, 'item embeddings');
  if (!Number.isInteger(m.dim) || (m.dim as number) < 1 || !Array.isArray(m.ids)) {
    throw new SemidError('SEMID_ERR_ARTIFACT_CORRUPT', `${meta} needs {"dim": positive integer, "ids": [item ids]}`);
  }
  const dim = m.dim as number;
  const ids = m.ids as string[];
  const data = await readF32(join(dir, 'item-embeddings.f32'), ids.length * dim);
  return { dim, vectors: ids.map((id, i) => [id, data.subarray(i * dim, (i + 1) * dim)] as const) };
}

/** The real bundle loader: index (with its encoder when it has one), model, optional embeddings. */
export function bundleLoader(runtime: ServeRuntime = 'auto'): LoadBundle {
  return async (dir) => {
    const layout = await resolveBundleLayout(dir, runtime);
    const { loadIndex } = await import('../indexer/artifact.js');
    const index = await loadIndex(layout.indexDir);
    const { model, runtime: used } = await openBundleModel(layout.modelDir, layout.runtime);
    try {
      const modelLevels = (model as { layout?: { levelSizes?: readonly number[] } }).layout?.levelSizes;
      if (modelLevels && modelLevels.join(',') !== index.table.levelSizes.join(',')) {
        throw new SemidError(
          'SEMID_ERR_ARTIFACT_CORRUPT',
          `model ${layout.modelDir} was trained on level sizes [${modelLevels}], index ${layout.indexDir} has [${index.table.levelSizes}]; bundle a model with its own index`,
        );
      }
      // the bundle's own vectors win; else those the indexer wrote beside the codes
      const itemEmbeddings = (await readItemEmbeddings(dir)) ?? (await readItemEmbeddings(layout.indexDir));
      return {
        table: index.table,
        decoder: new ModelDecoder(model, index.table.levelSizes),
        ...(index.encoder ? { encoder: index.encoder } : {}),
        ...(itemEmbeddings ? { itemEmbeddings } : {}),
        info: { scheme: index.manifest.scheme, runtime: used, index: layout.indexDir, model: layout.modelDir },
      };
    } catch (e) {
      model.dispose();
      throw e;
    }
  };
}

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

/** Server limits and logging from the flags, checked. */
export function serverFlags(
  args: ParsedArgs,
): Pick<
  ServerOptions,
  'maxRequestCost' | 'rateLimit' | 'requestTimeoutMs' | 'closeGraceMs' | 'logRequests' | 'logger'
> {
  const positive = (name: string, v: number, min = 1) => {
    if (!Number.isInteger(v) || v < min) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `semid serve: --${name} must be an integer >= ${min}, got ${v}`);
    }
    return v;
  };
  const rate = args.values['rate-limit'] === undefined ? undefined : positive('rate-limit', int(args, 'rate-limit', 0));
  const level = str(args, 'log-level') ?? 'info';
  if (!LOG_LEVELS.includes(level as (typeof LOG_LEVELS)[number])) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `semid serve: --log-level must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`,
    );
  }
  return {
    maxRequestCost: positive('max-request-cost', int(args, 'max-request-cost', DEFAULT_MAX_COST)),
    ...(rate !== undefined ? { rateLimit: { max: rate, timeWindowMs: 60_000 } } : {}),
    requestTimeoutMs: positive('request-timeout-ms', int(args, 'request-timeout-ms', TIMEOUTS.requestTimeoutMs), 100),
    closeGraceMs: positive('grace-ms', int(args, 'grace-ms', DEFAULT_CLOSE_GRACE_MS), 0),
    logRequests: args.values['log-requests'] === true,
    logger: level === 'silent' ? false : { level },
  };
}

const LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'debug'] as const;

/** `semid serve`. */
export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve bundles (index + model) over HTTP: recommend, score, items, reload, metrics',
  usage:
    'semid serve --bundle <dir> [--bundle name=dir ...] [--port 8080] [--host 127.0.0.1] [--api-key-env NAME] [--runtime auto|onnx|tfjs] [--max-batch 32] [--max-in-flight 1] [--max-wait-ms 1] [--no-batching] [--max-request-cost 8192] [--rate-limit N] [--request-timeout-ms 30000] [--grace-ms 10000] [--log-level info] [--log-requests]',
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
    'log-requests': { type: 'boolean', description: 'also log every request and response (JSON lines on stdout)' },
    'log-level': {
      type: 'string',
      description: `structured log level on stdout: ${LOG_LEVELS.join(', ')} (internal errors are logged at error)`,
      default: 'info',
    },
    'max-request-cost': {
      type: 'string',
      description: 'cost budget of one request in beam rows: max(k, beamWidth) x code levels, summed over a batch',
      default: String(DEFAULT_MAX_COST),
    },
    'rate-limit': {
      type: 'string',
      description: 'requests per minute per API key (or client address); off by default',
    },
    'request-timeout-ms': {
      type: 'string',
      description: 'a request must arrive whole within this (slow clients get 408)',
      default: String(TIMEOUTS.requestTimeoutMs),
    },
    'grace-ms': {
      type: 'string',
      description: 'on SIGTERM / SIGINT, how long in-flight requests may finish before their connections are closed',
      default: String(DEFAULT_CLOSE_GRACE_MS),
    },
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
    const limits = serverFlags(args);
    const registry = await BundleRegistry.open(sources, bundleLoader(runtime as ServeRuntime), { batching });
    const srv = await startServer({
      registry,
      port,
      host: str(args, 'host') ?? '127.0.0.1',
      ...(apiKey ? { apiKey } : {}),
      bodyLimit: int(args, 'body-limit', 1024 * 1024),
      ...limits,
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
