/**
 * fast-check arbitraries for random and malformed HTTP requests against the server, shared by the
 * CI property test and bench/server-fuzz.ts. Half the requests are near-valid (real routes, known
 * ids, fields of the wrong type or out of bounds), the rest arbitrary JSON, broken JSON and odd URLs.
 */
import fc from 'fast-check';

/** One request as fastify.inject or fetch takes it. */
export interface FuzzRequest {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT';
  url: string;
  headers: Record<string, string>;
  /** Raw body text (may be invalid JSON); undefined for no body. */
  body?: string;
}

const known = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];

const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, true, -1, 0, 1e308, -0, 2 ** 53, '', '0', '__proto__', 'constructor'),
);
const itemId = fc.oneof(fc.constantFrom(...known), fc.string({ maxLength: 12 }), fc.integer(), anyValue);
const num = fc.oneof(fc.integer({ min: -5, max: 300 }), fc.double(), fc.string({ maxLength: 4 }), anyValue);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const recommendBody = fc.record(
  {
    history: fc.oneof(fc.array(itemId, { maxLength: 30 }), anyValue),
    k: num,
    beamWidth: num,
    excludeHistory: fc.oneof(fc.boolean(), anyValue),
    mode: fc.oneof(fc.constantFrom('constrained', 'grounded'), anyValue),
    bundle: fc.oneof(fc.constantFrom('main', 'other', 'nope', '../x'), anyValue),
    extra: anyValue,
  },
  { requiredKeys: [] },
);

const codeSegment = fc.oneof(
  fc.array(fc.integer({ min: -1, max: 5 }), { minLength: 1, maxLength: 5 }).map((c) => c.join('-')),
  fc.array(fc.nat(9), { minLength: 1, maxLength: 3 }).map((c) => c.join(',')),
  fc.string({ maxLength: 10 }).map(encodeURIComponent),
);

const query = fc
  .dictionary(
    fc.constantFrom('k', 'limit', 'cursor', 'bundle', 'x'),
    fc.oneof(fc.string({ maxLength: 6 }), fc.integer().map(String)),
    {
      maxKeys: 3,
    },
  )
  .map((q) => {
    const s = new URLSearchParams(q).toString();
    return s ? `?${s}` : '';
  });

const json = (a: fc.Arbitrary<unknown>) => a.map((v) => JSON.stringify(v) ?? 'null');

const headers = (key: string) =>
  fc.oneof(
    fc.constant<Record<string, string>>({ 'content-type': 'application/json' }),
    fc.constant<Record<string, string>>({ 'content-type': 'application/json', 'x-api-key': key }),
    fc.constant<Record<string, string>>({ 'content-type': 'application/json', authorization: `Bearer ${key}x` }),
    fc.constantFrom<Record<string, string>>(
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/x-www-form-urlencoded' },
      {},
    ),
  );

/** Random and malformed requests; `key` is the server's API key (used by some of them). */
export function fuzzRequest(key: string): fc.Arbitrary<FuzzRequest> {
  const post = (url: string, body: fc.Arbitrary<string>) =>
    fc.record({ method: fc.constant<'POST'>('POST'), url: fc.constant(url), headers: headers(key), body });
  const get = (path: fc.Arbitrary<string>) =>
    fc.record({
      method: fc.constant<'GET'>('GET'),
      url: fc.tuple(path, query).map(([p, q]) => p + q),
      headers: fc.constant({}),
    });
  const brokenJson = fc.oneof(
    fc.string({ maxLength: 40 }),
    json(recommendBody).map((s) => s.slice(0, Math.max(1, s.length - 3))),
    fc.constantFrom('{', '[', '{"history": [1, 2', '\u0000', '{"__proto__": {"x": 1}}', '{"history": ["a"]}garbage'),
  );
  const validRecommend = fc.record(
    {
      history: fc.array(fc.constantFrom(...known), { minLength: 1, maxLength: 6 }),
      k: fc.integer({ min: 1, max: 10 }),
      beamWidth: fc.integer({ min: 1, max: 30 }),
      excludeHistory: fc.boolean(),
      mode: fc.constantFrom('constrained', 'grounded'),
    },
    { requiredKeys: ['history'] },
  );
  const validAdd = fc.record({
    id: fc.string({ minLength: 1, maxLength: 8 }),
    code: fc.array(fc.nat(2), { minLength: 1, maxLength: 2 }),
  });
  const authed = { 'content-type': 'application/json', 'x-api-key': key };
  return fc.oneof(
    fc.record({
      method: fc.constant<'POST'>('POST'),
      url: fc.constant('/v1/recommend'),
      headers: fc.constant(authed),
      body: json(validRecommend),
    }),
    fc.record({
      method: fc.constant<'POST'>('POST'),
      url: fc.constant('/v1/items'),
      headers: fc.constant(authed),
      body: json(validAdd),
    }),
    post('/v1/recommend', fc.oneof(json(recommendBody), json(anyValue), brokenJson)),
    post(
      '/v1/recommend/batch',
      json(
        fc.record(
          { requests: fc.oneof(fc.array(recommendBody, { maxLength: 5 }), anyValue), bundle: anyValue },
          { requiredKeys: [] },
        ),
      ),
    ),
    post(
      '/v1/score',
      json(
        fc.record(
          {
            history: fc.array(itemId, { maxLength: 8 }),
            candidates: fc.oneof(fc.array(itemId, { maxLength: 8 }), anyValue),
            bundle: anyValue,
          },
          { requiredKeys: [] },
        ),
      ),
    ),
    post(
      '/v1/items',
      json(
        fc.record(
          {
            id: itemId,
            code: fc.oneof(fc.array(fc.integer({ min: -1, max: 4 }), { maxLength: 5 }), anyValue),
            title: fc.oneof(fc.string({ maxLength: 10 }), anyValue),
            embedding: fc.oneof(fc.array(fc.double(), { maxLength: 4 }), anyValue),
          },
          { requiredKeys: [] },
        ),
      ),
    ),
    post(
      '/v1/admin/reload',
      fc.oneof(
        json(
          fc.record(
            { bundles: fc.oneof(fc.array(fc.constantFrom('main', 'other', 'zz'), { maxLength: 2 }), anyValue) },
            { requiredKeys: [] },
          ),
        ),
        brokenJson,
      ),
    ),
    get(
      fc
        .tuple(fc.constantFrom('/v1/items/', '/v1/codes/'), fc.oneof(fc.constantFrom(...known), codeSegment))
        .map(([a, b]) => a + b),
    ),
    get(
      fc
        .oneof(fc.constantFrom(...known), fc.string({ maxLength: 8 }).map(encodeURIComponent))
        .map((i) => `/v1/items/${i}/similar`),
    ),
    get(fc.constantFrom('/health', '/metrics', '/docs', '/v1', '/', '/v1/recommend')),
    fc.record({
      method: fc.constantFrom<'DELETE' | 'PUT'>('DELETE', 'PUT'),
      url: fc
        .oneof(fc.constantFrom(...known), fc.string({ maxLength: 6 }).map(encodeURIComponent))
        .map((i) => `/v1/items/${i}`),
      headers: headers(key),
      body: maybe(fc.constant('{}')),
    }),
  );
}
