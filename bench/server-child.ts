/**
 * The server process the server benchmarks talk to over loopback (started by bench/server-load.ts and
 * bench/server-fuzz.ts, or by hand). Prints one JSON line `{"url": ...}` on stdout once listening.
 *
 *   node --import tsx bench/server-child.ts --bundle <dir> [--runtime auto|onnx|tfjs]
 *     [--no-batching | --max-batch 32 --max-in-flight 1 --max-wait-ms 1]   (micro-batching, server/batcher.ts)
 *   node --import tsx bench/server-child.ts --fake [--index <index dir>] [--items 12101] [--levels 256,256,256,30] [--dim 64]
 *   node --import tsx bench/server-child.ts --make-bundle <out dir> --index <index dir>   (untrained default-size model + ONNX export)
 *
 * `--fake` serves a CostModel: logits = W^T h with W a seeded [dim x vocab] matrix and h derived from
 * the history and prefix, i.e. real CPU work of dim * vocab multiply-adds per row, over either a real
 * index's code table (`--index`) or random codes of the given level sizes.
 */
import { parseArgs } from 'node:util';
import { bundleLoader, type ServeRuntime } from '../cli/serve.js';
import { buildApp } from '../server/app.js';
import { BatchingDecoder, type BatchOptions } from '../server/batcher.js';
import type { LoadBundle } from '../server/bundle.js';
import { ModelDecoder } from '../server/decoder.js';
import { BundleRegistry } from '../server/registry.js';
import { CodeTable, TokenLayout } from '../src/core/codes.js';
import type { BeamRow, DecodingSession, GenerativeModel } from '../src/core/model.js';
import { createRng } from '../src/core/rng.js';
import type { Code } from '../src/core/types.js';

/** A GenerativeModel whose next() costs dim * vocab multiply-adds per row (seeded weights). */
export class CostModel implements GenerativeModel {
  readonly vocabSize: number;
  private readonly w: Float32Array;
  constructor(
    layout: TokenLayout,
    readonly dim: number,
    readonly maxHistory = 20,
    seed = 1,
  ) {
    this.vocabSize = layout.vocabSize;
    const rng = createRng(seed);
    this.w = new Float32Array(dim * this.vocabSize);
    for (let i = 0; i < this.w.length; i++) this.w[i] = rng.normal() * 0.5;
  }
  async begin(histories: readonly (readonly Code[])[]): Promise<DecodingSession> {
    const hs = histories.map((h) => hidden(this.dim, h.flat()));
    return {
      next: async (rows: readonly BeamRow[]) =>
        rows.map((r) => {
          const h = (hs[r.user] as Float32Array).slice();
          const p = hidden(this.dim, r.prefix);
          for (let i = 0; i < h.length; i++) h[i] = (h[i] as number) + (p[i] as number);
          const out = new Float32Array(this.vocabSize);
          for (let d = 0; d < this.dim; d++) {
            const hd = h[d] as number;
            const base = d * this.vocabSize;
            for (let t = 0; t < this.vocabSize; t++) out[t] = (out[t] as number) + hd * (this.w[base + t] as number);
          }
          return out;
        }),
      dispose() {},
    };
  }
  dispose(): void {}
}

function hidden(dim: number, xs: readonly number[]): Float32Array {
  const rng = createRng(xs.reduce((a, x) => (Math.imul(a, 31) + x) >>> 0, 17));
  return Float32Array.from({ length: dim }, () => rng.normal());
}

/** A fake bundle loader: CostModel over a real index's table or random codes. */
export function fakeLoader(opts: { index?: string; items: number; levels: number[]; dim: number }): LoadBundle {
  return async () => {
    let table: CodeTable;
    if (opts.index) {
      const { loadIndex } = await import('../indexer/artifact.js');
      table = (await loadIndex(opts.index, { encoder: false })).table;
    } else {
      const rng = createRng(7);
      const seen = new Set<string>();
      const entries: [string, number[]][] = [];
      while (entries.length < opts.items) {
        const code = opts.levels.map((s) => rng.int(s));
        const k = code.join(',');
        if (seen.has(k)) continue;
        seen.add(k);
        entries.push([`item${entries.length}`, code]);
      }
      table = new CodeTable(opts.levels, entries);
    }
    const model = new CostModel(new TokenLayout(table.levelSizes), opts.dim);
    return { table, decoder: new ModelDecoder(model, table.levelSizes), info: { model: `cost-model dim ${opts.dim}` } };
  };
}

/** Writes a bundle: `<out>/index` -> the given index (symlink), `<out>/model` an untrained default-size model + ONNX. */
async function makeBundle(out: string, index: string): Promise<void> {
  const { mkdir, symlink } = await import('node:fs/promises');
  const { join, resolve } = await import('node:path');
  const { initTf } = await import('../src/core/tf.js');
  await initTf();
  const { loadIndex } = await import('../indexer/artifact.js');
  const { resolveModelConfig } = await import('../models/config.js');
  const { saveModel } = await import('../models/io.js');
  const { CodeTransformer } = await import('../models/transformer.js');
  const { exportOnnx } = await import('../models/onnx/export.js');
  const { table } = await loadIndex(index, { encoder: false });
  await mkdir(out, { recursive: true });
  await symlink(resolve(index), join(out, 'index'));
  const model = CodeTransformer.create(resolveModelConfig({}), table.levelSizes);
  await saveModel(join(out, 'model'), model, { index: resolve(index) });
  model.dispose();
  await exportOnnx(join(out, 'model'));
  process.stdout.write(`${JSON.stringify({ bundle: out })}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      bundle: { type: 'string' },
      runtime: { type: 'string', default: 'auto' },
      fake: { type: 'boolean' },
      index: { type: 'string' },
      items: { type: 'string', default: '12101' },
      levels: { type: 'string', default: '256,256,256,30' },
      dim: { type: 'string', default: '64' },
      port: { type: 'string', default: '0' },
      'make-bundle': { type: 'string' },
      'no-batching': { type: 'boolean' },
      'max-batch': { type: 'string' },
      'max-in-flight': { type: 'string' },
      'max-wait-ms': { type: 'string' },
      'max-request-cost': { type: 'string' },
    },
  });
  if (values['make-bundle']) {
    if (!values.index) throw new Error('--make-bundle needs --index <index dir>');
    await makeBundle(values['make-bundle'], values.index);
    return;
  }
  const load: LoadBundle = values.fake
    ? fakeLoader({
        ...(values.index ? { index: values.index } : {}),
        items: Number(values.items),
        levels: (values.levels as string).split(',').map(Number),
        dim: Number(values.dim),
      })
    : bundleLoader(values.runtime as ServeRuntime);
  const dir = values.bundle ?? 'mem:fake';
  const batching: BatchOptions | false = values['no-batching']
    ? false
    : {
        ...(values['max-batch'] ? { maxBatch: Number(values['max-batch']) } : {}),
        ...(values['max-in-flight'] ? { maxInFlight: Number(values['max-in-flight']) } : {}),
        ...(values['max-wait-ms'] ? { maxWaitMs: Number(values['max-wait-ms']) } : {}),
      };
  const registry = await BundleRegistry.open([{ name: 'bench', dir }], load, { persist: false, batching });
  // Logs go to stderr: stdout carries the one JSON line the parent reads.
  const app = await buildApp({
    registry,
    apiKey: 'bench-key',
    logger: { level: 'warn', stream: process.stderr },
    ...(values['max-request-cost'] ? { maxRequestCost: Number(values['max-request-cost']) } : {}),
  });
  const url = await app.listen({ port: Number(values.port), host: '127.0.0.1' });
  const b = registry.bundles()[0];
  process.stdout.write(
    `${JSON.stringify({
      url,
      items: b?.catalogue.size,
      levelSizes: b?.catalogue.levelSizes,
      info: b?.info,
      maxHistory: b?.decoder.maxHistory,
      batching: b?.decoder instanceof BatchingDecoder ? b.decoder.options : false,
    })}\n`,
  );
  const stop = async () => {
    await app.close();
    await registry.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}
