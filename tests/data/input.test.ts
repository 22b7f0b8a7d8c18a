/** Input rules of the data layer: header aliases, times, separators and quoting, column maps, pre-split data, detection. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectFormat, loadDataset, loadSplit } from '../../src/core/data/index.js';
import { parseColumns, parseTimestamp } from '../../src/core/data/table.js';
import { SemidError } from '../../src/core/errors.js';
import { fixtureDir, lines } from './fixtures.js';

const ITEMS = lines('{"id": "a", "title": "A"}', '{"id": "b"}', '{"id": "c"}', '{"id": "d"}');

describe('interaction tables', () => {
  it('reads the header user_id,item_id,timestamp and the userId/itemId/ts aliases', async () => {
    for (const header of [
      'user_id,item_id,timestamp',
      'userId,itemId,ts',
      'USER,Item,time',
      'user,item,rating,timestamp',
    ]) {
      const rating = header.includes('rating');
      const row = (u: string, i: string, t: number) => (rating ? `${u},${i},5,${t}` : `${u},${i},${t}`);
      const dir = fixtureDir({
        'items.jsonl': ITEMS,
        'interactions.csv': lines(header, row('u1', 'b', 2), row('u1', 'a', 1)),
      });
      const ds = await loadDataset(dir);
      expect(ds.interactions).toEqual([
        { user: 'u1', item: 'b', timestamp: 2 },
        { user: 'u1', item: 'a', timestamp: 1 },
      ]);
    }
  });

  it('ISO-8601 dates and date-times become Unix seconds (no offset = UTC)', async () => {
    expect(parseTimestamp('1700000000')).toBe(1700000000);
    expect(parseTimestamp('2024-03-01')).toBe(1709251200);
    expect(parseTimestamp('2024-03-01T10:20:30Z')).toBe(1709251200 + 10 * 3600 + 20 * 60 + 30);
    expect(parseTimestamp('2024-03-01 10:20:30')).toBe(1709251200 + 10 * 3600 + 20 * 60 + 30);
    expect(parseTimestamp('2024-03-01T12:00:00+02:00')).toBe(1709251200 + 10 * 3600);
    expect(parseTimestamp('yesterday')).toBeUndefined();
    expect(parseTimestamp('03/01/2024')).toBeUndefined();
    const dir = fixtureDir({
      'items.jsonl': ITEMS,
      'interactions.csv': lines('user,item,time', 'u,c,2024-03-02T00:00:00Z', 'u,a,2024-03-01', 'u,b,2024-03-01 12:00'),
    });
    const split = await loadSplit(dir);
    expect(split.sequences).toEqual([['a', 'b', 'c']]);
  });

  it('reads tab-separated files and quoted fields holding the separator or a quote', async () => {
    const dir = fixtureDir({
      'items.jsonl': lines('{"id": "a,1"}', '{"id": "b\\"x"}', '{"id": "c"}'),
      'interactions.tsv': lines('user_id\titem_id\ttimestamp', 'u\ta,1\t1', 'u\t"b""x"\t2', 'u\tc\t3'),
    });
    expect(await detectFormat(dir)).toBe('common');
    const ds = await loadDataset(dir);
    expect(ds.interactions.map((i) => i.item)).toEqual(['a,1', 'b"x', 'c']);
    const csv = fixtureDir({
      'items.jsonl': lines('{"id": "a,1"}', '{"id": "c"}'),
      'interactions.csv': lines('user,item,timestamp', 'u,"a,1",1', '"u",c,2'),
    });
    expect((await loadDataset(csv)).interactions.map((i) => i.item)).toEqual(['a,1', 'c']);
  });

  it('an unclosed quote is a bad row naming the line; skipBad counts it', async () => {
    const files = {
      'items.jsonl': ITEMS,
      'interactions.csv': lines('user,item,timestamp', 'u,a,1', 'u,"b,2', 'u,c,3'),
    };
    const err = await loadDataset(fixtureDir(files)).catch((e) => e);
    expect(err).toBeInstanceOf(SemidError);
    expect(err.code).toBe('SEMID_ERR_PARSE');
    expect(err.message).toMatch(/interactions\.csv:\d+ .*balanced quotes.*--skip-bad/);
    const skipped = await loadDataset(fixtureDir(files), { skipBad: true });
    expect(skipped.report.badRows).toBeGreaterThanOrEqual(1);
    expect(skipped.interactions[0]).toEqual({ user: 'u', item: 'a', timestamp: 1 });
  });

  it('a column map names the columns of any header; a wrong name is an error naming the header', async () => {
    expect(parseColumns('user=customer, item=sku,time=when')).toEqual({ user: 'customer', item: 'sku', time: 'when' });
    expect(() => parseColumns('buyer=customer')).toThrow(/roles user, item, time/);
    const dir = fixtureDir({
      'items.jsonl': ITEMS,
      'interactions.csv': lines('customer,sku,when,user', 'c1,a,5,x', 'c1,b,6,x'),
    });
    const ds = await loadDataset(dir, { columns: parseColumns('user=customer,item=sku,time=when') });
    expect(ds.interactions).toEqual([
      { user: 'c1', item: 'a', timestamp: 5 },
      { user: 'c1', item: 'b', timestamp: 6 },
    ]);
    await expect(loadDataset(dir, { columns: { item: 'product' } })).rejects.toThrow(
      /--columns names "product" for item, but the header has "customer", "sku", "when", "user"/,
    );
  });

  it('a header without user and item columns says what it expected and how to map', async () => {
    const dir = fixtureDir({ 'interactions.csv': lines('customer,sku', 'c,a') });
    await expect(loadDataset(dir)).rejects.toThrow(
      /no user or item column in the header "customer,sku".*user_id,item_id,timestamp.*--columns/,
    );
  });

  it('without a time column the file order is the order, with a warning', async () => {
    const dir = fixtureDir({ 'items.jsonl': ITEMS, 'interactions.csv': lines('user,item', 'u,c', 'u,a', 'u,b') });
    const split = await loadSplit(dir);
    expect(split.sequences).toEqual([['c', 'a', 'b']]);
    expect(split.report.warnings.some((w) => w.includes('no time column'))).toBe(true);
  });

  it('a single .csv path is a dataset without item text', async () => {
    const dir = fixtureDir({ 'my-log.csv': lines('user_id,item_id,timestamp', 'u,a,1', 'u,b,2') });
    const ds = await loadDataset(join(dir, 'my-log.csv'));
    expect(ds.name).toBe('my-log');
    expect(ds.items.map((i) => i.id)).toEqual(['a', 'b']);
  });
});

describe('pre-split datasets', () => {
  it('train/valid/test tables are used as given: history of valid = train, of test = train + valid', async () => {
    const dir = fixtureDir({
      'items.jsonl': ITEMS,
      'train.csv': lines('user,item,timestamp', 'u1,a,1', 'u1,b,2', 'u2,c,1', 'u2,a,2'),
      'valid.csv': lines('user,item,timestamp', 'u1,c,3', 'u2,d,3'),
      'test.csv': lines('user,item,timestamp', 'u1,d,4', 'u2,b,4', 'u2,c,5'),
    });
    expect(await detectFormat(dir)).toBe('common');
    const split = await loadSplit(dir);
    expect(split.presplit).toBe(true);
    expect(split.trainSequences).toEqual([
      ['a', 'b'],
      ['c', 'a'],
    ]);
    expect(split.train).toEqual([
      { user: 'u1', history: ['a'], target: 'b' },
      { user: 'u2', history: ['c'], target: 'a' },
    ]);
    expect(split.valid).toEqual([
      { user: 'u1', history: ['a', 'b'], target: 'c' },
      { user: 'u2', history: ['c', 'a'], target: 'd' },
    ]);
    expect(split.test).toEqual([
      { user: 'u1', history: ['a', 'b', 'c'], target: 'd' },
      { user: 'u2', history: ['c', 'a', 'd'], target: 'b' },
      { user: 'u2', history: ['c', 'a', 'd', 'b'], target: 'c' },
    ]);
  });

  it('the split wins over timestamps: a test row dated before train rows still comes last', async () => {
    const dir = fixtureDir({
      'train.csv': lines('user,item,timestamp', 'u,a,10', 'u,b,11'),
      'test.csv': lines('user,item,timestamp', 'u,c,1'),
    });
    const split = await loadSplit(dir);
    expect(split.test).toEqual([{ user: 'u', history: ['a', 'b'], target: 'c' }]);
    expect(split.valid).toEqual([]);
    expect(split.report.warnings.some((w) => w.includes('no valid split file'))).toBe(true);
  });

  it('RecBole benchmark files <name>.train/.valid/.test.inter are read as a split', async () => {
    const head = 'user_id:token\titem_id:token\ttimestamp:float';
    const dir = fixtureDir({
      'bench.train.inter': lines(head, 'u\ta\t1', 'u\tb\t2'),
      'bench.valid.inter': lines(head, 'u\tc\t3'),
      'bench.test.inter': lines(head, 'u\td\t4'),
    });
    expect(await detectFormat(dir)).toBe('recbole');
    const split = await loadSplit(dir);
    expect(split.name).toBe('bench');
    expect(split.valid).toEqual([{ user: 'u', history: ['a', 'b'], target: 'c' }]);
    expect(split.test).toEqual([{ user: 'u', history: ['a', 'b', 'c'], target: 'd' }]);
  });
});

describe('format detection', () => {
  it('a folder with only items.jsonl names the file, what it is, and the layouts expected', async () => {
    const dir = fixtureDir({ 'items.jsonl': ITEMS, 'notes.md': 'hi' });
    const err = await detectFormat(dir).catch((e) => e);
    expect(err.code).toBe('SEMID_ERR_BAD_INPUT');
    expect(err.message).toContain(
      'items.jsonl (an item catalogue: the common format needs interactions.csv beside it)',
    );
    expect(err.message).toContain('notes.md (not a recognised file)');
    expect(err.message).toMatch(/Expected one of: common: interactions\.csv.*RecBole.*MovieLens.*Amazon/);
    expect(err.message).not.toMatch(/reviewerID"\)? \(string\)/);
  });
});
