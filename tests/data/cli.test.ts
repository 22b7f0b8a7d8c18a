import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSynthetic, loadDataset } from '../../src/core/data/index.js';
import { cli as runCli } from '../helpers/cli.js';
import { fixtureDir, lines, tempPath } from './fixtures.js';

/** Runs the CLI in-process (tests/helpers/cli.ts), capturing stdout and stderr. */
const cli = (...argv: string[]) => runCli(argv);

const ITEMS = lines('{"id": "a", "title": "A"}', '{"id": "b"}', '{"id": "c"}');
const INTER = lines('user,item,timestamp', 'u1,a,1', 'u1,b,2', 'u1,c,3', 'u2,a,1', 'u2,c,2', 'u2,b,3', 'u2,zz,4');

describe('semid data stats', () => {
  it('--json prints one JSON object with the counts and split sizes', async () => {
    const dir = fixtureDir({ 'items.jsonl': ITEMS, 'interactions.csv': INTER });
    const { code, out } = await cli('data', 'stats', dir, '--json');
    expect(code).toBe(0);
    expect(out.trim().split('\n')).toHaveLength(1);
    const s = JSON.parse(out);
    expect(s).toMatchObject({ users: 2, items: 3, interactions: 6, split: { train: 0, valid: 2, test: 2 } });
    expect(s.report.unknownItemInteractions).toBe(1);
  });

  it('prints a table by default, with warnings', async () => {
    const dir = fixtureDir({ 'items.jsonl': ITEMS, 'interactions.csv': INTER });
    const { code, out } = await cli('data', 'stats', dir);
    expect(code).toBe(0);
    expect(out).toMatch(/^users +2$/m);
    expect(out).toMatch(/^split \(leave-one-out\) +train 0 \/ valid 2 \/ test 2 examples/m);
    expect(out).toMatch(/^warning: 1 interactions name 1 items/m);
  });

  it('bad rows: exit 2 with file and line; --skip-bad counts them; --kcore filters', async () => {
    const dir = fixtureDir({ 'items.jsonl': ITEMS, 'interactions.csv': `${INTER}u3,a,soon\n` });
    const failed = await cli('data', 'stats', dir, '--json');
    expect(failed.code).toBe(2);
    expect(failed.out).toBe('');
    expect(failed.err).toContain(`SEMID_ERR_PARSE: ${join(dir, 'interactions.csv')}:9 (line 9)`);
    const skipped = await cli('data', 'stats', dir, '--json', '--skip-bad', '--kcore', '2');
    expect(skipped.code).toBe(0);
    const s = JSON.parse(skipped.out);
    expect(s.report.badRows).toBe(1);
    expect(s).toMatchObject({ users: 2, items: 3, interactions: 6 });
  });

  it('takes synthetic specs', async () => {
    const { code, out } = await cli('data', 'stats', 'synthetic:seed=1,items=100,users=40', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ users: 40, items: 100, split: { valid: 40, test: 40 } });
  });
});

describe('semid data synth', () => {
  it('writes the common format that loads back to the same dataset, and may rewrite its own output', async () => {
    const out = tempPath('synth');
    expect((await cli('data', 'synth', '--out', out, '--seed', '5', '--items', '120', '--users', '30')).code).toBe(0);
    const back = await loadDataset(out);
    const gen = generateSynthetic({ seed: 5, items: 120, users: 30 });
    expect(back.items).toEqual(gen.items);
    expect(back.interactions).toEqual(gen.interactions);
    expect(readFileSync(join(out, 'SOURCE.md'), 'utf8')).toMatch(/--seed 5 --items 120 --users 30/);
    expect((await cli('data', 'synth', '--out', out, '--seed', '6', '--items', '120', '--users', '30')).code).toBe(0);
    expect(existsSync(join(out, 'items.jsonl'))).toBe(true);
  });

  it('will not replace a foreign folder without --force', async () => {
    const dir = fixtureDir({ 'thesis.tex': 'precious' });
    const r = await cli('data', 'synth', '--out', dir, '--items', '100', '--users', '10');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/SEMID_ERR_CONFLICT/);
    expect(readFileSync(join(dir, 'thesis.tex'), 'utf8')).toBe('precious');
  });
});

describe('semid data download', () => {
  it('an unknown name fails before any network use, listing valid names', async () => {
    const r = await cli('data', 'download', 'netflix', '--out', tempPath('n'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown dataset "netflix"; expected one of: ml-100k, ml-1m/);
  });

  it('is listed with --help', async () => {
    const r = await cli('data', 'download', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--out/);
  });
});
