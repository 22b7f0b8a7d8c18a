/**
 * Text normalisation shared by the text features and the title / keyword schemes: HTML entity
 * decoding (Amazon titles carry `&amp;`, `&quot;`, `&#x2019;`...), lower-casing and word splitting.
 */
import type { Item } from '../../src/core/types.js';

const NAMED: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  reg: '®',
  trade: '™',
  copy: '©',
  eacute: 'é',
  egrave: 'è',
  ndash: '–',
  mdash: '—',
  hellip: '…',
  rsquo: '’',
  lsquo: '‘',
  rdquo: '”',
  ldquo: '“',
};

/** Decodes named (`&amp;`), decimal (`&#39;`) and hex (`&#x2019;`) HTML entities; unknown ones stay as written. Applied twice, so double-escaped `&amp;amp;` also decodes. */
export function decodeEntities(s: string): string {
  const once = (t: string) =>
    t.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, body: string) => {
      if (body[0] === '#') {
        const cp =
          body[1] === 'x' || body[1] === 'X' ? Number.parseInt(body.slice(2), 16) : Number.parseInt(body.slice(1), 10);
        return Number.isFinite(cp) && cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
      }
      return NAMED[body.toLowerCase()] ?? m;
    });
  return once(once(s));
}

/** A short English stop-word list (function words that carry no item meaning). */
export const STOPWORDS: ReadonlySet<string> = new Set(
  'a an and are as at be by for from in into is it its of on or the to with without & -'.split(' '),
);

/** Lower-cased words of `text` (letters and digits, entities decoded), optionally without stop words. */
export function words(text: string, dropStopwords = true): string[] {
  const out: string[] = [];
  for (const m of decodeEntities(text)
    .toLowerCase()
    .matchAll(/[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu)) {
    const w = m[0].replace(/['’]/g, '');
    if (dropStopwords && STOPWORDS.has(w)) continue;
    out.push(w);
  }
  return out;
}

/** The text of an item used for text features: title, categories, brand and description. */
export function itemText(item: Item): string {
  return [item.title ?? '', ...(item.categories ?? []), item.brand ?? '', item.description ?? ''].join(' \n ');
}
