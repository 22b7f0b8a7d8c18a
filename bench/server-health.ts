/**
 * /health latency while maximum-budget batch requests keep the decoder busy: the event loop must
 * stay free for cheap requests however expensive the decoding it runs.
 *
 *   node --import tsx bench/server-health.ts [--seconds 20] [--budget 8192] [--senders 2] [--interval-ms 20]
 *     -- <server-child args>      (default: --fake, a Beauty-shaped cost model: 12,101 items, 256x256x256x30)
 *
 * `--senders` clients each send POST /v1/recommend/batch requests of exactly the server's cost budget
 * (64 histories, beam width budget / (64 x levels)) back to back; meanwhile GET /health is sent every
 * `--interval-ms` and its latency recorded. Prints p50 / p90 / p99 / max of /health, the batch
 * requests completed and their statuses; exits 1 when /health p99 is 50 ms or more.
 */
import { parseArgs } from 'node:util';
import { createRng } from '../src/core/rng.js';
import { itemIds, spawnServer } from './server-spawn.js';

const dash = process.argv.indexOf('--');
const own = dash < 0 ? process.argv.slice(2) : process.argv.slice(2, dash);
const { values } = parseArgs({
  args: own,
  options: {
    seconds: { type: 'string', default: '20' },
    budget: { type: 'string', default: '8192' },
    senders: { type: 'string', default: '2' },
    'interval-ms': { type: 'string', default: '20' },
    seed: { type: 'string', default: '1' },
  },
});
const budget = Number(values.budget);
const childArgs = [...(dash < 0 ? ['--fake'] : process.argv.slice(dash + 1)), '--max-request-cost', String(budget)];

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};

async function main(): Promise<void> {
  const srv = await spawnServer(childArgs);
  try {
    const levels = (srv.info.levelSizes as number[]).length;
    const maxHistory = Number(srv.info.maxHistory ?? 20);
    const ids = await itemIds(srv.url, srv.info.levelSizes as number[], 2000);
    const rng = createRng(Number(values.seed));
    const batchSize = 64;
    const width = Math.max(1, Math.floor(budget / (batchSize * levels)));
    const body = () =>
      JSON.stringify({
        requests: Array.from({ length: batchSize }, () => ({
          history: Array.from({ length: 3 + rng.int(Math.max(1, maxHistory - 2)) }, () => ids[rng.int(ids.length)]),
          k: Math.min(10, width),
          beamWidth: width,
          mode: 'grounded',
        })),
      });
    const until = performance.now() + Number(values.seconds) * 1000;
    const statuses = new Map<number, number>();
    const sender = async () => {
      while (performance.now() < until) {
        const r = await fetch(`${srv.url}/v1/recommend/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: body(),
        });
        await r.arrayBuffer();
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    };
    const health: number[] = [];
    const prober = async () => {
      await new Promise((r) => setTimeout(r, 500)); // let the first batches start
      while (performance.now() < until) {
        const t = performance.now();
        const r = await fetch(`${srv.url}/health`);
        await r.arrayBuffer();
        health.push(performance.now() - t);
        await new Promise((res) => setTimeout(res, Number(values['interval-ms'])));
      }
    };
    await Promise.all([...Array.from({ length: Number(values.senders) }, sender), prober()]);
    const out = {
      server: childArgs.join(' '),
      batch: { histories: batchSize, beamWidth: width, levels, cost: batchSize * width * levels, budget },
      batchStatuses: Object.fromEntries(statuses),
      health: {
        probes: health.length,
        p50ms: Number(quantile(health, 0.5).toFixed(2)),
        p90ms: Number(quantile(health, 0.9).toFixed(2)),
        p99ms: Number(quantile(health, 0.99).toFixed(2)),
        maxMs: Number(Math.max(...health).toFixed(2)),
      },
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    process.exitCode = out.health.p99ms < 50 ? 0 : 1;
  } finally {
    await srv.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
