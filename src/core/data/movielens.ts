/**
 * MovieLens raw files as GroupLens ships them:
 * - ml-100k: `u.data` (user \t item \t rating \t timestamp) and `u.item` (pipe-separated, Latin-1:
 *   id|title|release date|video date|IMDb URL|19 genre flags), genre names from `u.genre` when present;
 * - ml-1m (and ml-10m): `ratings.dat` (UserID::MovieID::Rating::Timestamp) and `movies.dat`
 *   (MovieID::Title::Genre|Genre);
 * - ml-latest / ml-20m / ml-25m: `ratings.csv` (userId,movieId,rating,timestamp) and `movies.csv`
 *   (movieId,title,genres with quoted titles).
 * Every rating counts as an interaction (no threshold), as in the common-format conversion of ml-100k.
 * Item files are read as bytes and decoded as UTF-8 when valid, else Latin-1.
 */
import { basename, resolve } from 'node:path';
import { SemidError } from '../errors.js';
import { type Dataset, emptyReport, type Interaction, type Item } from '../types.js';
import { assembleDataset } from './assemble.js';
import type { LoadOptions } from './common.js';
import { BadRows, findFile, forEachLine, latin1OrUtf8, listFiles, preview, toNumber } from './lines.js';
import { forEachCsvRecord, readInteractionTable } from './table.js';

/** The 19 ml-100k genres in flag order (u.genre), used when u.genre is absent. */
export const ML100K_GENRES = [
  'unknown',
  'Action',
  'Adventure',
  'Animation',
  "Children's",
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Fantasy',
  'Film-Noir',
  'Horror',
  'Musical',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Thriller',
  'War',
  'Western',
] as const;

/** Which MovieLens layout a directory holds, or undefined. */
export function movielensLayout(files: readonly string[]): '100k' | 'dat' | 'csv' | undefined {
  const has = (n: string) => files.includes(n) || files.includes(`${n}.gz`);
  if (has('u.data')) return '100k';
  if (has('ratings.dat')) return 'dat';
  if (has('ratings.csv') && has('movies.csv')) return 'csv';
  return undefined;
}

/**
 * Reads a ratings file whose rows are `user SEP item SEP rating SEP timestamp`.
 * @param split splits a line into fields
 */
async function readRatings(
  path: string,
  bad: BadRows,
  split: (line: string) => string[] | undefined,
  shape: string,
  header: boolean,
): Promise<Interaction[]> {
  const out: Interaction[] = [];
  await forEachLine(path, (line, no) => {
    if (header && no === 1) return;
    if (line.trim() === '') return;
    const f = split(line);
    if (f === undefined || f.length < 4) {
      bad.bad(path, no, shape, preview(line));
      return;
    }
    const user = (f[0] as string).trim();
    const item = (f[1] as string).trim();
    const ts = toNumber(f[3]);
    if (user === '' || item === '' || ts === undefined) {
      bad.bad(path, no, `${shape} with a numeric timestamp`, preview(line));
      return;
    }
    out.push({ user, item, timestamp: ts });
  });
  return out;
}

/** Reads `u.genre` (name|index lines) into the flag-order genre names. */
async function readGenres(path: string, bad: BadRows): Promise<string[]> {
  const names: string[] = [];
  await forEachLine(
    path,
    (line, no) => {
      if (line.trim() === '') return;
      const [name, idx] = line.split('|');
      const i = toNumber(idx);
      if (name === undefined || i === undefined || !Number.isInteger(i) || i < 0) {
        bad.bad(path, no, 'a "name|index" genre line', preview(line));
        return;
      }
      names[i] = latin1OrUtf8(name);
    },
    'latin1',
  );
  return names;
}

/** Reads ml-100k `u.item`. */
async function readUItem(path: string, genres: readonly string[], bad: BadRows): Promise<Item[]> {
  const movies = movieCollector(path, bad);
  const shape = `"id|title|release date|video release date|IMDb URL|${genres.length} genre flags"`;
  await forEachLine(
    path,
    (raw, no) => {
      if (raw.trim() === '') return;
      const f = latin1OrUtf8(raw).split('|');
      if (f.length < 5 + genres.length || (f[0] as string).trim() === '') {
        bad.bad(path, no, `${shape} (${5 + genres.length} fields)`, `${f.length} fields: ${preview(raw)}`);
        return;
      }
      const cats: string[] = [];
      for (let g = 0; g < genres.length; g++) if ((f[5 + g] as string).trim() === '1') cats.push(genres[g] as string);
      movies.add(no, f[0] as string, f[1] as string, cats);
    },
    'latin1',
  );
  return movies.items;
}

/** Collects movies of one file: each id once (a repeat is a bad row), trimmed title, genres if any. */
function movieCollector(path: string, bad: BadRows) {
  const items: Item[] = [];
  const seen = new Set<string>();
  return {
    items,
    add(no: number, rawId: string, rawTitle: string, categories: string[]): void {
      const id = rawId.trim();
      if (seen.has(id)) {
        bad.bad(path, no, 'each movie id once', `id ${JSON.stringify(id)} again`);
        return;
      }
      seen.add(id);
      const item: Item = { id };
      const title = rawTitle.trim();
      if (title !== '') item.title = title;
      if (categories.length > 0) item.categories = categories;
      items.push(item);
    },
  };
}

/** Adds one `id, title, genres` record (genres pipe-separated) to a movie collector. */
function addMovie(movies: ReturnType<typeof movieCollector>, no: number, f: readonly string[]): void {
  const cats = (f[2] as string)
    .split('|')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== '(no genres listed)');
  movies.add(no, f[0] as string, f[1] as string, cats);
}

/** Reads `movies.dat` (`MovieID::Title::Genres`). */
async function readMoviesDat(path: string, bad: BadRows): Promise<Item[]> {
  const movies = movieCollector(path, bad);
  await forEachLine(
    path,
    (raw, no) => {
      if (raw.trim() === '') return;
      const f = latin1OrUtf8(raw).split('::');
      if (f.length !== 3 || (f[0] as string).trim() === '') {
        bad.bad(path, no, '"MovieID::Title::Genres"', preview(raw));
        return;
      }
      addMovie(movies, no, f);
    },
    'latin1',
  );
  return movies.items;
}

/** Reads `movies.csv` (`movieId,title,genres` with a header; titles may be quoted). */
async function readMoviesCsv(path: string, bad: BadRows): Promise<Item[]> {
  const movies = movieCollector(path, bad);
  const shape = '"movieId,title,genres"';
  let header = true;
  await forEachCsvRecord(
    path,
    ',',
    ({ fields, line }) => {
      if (header) {
        header = false;
        return;
      }
      const f = fields.map(latin1OrUtf8);
      if (f.length !== 3 || (f[0] as string).trim() === '') {
        bad.bad(path, line, shape, preview(f.join(',')));
        return;
      }
      addMovie(movies, line, f);
    },
    (line, message) => bad.bad(path, line, shape, message),
    'latin1',
  );
  return movies.items;
}

/** Loads a MovieLens directory (ml-100k, ml-1m/10m `.dat`, or ml-latest/20m/25m `.csv`). */
export async function loadMovieLens(dir: string, opts: LoadOptions = {}): Promise<Dataset> {
  const files = listFiles(dir);
  const layout = movielensLayout(files);
  const report = emptyReport();
  const bad = new BadRows(report, opts.skipBad ?? false);
  const name = opts.name ?? basename(resolve(dir));
  let items: Item[] | undefined;
  let interactions: Interaction[];
  let itemSource: string;
  if (layout === '100k') {
    interactions = await readRatings(
      findFile(dir, files, 'u.data') as string,
      bad,
      (l) => l.split(/\s+/).filter((s) => s !== ''),
      '"user<TAB>item<TAB>rating<TAB>timestamp"',
      false,
    );
    const genrePath = findFile(dir, files, 'u.genre');
    const genres = genrePath === undefined ? [...ML100K_GENRES] : await readGenres(genrePath, bad);
    const uitem = findFile(dir, files, 'u.item');
    items = uitem === undefined ? undefined : await readUItem(uitem, genres, bad);
    itemSource = 'u.item';
  } else if (layout === 'dat') {
    interactions = await readRatings(
      findFile(dir, files, 'ratings.dat') as string,
      bad,
      (l) => l.split('::'),
      '"UserID::MovieID::Rating::Timestamp"',
      false,
    );
    const movies = findFile(dir, files, 'movies.dat');
    items = movies === undefined ? undefined : await readMoviesDat(movies, bad);
    itemSource = 'movies.dat';
  } else if (layout === 'csv') {
    interactions = await readInteractionTable(findFile(dir, files, 'ratings.csv') as string, bad, report, {
      columns: { user: 'userId', item: 'movieId', time: 'timestamp' },
    });
    items = await readMoviesCsv(findFile(dir, files, 'movies.csv') as string, bad);
    itemSource = 'movies.csv';
  } else {
    throw new SemidError(
      'SEMID_ERR_NOT_FOUND',
      `${dir}: expected MovieLens files (u.data + u.item, ratings.dat + movies.dat, or ratings.csv + movies.csv), found ${
        files.join(', ') || 'no files'
      }`,
    );
  }
  bad.finish();
  return assembleDataset(name, items, interactions, report, itemSource);
}
