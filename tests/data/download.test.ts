import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadDataset, downloadPlan, loadDataset, readZip } from '../../src/core/data/index.js';
import { fixtureDir, lines, tempPath } from './fixtures.js';

/** A minimal zip writer (local headers, central directory, end record) for fixtures. */
function makeZip(entries: { name: string; data: Buffer; method: 0 | 8 }[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const comp = e.method === 8 ? deflateRawSync(e.data) : e.data;
    const crc = crc32(e.data) >>> 0;
    const name = Buffer.from(e.name, 'utf8');
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(0x800, 6);
    lh.writeUInt16LE(e.method, 8);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(comp.length, 18);
    lh.writeUInt32LE(e.data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    parts.push(lh, name, comp);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(0x800, 8);
    ch.writeUInt16LE(e.method, 10);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(comp.length, 20);
    ch.writeUInt32LE(e.data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    central.push(ch, name);
    offset += 30 + name.length + comp.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

const U_DATA = lines('1\t1\t5\t100', '1\t2\t4\t101', '2\t1\t3\t102');
const U_ITEM = lines(
  ['1', 'Toy Story (1995)', '', '', 'u', ...Array(19).fill('0')].join('|'),
  ['2', 'Heat (1995)', '', '', 'u', ...Array(19).fill('0')].join('|'),
);
const ML_ZIP = makeZip([
  { name: 'ml-100k/', data: Buffer.alloc(0), method: 0 },
  { name: 'ml-100k/u.data', data: Buffer.from(U_DATA), method: 8 },
  { name: 'ml-100k/u.item', data: Buffer.from(U_ITEM), method: 0 },
  { name: 'ml-100k/README', data: Buffer.from('readme'), method: 8 },
]);

describe('readZip', () => {
  it('reads stored and deflated entries, skipping directories', () => {
    const entries = readZip(ML_ZIP);
    expect(entries.map((e) => e.name)).toEqual(['ml-100k/u.data', 'ml-100k/u.item', 'ml-100k/README']);
    expect(entries[0]?.data.toString()).toBe(U_DATA);
    expect(entries[1]?.data.toString()).toBe(U_ITEM);
  });

  it('refuses damaged and unsafe archives', () => {
    const bad = Buffer.from(ML_ZIP);
    const at = 38 + 30 + 'ml-100k/u.data'.length + 5; // inside u.data's deflate stream (after the directory entry)
    bad[at] = (bad[at] as number) ^ 0xff;
    expect(() => readZip(bad, 'x.zip')).toThrow(/x\.zip: entry "ml-100k\/u\.data"/);
    expect(() => readZip(Buffer.from('not a zip at all, clearly not'), 'y.zip')).toThrow(
      /y\.zip: no end-of-central-directory/,
    );
    const slip = makeZip([{ name: '../evil', data: Buffer.from('x'), method: 0 }]);
    expect(() => readZip(slip)).toThrow(/unsafe entry name/);
  });
});

describe('downloadDataset (local server, no internet)', () => {
  let server: Server;
  let base = '';
  const hits: string[] = [];
  beforeAll(async () => {
    const reviews = gzipSync(lines('{"reviewerID": "A", "asin": "B1", "unixReviewTime": 5}'));
    const meta = gzipSync(lines("{'asin': 'B1', 'title': 'Brush'}"));
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      const url = req.url ?? '';
      if (url.endsWith('/ml-100k.zip')) res.end(ML_ZIP);
      else if (url.endsWith('/reviews_Beauty_5.json.gz')) res.end(reviews);
      else if (url.endsWith('/meta_Beauty.json.gz')) res.end(meta);
      else if (url.endsWith('/hang'))
        return; // never answers
      else {
        res.statusCode = 404;
        res.end('no');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  /** Sends every URL to the local server, keeping its path. */
  const local: typeof fetch = (input, init) => fetch(`${base}${new URL(String(input)).pathname}`, init);

  it('ml-100k: fetches the GroupLens zip, extracts it without its top folder, and the result loads', async () => {
    const out = tempPath('ml');
    const progress: number[] = [];
    const files = await downloadDataset('ml-100k', out, {
      fetch: local,
      onProgress: (_f, done) => progress.push(done),
    });
    expect(hits).toContain('/datasets/movielens/ml-100k.zip');
    expect(files).toEqual(['README', 'u.data', 'u.item']);
    expect(readdirSync(out).sort()).toEqual(['DOWNLOAD.md', 'README', 'u.data', 'u.item']);
    expect(progress.at(-1)).toBe(ML_ZIP.length);
    const ds = await loadDataset(out);
    expect(ds.items).toHaveLength(2);
    expect(ds.interactions).toHaveLength(3);
    expect(readFileSync(join(out, 'DOWNLOAD.md'), 'utf8')).toMatch(/research use only/);
  });

  it('amazon-beauty: keeps reviews and metadata gzipped; the loader reads them', async () => {
    const out = tempPath('beauty');
    expect(await downloadDataset('Amazon-Beauty', out, { fetch: local })).toEqual([
      'meta_Beauty.json.gz',
      'reviews_Beauty_5.json.gz',
    ]);
    const ds = await loadDataset(out);
    expect(ds.items).toEqual([{ id: 'B1', title: 'Brush' }]);
  });

  it('offline: a clear SEMID_ERR_NETWORK at once, and no folder is left behind', async () => {
    const out = tempPath('offline');
    const offline: typeof fetch = async () => {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }),
      });
    };
    await expect(downloadDataset('ml-1m', out, { fetch: offline })).rejects.toMatchObject({
      code: 'SEMID_ERR_NETWORK',
      message: expect.stringMatching(
        /cannot reach https:\/\/files\.grouplens\.org\/.*ml-1m\.zip \(ENOTFOUND\); are you offline\?/,
      ),
    });
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(join(out, '..'))).toEqual([]);
  });

  it('a server that does not answer times out as SEMID_ERR_NETWORK; HTTP errors too', async () => {
    const hang: typeof fetch = (_i, init) => fetch(`${base}/hang`, init);
    await expect(
      downloadDataset('ml-100k', tempPath('h'), { fetch: hang, connectTimeoutMs: 100 }),
    ).rejects.toMatchObject({
      code: 'SEMID_ERR_NETWORK',
      message: expect.stringMatching(/no answer .* within 100 ms/),
    });
    const missing: typeof fetch = (_i, init) => fetch(`${base}/missing`, init);
    await expect(downloadDataset('ml-100k', tempPath('m'), { fetch: missing })).rejects.toMatchObject({
      code: 'SEMID_ERR_NETWORK',
      message: expect.stringMatching(/HTTP 404/),
    });
  });

  it('refuses to replace a non-empty folder without force, and unknown names', async () => {
    const dir = fixtureDir({ 'mine.txt': 'keep me' });
    await expect(downloadDataset('ml-100k', dir, { fetch: local })).rejects.toMatchObject({
      code: 'SEMID_ERR_CONFLICT',
    });
    expect(readdirSync(dir)).toEqual(['mine.txt']);
    expect(() => downloadPlan('ml-20m')).toThrow(
      /unknown dataset "ml-20m"; expected one of: ml-100k, ml-1m, amazon-books/,
    );
    expect(downloadPlan('amazon-toys-and-games').files[0]?.file).toBe('reviews_Toys_and_Games_5.json.gz');
  });
});
