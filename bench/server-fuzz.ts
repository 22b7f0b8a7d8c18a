/**
 * Fuzz run against a listening server on 127.0.0.1: 10,000+ random and malformed requests generated
 * with fast-check (the arbitraries of bench/server-requests.ts), sent over real HTTP with a few
 * connections in parallel. Passes when no answer is a 5xx, every 4xx carries a SEMID_ERR_* code, the
 * server process is still alive, and /health still answers at the end.
 *
 *   node --import tsx bench/server-fuzz.ts [--runs 10000] [--concurrency 8] [--seed 7] [-- <server-child args>]
 * Default server: the test fixture's shape (random codes, cost model) via `--fake`.
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { type FuzzRequest, fuzzRequest } from './server-requests.js';
import { spawnServer } from './server-spawn.js';

const dash = process.argv.indexOf('--');
const own = dash < 0 ? process.argv.slice(2) : process.argv.slice(2, dash);
const childArgs =
  dash < 0 ? ['--fake', '--items', '500', '--levels', '8,8,8', '--dim', '16'] : process.argv.slice(dash + 1);
const { values } = parseArgs({
  args: own,
  options: {
    runs: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '8' },
    seed: { type: 'string', default: '7' },
  },
});

async function send(url: string, r: FuzzRequest): Promise<{ status: number; code?: string }> {
  const res = await fetch(url + (r.url.startsWith('/') ? r.url : `/${r.url}`), {
    method: r.method,
    headers: r.headers,
    ...(r.body !== undefined && r.method !== 'GET' ? { body: r.body } : {}),
  });
  const text = await res.text();
  let code: string | undefined;
  if (res.status >= 400) {
    try {
      code = (JSON.parse(text) as { code?: string }).code;
    } catch {
      code = undefined;
    }
  }
  return { status: res.status, ...(code !== undefined ? { code } : {}) };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const runs = Number(values.runs);
  const srv = await spawnServer([...childArgs]);
  const statuses = new Map<number, number>();
  const failures: { req: FuzzRequest; status: number; code?: string }[] = [];
  try {
    // The child's API key is "bench-key"; some generated requests use it, so items get added too.
    const reqs = fc.sample(fuzzRequest('bench-key'), { numRuns: runs, seed: Number(values.seed) });
    let i = 0;
    const worker = async () => {
      while (i < reqs.length) {
        const r = reqs[i++] as FuzzRequest;
        let out: { status: number; code?: string };
        try {
          out = await send(srv.url, r);
        } catch (e) {
          out = { status: 0, code: `transport error: ${(e as Error).message}` };
        }
        statuses.set(out.status, (statuses.get(out.status) ?? 0) + 1);
        const ok =
          out.status === 200 ||
          out.status === 201 ||
          (out.status >= 400 && out.status < 500 && /^SEMID_ERR_/.test(out.code ?? ''));
        if (!ok && failures.length < 20) failures.push({ req: r, ...out });
      }
    };
    await Promise.all(Array.from({ length: Number(values.concurrency) }, worker));
    const health = await fetch(`${srv.url}/health`);
    const result = {
      requests: reqs.length,
      statuses: Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])),
      failures: failures.length,
      examples: failures.slice(0, 5),
      serverAlive: srv.alive(),
      healthAfter: health.status,
      child: childArgs.join(' '),
      wallSeconds: Math.round((Date.now() - t0) / 1000),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    process.exitCode = failures.length === 0 && srv.alive() && health.status === 200 ? 0 : 1;
  } finally {
    await srv.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
