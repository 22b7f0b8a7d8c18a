/** POST /v1/recommend, /v1/recommend/batch, /v1/score. */
import type { FastifyInstance } from 'fastify';
import type { ItemId } from '../../src/core/types.js';
import { checkBudget, recommendCost, scoreCost } from '../budget.js';
import type { Bundle } from '../bundle.js';
import type { RecommendOptions, RecommendResult } from '../types.js';
import { recommendBatchSchema, recommendSchema, scoreSchema } from './recommend.schema.js';

/** One recommendation request as the schemas validate it. */
interface RecommendBody {
  history: ItemId[];
  k?: number;
  beamWidth?: number;
  excludeHistory?: boolean;
  mode?: 'constrained' | 'grounded';
  metadata?: boolean;
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

/** The answer for one history: items (with their metadata unless turned off) and the counts. */
const shape = (r: RecommendResult, b: Bundle, req: RecommendBody) => {
  const truncated = Math.max(0, req.history.length - b.decoder.maxHistory);
  return {
    items: req.metadata === false ? r.items : r.items.map((x) => ({ ...x, ...b.meta(x.item) })),
    bundle: b.name,
    ...(truncated > 0 ? { truncatedHistory: truncated } : {}),
    ...(r.invalidCodes !== undefined ? { invalidCodes: r.invalidCodes, generated: r.generated } : {}),
  };
};

/** Registers the recommendation and scoring routes. */
export async function recommendRoutes(app: FastifyInstance): Promise<void> {
  const budget = app.semidLimits.maxRequestCost;
  const refuseOverBudget = (cost: number, what: string) => {
    try {
      checkBudget(cost, budget, what);
    } catch (e) {
      app.metrics.overBudget();
      throw e;
    }
  };

  app.post<{ Body: RecommendBody & { bundle?: string } }>(
    '/v1/recommend',
    { schema: { ...recommendSchema, tags: ['recommend'] } },
    async (req) => {
      const { bundle: name, ...body } = req.body;
      return app.registry.use(name, async (b) => {
        const opts = optionsOf(body);
        refuseOverBudget(recommendCost(b.catalogue.levels, [opts]), 'this request');
        const [r] = await b.recommend([body.history], opts);
        return shape(r as RecommendResult, b, body);
      });
    },
  );

  app.post<{ Body: { requests: RecommendBody[]; bundle?: string } }>(
    '/v1/recommend/batch',
    { schema: { ...recommendBatchSchema, tags: ['recommend'] } },
    async (req) => {
      const { requests, bundle: name } = req.body;
      return app.registry.use(name, async (b) => {
        const opts = requests.map(optionsOf);
        refuseOverBudget(recommendCost(b.catalogue.levels, opts), `this batch of ${requests.length} requests`);
        const results = await b.recommendMany(
          requests.map((r, i) => ({ history: r.history, options: opts[i] as RecommendOptions })),
        );
        return { bundle: b.name, results: results.map((r, i) => shape(r, b, requests[i] as RecommendBody)) };
      });
    },
  );

  app.post<{ Body: { history: ItemId[]; candidates: ItemId[]; bundle?: string } }>(
    '/v1/score',
    { schema: { ...scoreSchema, tags: ['recommend'] } },
    async (req) => {
      const { history, candidates, bundle: name } = req.body;
      return app.registry.use(name, async (b) => {
        refuseOverBudget(scoreCost(b.catalogue.levels, candidates.length), `scoring ${candidates.length} candidates`);
        const r = await b.score(history, candidates);
        return { scores: r.scores, bundle: b.name, ...(r.truncated > 0 ? { truncatedHistory: r.truncated } : {}) };
      });
    },
  );
}
