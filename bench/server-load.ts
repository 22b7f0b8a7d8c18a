/**
 * Server load benchmark over loopback with autocannon: single-request latency (one connection,
 * requests back to back) and throughput (several connections) for POST /v1/recommend.
 *
 *   node --import tsx bench/server-load.ts [--duration 10] [--connections 8] [--beam 20] [--k 10] -- <server-child args>
 *   e.g. ... -- --bundle runs/bundles/beauty          (a real bundle)
 *        ... -- --fake --index runs/beauty/hybrid-rq-fused --dim 64   (cost model over the Beauty index)
 *
 * The server runs in its own process (bench/server-child.ts); autocannon runs in this one, so on a
 * 2-core machine client and server share the cores, as a loopback benchmark does.
 */

import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { createRng } from '../src/core/rng.js';
import { spawnServer } from './server-spawn.js';

/** The part of autocannon's result this benchmark reads (the package ships no types). */
interface AcResult {
  requests: { total: number; average: number };
  latency: { p50: number; p90: number; p99: number };
  errors: number;
  non2xx: number;
}
type AcOptions = Record<string, unknown>;
const autocannon = createRequire(import.meta.url)('autocannon') as (
  opts: AcOptions,
  cb: (err: Error | null, res: AcResult) => void,
) => unknown;

const dash = process.argv.indexOf('--');
const own = dash < 0 ? process.argv.slice(2) : process.argv.slice(2, dash);
const childArgs = dash < 0 ? ['--fake'] : process.argv.slice(dash + 1);
const { values } = parseArgs({
  args: own,
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '8' },
    beam: { type: 'string', default: '20' },
    k: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
  },
});
const duration = Number(values.duration);
const beam = Number(values.beam);
const k = Number(values.k);

async function itemIds(url: string, levelSizes: number[], want: number): Promise<string[]> {
  const ids: string[] = [];
  for (let v = 0; v < (levelSizes[0] ?? 0) && ids.length < want; v++) {
    const r = (await (await fetch(`${url}/v1/codes/${v}?limit=100`)).json()) as { items: { item: string }[] };
    ids.push(...r.items.map((x) => x.item));
  }
  return ids.slice(0, want);
}

function run(opts: AcOptions): Promise<AcResult> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const srv = await spawnServer(childArgs);
  try {
    const levelSizes = srv.info.levelSizes as number[];
    const maxHistory = Number(srv.info.maxHistory ?? 20);
    const ids = await itemIds(srv.url, levelSizes, 2000);
    const rng = createRng(Number(values.seed));
    const bodies = Array.from({ length: 500 }, () =>
      JSON.stringify({
        history: Array.from({ length: 3 + rng.int(Math.max(1, maxHistory - 2)) }, () => ids[rng.int(ids.length)]),
        k,
        beamWidth: beam,
      }),
    );
    let next = 0;
    const requests = [
      {
        method: 'POST' as const,
        path: '/v1/recommend',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req: Record<string, unknown>) => ({ ...req, body: bodies[next++ % bodies.length] }),
      },
    ];
    const base: AcOptions = { url: srv.url, requests };
    const cpuSeconds = async () => {
      const m = (await (await fetch(`${srv.url}/metrics`)).text()).match(/^process_cpu_seconds_total (\S+)$/m);
      return Number(m?.[1] ?? Number.NaN);
    };
    await run({ ...base, connections: 1, duration: 2 }); // warm-up
    const c0 = await cpuSeconds();
    const single = await run({ ...base, connections: 1, duration: Math.max(2, duration / 2) });
    const c1 = await cpuSeconds();
    const load = await run({ ...base, connections: Number(values.connections), duration });
    const c2 = await cpuSeconds();
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    const { loadavg } = await import('node:os');
    const fmt = (r: AcResult, cpu: number) => ({
      // Server CPU time per answered request: its capacity is about 1000 / cpuMsPerRequest requests/s
      // per core it gets, independent of how many other processes share the machine.
      cpuMsPerRequest: Number(((cpu * 1000) / Math.max(1, r.requests.total)).toFixed(3)),
      requests: r.requests.total,
      rps: Math.round(r.requests.average),
      p50ms: r.latency.p50,
      p90ms: r.latency.p90,
      p99ms: r.latency.p99,
      errors: r.errors,
      non2xx: r.non2xx,
    });
    const out = {
      child: childArgs.join(' '),
      bundle: srv.info,
      beam,
      k,
      historyItems: `3-${maxHistory}`,
      single: fmt(single, c1 - c0),
      load: { connections: Number(values.connections), ...fmt(load, c2 - c1) },
      loadAverage1m: loadavg()[0],
      server5xx: (metrics.match(/status="5\d\d"\} (\d+)/g) ?? []).length,
      wallSeconds: Math.round((Date.now() - t0) / 1000),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await srv.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
