/**
 * Benchmark of the quantisation schemes (rqkmeans, balanced rqkmeans, rqvae, letter) on a real
 * dataset, side by side with the published reference indexes of Beauty (LETTER, CollisionGenRec
 * RQ-VAE and RK-Means): build wall time and CPU time, per-level utilization and perplexity,
 * collisionRateBefore, reconstruction error, prefix coherence.
 *
 *   npx tsx bench/indexer-quant.ts [--data ../shared/data/beauty] [--seed 42] [--schemes rqkmeans,rqvae]
 *       [--config '{"rqvae": {"epochs": 50}}'] [--results runs/bench/indexer-quant.json] [--doc docs/BENCHMARKS.md]
 *
 * Each run merges its results into the JSON file (so heavy schemes can run as separate, time-bounded
 * processes) and rewrites the table between the BENCH markers of the doc from everything measured.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { letter } from '../indexer/letter.js';
import { rqkmeans } from '../indexer/rqkmeans.js';
import { rqvae } from '../indexer/rqvae.js';
import { collisionStats, levelDiagnostics, prefixCoherence } from '../indexer/shared/diagnostics.js';
import type { Diagnostics, IndexingScheme } from '../indexer/types.js';
import { loadSplit } from '../src/core/data/index.js';
import { createRng } from '../src/core/rng.js';
import type { Item } from '../src/core/types.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/data/beauty' },
    seed: { type: 'string', default: '42' },
    schemes: { type: 'string', default: 'rqkmeans,rqkmeans-balanced,rqvae,letter' },
    config: { type: 'string', default: '{}' },
    results: { type: 'string', default: 'runs/bench/indexer-quant.json' },
    doc: { type: 'string', default: 'docs/BENCHMARKS.md' },
  },
});

/** One measured row of the table. */
interface Row {
  name: string;
  kind: 'built' | 'reference';
  command?: string;
  seed?: number;
  wallSeconds?: number;
  cpuSeconds?: number;
  /** Learned levels only (the dedup level is reported separately). */
  levels: { size: number; used: number; utilization: number; perplexity: number }[];
  collisionRateBefore: number;
  dedupShare?: number;
  maxItemsPerCode: number;
  reconstructionError?: number;
  prefixCoherence?: number;
  extra?: Record<string, unknown>;
  measuredAt: string;
}

const seed = Number(values.seed);
const dataDir = values.data as string;
const overrides = JSON.parse(values.config as string) as Record<string, Record<string, unknown>>;
const command = `npx tsx bench/indexer-quant.ts ${process.argv.slice(2).join(' ')}`.trim();

const split = await loadSplit(dataDir);
const items = split.items;
console.log(
  `data ${dataDir}: ${items.length} items, ${split.trainSequences.length} users; seed ${seed}; ${cpus().length} cores`,
);

const rows: Row[] = [];

// reference indexes (LETTER / LC-Rec format keyed by 0-based item position in the P5 order = items.jsonl order)
const refDir = join(dataDir, 'reference');
const refs: [string, string][] = [
  ['LETTER reference (LETTER_Beauty.index.json)', 'LETTER_Beauty.index.json'],
  ['CollisionGenRec rqvae reference', 'CollisionGenRec_rqvae_native_Beauty.index.json'],
  ['CollisionGenRec rkmeans reference', 'CollisionGenRec_rkmeans_native_Beauty.index.json'],
];
// id_map.csv: asin,s3rec_p5_item_id,letter_item_id
const letterId = new Map<string, string>();
if (existsSync(join(refDir, 'id_map.csv'))) {
  for (const line of (await readFile(join(refDir, 'id_map.csv'), 'utf8')).split('\n').slice(1)) {
    const [asin, , lid] = line.trim().split(',');
    if (asin && lid !== undefined) letterId.set(asin, lid);
  }
}
for (const [name, file] of refs) {
  const path = join(refDir, file);
  if (!existsSync(path) || letterId.size === 0) continue;
  const j = JSON.parse(await readFile(path, 'utf8')) as Record<string, string[]>;
  const codes: number[][] = items.map((it) => {
    const toks = j[letterId.get(it.id) ?? ''];
    if (!toks) throw new Error(`${file} has no entry for item ${it.id}`);
    return toks.map((t) => Number(/_(\d+)>$/.exec(t)?.[1]));
  });
  const L = codes[0]?.length ?? 0;
  const learned = codes.map((c) => c.slice(0, 3));
  const sizes = [256, 256, 256];
  const coh = prefixCoherence(learned, items as Item[]);
  rows.push({
    name,
    kind: 'reference',
    levels: levelDiagnostics(learned, sizes),
    collisionRateBefore: collisionStats(learned).collidingItems / items.length,
    maxItemsPerCode: collisionStats(learned).maxItemsPerCode,
    ...(coh ? { prefixCoherence: coh.coherence } : {}),
    extra: {
      codeLevels: L,
      collisionsAfterAllLevels: collisionStats(codes).collidingItems,
      lastLevel: levelDiagnostics(codes, new Array(L).fill(256))[L - 1],
    },
    measuredAt: new Date().toISOString(),
  });
}

const SCHEMES: Record<string, { scheme: IndexingScheme<any>; config: Record<string, unknown> }> = {
  rqkmeans: { scheme: rqkmeans, config: {} },
  'rqkmeans-balanced': { scheme: rqkmeans, config: { balanced: true } },
  rqvae: { scheme: rqvae, config: {} },
  letter: { scheme: letter, config: {} },
};

for (const name of (values.schemes as string).split(',').filter(Boolean)) {
  const entry = SCHEMES[name];
  if (!entry) throw new Error(`unknown scheme ${name}; expected one of ${Object.keys(SCHEMES).join(', ')}`);
  const config = entry.scheme.resolve({ ...entry.config, ...(overrides[name] ?? {}) });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const fit = await entry.scheme.fit(
    { items, trainSequences: split.trainSequences, rng: createRng(seed), log: (l) => console.log(`  ${name}: ${l}`) },
    config,
  );
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const d: Diagnostics = fit.diagnostics;
  const learnedLevels = (config as { levels: number }).levels;
  rows.push({
    name,
    kind: 'built',
    command,
    seed,
    wallSeconds: wall,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    levels: d.levels.slice(0, learnedLevels),
    collisionRateBefore: d.collisionRateBefore,
    dedupShare: d.dedupShare,
    maxItemsPerCode: d.maxItemsPerCode,
    ...(d.reconstructionError !== undefined ? { reconstructionError: d.reconstructionError } : {}),
    ...(d.prefixCoherence !== undefined ? { prefixCoherence: d.prefixCoherence } : {}),
    extra: {
      config,
      collisionsAfter: d.collisionsAfter,
      levelSizesAfter: fit.table.levelSizes,
      epochsRun: d.epochsRun,
      stoppedByTimeCap: d.stoppedByTimeCap,
      lossFirstEpoch: d.lossFirstEpoch,
      lossLastEpoch: d.lossLastEpoch,
      sinkhornUnresolved: d.sinkhornUnresolved,
      reassignedShare: d.reassignedShare,
    },
    measuredAt: new Date().toISOString(),
  });
  console.log(
    `${name}: ${wall.toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU; utilization ${d.levels.map((l) => l.utilization.toFixed(3)).join('/')}; collisionRateBefore ${d.collisionRateBefore.toFixed(4)}; collisionsAfter ${d.collisionsAfter}`,
  );
}

// merge with earlier runs (same name -> replaced)
const resultsPath = resolve(values.results as string);
let all: Row[] = [];
if (existsSync(resultsPath)) all = JSON.parse(await readFile(resultsPath, 'utf8')) as Row[];
for (const r of rows) {
  const i = all.findIndex((x) => x.name === r.name);
  if (i >= 0) all[i] = r;
  else all.push(r);
}
await mkdir(dirname(resultsPath), { recursive: true });
await writeFile(resultsPath, `${JSON.stringify(all, null, 2)}\n`);

// the table
const f = (v: number | undefined, p = 3) => (v === undefined ? '–' : v.toFixed(p));
const order = ['rqkmeans', 'rqkmeans-balanced', 'rqvae', 'letter'];
const sorted = [
  ...order.map((n) => all.find((r) => r.name === n)).filter((r): r is Row => r !== undefined),
  ...all.filter((r) => r.kind === 'reference'),
];
const lines = [
  '| index | build wall s | build CPU s | utilization L0 / L1 / L2 | perplexity L0 / L1 / L2 | collisionRateBefore | max items per code | dedupShare | recon. error | prefix coherence |',
  '|---|---|---|---|---|---|---|---|---|---|',
];
for (const r of sorted) {
  lines.push(
    `| ${r.name} | ${f(r.wallSeconds, 1)} | ${f(r.cpuSeconds, 1)} | ${r.levels.map((l) => f(l.utilization)).join(' / ')} | ${r.levels.map((l) => f(l.perplexity, 1)).join(' / ')} | ${f(r.collisionRateBefore, 4)} | ${r.maxItemsPerCode} | ${f(r.dedupShare, 4)} | ${r.reconstructionError === undefined ? '–' : r.reconstructionError.toExponential(3)} | ${f(r.prefixCoherence)} |`,
  );
}
const runs = sorted
  .filter((r) => r.kind === 'built')
  .map(
    (r) =>
      `- ${r.name}: \`${r.command}\` (seed ${r.seed}, ${r.measuredAt.slice(0, 10)}, ${f(r.wallSeconds, 1)} s wall)`,
  );
const block = [
  '<!-- BENCH:indexer-quant:start -->',
  `Dataset: ${dataDir} (${items.length} items). Machine: ${cpus().length} cores, no GPU, TensorFlow.js wasm backend (single-threaded), shared with other jobs (wall time includes waiting for the CPU; CPU time does not).`,
  '',
  ...lines,
  '',
  'Runs:',
  ...runs,
  '<!-- BENCH:indexer-quant:end -->',
].join('\n');
const docPath = resolve(values.doc as string);
let doc = existsSync(docPath) ? await readFile(docPath, 'utf8') : '';
const re = /<!-- BENCH:indexer-quant:start -->[\s\S]*<!-- BENCH:indexer-quant:end -->/;
doc = re.test(doc) ? doc.replace(re, block) : `${doc}\n${block}\n`;
await writeFile(docPath, doc);
console.log(block);
