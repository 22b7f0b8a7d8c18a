/**
 * `semidPlugin`: semid's routes mounted in a user's own fastify app, with the real index and model loaders.
 * The server's `semidRoutes` takes a ready BundleRegistry; this wrapper opens the bundles from their
 * directories, registers the routes (under the `prefix` fastify passes to every plugin) and closes the
 * bundles when the app closes.
 */
import { basename, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type SemidPluginOptions as RouteOptions, semidRoutes } from '../../server/plugin.js';
import { BundleRegistry, type BundleSource } from '../../server/registry.js';
import { SemidError } from '../core/errors.js';
import { bundleLoader, type ServeRuntime } from './bundle.js';

/** Options of `semidPlugin` (fastify's own `prefix` works as for any plugin). */
export interface SemidPluginOptions extends Omit<RouteOptions, 'registry'> {
  /** Bundle directories (served under their folder names) or `{ name, dir }` pairs; at least one. */
  bundles: readonly (string | { name: string; dir: string })[];
  /** Model runtime: `auto` (default), `onnx` or `tfjs`. */
  runtime?: ServeRuntime;
}

/** Mounts semid's routes for `bundles` in a fastify app: `app.register(semidPlugin, { bundles, prefix })`. */
export async function semidPlugin(app: FastifyInstance, opts: SemidPluginOptions): Promise<void> {
  // fastify already applies `prefix` to this plugin's scope; it must not reach the inner registration again
  const { bundles, runtime, prefix: _prefix, ...routes } = opts as SemidPluginOptions & { prefix?: string };
  if (!Array.isArray(bundles) || bundles.length === 0) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      'semidPlugin needs at least one bundle: { bundles: ["runs/my/model"] }',
    );
  }
  const sources: BundleSource[] = bundles.map((b) =>
    typeof b === 'string' ? { name: basename(resolve(b)), dir: resolve(b) } : { name: b.name, dir: resolve(b.dir) },
  );
  const registry = await BundleRegistry.open(sources, bundleLoader(runtime ?? 'auto'));
  app.addHook('onClose', async () => registry.close());
  await app.register(semidRoutes, { ...routes, registry });
}
