/**
 * `semid data ...`: dataset statistics, the synthetic generator and downloads.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type DatasetStats,
  DEFAULT_SYNTHETIC_SEED,
  datasetStats,
  downloadDataset,
  downloadNames,
  generateSynthetic,
  loadSplit,
  SYNTHETIC_DEFAULTS,
  writeCommon,
} from '../src/core/data/index.js';
import { SemidError } from '../src/core/errors.js';
import { type Command, int, log, Progress, req } from './command.js';
import { DATA_OPTIONS, dataFlags, loadOptions } from './data-flags.js';

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

/** The human-readable table `semid data stats` prints without --json. */
export function formatStats(s: DatasetStats): string {
  const L = s.sequenceLength;
  const rows: [string, string][] = [
    ['dataset', s.name],
    ['users', String(s.users)],
    ['items', `${s.items} (${s.itemsWithInteractions} with interactions)`],
    ['interactions', String(s.interactions)],
    ['sequence length', `min ${L.min} / median ${L.median} / mean ${L.mean.toFixed(2)} / p90 ${L.p90} / max ${L.max}`],
    [
      'item text',
      `title ${pct(s.textCoverage.title)}, categories ${pct(s.textCoverage.categories)}, ` +
        `brand ${pct(s.textCoverage.brand)}, description ${pct(s.textCoverage.description)}`,
    ],
    [
      s.split.given ? 'split (as given)' : 'split (leave-one-out)',
      `train ${s.split.train} / valid ${s.split.valid} / test ${s.split.test} examples (history <= ${s.split.maxHistory})`,
    ],
    [
      'left out',
      `bad rows ${s.report.badRows}, unknown-item interactions ${s.report.unknownItemInteractions} ` +
        `(${s.report.unknownItems} items), duplicates ${s.report.duplicateRows}, k-core ${s.report.kcoreRemoved}`,
    ],
    ['fingerprint', s.fingerprint],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`);
  for (const warning of s.report.warnings) lines.push(`warning: ${warning}`);
  return lines.join('\n');
}

/** `semid data stats <dir> [--json]`. */
export const dataStats: Command = {
  name: 'data stats',
  summary: 'load a dataset, split it leave-one-out and print its statistics',
  usage:
    'semid data stats <dir | file.csv | synthetic[:seed=7,items=500,users=800]> [--json] [--columns user=…,item=…,time=…] [--kcore n] [--skip-bad]',
  positionals: true,
  options: {
    json: { type: 'boolean', description: 'print one JSON object on stdout' },
    'max-history': { type: 'string', description: 'history cap of the examples', default: '20' },
    ...DATA_OPTIONS,
  },
  async run(args) {
    const spec = args.positionals[0];
    if (spec === undefined || args.positionals.length > 1) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `expected one data directory or spec, got ${args.positionals.length}`,
      );
    }
    const split = await loadSplit(spec, { ...loadOptions(dataFlags(args)), maxHistory: int(args, 'max-history', 20) });
    const stats = datasetStats(split);
    process.stdout.write(args.values.json === true ? `${JSON.stringify(stats)}\n` : `${formatStats(stats)}\n`);
    return 0;
  },
};

/** A folder `data synth` may replace without --force: missing, empty, or an earlier synth output. */
function replaceableSynth(dir: string): boolean {
  if (!existsSync(dir)) return true;
  const names = readdirSync(dir);
  if (names.length === 0) return true;
  const source = join(dir, 'SOURCE.md');
  return existsSync(source) && readFileSync(source, 'utf8').startsWith('# semid synthetic dataset');
}

/** `semid data synth --out <dir>`. */
export const dataSynth: Command = {
  name: 'data synth',
  summary: 'write the seeded synthetic dataset in the common format (items.jsonl + interactions.csv)',
  usage: 'semid data synth --out <dir> [--seed n] [--items n] [--users n]',
  options: {
    out: { type: 'string', description: 'output folder (written atomically)' },
    seed: { type: 'string', description: 'random seed', default: String(DEFAULT_SYNTHETIC_SEED) },
    items: { type: 'string', description: 'catalogue size', default: String(SYNTHETIC_DEFAULTS.items) },
    users: { type: 'string', description: 'number of users', default: String(SYNTHETIC_DEFAULTS.users) },
    topics: { type: 'string', description: 'number of topics', default: String(SYNTHETIC_DEFAULTS.topics) },
    force: { type: 'boolean', description: 'replace a non-empty output folder' },
  },
  async run(args) {
    const out = req(args, 'out', 'data synth');
    if (!replaceableSynth(out) && args.values.force !== true) {
      throw new SemidError(
        'SEMID_ERR_CONFLICT',
        `${out} exists and is not an earlier synth output; pass --force to replace it`,
      );
    }
    const opts = {
      seed: int(args, 'seed', DEFAULT_SYNTHETIC_SEED),
      items: int(args, 'items', SYNTHETIC_DEFAULTS.items),
      users: int(args, 'users', SYNTHETIC_DEFAULTS.users),
      topics: int(args, 'topics', SYNTHETIC_DEFAULTS.topics),
    };
    const ds = generateSynthetic(opts);
    for (const w of ds.report.warnings) log(`warning: ${w}`);
    const source = [
      '# semid synthetic dataset',
      '',
      `Generated by \`semid data synth --seed ${opts.seed} --items ${opts.items} --users ${opts.users} --topics ${opts.topics}\`.`,
      'The same command gives the same files. Planted structure: topics -> categories -> items with generated',
      'titles; users with topic preferences and item-to-item habits (see src/core/data/synthetic.ts).',
      '',
      `Options: ${JSON.stringify({ ...SYNTHETIC_DEFAULTS, ...opts })}`,
      '',
    ].join('\n');
    await writeCommon(out, ds, { 'SOURCE.md': source });
    log(`wrote ${ds.items.length} items and ${ds.interactions.length} interactions to ${out}`);
    return 0;
  },
};

/** `semid data download <name> --out <dir>`. */
export const dataDownload: Command = {
  name: 'data download',
  summary: 'download a public dataset (ml-100k, ml-1m, amazon-<category> 2014 5-core); needs internet',
  usage: `semid data download <name> --out <dir>   (names: ${downloadNames().slice(0, 4).join(', ')}, ...)`,
  positionals: true,
  options: {
    out: { type: 'string', description: 'output folder (written atomically)' },
    force: { type: 'boolean', description: 'replace a non-empty output folder' },
    timeout: { type: 'string', description: 'seconds to wait for the server to answer', default: '10' },
  },
  async run(args) {
    const name = args.positionals[0];
    if (name === undefined || args.positionals.length > 1) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `expected one dataset name; valid names: ${downloadNames().join(', ')}`,
      );
    }
    const out = req(args, 'out', 'data download');
    const bars = new Map<string, Progress>();
    const files = await downloadDataset(name, out, {
      force: args.values.force === true,
      connectTimeoutMs: int(args, 'timeout', 10) * 1000,
      log,
      onProgress: (file, done, total) => {
        let bar = bars.get(file);
        if (bar === undefined) {
          bar = new Progress(`${file} (MB)`, total === undefined ? 0 : Math.ceil(total / 1e6));
          bars.set(file, bar);
        }
        bar.update(Math.floor(done / 1e6));
      },
    });
    for (const bar of bars.values()) bar.done();
    log(`wrote ${files.join(', ')} to ${out}. Licensed for research only: do not commit or redistribute.`);
    log(`next: semid data stats ${out}`);
    return 0;
  },
};

/** The data commands, in help order. */
export const DATA_COMMANDS: readonly Command[] = [dataStats, dataSynth, dataDownload];
