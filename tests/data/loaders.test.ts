import { describe, expect, it } from 'vitest';
import { detectFormat, loadDataset } from '../../src/core/data/index.js';
import { SemidError } from '../../src/core/errors.js';
import { fixtureDir, lines } from './fixtures.js';

const COMMON_ITEMS = lines(
  '{"id": "a", "title": "Apple", "categories": ["Fruit", "Red"]}',
  '{"id": "b", "title": "Banana", "brand": "Chiquita"}',
  '',
  '{"id": "c", "description": "Cherry", "title": ""}',
);
const COMMON_INTER = lines('user,item,timestamp', 'u1,a,10', 'u1,b,5', 'u2,c,1', 'u2,z,2', 'u3,z,3', 'u3,y,4');

describe('common format', () => {
  it('reads items.jsonl + interactions.csv and counts interactions with unknown items', async () => {
    const dir = fixtureDir({ 'items.jsonl': COMMON_ITEMS, 'interactions.csv': COMMON_INTER });
    expect(await detectFormat(dir)).toBe('common');
    const ds = await loadDataset(dir, { name: 'tiny' });
    expect(ds.name).toBe('tiny');
    expect(ds.items).toEqual([
      { id: 'a', title: 'Apple', categories: ['Fruit', 'Red'] },
      { id: 'b', title: 'Banana', brand: 'Chiquita' },
      { id: 'c', description: 'Cherry' },
    ]);
    expect(ds.interactions).toEqual([
      { user: 'u1', item: 'a', timestamp: 10 },
      { user: 'u1', item: 'b', timestamp: 5 },
      { user: 'u2', item: 'c', timestamp: 1 },
    ]);
    expect(ds.report.unknownItemInteractions).toBe(3);
    expect(ds.report.unknownItems).toBe(2);
    expect(ds.report.warnings.join('\n')).toMatch(/3 interactions name 2 items that are not in items\.jsonl.*"z", "y"/);
  });

  it('reads gzipped files, CRLF line ends, a BOM, quoted CSV fields and extra columns', async () => {
    const dir = fixtureDir({
      'items.jsonl.gz': '\ufeff{"id": "a,1"}\r\n{"id": 7, "title": "Seven"}\r\n',
      'interactions.csv.gz': 'rating,timestamp,item,user\r\n5,3,"a,1",u1\r\n4,1.5,7,"u ""2"""\r\n',
    });
    const ds = await loadDataset(dir);
    expect(ds.items).toEqual([{ id: 'a,1' }, { id: '7', title: 'Seven' }]);
    expect(ds.interactions).toEqual([
      { user: 'u1', item: 'a,1', timestamp: 3 },
      { user: 'u "2"', item: '7', timestamp: 1.5 },
    ]);
  });

  it('builds the catalogue from interaction ids when items.jsonl is missing, and says so', async () => {
    const dir = fixtureDir({ 'interactions.csv': lines('user,item,timestamp', 'u1,x,1', 'u2,y,1', 'u2,x,2') });
    const ds = await loadDataset(dir);
    expect(ds.items).toEqual([{ id: 'x' }, { id: 'y' }]);
    expect(ds.report.warnings[0]).toMatch(/no item file/);
  });
});

/** One u.item row: id|title|date|video date|url|19 genre flags with the given genres set. */
function uItem(id: number, title: string, genres: number[]): string {
  const flags = Array.from({ length: 19 }, (_, g) => (genres.includes(g) ? '1' : '0'));
  return [String(id), title, '01-Jan-1995', '', 'http://example.org', ...flags].join('|');
}

describe('MovieLens', () => {
  it('ml-100k: u.data (gzipped) + Latin-1 u.item with genre flags', async () => {
    const uitem = Buffer.from(
      lines(uItem(1, 'Toy Story (1995)', [3, 4, 5]), uItem(2, 'Misérables, Les (1995)', [8])),
      'latin1',
    );
    const dir = fixtureDir({
      'u.data.gz': lines('2\t1\t3\t881250949', '1\t2\t5\t874965758', '1\t1\t4\t876893171', '1\t3\t4\t876893172'),
      'u.item': uitem,
    });
    expect(await detectFormat(dir)).toBe('movielens');
    const ds = await loadDataset(dir);
    expect(ds.items).toEqual([
      { id: '1', title: 'Toy Story (1995)', categories: ['Animation', "Children's", 'Comedy'] },
      { id: '2', title: 'Misérables, Les (1995)', categories: ['Drama'] },
    ]);
    expect(ds.interactions).toEqual([
      { user: '2', item: '1', timestamp: 881250949 },
      { user: '1', item: '2', timestamp: 874965758 },
      { user: '1', item: '1', timestamp: 876893171 },
    ]);
    expect(ds.report.unknownItemInteractions).toBe(1);
  });

  it('ml-100k: genre names come from u.genre when present', async () => {
    const genres = lines(...Array.from({ length: 19 }, (_, g) => `G${g}|${g}`), '');
    const dir = fixtureDir({
      'u.data': lines('1\t1\t3\t5'),
      'u.item': lines(uItem(1, 'X', [0, 18])),
      'u.genre': genres,
    });
    const ds = await loadDataset(dir);
    expect(ds.items[0]?.categories).toEqual(['G0', 'G18']);
  });

  it('ml-1m: ratings.dat + movies.dat with "::", Latin-1 and UTF-8 titles', async () => {
    const movies = Buffer.concat([
      Buffer.from('1193::Cité des enfants perdus, La (1995)::Adventure|Sci-Fi\n', 'latin1'),
      Buffer.from('2::Amélie (2001)::Comedy|Romance\n', 'utf8'),
    ]);
    const dir = fixtureDir({
      'ratings.dat': lines('1::1193::5::978300760', '1::2::3::978302109'),
      'movies.dat': movies,
    });
    expect(await detectFormat(dir)).toBe('movielens');
    const ds = await loadDataset(dir);
    expect(ds.items).toEqual([
      { id: '1193', title: 'Cité des enfants perdus, La (1995)', categories: ['Adventure', 'Sci-Fi'] },
      { id: '2', title: 'Amélie (2001)', categories: ['Comedy', 'Romance'] },
    ]);
    expect(ds.interactions.map((i) => i.item)).toEqual(['1193', '2']);
  });

  it('ml-latest: ratings.csv + movies.csv with quoted titles', async () => {
    const dir = fixtureDir({
      'ratings.csv': lines('userId,movieId,rating,timestamp', '1,11,4.0,964982703', '1,12,3.5,964981247'),
      'movies.csv': lines(
        'movieId,title,genres',
        '11,"American President, The (1995)",Comedy|Drama|Romance',
        '12,Nothing (2010),(no genres listed)',
      ),
    });
    const ds = await loadDataset(dir, { format: 'movielens' });
    expect(ds.items).toEqual([
      { id: '11', title: 'American President, The (1995)', categories: ['Comedy', 'Drama', 'Romance'] },
      { id: '12', title: 'Nothing (2010)' },
    ]);
    expect(ds.interactions).toHaveLength(2);
  });
});

describe('RecBole atomic files', () => {
  it('reads .inter + .item with typed headers', async () => {
    const dir = fixtureDir({
      'toy.inter': lines(
        'user_id:token\titem_id:token\trating:float\ttimestamp:float',
        '196\t242\t3\t881250949',
        '186\t302\t3\t891717742',
        '186\t999\t1\t891717743',
      ),
      'toy.item.gz': lines(
        'item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq',
        '242\tKolya\t1996\tComedy',
        '302\tL.A. Confidential\t1997\tCrime Film-Noir Mystery Thriller',
      ),
    });
    expect(await detectFormat(dir)).toBe('recbole');
    const ds = await loadDataset(dir);
    expect(ds.name).toBe('toy');
    expect(ds.items).toEqual([
      { id: '242', title: 'Kolya', categories: ['Comedy'] },
      { id: '302', title: 'L.A. Confidential', categories: ['Crime', 'Film-Noir', 'Mystery', 'Thriller'] },
    ]);
    expect(ds.interactions).toEqual([
      { user: '196', item: '242', timestamp: 881250949 },
      { user: '186', item: '302', timestamp: 891717742 },
    ]);
    expect(ds.report.unknownItemInteractions).toBe(1);
  });

  it('without a timestamp field uses the file order and warns', async () => {
    const dir = fixtureDir({ 'x.inter': lines('user_id:token\titem_id:token', 'u\tb', 'u\ta') });
    const ds = await loadDataset(dir);
    expect(ds.interactions.map((i) => [i.item, i.timestamp])).toEqual([
      ['b', 0],
      ['a', 1],
    ]);
    expect(ds.report.warnings.join('\n')).toMatch(/no timestamp:float field/);
  });
});

describe('Amazon reviews + metadata', () => {
  it('2014: JSON reviews + Python-literal metadata, gzipped', async () => {
    const reviews = lines(
      '{"reviewerID": "R1", "asin": "B01", "reviewerName": "x", "overall": 5.0, "unixReviewTime": 1300000000}',
      '{"reviewerID": "R1", "asin": "B02", "unixReviewTime": 1200000000}',
      '{"reviewerID": "R2", "asin": "B01", "unixReviewTime": 1250000000}',
      '{"reviewerID": "R2", "asin": "B09", "unixReviewTime": 1250000001}',
    );
    const meta = lines(
      "{'asin': 'B00', 'title': 'Never reviewed', 'categories': [['Beauty']]}",
      "{'asin': 'B02', 'description': 'Caf\\xc3\\xa9 cr\\xc3\\xa8me', 'title': 'Bob\\'s \"best\" brush', " +
        "'price': 3.17, 'related': {'also_bought': ['B01']}, 'salesRank': {'Beauty': 12}, 'brand': 'Bob', " +
        "'categories': [['Beauty', 'Tools'], ['Beauty', 'Brushes']], 'imUrl': None, 'flag': True}",
      "{'asin': 'B01', 'title': u'Na\\xefve \\u2013 polish', 'categories': [['Beauty', 'Nails']]}",
    );
    const dir = fixtureDir({ 'reviews_Beauty_5.json.gz': reviews, 'meta_Beauty.json.gz': meta });
    expect(await detectFormat(dir)).toBe('amazon');
    const ds = await loadDataset(dir);
    expect(ds.items).toEqual([
      { id: 'B01', title: 'Naïve – polish', categories: ['Beauty', 'Nails'] },
      {
        id: 'B02',
        title: 'Bob\'s "best" brush',
        categories: ['Beauty', 'Tools', 'Brushes'],
        brand: 'Bob',
        description: 'Café crème',
      },
    ]);
    expect(ds.interactions).toEqual([
      { user: 'R1', item: 'B01', timestamp: 1300000000 },
      { user: 'R1', item: 'B02', timestamp: 1200000000 },
      { user: 'R2', item: 'B01', timestamp: 1250000000 },
    ]);
    expect(ds.report.unknownItemInteractions).toBe(1);
    expect(ds.report.unknownItems).toBe(1);
  });

  it('2018: JSON metadata with a flat category list, list descriptions and repeated rows', async () => {
    const dir = fixtureDir({
      'All_Beauty_5.json': lines(
        '{"overall": 5.0, "verified": true, "reviewerID": "A1", "asin": "X1", "unixReviewTime": 1500000000}',
        '{"overall": 4.0, "reviewerID": "A1", "asin": "X2", "unixReviewTime": 1500000001}',
      ),
      'meta_All_Beauty.json': lines(
        '{"category": ["All Beauty", "Hair"], "description": ["Line one", "", "Line two"], "title": "Comb", "brand": "C", "asin": "X1"}',
        '{"category": [], "description": [], "title": "", "brand": "", "asin": "X2"}',
        '{"title": "Comb again", "asin": "X1"}',
      ),
    });
    const ds = await loadDataset(dir);
    expect(ds.items).toEqual([
      { id: 'X1', title: 'Comb', categories: ['All Beauty', 'Hair'], brand: 'C', description: 'Line one Line two' },
      { id: 'X2' },
    ]);
    expect(ds.interactions).toHaveLength(2);
    expect(ds.report.warnings.join('\n')).toMatch(/1 repeated metadata rows ignored/);
  });

  it('without metadata the catalogue is the reviewed ids', async () => {
    const dir = fixtureDir({ 'Beauty_5.json': lines('{"reviewerID": "A", "asin": "Q", "unixReviewTime": 1}') });
    const ds = await loadDataset(dir);
    expect(ds.items).toEqual([{ id: 'Q' }]);
  });
});

describe('format detection', () => {
  it('names what it expected when nothing matches', async () => {
    const dir = fixtureDir({ 'notes.txt': 'hello' });
    const err = await detectFormat(dir).catch((e) => e);
    expect(err).toBeInstanceOf(SemidError);
    expect(err.code).toBe('SEMID_ERR_BAD_INPUT');
    expect(err.message).toMatch(/Found: notes\.txt \(not a recognised file\).*interactions\.csv.*u\.data/s);
  });

  it('missing directory -> SEMID_ERR_NOT_FOUND; several .inter files -> SEMID_ERR_BAD_INPUT', async () => {
    await expect(loadDataset('/nonexistent/semid-data')).rejects.toMatchObject({ code: 'SEMID_ERR_NOT_FOUND' });
    const dir = fixtureDir({
      'a.inter': 'user_id:token\titem_id:token\n',
      'b.inter': 'user_id:token\titem_id:token\n',
    });
    await expect(loadDataset(dir)).rejects.toMatchObject({ code: 'SEMID_ERR_BAD_INPUT' });
  });

  it('an explicit format that does not fit the files fails clearly', async () => {
    const dir = fixtureDir({ 'items.jsonl': COMMON_ITEMS, 'interactions.csv': COMMON_INTER });
    await expect(loadDataset(dir, { format: 'movielens' })).rejects.toMatchObject({
      code: 'SEMID_ERR_NOT_FOUND',
      message: expect.stringMatching(/expected MovieLens files/),
    });
  });
});
