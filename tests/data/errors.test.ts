import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type LoadDatasetOptions, loadDataset } from '../../src/core/data/index.js';
import { SemidError } from '../../src/core/errors.js';
import { fixtureDir, lines } from './fixtures.js';

const OK_ITEMS = lines('{"id": "a"}', '{"id": "b"}');
const OK_INTER = lines('user,item,timestamp', 'u,a,1', 'u,b,2');

/** Loads and returns the thrown error (fails the test when nothing is thrown). */
async function failure(dir: string, opts: LoadDatasetOptions = {}): Promise<SemidError> {
  const err = await loadDataset(dir, opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the load to fail').toBeInstanceOf(SemidError);
  return err as SemidError;
}

/** Asserts a SEMID_ERR_PARSE naming `file` (in `dir`), `line`, and matching `expected`. */
async function expectParseError(dir: string, file: string, line: number, expected: RegExp): Promise<void> {
  const err = await failure(dir);
  expect(err.code).toBe('SEMID_ERR_PARSE');
  expect(err.message).toContain(`${join(dir, file)}:${line}`);
  expect(err.message).toContain(`line ${line}`);
  expect(err.message).toMatch(expected);
  expect(err.details).toMatchObject({ file: join(dir, file), line });
}

describe('bad input: one clear error naming file, line and what was expected', () => {
  const cases: [string, Record<string, string | Uint8Array>, string, number, RegExp][] = [
    [
      'items.jsonl: invalid JSON',
      { 'items.jsonl': lines('{"id": "a"}', '{"id": "b",'), 'interactions.csv': OK_INTER },
      'items.jsonl',
      2,
      /expected a JSON object \{"id": string.*invalid JSON/,
    ],
    [
      'items.jsonl: no id',
      { 'items.jsonl': lines('{"title": "x"}'), 'interactions.csv': OK_INTER },
      'items.jsonl',
      1,
      /"id" = missing/,
    ],
    [
      'items.jsonl: categories not a list of strings',
      { 'items.jsonl': lines('{"id": "a"}', '{"id": "b", "categories": "Books"}'), 'interactions.csv': OK_INTER },
      'items.jsonl',
      2,
      /"categories" = /,
    ],
    [
      'items.jsonl: duplicate id',
      { 'items.jsonl': lines('{"id": "a"}', '{"id": "b"}', '{"id": "a"}'), 'interactions.csv': OK_INTER },
      'items.jsonl',
      3,
      /each item id once.*first on line 1/,
    ],
    [
      'interactions.csv: no header',
      { 'items.jsonl': OK_ITEMS, 'interactions.csv': lines('u,a,1') },
      'interactions.csv',
      1,
      /no user or item column in the header "u,a,1"\. Expected a header line naming the columns.*--columns/,
    ],
    [
      'interactions.csv: non-numeric timestamp',
      { 'items.jsonl': OK_ITEMS, 'interactions.csv': lines('user,item,timestamp', 'u,a,1', 'u,b,yesterday') },
      'interactions.csv',
      3,
      /expected a timestamp: a number or an ISO-8601 date\/time .*, got "yesterday"/,
    ],
    [
      'interactions.csv: wrong field count (gzipped)',
      { 'items.jsonl': OK_ITEMS, 'interactions.csv.gz': lines('user,item,timestamp', 'u,a') },
      'interactions.csv.gz',
      2,
      /expected 3 comma-separated fields/,
    ],
    [
      'u.data: missing timestamp',
      { 'u.data': lines('1\t2\t3\t4', '1\t2\t3') },
      'u.data',
      2,
      /user<TAB>item<TAB>rating<TAB>timestamp/,
    ],
    [
      'u.item: too few fields',
      { 'u.data': lines('1\t1\t3\t4'), 'u.item': lines('1|Toy Story|x') },
      'u.item',
      1,
      /24 fields.*got 3 fields/,
    ],
    [
      'ratings.dat: bad row',
      { 'ratings.dat': lines('1::2::3::4', '1::2::x::') },
      'ratings.dat',
      2,
      /UserID::MovieID::Rating::Timestamp/,
    ],
    [
      'movies.dat: bad row',
      { 'ratings.dat': lines('1::2::3::4'), 'movies.dat': lines('2::Title') },
      'movies.dat',
      1,
      /MovieID::Title::Genres/,
    ],
    [
      'RecBole: header without types',
      { 'x.inter': lines('user_id\titem_id', 'a\tb') },
      'x.inter',
      1,
      /name:type columns/,
    ],
    [
      'RecBole: row with the wrong field count',
      { 'x.inter': lines('user_id:token\titem_id:token\ttimestamp:float', 'a\tb\t1', 'a\tb') },
      'x.inter',
      3,
      /3 tab-separated fields/,
    ],
    [
      'RecBole: bad timestamp',
      { 'x.inter': lines('user_id:token\titem_id:token\ttimestamp:float', 'a\tb\tnow') },
      'x.inter',
      2,
      /numeric or ISO-8601 timestamp/,
    ],
    [
      'RecBole .item: duplicate id',
      { 'x.inter': lines('user_id:token\titem_id:token', 'a\tb'), 'x.item': lines('item_id:token', 'b', 'b') },
      'x.item',
      3,
      /each item id once/,
    ],
    [
      'Amazon reviews: invalid JSON',
      { 'reviews_X_5.json': lines('{"reviewerID": "A", "asin": "B", "unixReviewTime": 1}', '{"reviewerID": ') },
      'reviews_X_5.json',
      2,
      /"reviewerID" \(string\), "asin" \(string\) and "unixReviewTime"/,
    ],
    [
      'Amazon reviews: no unixReviewTime',
      { 'reviews_X_5.json': lines('{"reviewerID": "A", "asin": "B"}') },
      'reviews_X_5.json',
      1,
      /unixReviewTime=missing/,
    ],
    [
      'Amazon metadata: broken Python literal',
      {
        'reviews_X_5.json': lines('{"reviewerID": "A", "asin": "B", "unixReviewTime": 1}'),
        'meta_X.json': lines("{'asin': 'B', 'title': 'unterminated}"),
      },
      'meta_X.json',
      1,
      /metadata object.*unparseable line \(expected a closing '/,
    ],
  ];
  for (const [what, files, file, line, expected] of cases) {
    it(what, async () => {
      await expectParseError(fixtureDir(files), file, line, expected);
    });
  }

  it('a corrupt .gz file is a parse error naming the file', async () => {
    const dir = fixtureDir({
      'items.jsonl': OK_ITEMS,
      'interactions.csv.gz': new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]),
    });
    const err = await failure(dir);
    expect(err.code).toBe('SEMID_ERR_PARSE');
    expect(err.message).toContain('interactions.csv.gz');
    expect(err.message).toMatch(/gzip/);
  });
});

describe('skipBad: bad rows are counted and described, good rows kept', () => {
  it('counts every bad row, describes the first five, and summarises the rest', async () => {
    const bad = Array.from({ length: 7 }, (_, i) => `u,a,bad${i}`);
    const dir = fixtureDir({
      'items.jsonl': lines('{"id": "a"}', 'not json', '{"id": "b"}'),
      'interactions.csv': lines('user,item,timestamp', 'u,a,1', ...bad, 'u,b,2', 'u'),
    });
    const ds = await loadDataset(dir, { skipBad: true });
    expect(ds.items.map((i) => i.id)).toEqual(['a', 'b']);
    expect(ds.interactions.map((i) => i.item)).toEqual(['a', 'b']);
    expect(ds.report.badRows).toBe(9);
    const described = ds.report.warnings.filter((w) => w.startsWith('skipped bad row'));
    expect(described).toHaveLength(5);
    expect(described[0]).toContain(`${join(dir, 'items.jsonl')}:2`);
    expect(described[1]).toContain(`${join(dir, 'interactions.csv')}:3`);
    expect(ds.report.warnings).toContain('... and 4 more bad rows skipped (9 in total)');
  });

  it('works the same for the other loaders (Amazon metadata, RecBole)', async () => {
    const amazon = fixtureDir({
      'reviews_X_5.json': lines(
        '{"reviewerID": "A", "asin": "B", "unixReviewTime": 1}',
        '{oops',
        '{"reviewerID": "A"}',
      ),
      'meta_X.json': lines("{'asin': 'B', 'title': 'T'}", "{'asin': 'B' 'title'}"),
    });
    const a = await loadDataset(amazon, { skipBad: true });
    expect(a.report.badRows).toBe(3);
    expect(a.items).toEqual([{ id: 'B', title: 'T' }]);
    const recbole = fixtureDir({
      'r.inter': lines('user_id:token\titem_id:token\ttimestamp:float', 'a\tb\t1', 'a\tb\tx', 'z'),
    });
    const r = await loadDataset(recbole, { skipBad: true });
    expect(r.report.badRows).toBe(2);
    expect(r.interactions).toHaveLength(1);
  });

  it('a header problem is not a row: it fails even with skipBad', async () => {
    const dir = fixtureDir({ 'items.jsonl': OK_ITEMS, 'interactions.csv': lines('a,b,c', 'u,a,1') });
    const err = await failure(dir, { skipBad: true });
    expect(err.code).toBe('SEMID_ERR_PARSE');
  });
});
