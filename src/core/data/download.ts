/**
 * Downloads of public datasets for users with internet: MovieLens 100K / 1M (GroupLens zips, extracted
 * into the folder) and the Amazon 2014 5-core categories (reviews + metadata `.json.gz`, kept gzipped:
 * the loaders read `.gz`). The folder is written atomically, so an interrupted download leaves nothing
 * half-written. Offline, fetch fails at once (DNS) or after `connectTimeoutMs`, as SEMID_ERR_NETWORK.
 * These datasets are licensed for research only: never commit or redistribute them.
 */
import { existsSync, readdirSync } from 'node:fs';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDirAtomic } from '../artifact.js';
import { SemidError } from '../errors.js';
import { readZip } from './zip.js';

/** The Amazon 2014 5-core categories (file-name spelling of McAuley's "categoryFiles"). */
export const AMAZON_2014_CATEGORIES = [
  'Books',
  'Electronics',
  'Movies_and_TV',
  'CDs_and_Vinyl',
  'Clothing_Shoes_and_Jewelry',
  'Home_and_Kitchen',
  'Kindle_Store',
  'Sports_and_Outdoors',
  'Cell_Phones_and_Accessories',
  'Health_and_Personal_Care',
  'Toys_and_Games',
  'Video_Games',
  'Tools_and_Home_Improvement',
  'Beauty',
  'Apps_for_Android',
  'Office_Products',
  'Pet_Supplies',
  'Automotive',
  'Grocery_and_Gourmet_Food',
  'Patio_Lawn_and_Garden',
  'Baby',
  'Digital_Music',
  'Musical_Instruments',
  'Amazon_Instant_Video',
] as const;

const GROUPLENS = 'https://files.grouplens.org/datasets/movielens';
const AMAZON_2014 = 'https://snap.stanford.edu/data/amazon/productGraph/categoryFiles';

/** What one download name fetches. */
export interface DownloadPlan {
  name: string;
  /** Files to fetch: url -> file name in the folder. A `.zip` is extracted (its top folder stripped). */
  files: { url: string; file: string }[];
  licence: string;
}

/** Every name `semid data download` accepts: ml-100k, ml-1m and amazon-<category> (lower case). */
export function downloadNames(): string[] {
  return ['ml-100k', 'ml-1m', ...AMAZON_2014_CATEGORIES.map((c) => `amazon-${c.toLowerCase()}`)];
}

/**
 * The plan for a download name. Amazon names are case-insensitive and accept `-` for `_`
 * (`amazon-beauty`, `amazon-toys-and-games`).
 * @throws SEMID_ERR_BAD_INPUT for an unknown name, listing the valid ones.
 */
export function downloadPlan(name: string): DownloadPlan {
  const n = name.trim().toLowerCase();
  if (n === 'ml-100k' || n === 'ml-1m') {
    return {
      name: n,
      files: [{ url: `${GROUPLENS}/${n}.zip`, file: `${n}.zip` }],
      licence: 'MovieLens (GroupLens): research use only, no redistribution, cite Harper & Konstan 2015.',
    };
  }
  if (n.startsWith('amazon-')) {
    const want = n.slice('amazon-'.length).replace(/-/g, '_');
    const cat = AMAZON_2014_CATEGORIES.find((c) => c.toLowerCase() === want);
    if (cat !== undefined) {
      return {
        name: `amazon-${cat.toLowerCase()}`,
        files: [
          { url: `${AMAZON_2014}/reviews_${cat}_5.json.gz`, file: `reviews_${cat}_5.json.gz` },
          { url: `${AMAZON_2014}/meta_${cat}.json.gz`, file: `meta_${cat}.json.gz` },
        ],
        licence: 'Amazon review data (McAuley et al. 2015/2016): research use only, no redistribution.',
      };
    }
  }
  throw new SemidError(
    'SEMID_ERR_BAD_INPUT',
    `unknown dataset "${name}"; expected one of: ${downloadNames().join(', ')}`,
  );
}

/** Options of downloadDataset. */
export interface DownloadOptions {
  /** Replace a non-empty existing folder. Default false (SEMID_ERR_CONFLICT). */
  force?: boolean;
  /** Time allowed until response headers arrive. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** Time allowed without receiving data once the body streams. Default 60 000 ms. */
  idleTimeoutMs?: number;
  /** The fetch to use (tests pass a local one). Default globalThis.fetch. */
  fetch?: typeof fetch;
  /** Called as bytes arrive; `total` is undefined without a Content-Length. */
  onProgress?: (file: string, done: number, total: number | undefined) => void;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** Downloads one URL to `dest`, streaming, with connect and idle timeouts. Returns the byte count. */
async function fetchToFile(url: string, dest: string, file: string, opts: DownloadOptions): Promise<number> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const ctl = new AbortController();
  const connectMs = opts.connectTimeoutMs ?? 10_000;
  const idleMs = opts.idleTimeoutMs ?? 60_000;
  let phase = 'connect';
  let timer = setTimeout(() => ctl.abort(), connectMs);
  const hint = `Check the internet connection, or download ${url} by hand into the output folder.`;
  const netError = (e: unknown): SemidError => {
    if (e instanceof SemidError) return e;
    const err = e as Error & { cause?: { code?: string; message?: string } };
    if (ctl.signal.aborted) {
      return new SemidError(
        'SEMID_ERR_NETWORK',
        phase === 'connect'
          ? `no answer from ${url} within ${connectMs} ms (offline?). ${hint}`
          : `download of ${url} stalled: no data for ${idleMs} ms. ${hint}`,
        { url },
      );
    }
    const cause = err.cause?.code ?? err.cause?.message ?? err.message;
    return new SemidError('SEMID_ERR_NETWORK', `cannot reach ${url} (${cause}); are you offline? ${hint}`, { url });
  };
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    const res = await doFetch(url, { signal: ctl.signal, redirect: 'follow' });
    if (!res.ok || res.body === null) {
      throw new SemidError(
        'SEMID_ERR_NETWORK',
        `${url} answered HTTP ${res.status} ${res.statusText}; expected 200. ${hint}`,
        {
          url,
          status: res.status,
        },
      );
    }
    const lenHeader = res.headers.get('content-length');
    const total = lenHeader === null ? undefined : Number(lenHeader);
    phase = 'body';
    clearTimeout(timer);
    timer = setTimeout(() => ctl.abort(), idleMs);
    fh = await open(dest, 'w');
    let done = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      clearTimeout(timer);
      timer = setTimeout(() => ctl.abort(), idleMs);
      await fh.write(chunk);
      done += chunk.length;
      opts.onProgress?.(file, done, total);
    }
    if (total !== undefined && Number.isFinite(total) && done !== total) {
      throw new SemidError('SEMID_ERR_NETWORK', `${url}: received ${done} of ${total} bytes. ${hint}`, { url });
    }
    return done;
  } catch (e) {
    throw netError(e);
  } finally {
    clearTimeout(timer);
    await fh?.close();
  }
}

/**
 * Downloads `name` (see downloadNames) into `outDir`, atomically. Zips are extracted with their top
 * folder stripped (ml-100k/u.data -> outDir/u.data) and removed; gzip files are kept as they are.
 * Returns the files written.
 * @throws SEMID_ERR_NETWORK when offline or on an HTTP error, SEMID_ERR_CONFLICT when outDir is a
 *   non-empty folder and `force` is not set, SEMID_ERR_BAD_INPUT for an unknown name.
 */
export async function downloadDataset(name: string, outDir: string, opts: DownloadOptions = {}): Promise<string[]> {
  const plan = downloadPlan(name);
  if (existsSync(outDir) && readdirSync(outDir).length > 0 && !opts.force) {
    throw new SemidError(
      'SEMID_ERR_CONFLICT',
      `${outDir} exists and is not empty; choose another --out or pass --force to replace it`,
    );
  }
  const written: string[] = [];
  await writeDirAtomic(outDir, async (tmp) => {
    for (const { url, file } of plan.files) {
      opts.log?.(`downloading ${url}`);
      const dest = join(tmp, file);
      const bytes = await fetchToFile(url, dest, file, opts);
      opts.log?.(`  ${file}: ${(bytes / 1e6).toFixed(1)} MB`);
      if (file.endsWith('.zip')) {
        const entries = readZip(await readFile(dest), file);
        const tops = new Set(entries.map((e) => (e.name.includes('/') ? e.name.split('/')[0] : '')));
        const strip = tops.size === 1 && !tops.has('') ? `${[...tops][0]}/` : '';
        for (const e of entries) {
          const rel = e.name.slice(strip.length);
          if (rel.includes('/') || rel === '') continue;
          await writeFile(join(tmp, rel), e.data);
          written.push(rel);
        }
        await rm(dest);
      } else {
        written.push(file);
      }
    }
    await writeFile(
      join(tmp, 'DOWNLOAD.md'),
      `# ${plan.name}\n\nDownloaded by \`semid data download ${plan.name}\` on ${new Date().toISOString()} from:\n\n${plan.files
        .map((f) => `- ${f.url}`)
        .join('\n')}\n\nLicence: ${plan.licence}\n`,
    );
  });
  return written.sort();
}
