/** Data flags on the commands that load data: --skip-bad and --columns through index build, train and eval. */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSynthetic, writeCommon } from '../../src/core/data/index.js';
import { cli } from '../helpers/cli.js';

let dir: string;
let data: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'semid-cli-input-'));
  data = join(dir, 'data');
  await writeCommon(data, generateSynthetic({ seed: 2, items: 40, users: 60, minLength: 4, maxLength: 8 }));
  appendFileSync(join(data, 'interactions.csv'), 'u-bad,item-x,not-a-time\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('data flags on every command that loads data', () => {
  it('index build fails on a bad row naming the line, and builds with --skip-bad', async () => {
    const failed = await cli(['index', 'build', '--scheme', 'random', '--data', data, '--out', join(dir, 'idx')]);
    expect(failed.code).toBe(2);
    expect(failed.err).toMatch(
      /SEMID_ERR_PARSE: .*interactions\.csv:\d+ \(line \d+\): expected a timestamp.*--skip-bad/,
    );
    const ok = await cli([
      'index',
      'build',
      '--scheme',
      'random',
      '--data',
      data,
      '--out',
      join(dir, 'idx'),
      '--skip-bad',
    ]);
    expect(ok.code).toBe(0);
  });

  it('train takes --skip-bad and prints a --json summary; eval re-reads the data with the recorded flags', async () => {
    const cfg = join(dir, 'model.json');
    writeFileSync(cfg, JSON.stringify({ dModel: 16, heads: 2, layers: 1, ffn: 16, batch: 16 }));
    const model = join(dir, 'model');
    const args = ['--index', join(dir, 'idx'), '--data', data, '--out', model, '--config', cfg];
    const t = await cli([
      'train',
      ...args,
      '--arch',
      'decoder',
      '--epochs',
      '1',
      '--workers',
      '0',
      '--skip-bad',
      '--json',
    ]);
    expect(t.code).toBe(0);
    const summary = JSON.parse(t.out);
    expect(summary).toMatchObject({ model, scheme: 'random', epochs: 1, bestEpoch: 1 });
    expect(typeof summary.bestValidNdcg10).toBe('number');
    const e = await cli(['eval', '--model', model, '--json']);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.out).examples).toBe(60);
  }, 120_000);

  it('--columns maps a header with other names on data stats', async () => {
    const mapped = join(dir, 'mapped');
    await writeCommon(mapped, generateSynthetic({ seed: 2, items: 40, users: 60, minLength: 4, maxLength: 8 }));
    const { readFileSync } = await import('node:fs');
    const csv = readFileSync(join(mapped, 'interactions.csv'), 'utf8').replace(
      /^user,item,timestamp/,
      'buyer\tsku\twhen',
    );
    writeFileSync(join(mapped, 'interactions.csv'), csv.replace(/,/g, '\t'));
    const plain = await cli(['data', 'stats', mapped, '--json']);
    expect(plain.code).toBe(2);
    expect(plain.err).toMatch(/no user or item column in the header.*--columns/);
    const r = await cli(['data', 'stats', mapped, '--json', '--columns', 'user=buyer,item=sku,time=when']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ users: 60, items: 40 });
  });
});
