/** The CLI's usage errors, suggestions, --version, artifact-kind checks and scheme help, run in-process. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closest, editDistance } from '../../cli/suggest.js';
import { buildIndex } from '../../indexer/artifact.js';
import { loadSplit } from '../../src/core/data/index.js';
import { cli } from '../helpers/cli.js';

const DATA = 'synthetic:items=40,users=60,minLength=4,maxLength=8';
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'semid-cli-usage-'));
  await buildIndex({ scheme: 'random', split: await loadSplit(DATA), out: join(dir, 'index'), seed: 1 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The one error line of a failed run: `semid <command>: error CODE: message`. */
function errorLine(err: string): string {
  const ls = err.trim().split('\n');
  expect(ls).toHaveLength(1);
  return ls[0] as string;
}

describe('suggestions', () => {
  it('edit distance counts a swap of neighbours once (hand-computed)', () => {
    expect(editDistance('biuld', 'build')).toBe(1);
    expect(editDistance('sede', 'seed')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(closest('rq-kmeans', ['rqvae', 'rqkmeans'])).toBe('rqkmeans');
    expect(closest('zzzz', ['train', 'eval'])).toBeUndefined();
  });

  it('unknown command: one error line with a suggestion, exit 2', async () => {
    const r = await cli(['trian']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(errorLine(r.err)).toBe(
      'semid: error SEMID_ERR_BAD_INPUT: unknown command "trian". Did you mean "semid train"? Run `semid --help` for the list.',
    );
  });

  it('unknown subcommand: an error line naming the closest one, not the group help', async () => {
    const r = await cli(['index', 'biuld', '--scheme', 'random']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(errorLine(r.err)).toMatch(
      /^semid index: error SEMID_ERR_BAD_INPUT: unknown subcommand "biuld"\. Did you mean "semid index build"\? Subcommands: build, inspect/,
    );
    const help = await cli(['index']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('index build');
  });

  it('unknown option: the closest option and the list', async () => {
    const r = await cli(['index', 'build', '--scheme', 'random', '--sede', '3']);
    expect(r.code).toBe(2);
    expect(errorLine(r.err)).toMatch(
      /^semid index build: error SEMID_ERR_BAD_INPUT: unknown option --sede\. Did you mean --seed\? Valid options: --scheme/,
    );
    const missing = await cli(['index', 'build', '--seed']);
    expect(errorLine(missing.err)).toMatch(/--seed needs a value/);
  });

  it('unknown scheme: the closest scheme, checked before the data is read', async () => {
    const r = await cli([
      'index',
      'build',
      '--scheme',
      'rq-kmeans',
      '--data',
      join(dir, 'no-such-data'),
      '--out',
      join(dir, 'x'),
    ]);
    expect(r.code).toBe(2);
    expect(errorLine(r.err)).toMatch(
      /^semid index build: error SEMID_ERR_UNKNOWN_SCHEME: unknown scheme "rq-kmeans"\. Did you mean "rqkmeans"\? Valid schemes:/,
    );
    const c = await cli([
      'compare',
      '--data',
      join(dir, 'no-such-data'),
      '--schemes',
      'random,letterr',
      '--out',
      join(dir, 'y'),
    ]);
    expect(c.code).toBe(2);
    expect(errorLine(c.err)).toMatch(/unknown scheme "letterr"\. Did you mean "letter"\?/);
  });

  it('bad config and flags are reported before the data is read', async () => {
    const cfg = join(dir, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ levels: 0 }));
    const missing = join(dir, 'no-such-data');
    const r = await cli([
      'index',
      'build',
      '--scheme',
      'rqkmeans',
      '--data',
      missing,
      '--out',
      join(dir, 'x'),
      '--config',
      cfg,
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^semid index build: error SEMID_ERR_BAD_CONFIG: rqkmeans config has 1 problem.*levels must be >= 1/s,
    );
    const cols = await cli([
      'index',
      'build',
      '--scheme',
      'random',
      '--data',
      missing,
      '--out',
      join(dir, 'x'),
      '--columns',
      'who=u',
    ]);
    expect(errorLine(cols.err)).toMatch(/SEMID_ERR_BAD_INPUT: --columns: expected role=header pairs/);
    const ks = await cli(['eval', '--baseline', 'most-popular', '--data', missing, '--ks', '0']);
    expect(errorLine(ks.err)).toMatch(/--ks must be comma-separated positive integers/);
  });

  it('one error prefix: a required flag names itself once', async () => {
    const r = await cli(['index', 'build', '--scheme', 'random', '--data', DATA]);
    expect(r.code).toBe(2);
    expect(errorLine(r.err)).toBe(
      'semid index build: error SEMID_ERR_BAD_INPUT: --out is required; see `semid index build --help`',
    );
  });
});

describe('--version and help', () => {
  it('prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as {
      version: string;
    };
    for (const flag of ['--version', '-v']) {
      const r = await cli([flag]);
      expect(r.code).toBe(0);
      expect(r.out).toBe(`semid ${pkg.version}\n`);
    }
  });

  it("index build --scheme X --help lists the scheme's config fields with defaults", async () => {
    const r = await cli(['index', 'build', '--scheme', 'rqkmeans', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Scheme rqkmeans: residual k-means');
    // one row per field: name, kind (and bounds, when the scheme documents them), default, meaning
    expect(r.out).toMatch(/^ {2}levels +\S+(?: \S+)? +3\b/m);
    expect(r.out).toMatch(/^ {2}size +\S+(?: \S+)? +256\b/m);
    expect(r.out).toMatch(/^ {2}collisions +\S+ +"dedup-level"/m);
    const plain = await cli(['index', 'build', '--help']);
    expect(plain.out).toContain('semid index build --scheme <name> --help');
    const bad = await cli(['index', 'build', '--scheme', 'rqkmean', '--help']);
    expect(bad.code).toBe(2);
    expect(errorLine(bad.err)).toMatch(/Did you mean "rqkmeans"\?/);
  });
});

describe('artifact kinds', () => {
  it('eval --model <an index dir> says it is an index and what to pass', async () => {
    const r = await cli(['eval', '--model', join(dir, 'index')]);
    expect(r.code).toBe(2);
    expect(errorLine(r.err)).toMatch(
      /SEMID_ERR_BAD_INPUT: .*index is an index \(made by `semid index build`\), not a model\. Pass a model directory \(made by `semid train`\); an index goes to --index/,
    );
  });

  it('train --index <a dataset dir> says it is a dataset', async () => {
    const data = mkdtempSync(join(tmpdir(), 'semid-cli-usage-data-'));
    writeFileSync(join(data, 'interactions.csv'), 'user,item,timestamp\nu,a,1\n');
    const r = await cli(['train', '--index', data, '--data', data, '--out', join(dir, 'm')]);
    rmSync(data, { recursive: true, force: true });
    expect(r.code).toBe(2);
    expect(errorLine(r.err)).toMatch(/is a dataset \(pass it as --data\), not an index/);
  });
});
