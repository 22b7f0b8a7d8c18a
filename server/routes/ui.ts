/**
 * The ID explorer: GET /ui (the page), its static assets, and the read-only JSON it asks for under
 * /ui/api (code tree, item search, an item's siblings and neighbours, titles, the 2-D item map).
 * Recommendations come from POST /v1/recommend. Paths in the page are relative, so the explorer
 * works under any prefix the app is mounted at.
 */
import type { FastifyInstance } from 'fastify';
import { echartsScript, uiAsset } from '../../src/core/assets.js';
import { SemidError } from '../../src/core/errors.js';
import type { ItemId } from '../../src/core/types.js';
import type { Bundle } from '../bundle.js';
import { ExplorerData } from '../ui/explorer.js';
import { type ItemMap, itemMap } from '../ui/map.js';
import { type ItemMetaMap, metaFromTrainingData } from '../ui/meta.js';

/** Options of the explorer routes. */
export interface UiOptions {
  /** Item titles and categories of a bundle (default: the dataset its model manifest records). */
  meta?: (b: Bundle) => Promise<ItemMetaMap>;
}

interface BundleState {
  data: ExplorerData;
  metaReady: Promise<void>;
  map?: Promise<ItemMap | undefined>;
  mapDone?: ItemMap | null;
}

const ASSETS: Record<string, { type: string; load: () => Promise<string> }> = {
  'echarts.min.js': { type: 'text/javascript; charset=utf-8', load: echartsScript },
  'explorer.js': { type: 'text/javascript; charset=utf-8', load: () => uiAsset('explorer/explorer.js') },
  'explorer.css': { type: 'text/css; charset=utf-8', load: () => uiAsset('explorer/explorer.css') },
};

const bundleQuery = { bundle: { type: 'string', maxLength: 200 } } as const;
const strictQuery = (props: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  additionalProperties: false,
  properties: { ...bundleQuery, ...props },
  required,
});

/** Parses a prefix ("", "12" or "12-201") into values. */
export function parsePrefix(s: string | undefined): number[] {
  if (s === undefined || s === '') return [];
  const parts = s.split(/[-,]/);
  const values = parts.map(Number);
  if (parts.some((p) => !/^\d+$/.test(p))) {
    throw new SemidError('SEMID_ERR_BAD_INPUT', `prefix "${s}" must be code values joined by "-", e.g. "12-201"`);
  }
  return values;
}

/** Registers the explorer page, its assets and /ui/api. */
export async function uiRoutes(app: FastifyInstance, opts: UiOptions = {}): Promise<void> {
  const loadMeta = opts.meta ?? metaFromTrainingData;
  const states = new WeakMap<Bundle, BundleState>();
  const stateOf = (b: Bundle): BundleState => {
    let s = states.get(b);
    if (!s) {
      const data = new ExplorerData(b);
      const metaReady = loadMeta(b).then(
        (m) => {
          data.setMeta(m);
          data.tree([]); // the first thing every page view asks for
        },
        (err: Error) => app.log.warn({ err, bundle: b.name }, 'explorer: item metadata unavailable'),
      );
      s = { data, metaReady };
      states.set(b, s);
    }
    return s;
  };
  // Start reading titles as soon as the server is up, so the first page view does not wait for them.
  app.addHook('onReady', async () => {
    for (const b of app.registry.bundles()) stateOf(b);
  });
  const withData = <T>(name: string | undefined, fn: (d: ExplorerData, b: Bundle) => T | Promise<T>) =>
    app.registry.use(name, async (b) => {
      const s = stateOf(b);
      await s.metaReady;
      return fn(s.data, b);
    });

  const hidden = { hide: true } as const;

  app.get('/ui', { schema: hidden }, async (_req, reply) => {
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache');
    return uiAsset('explorer/index.html');
  });

  app.get<{ Params: { name: string } }>('/ui/assets/:name', { schema: hidden }, async (req, reply) => {
    const a = ASSETS[req.params.name];
    if (!a) throw new SemidError('SEMID_ERR_NOT_FOUND', `no explorer asset "${req.params.name}"`);
    reply.type(a.type).header('cache-control', 'public, max-age=3600');
    return a.load();
  });

  app.get('/ui/api/bundles', { schema: hidden }, async () => ({
    bundles: app.registry.bundles().map((b) => ({
      name: b.name,
      items: b.catalogue.size,
      levelSizes: b.catalogue.levelSizes,
      similarity: b.similarityBasis,
      scheme: b.info.scheme,
    })),
  }));

  app.get<{ Querystring: { bundle?: string; prefix?: string } }>(
    '/ui/api/tree',
    { schema: { ...hidden, querystring: strictQuery({ prefix: { type: 'string', maxLength: 200 } }) } },
    async (req) =>
      withData(req.query.bundle, (d, b) => ({
        bundle: b.name,
        titles: d.hasTitles,
        ...d.tree(parsePrefix(req.query.prefix)),
      })),
  );

  app.get<{ Querystring: { bundle?: string; q: string; limit?: number } }>(
    '/ui/api/search',
    {
      schema: {
        ...hidden,
        querystring: strictQuery(
          { q: { type: 'string', maxLength: 200 }, limit: { type: 'integer', minimum: 1, maximum: 100 } },
          ['q'],
        ),
      },
    },
    async (req) =>
      withData(req.query.bundle, (d, b) => ({ bundle: b.name, items: d.search(req.query.q, req.query.limit ?? 20) })),
  );

  app.get<{ Params: { id: string }; Querystring: { bundle?: string; k?: number } }>(
    '/ui/api/items/:id',
    { schema: { ...hidden, querystring: strictQuery({ k: { type: 'integer', minimum: 1, maximum: 100 } }) } },
    async (req) =>
      withData(req.query.bundle, (d, b) => ({ bundle: b.name, ...d.item(req.params.id, req.query.k ?? 10) })),
  );

  app.post<{ Body: { bundle?: string; ids: ItemId[] } }>(
    '/ui/api/describe',
    {
      schema: {
        ...hidden,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['ids'],
          properties: {
            ...bundleQuery,
            ids: { type: 'array', maxItems: 1000, items: { type: 'string', maxLength: 300 } },
          },
        },
      },
    },
    async (req) => withData(req.body.bundle, (d, b) => ({ bundle: b.name, items: d.describe(req.body.ids) })),
  );

  app.get<{ Querystring: { bundle?: string } }>(
    '/ui/api/map',
    { schema: { ...hidden, querystring: strictQuery({}) } },
    async (req, reply) =>
      app.registry.use(req.query.bundle, async (b) => {
        const s = stateOf(b);
        if (s.map === undefined) {
          s.map = itemMap(b, (line) => app.log.info({ bundle: b.name }, line));
          s.map.then(
            (m) => {
              s.mapDone = m ?? null;
            },
            (err: Error) => {
              app.log.error({ err, bundle: b.name }, 'explorer: item map failed');
              s.map = undefined; // the next request tries again
            },
          );
        }
        // Answer at once: the page polls while a map is computed.
        const m = s.mapDone === undefined ? await Promise.race([s.map, wait(50)]) : s.mapDone;
        if (m === 'pending') {
          reply.code(202);
          return { bundle: b.name, status: 'computing' };
        }
        if (m === null || m === undefined) {
          throw new SemidError('SEMID_ERR_NOT_FOUND', `bundle "${b.name}" has no item embeddings to map`);
        }
        const cat = b.catalogue;
        return {
          bundle: b.name,
          status: 'ready',
          ids: m.ids,
          xy: m.xy,
          firstLevel: m.ids.map((id) => cat.lookup(id)?.code[0] ?? -1),
        };
      }),
  );
}

const wait = (ms: number) => new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms));
