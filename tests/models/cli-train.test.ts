import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandArgs } from '../../cli/command.js';
import { COMMANDS } from '../../cli/registry.js';
import { trainCommand } from '../../cli/train.js';
import { buildIndex } from '../../indexer/artifact.js';
import { readModelManifest } from '../../models/io.js';
import { FUSION_GRID } from '../../models/presets.js';
import { loadSplit } from '../../src/core/data/index.js';

const DATA = 'synthetic:items=40,users=60,minLength=4,maxLength=8';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'semid-cli-train-'));
  const split = await loadSplit(DATA);
  await buildIndex({ scheme: 'random', split, out: join(dir, 'index'), seed: 1 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('semid train', () => {
  it('is registered', () => {
    expect(COMMANDS.some((c) => c.name === 'train')).toBe(true);
  });

  it('trains on an index and writes a model whose manifest records config, index and data', async () => {
    const out = join(dir, 'model');
    const args = parseCommandArgs(trainCommand, [
      '--index',
      join(dir, 'index'),
      '--data',
      DATA,
      '--out',
      out,
      '--epochs',
      '1',
      '--workers',
      '0',
      '--valid-runtime',
      'tfjs',
      '--config',
      fileURLToPath(new URL('./fixtures/tiny.json', import.meta.url)),
    ]);
    if (args === 'help') throw new Error('unexpected help');
    expect(await trainCommand.run(args)).toBe(0);
    const m = await readModelManifest(out);
    expect(m.config.dModel).toBe(16);
    expect(m.config.epochs).toBe(1);
    expect(m.index).toBe(join(dir, 'index'));
    expect(m.training?.data).toBe(DATA);
    expect(typeof m.training?.bestValid).toBe('number');
  }, 30_000);

  it('reports every config problem at once', async () => {
    const args = parseCommandArgs(trainCommand, [
      '--index',
      join(dir, 'index'),
      '--data',
      DATA,
      '--out',
      join(dir, 'x'),
      '--arch',
      'rnn',
    ]);
    if (args === 'help') throw new Error('unexpected help');
    await expect(trainCommand.run(args)).rejects.toMatchObject({ code: 'SEMID_ERR_BAD_CONFIG' });
  });
});

describe('semid train --engine', () => {
  it('refuses an unknown engine before reading any data, naming the valid ones', async () => {
    const args = parseCommandArgs(trainCommand, [
      '--index',
      join(dir, 'index'),
      '--data',
      DATA,
      '--out',
      join(dir, 'e'),
      '--engine',
      'torch',
    ]);
    if (args === 'help') throw new Error('unexpected help');
    await expect(trainCommand.run(args)).rejects.toMatchObject({
      code: 'SEMID_ERR_BAD_INPUT',
      message: expect.stringContaining('onnx or tfjs'),
    });
  });
});

describe('semid train --arch item, then semid eval through both runtimes', () => {
  it('trains with hashed code embeddings, the unlikelihood term and the dense item head; onnx and tfjs evaluations agree on real items', async () => {
    const { cli } = await import('../helpers/cli.js');
    const { readFile, writeFile } = await import('node:fs/promises');
    const out = join(dir, 'item');
    const cfg = join(dir, 'item.json');
    await writeFile(
      cfg,
      JSON.stringify({
        dModel: 16,
        heads: 2,
        layers: 1,
        ffn: 16,
        batch: 16,
        codeBuckets: 31,
        unlikelihood: 1,
        dense: 1,
        denseRepeat: true,
      }),
    );
    const args = ['--index', join(dir, 'index'), '--data', DATA, '--out', out, '--config', cfg];
    const t = await cli(['train', ...args, '--arch', 'item', '--epochs', '2', '--workers', '0']);
    expect(t.code).toBe(0);
    const m = await readModelManifest(out);
    expect(m.config).toMatchObject({
      arch: 'item',
      codeBuckets: 31,
      unlikelihood: 1,
      dense: 1,
      denseRepeat: true,
    });
    // the fusion weight was chosen on valid: the best-scoring weight of the grid, recorded in the manifest
    const fusion = m.training?.fusion as { weight: number; scores: { weight: number; score: number }[] };
    expect(fusion.scores.map((s) => s.weight)).toEqual([...FUSION_GRID]);
    expect(m.config.denseFusion).toBe(fusion.weight);
    const bestScore = Math.max(...fusion.scores.map((s) => s.score));
    expect(fusion.scores.find((s) => s.weight === fusion.weight)?.score).toBe(bestScore);
    const recs = join(dir, 'item-recs.jsonl');
    const onnx = await cli(['eval', '--model', out, '--json', '--dump-recs', recs]);
    const tfjs = await cli(['eval', '--model', out, '--json', '--runtime', 'tfjs']);
    expect([onnx.code, tfjs.code]).toEqual([0, 0]);
    const [a, b] = [JSON.parse(onnx.out), JSON.parse(tfjs.out)];
    expect(a.runtime).toBe('onnx');
    for (const k of ['recall@10', 'ndcg@10', 'recall@20']) expect(b.metrics[k]).toBeCloseTo(a.metrics[k], 6);
    // the dense head's weight can be overridden at evaluation, the same way through both runtimes
    const fo = await cli(['eval', '--model', out, '--json', '--dense-fusion', '0.3']);
    const ft = await cli(['eval', '--model', out, '--json', '--dense-fusion', '0.3', '--runtime', 'tfjs']);
    expect([fo.code, ft.code]).toEqual([0, 0]);
    const [c, d] = [JSON.parse(fo.out), JSON.parse(ft.out)];
    expect(c.denseFusion).toBe('0.3');
    for (const k of ['recall@10', 'ndcg@10', 'recall@20']) expect(d.metrics[k]).toBeCloseTo(c.metrics[k], 6);
    const neg = await cli(['eval', '--model', out, '--dense-fusion=-1']);
    expect(neg.code).not.toBe(0);
    expect(neg.err).toMatch(/--dense-fusion must be a number >= 0/);
    const split = await loadSplit(DATA);
    const catalogue = new Set(split.items.map((i) => i.id));
    const lines = (await readFile(recs, 'utf8')).trim().split('\n');
    expect(lines.length).toBe(split.test.length);
    for (const l of lines) {
      const r = JSON.parse(l);
      expect(r.items.length).toBe(20);
      for (const item of r.items) expect(catalogue.has(item)).toBe(true);
    }
    // codeBuckets and the dense head need the item-level model
    const bad = await cli(['train', ...args, '--arch', 'decoder', '--epochs', '1']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/codeBuckets works with arch "item" only/);
    expect(bad.err).toMatch(/dense works with arch "item" only/);
  }, 90_000);
});

describe('semid train --sasrec, then semid eval on its artifact', () => {
  it('eval reproduces the test metrics train printed, and every dumped item is a catalogue item', async () => {
    const { cli } = await import('../helpers/cli.js');
    const { readFile, writeFile } = await import('node:fs/promises');
    const out = join(dir, 'sasrec');
    const cfg = join(dir, 'sasrec.json');
    await writeFile(cfg, JSON.stringify({ hidden: 16, blocks: 1, maxLen: 5, batch: 16, evalEvery: 1 }));
    const t = await cli(['train', '--sasrec', '--data', DATA, '--out', out, '--epochs', '2', '--config', cfg]);
    expect(t.code).toBe(0);
    const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8'));
    const recs = join(dir, 'sasrec-recs.jsonl');
    const e = await cli(['eval', '--model', out, '--json', '--dump-recs', recs]);
    expect(e.code).toBe(0);
    const r = JSON.parse(e.out);
    for (const k of ['recall@10', 'ndcg@10', 'recall@20']) expect(r.metrics[k]).toBeCloseTo(result.test[k], 6);
    const split = await loadSplit(DATA);
    const catalogue = new Set(split.items.map((i) => i.id));
    const lines = (await readFile(recs, 'utf8')).trim().split('\n');
    expect(lines.length).toBe(split.test.length);
    for (const l of lines) for (const item of JSON.parse(l).items) expect(catalogue.has(item)).toBe(true);
    const noCodes = await cli(['eval', '--model', out, '--invalid-rate']);
    expect(noCodes.code).not.toBe(0);
    expect(noCodes.err).toMatch(/--invalid-rate does not apply.*SASRec/);
    const noBeam = await cli(['eval', '--model', out, '--runtime', 'tfjs']);
    expect(noBeam.code).not.toBe(0);
    expect(noBeam.err).toMatch(/--runtime does not apply.*SASRec/);
    const bad = await cli(['eval', '--model', join(dir, 'nowhere')]);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/not found/);
  }, 60_000);
});
