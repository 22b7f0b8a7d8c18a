/**
 * `semid index ...`: build an index with any scheme, inspect one, import a published one, and encode
 * new items with a trained one (cold start).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buildIndex, encodeNewItems, type LoadedIndex, loadIndex, writeExtendedIndex } from '../indexer/artifact.js';
import { encodeNpy } from '../indexer/features/external.js';
import { OnnxTextEncoder } from '../indexer/features/onnx.js';
import { TextVectorizer } from '../indexer/features/text.js';
import { SCHEME_NAMES } from '../indexer/registry.js';
import { COLLISION_MODES } from '../indexer/shared/config.js';
import type { CollisionMode, Diagnostics } from '../indexer/types.js';
import { toItem } from '../src/core/data/common.js';
import { loadSplit } from '../src/core/data/index.js';
import { SemidError } from '../src/core/errors.js';
import { createRng } from '../src/core/rng.js';
import type { Item } from '../src/core/types.js';
import { expectKind, schemeHelp, schemeNamed } from './checks.js';
import { type Command, int, log, readConfigFile, req, str } from './command.js';
import { DATA_OPTIONS, dataFlags, loadOptions } from './data-flags.js';

function collisionsFlag(v: string | undefined): CollisionMode | undefined {
  if (v === undefined) return undefined;
  if (!(COLLISION_MODES as readonly string[]).includes(v)) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `--collisions must be one of ${COLLISION_MODES.join(', ')}; got "${v}"`,
    );
  }
  return v as CollisionMode;
}

const f3 = (x: unknown) => (typeof x === 'number' ? x.toFixed(3) : 'n/a');

/** One-line-per-figure summary of diagnostics. */
export function formatDiagnostics(d: Diagnostics): string {
  const lines = [
    `items                 ${d.items}`,
    `collision rate before ${f3(d.collisionRateBefore)} (max ${d.maxItemsPerCode} items per raw code)`,
    `collisions after      ${d.collisionsAfter}`,
    `dedup share           ${f3(d.dedupShare)}${d.dedupLevel ? ' (last level is the dedup level)' : ''}`,
    `prefix coherence      ${f3(d.prefixCoherence)} (random pairs: ${f3(d.prefixCoherenceBaseline)})`,
  ];
  if (d.reconstructionError !== undefined) lines.push(`reconstruction error  ${f3(d.reconstructionError)}`);
  lines.push(`build seconds         ${d.buildSeconds.toFixed(2)}`);
  d.levels.forEach((l, i) => {
    lines.push(
      `level ${String(i).padEnd(2)} size ${String(l.size).padStart(6)}  used ${String(l.used).padStart(6)}  utilization ${f3(l.utilization)}  perplexity ${l.perplexity.toFixed(1)}`,
    );
  });
  return lines.join('\n');
}

/** The most populous first-level codes with example items (titles when the catalogue is given). */
export function firstLevelExamples(index: LoadedIndex, items: readonly Item[] | undefined, groups = 8, perGroup = 3) {
  const titles = new Map((items ?? []).map((it) => [it.id, it.title ?? '']));
  const by = new Map<number, string[]>();
  for (const [id, code] of index.table.entries()) {
    const v = code[0] as number;
    const g = by.get(v);
    if (g) g.push(id);
    else by.set(v, [id]);
  }
  return [...by.entries()]
    .sort((a, b) => b[1].length - a[1].length || a[0] - b[0])
    .slice(0, groups)
    .map(([value, ids]) => ({
      value,
      items: ids.length,
      examples: ids
        .slice(0, perGroup)
        .map((id) => ({ id, code: [...(index.table.encode(id) ?? [])], title: titles.get(id) })),
    }));
}

/** `semid index build`. */
export const indexBuild: Command = {
  name: 'index build',
  summary: 'fit an indexing scheme on a dataset (train split only) and write the index artifact',
  usage:
    'semid index build --scheme <name> --data <dir|synthetic> --out <dir> [--config file.json|yaml] [--seed n] [--collisions mode]',
  options: {
    scheme: { type: 'string', description: `indexing scheme: ${SCHEME_NAMES.join(', ')}` },
    data: { type: 'string', description: 'dataset directory or synthetic[:key=value,...]' },
    out: { type: 'string', description: 'index directory to write (replaced atomically)' },
    config: { type: 'string', description: 'scheme config file (JSON or YAML), merged over the scheme defaults' },
    seed: { type: 'string', description: 'random seed', default: '42' },
    collisions: { type: 'string', description: `collision handling: ${COLLISION_MODES.join(', ')}` },
    json: { type: 'boolean', description: 'print the diagnostics as JSON on stdout' },
    ...DATA_OPTIONS,
  },
  help: (argv) => {
    const i = argv.findIndex((a) => a === '--scheme' || a.startsWith('--scheme='));
    if (i < 0) return `Run \`semid index build --scheme <name> --help\` for a scheme's config fields.`;
    const name = argv[i]?.includes('=') ? argv[i]?.split('=')[1] : argv[i + 1];
    return schemeHelp(schemeNamed(name ?? ''));
  },
  async run(args) {
    // Everything cheap is checked before the data is read.
    const scheme = schemeNamed(req(args, 'scheme', 'index build'));
    const data = req(args, 'data', 'index build');
    const out = req(args, 'out', 'index build');
    const cfgPath = str(args, 'config');
    const config = cfgPath ? readConfigFile(cfgPath) : {};
    const collisions = collisionsFlag(str(args, 'collisions'));
    const seed = int(args, 'seed', 42);
    if (collisions !== undefined && !('collisions' in (scheme.defaults as object))) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `scheme "${scheme.name}" gives unique codes by construction; --collisions does not apply to it`,
      );
    }
    scheme.resolve({ ...config, ...(collisions ? { collisions } : {}) } as never);
    const dataOpts = loadOptions(dataFlags(args));
    log(`[index build] reading ${data}`);
    const split = await loadSplit(data, dataOpts);
    log(
      `[index build] ${scheme.name} on ${split.name} (${split.items.length} items, ${split.trainSequences.length} users)`,
    );
    const r = await buildIndex({
      scheme: scheme.name,
      split,
      config,
      ...(collisions ? { collisions } : {}),
      seed,
      out,
      log,
    });
    if (args.values.json) process.stdout.write(`${JSON.stringify(r.diagnostics, null, 2)}\n`);
    else process.stdout.write(`${formatDiagnostics(r.diagnostics)}\n`);
    return 0;
  },
};

/** `semid index inspect`. */
export const indexInspect: Command = {
  name: 'index inspect',
  summary: 'print an index: scheme, level sizes, diagnostics and example items per first-level code',
  usage: 'semid index inspect <dir> [--json] [--data <dir>]',
  positionals: true,
  options: {
    json: { type: 'boolean', description: 'print one JSON object on stdout' },
    data: { type: 'string', description: 'the dataset, to show item titles in the examples' },
    ...DATA_OPTIONS,
  },
  async run(args) {
    const dir = args.positionals[0];
    if (dir === undefined || args.positionals.length > 1) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `expected one index directory, got ${args.positionals.length}`);
    }
    const dataOpts = loadOptions(dataFlags(args));
    await expectKind(dir, 'index', 'semid index inspect <index dir>');
    const index = await loadIndex(dir, { encoder: false });
    const data = str(args, 'data');
    const items = data ? (await loadSplit(data, dataOpts)).items : undefined;
    const examples = firstLevelExamples(index, items);
    const m = index.manifest;
    if (args.values.json) {
      process.stdout.write(`${JSON.stringify({ manifest: m, diagnostics: index.diagnostics, examples }, null, 2)}\n`);
      return 0;
    }
    const lines = [
      `index ${dir}: scheme ${m.scheme}, seed ${m.seed}, dataset ${m.dataset.name} (${m.dataset.items} items, fingerprint ${m.dataset.fingerprint.slice(0, 12)})`,
      `level sizes [${m.levelSizes.join(', ')}]${m.dedupLevel ? ', last = dedup level' : ''}; encodes new items: ${m.hasEncoder ? 'yes' : 'no'}`,
      `config ${JSON.stringify(m.config)}`,
      formatDiagnostics(index.diagnostics),
      'largest first-level codes:',
      ...examples.flatMap((g) => [
        `  ${g.value}: ${g.items} items`,
        ...g.examples.map((e) => `    [${e.code.join(', ')}] ${e.id}${e.title ? `  ${e.title}` : ''}`),
      ]),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};

/** `semid index import`. */
export const indexImport: Command = {
  name: 'index import',
  summary: 'import a published index in the LETTER / LC-Rec format {"<item index>": ["<a_12>", ...]}',
  usage: 'semid index import <file> --data <dir> --out <dir> [--id-map csv] [--id-column name] [--collisions mode]',
  positionals: true,
  options: {
    data: { type: 'string', description: 'the dataset the index belongs to' },
    out: { type: 'string', description: 'index directory to write' },
    'id-map': {
      type: 'string',
      description: 'CSV mapping index keys to item ids (default: id_map.csv next to the file, if any)',
    },
    'id-column': {
      type: 'string',
      description: 'column of the id map holding the index keys',
      default: 'letter_item_id',
    },
    'level-size': { type: 'string', description: 'codebook size of every level (0 = largest value + 1)', default: '0' },
    collisions: {
      type: 'string',
      description: `collision handling: ${COLLISION_MODES.join(', ')}`,
      default: 'dedup-level',
    },
    json: { type: 'boolean', description: 'print the diagnostics as JSON on stdout' },
    ...DATA_OPTIONS,
  },
  async run(args) {
    const file = args.positionals[0];
    if (file === undefined || args.positionals.length > 1) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `expected one index file, got ${args.positionals.length}`);
    }
    const data = req(args, 'data', 'index import');
    const out = req(args, 'out', 'index import');
    const dataOpts = loadOptions(dataFlags(args));
    const collisions = collisionsFlag(str(args, 'collisions'));
    let idMap = str(args, 'id-map');
    if (idMap === undefined && existsSync(join(dirname(file), 'id_map.csv'))) {
      idMap = join(dirname(file), 'id_map.csv');
      log(`index import: using the id map ${idMap}`);
    }
    const split = await loadSplit(data, dataOpts);
    const r = await buildIndex({
      scheme: 'imported',
      split,
      config: {
        path: file,
        idMap: idMap ?? '',
        idColumn: str(args, 'id-column') ?? 'letter_item_id',
        levelSize: int(args, 'level-size', 0),
      },
      ...(collisions ? { collisions } : {}),
      seed: 0,
      out,
      log,
    });
    if (args.values.json) process.stdout.write(`${JSON.stringify(r.diagnostics, null, 2)}\n`);
    else process.stdout.write(`${formatDiagnostics(r.diagnostics)}\n`);
    return 0;
  },
};

function readNewItems(path: string): Item[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new SemidError('SEMID_ERR_NOT_FOUND', `items file not found: ${path}`);
  }
  const items: Item[] = [];
  text.split(/\r?\n/).forEach((line, no) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new SemidError('SEMID_ERR_PARSE', `${path}:${no + 1} is not JSON; expected one item object per line`);
    }
    const it = toItem(v);
    if (typeof it === 'string') {
      throw new SemidError(
        'SEMID_ERR_PARSE',
        `${path}:${no + 1}: expected {"id", "title"?, "categories"?, ...}, got ${it}`,
      );
    }
    items.push(it);
  });
  return items;
}

/** `semid index encode`. */
export const indexEncode: Command = {
  name: 'index encode',
  summary: 'codes for new items from their text with a trained index (cold start); one JSON line per item',
  usage: 'semid index encode <dir> --items <items.jsonl> [--out <dir>]',
  positionals: true,
  options: {
    items: { type: 'string', description: 'new items, one JSON object per line ({"id", "title", "categories", ...})' },
    out: {
      type: 'string',
      description: 'write the index with the new items added here (atomically; may be <dir> itself to update it)',
    },
  },
  async run(args) {
    const dir = args.positionals[0];
    if (dir === undefined || args.positionals.length > 1) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', `expected one index directory, got ${args.positionals.length}`);
    }
    const items = readNewItems(req(args, 'items', 'index encode'));
    await expectKind(dir, 'index', 'semid index encode <index dir> --items <file>');
    const index = await loadIndex(dir);
    const { results, table } = await encodeNewItems(index, items);
    for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
    const placed = results.filter((r) => r.status === 'ok').length;
    log(`index encode: ${placed} of ${results.length} new items got a code`);
    const out = str(args, 'out');
    if (out !== undefined) {
      await writeExtendedIndex(index, table, out);
      log(`index encode: wrote the index with ${table.size} items to ${out}`);
    }
    return placed === results.filter((r) => r.status !== 'exists').length ? 0 : 1;
  },
};

/** `semid index embed`. */
export const indexEmbed: Command = {
  name: 'index embed',
  summary:
    'write item text embeddings (Universal Sentence Encoder, an ONNX text encoder, or TF-IDF + LSA) as .npy + id list, for any scheme\'s "embeddings" option',
  usage:
    'semid index embed --data <dir|synthetic> --out <file.npy> [--use | --onnx model.onnx --vocab vocab.txt] [--dim n] [--seed n]',
  options: {
    data: { type: 'string', description: 'dataset directory or synthetic spec' },
    out: { type: 'string', description: 'output .npy file; the item ids go to <out>.ids.txt' },
    onnx: {
      type: 'string',
      description: 'ONNX text encoder (input_ids [, attention_mask] -> token states [batch, T, d])',
    },
    vocab: { type: 'string', description: 'WordPiece vocab.txt of the ONNX encoder' },
    use: {
      type: 'boolean',
      description: 'the built-in Universal Sentence Encoder (512-d, what embeddings: "use" computes inside a build)',
    },
    'max-length': { type: 'string', description: 'ONNX: tokens per text (default 128)' },
    dim: { type: 'string', description: 'TF-IDF + LSA only: dimension (default 64)' },
    seed: { type: 'string', description: 'TF-IDF + LSA only: random seed of the SVD (default 42)' },
    ...DATA_OPTIONS,
  },
  async run(args) {
    const out = req(args, 'out', 'index embed');
    if (!out.endsWith('.npy')) throw new SemidError('SEMID_ERR_BAD_INPUT', `--out must end in .npy, got "${out}"`);
    const dataSpec = req(args, 'data', 'index embed');
    const dataOpts = loadOptions(dataFlags(args));
    const onnx = str(args, 'onnx');
    let data: Float32Array;
    let dim: number;
    if (args.values.use === true && onnx !== undefined) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', 'give either --use or --onnx, not both');
    }
    // options of another embedder would be silently ignored: refuse them
    const given = (o: string) => args.values[o] !== undefined;
    const encoder = args.values.use === true ? '--use' : onnx !== undefined ? '--onnx' : undefined;
    const lsaOnly = ['dim', 'seed'].filter(given);
    if (encoder !== undefined && lsaOnly.length > 0) {
      throw new SemidError(
        'SEMID_ERR_BAD_INPUT',
        `${lsaOnly.map((o) => `--${o}`).join(', ')} set(s) the TF-IDF + LSA embedder, not ${encoder}; drop it or drop ${encoder}`,
      );
    }
    if (onnx === undefined && given('max-length')) {
      throw new SemidError('SEMID_ERR_BAD_INPUT', '--max-length applies to --onnx only; drop it');
    }
    const split = await loadSplit(dataSpec, dataOpts);
    if (args.values.use === true) {
      const { USE_DIM, useEmbed } = await import('../indexer/features/use.js');
      data = await useEmbed(split.items, { log });
      dim = USE_DIM;
    } else if (onnx !== undefined) {
      const enc = await OnnxTextEncoder.load({
        model: onnx,
        vocab: req(args, 'vocab', 'index embed (with --onnx)'),
        maxLength: int(args, 'max-length', 128),
      });
      try {
        ({ data, dim } = await enc.embed(split.items));
      } finally {
        await enc.close();
      }
    } else {
      const v = TextVectorizer.fit(split.items, { dim: int(args, 'dim', 64) }, createRng(int(args, 'seed', 42)));
      data = v.embed(split.items);
      dim = v.dim;
    }
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, encodeNpy(data, split.items.length, dim));
    await writeFile(`${out}.ids.txt`, `${split.items.map((it) => it.id).join('\n')}\n`);
    log(`index embed: ${split.items.length} x ${dim} embeddings written to ${out} (ids in ${out}.ids.txt)`);
    return 0;
  },
};

/** Every `semid index` command. */
export const INDEX_COMMANDS: readonly Command[] = [indexBuild, indexInspect, indexImport, indexEncode, indexEmbed];
