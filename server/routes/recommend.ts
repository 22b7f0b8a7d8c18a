/** POST /v1/recommend, /v1/recommend/batch, /v1/score. */
import type { FastifyInstance } from 'fastify';
import type { ItemId } from '../../src/core/types.js';
import type { RecommendOptions, RecommendResult } from '../bundle.js';
import { recommendBatchSchema, recommendSchema, scoreSchema } from '../schemas.js';

/** One recommendation request as the schemas validate it. */
interface RecommendBody {
  history: ItemId[];
  k?: number;
  beamWidth?: number;
  excludeHistory?: boolean;
  mode?: 'constrained' | 'grounded';
}

const optionsOf = (b: RecommendBody): RecommendOptions => {
  const k = b.k ?? 10;
  return {
    k,
    beamWidth: b.beamWidth ?? Math.max(k, 20),
    excludeHistory: b.excludeHistory ?? false,
    mode: b.mode ?? 'constrained',
  };
};

const shape = (r: RecommendResult, bundle: string, truncated: number) => ({
  items: r.items,
  bundle,
  ...(truncated > 0 ? { truncatedHistory: truncated } : {}),
  ...(r.invalidCodes !== undefined ? { invalidCodes: r.invalidCodes, generated: r.generated } : {}),
});

const truncatedBy = (len: number, maxHistory: number) => Math.max(0, len - maxHistory);

/** Registers the recommendation and scoring routes. */
export async function recommendRoutes(app: FastifyInstance): Promise<void> {
  app.post<{ Body: RecommendBody & { bundle?: string } }>(
    '/v1/recommend',
    { schema: { ...recommendSchema, tags: ['recommend'] } },
    async (req) => {
      const { bundle: name, ...body } = req.body;
      return app.registry.use(name, async (b) => {
        const [r] = await b.recommend([body.history], optionsOf(body));
        return shape(r as RecommendResult, b.name, truncatedBy(body.history.length, b.decoder.maxHistory));
      });
    },
  );

  app.post<{ Body: { requests: RecommendBody[]; bundle?: string } }>(
    '/v1/recommend/batch',
    { schema: { ...recommendBatchSchema, tags: ['recommend'] } },
    async (req) => {
      const { requests, bundle: name } = req.body;
      return app.registry.use(name, async (b) => {
        b.assertKnown(requests.flatMap((r) => r.history));
        // Requests with the same options decode together, in one batched session.
        const groups = new Map<string, number[]>();
        const opts = requests.map(optionsOf);
        opts.forEach((o, i) => {
          const key = JSON.stringify(o);
          groups.set(key, [...(groups.get(key) ?? []), i]);
        });
        const results: RecommendResult[] = new Array(requests.length);
        for (const idx of groups.values()) {
          const first = idx[0] as number;
          const out = await b.recommend(
            idx.map((i) => (requests[i] as RecommendBody).history),
            opts[first] as RecommendOptions,
          );
          idx.forEach((i, j) => {
            results[i] = out[j] as RecommendResult;
          });
        }
        return {
          bundle: b.name,
          results: results.map((r, i) =>
            shape(r, b.name, truncatedBy((requests[i] as RecommendBody).history.length, b.decoder.maxHistory)),
          ),
        };
      });
    },
  );

  app.post<{ Body: { history: ItemId[]; candidates: ItemId[]; bundle?: string } }>(
    '/v1/score',
    { schema: { ...scoreSchema, tags: ['recommend'] } },
    async (req) => {
      const { history, candidates, bundle: name } = req.body;
      return app.registry.use(name, async (b) => {
        const r = await b.score(history, candidates);
        return { scores: r.scores, bundle: b.name, ...(r.truncated > 0 ? { truncatedHistory: r.truncated } : {}) };
      });
    },
  );
}
