/**
 * Server load benchmark over loopback with autocannon: single-request latency (one connection,
 * requests back to back) and throughput (several connections) for POST /v1/recommend.
 *
 *   node --import tsx bench/server-load.ts [--duration 10] [--connections 8,32] [--beam 20] [--k 10] [--baseline]
 *     -- <server-child args>
 *   e.g. ... -- --bundle runs/bundles/beauty          (a real bundle)
 *        ... -- --fake --index runs/beauty/hybrid-rq-fused --dim 64   (cost model over the Beauty index)
 *
 * Each server is measured with one connection (requests back to back: the one-at-a-time figure) and
 * then under load with each of `--connections`. With `--baseline`, the same measurements first run
 * on a server started with `--no-batching` (one decoder call per request, as before micro-batching),
 * so the JSON gives both and the ratios of the batched server's requests/s to the unbatched one's
 * and to its own one-at-a-time rate, all from the same run.
 *
 * The server runs in its own process (bench/server-child.ts); autocannon runs in this one, so on a
 * 2-core machine client and server share the cores, as a loopback benchmark does.
 */

import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { createRng } from '../src/core/rng.js';
import { itemIds, spawnServer } from './server-spawn.js';

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
    baseline: { type: 'boolean', default: false },
    beam: { type: 'string', default: '20' },
    k: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
  },
});
const duration = Number(values.duration);
const beam = Number(values.beam);
const k = Number(values.k);

function run(opts: AcOptions): Promise<AcResult> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

interface Measured {
  server: Record<string, unknown>;
  single: ReturnType<typeof fmt>;
  load: (ReturnType<typeof fmt> & { connections: number })[];
  server5xx: number;
}

/** Server CPU time per answered request: its capacity is about 1000 / cpuMsPerRequest requests/s per core it gets. */
function fmt(r: AcResult, cpu: number) {
  return {
    cpuMsPerRequest: Number(((cpu * 1000) / Math.max(1, r.requests.total)).toFixed(3)),
    requests: r.requests.total,
    rps: Math.round(r.requests.average),
    p50ms: r.latency.p50,
    p90ms: r.latency.p90,
    p99ms: r.latency.p99,
    errors: r.errors,
    non2xx: r.non2xx,
  };
}

/** Starts a server child with `args`, measures one connection then each load level, stops it. */
async function measure(args: string[], connections: number[]): Promise<Measured> {
  const srv = await spawnServer(args);
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
    let c0 = await cpuSeconds();
    const single = await run({ ...base, connections: 1, duration: Math.max(2, duration / 2) });
    let c1 = await cpuSeconds();
    const singleOut = fmt(single, c1 - c0);
    const load: Measured['load'] = [];
    for (const c of connections) {
      c0 = await cpuSeconds();
      const r = await run({ ...base, connections: c, duration });
      c1 = await cpuSeconds();
      load.push({ connections: c, ...fmt(r, c1 - c0) });
    }
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    const batchFacts = Object.fromEntries(
      [...metrics.matchAll(/^semid_decode_(batch\w*)\{[^}]*\} (\S+)$/gm)].map((m) => [m[1], Number(m[2])]),
    );
    return {
      server: { args: args.join(' '), batching: srv.info.batching, ...batchFacts },
      single: singleOut,
      load,
      server5xx: (metrics.match(/status="5\d\d"\} (\d+)/g) ?? []).length,
    };
  } finally {
    await srv.stop();
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const { loadavg } = await import('node:os');
  const connections = String(values.connections).split(',').map(Number);
  const before = loadavg()[0];
  const baseline = values.baseline ? await measure([...childArgs, '--no-batching'], connections) : undefined;
  const batched = await measure(childArgs, connections);
  const ratio = (a: number, b: number | undefined) => (b ? Number((a / b).toFixed(2)) : undefined);
  const out = {
    child: childArgs.join(' '),
    beam,
    k,
    historyItems: '3-maxHistory',
    ...(baseline ? { baseline } : {}),
    batched,
    ratios: batched.load.map((l, i) => ({
      connections: l.connections,
      // requests/s under load over the same server's one-at-a-time requests/s
      overOneAtATime: ratio(l.rps, batched.single.rps),
      // requests/s under load over the unbatched server's at the same load, and over its one-at-a-time rate
      overUnbatched: ratio(l.rps, baseline?.load[i]?.rps),
      overUnbatchedOneAtATime: ratio(l.rps, baseline?.single.rps),
    })),
    loadAverage1m: { start: before, end: loadavg()[0] },
    wallSeconds: Math.round((Date.now() - t0) / 1000),
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
