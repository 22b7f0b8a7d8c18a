/**
 * The seeded synthetic dataset: semid's embedded default for the demo and quick tests (no licence
 * limits, no download). It plants structure that indexing schemes can find, so they differ visibly:
 * - catalogue: topics -> categories -> items. Item text repeats its topic and category words (title,
 *   category path, brand shared within a topic, description with category feature words) plus
 *   distinctive words, so text-based (semantic) codes can group items by category;
 * - users: a preference over topics (one main topic, one side topic, a little of everything);
 * - sequential habits: each item has three "successor" items in its category; after an item, a user
 *   follows a successor with probability `pFollow`, stays in the category with `pStay`, else draws a
 *   new topic/category from their preference; items are drawn with a Zipf-like popularity skew, so
 *   collaborative codes (which see co-occurrence) also find structure;
 * - sequence lengths minLength..maxLength (geometric tail), no repeated item within a user.
 * Item ids are assigned in a shuffled order, so an id-order ("sequential") index gets no structure for
 * free. Everything flows from one createRng(seed): same options, same dataset.
 */
import { SemidError } from '../errors.js';
import { createRng, type Rng } from '../rng.js';
import { type Dataset, emptyReport, type Interaction, type Item } from '../types.js';

/** Options of generateSynthetic; every field but `seed` has a default. */
export interface SyntheticOptions {
  /** RNG seed: the same seed and options give the same dataset. */
  seed: number;
  /** Catalogue size. Default 2000. */
  items?: number;
  /** Number of users. Default 3000. */
  users?: number;
  /** Number of topics (coarse structure). Default 8. */
  topics?: number;
  /** Categories per topic (fine structure). Default 5. Both shrink for tiny catalogues (a warning says so). */
  categoriesPerTopic?: number;
  /** Shortest user sequence. Default 5. */
  minLength?: number;
  /** Longest user sequence. Default 40. */
  maxLength?: number;
  /** Probability of following one of the previous item's successors. Default 0.35. */
  pFollow?: number;
  /** Probability of staying in the previous item's category (any item). Default 0.3. */
  pStay?: number;
}

/** The defaults of SyntheticOptions. */
export const SYNTHETIC_DEFAULTS = {
  items: 2000,
  users: 3000,
  topics: 8,
  categoriesPerTopic: 5,
  minLength: 5,
  maxLength: 40,
  pFollow: 0.35,
  pStay: 0.3,
} as const;

/** The seed `synthetic` specs use when they give none. */
export const DEFAULT_SYNTHETIC_SEED = 42;

const TOPIC_WORDS = [
  'Kitchen',
  'Garden',
  'Audio',
  'Fitness',
  'Beauty',
  'Toys',
  'Books',
  'Travel',
  'Office',
  'Pets',
  'Music',
  'Outdoor',
  'Baby',
  'Crafts',
  'Games',
  'Tools',
];
const CONSONANTS = 'bdfgklmnprstvz';
const VOWELS = 'aeiou';

/** Makes unique pseudo-words ("Morvel", "Tesku") from the rng. */
function wordMaker(rng: Rng): () => string {
  const used = new Set<string>(TOPIC_WORDS);
  return () => {
    for (let attempt = 0; ; attempt++) {
      const syl = 2 + rng.int(2) + (attempt > 50 ? 1 : 0);
      let w = '';
      for (let s = 0; s < syl; s++)
        w += CONSONANTS[rng.int(CONSONANTS.length)] + (VOWELS[rng.int(VOWELS.length)] as string);
      if (rng.next() < 0.4) w += CONSONANTS[rng.int(CONSONANTS.length)];
      w = w.charAt(0).toUpperCase() + w.slice(1);
      if (!used.has(w)) {
        used.add(w);
        return w;
      }
      if (attempt > 10_000) throw new SemidError('SEMID_ERR_INTERNAL', 'synthetic: ran out of pseudo-words');
    }
  };
}

function checkCount(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) {
    throw new SemidError('SEMID_ERR_BAD_INPUT', `synthetic: ${name} must be an integer >= ${min}, got ${v}`);
  }
}

function checkProb(name: string, v: number): void {
  if (!(v >= 0 && v <= 1))
    throw new SemidError('SEMID_ERR_BAD_INPUT', `synthetic: ${name} must be in [0, 1], got ${v}`);
}

const pad = (i: number, width: number) => String(i).padStart(width, '0');

/** Generates the seeded synthetic dataset (see the module comment for its planted structure). */
export function generateSynthetic(options: SyntheticOptions): Dataset {
  const o = { ...SYNTHETIC_DEFAULTS, ...options };
  checkCount('seed', o.seed, 0);
  checkCount('items', o.items, 4);
  checkCount('users', o.users, 1);
  checkCount('topics', o.topics, 1);
  checkCount('categoriesPerTopic', o.categoriesPerTopic, 1);
  checkCount('minLength', o.minLength, 1);
  checkCount('maxLength', o.maxLength, o.minLength);
  checkProb('pFollow', o.pFollow);
  checkProb('pStay', o.pStay);
  checkProb('pFollow + pStay', o.pFollow + o.pStay);
  const report = emptyReport();
  let T = o.topics;
  let C = o.categoriesPerTopic;
  // At least 4 items per category (an item and its 3 successors).
  while (T * C * 4 > o.items) {
    if (C > 2 || (C > 1 && T === 1)) C--;
    else T--;
  }
  if (T !== o.topics || C !== o.categoriesPerTopic) {
    report.warnings.push(
      `synthetic: ${o.items} items is too few for ${o.topics} topics x ${o.categoriesPerTopic} categories ` +
        `(4 items per category at least); using ${T} x ${C}`,
    );
  }
  if (o.maxLength > o.items) {
    throw new SemidError(
      'SEMID_ERR_BAD_INPUT',
      `synthetic: maxLength (${o.maxLength}) must not exceed items (${o.items})`,
    );
  }
  const rng = createRng(o.seed);
  const word = wordMaker(rng);

  // Topics, their brands, categories with nouns, adjectives and feature words.
  const topics = Array.from({ length: T }, (_, t) => ({
    name: TOPIC_WORDS[t] ?? word(),
    brands: Array.from({ length: 5 }, () => word()),
  }));
  const K = T * C;
  const cats = Array.from({ length: K }, (_, k) => ({
    topic: Math.floor(k / C),
    noun: word(),
    adjectives: Array.from({ length: 3 }, () => word().toLowerCase()),
    features: Array.from({ length: 6 }, () => word().toLowerCase()),
    members: [] as number[],
  }));

  // Items: category by round-robin (balanced), then text; `slot` is the pre-shuffle index.
  const itemCat = new Int32Array(o.items);
  for (let i = 0; i < o.items; i++) {
    itemCat[i] = i % K;
    cats[i % K]?.members.push(i);
  }
  const order = rng.shuffle(Array.from({ length: o.items }, (_, i) => i));
  const idOf: string[] = new Array(o.items);
  const width = String(o.items).length;
  order.forEach((slot, pos) => {
    idOf[slot] = `i${pad(pos + 1, width)}`;
  });
  const itemsBySlot: Item[] = new Array(o.items);
  for (let i = 0; i < o.items; i++) {
    const cat = cats[itemCat[i] as number] as (typeof cats)[number];
    const topic = topics[cat.topic] as (typeof topics)[number];
    const brand = topic.brands[rng.int(topic.brands.length)] as string;
    const adj = cat.adjectives[rng.int(cat.adjectives.length)] as string;
    const distinct = word();
    const item: Item = {
      id: idOf[i] as string,
      title: `${brand} ${distinct} ${cat.noun} - ${topic.name} ${adj}`,
      categories: [topic.name, cat.noun],
    };
    if (rng.next() < 0.9) item.brand = brand;
    if (rng.next() < 0.8) {
      const f = rng.shuffle([...cat.features]).slice(0, 3);
      item.description = `A ${adj} ${cat.noun.toLowerCase()} by ${brand} for ${topic.name.toLowerCase()}: ${f[0]}, ${f[1]} and ${f[2]}.`;
    }
    itemsBySlot[i] = item;
  }
  const items = order.map((slot) => itemsBySlot[slot] as Item);

  // Popularity: Zipf-like weight by a random rank within the category.
  const catWeights: Float64Array[] = [];
  for (const cat of cats) {
    const ranks = rng.shuffle(cat.members.map((_, r) => r));
    catWeights.push(Float64Array.from(ranks, (r) => 1 / (r + 1) ** 0.9));
  }
  // Successors: 3 other items of the same category, followed with probabilities 0.6 / 0.3 / 0.1.
  const succ: number[][] = new Array(o.items);
  for (const cat of cats) {
    for (const slot of cat.members) {
      const others = rng.shuffle(cat.members.filter((s) => s !== slot)).slice(0, 3);
      succ[slot] = others;
    }
  }
  const succWeights = [0.6, 0.3, 0.1];

  const drawInCategory = (k: number): number => {
    const cat = cats[k] as (typeof cats)[number];
    return cat.members[rng.weighted(catWeights[k] as Float64Array)] as number;
  };

  // Users.
  const interactions: Interaction[] = [];
  const uWidth = String(o.users).length;
  const meanExtra = 7;
  for (let u = 0; u < o.users; u++) {
    const user = `u${pad(u + 1, uWidth)}`;
    const main = rng.int(T);
    const side = T > 1 ? (main + 1 + rng.int(T - 1)) % T : main;
    const pref = new Float64Array(T).fill(T > 2 ? 0.1 / (T - 2) : 0);
    pref[main] = (pref[main] as number) + 0.7;
    pref[side] = (pref[side] as number) + (T > 1 ? 0.2 : 0.3);
    const extra = Math.floor(-Math.log(1 - rng.next()) * meanExtra);
    const len = Math.min(o.maxLength, o.minLength + extra);
    const inSeq = new Set<number>();
    let prev = -1;
    let ts = 1_600_000_000 + rng.int(365 * 86_400);
    const freshDraw = () => drawInCategory(rng.weighted(pref) * C + rng.int(C));
    for (let step = 0; step < len; step++) {
      let next = -1;
      for (let attempt = 0; attempt < 6 && (next < 0 || inSeq.has(next)); attempt++) {
        if (prev < 0) {
          next = freshDraw();
          continue;
        }
        const r = rng.next();
        if (r < o.pFollow) next = (succ[prev] as number[])[rng.weighted(succWeights)] as number;
        else if (r < o.pFollow + o.pStay) next = drawInCategory(itemCat[prev] as number);
        else next = freshDraw();
      }
      if (inSeq.has(next)) {
        // Rare: every draw repeated an item; take the next unused slot (deterministic).
        let s = next;
        while (inSeq.has(s)) s = (s + 1) % o.items;
        next = s;
      }
      inSeq.add(next);
      ts += 60 + rng.int(7 * 86_400);
      interactions.push({ user, item: idOf[next] as string, timestamp: ts });
      prev = next;
    }
  }
  return { name: 'synthetic', items, interactions, report };
}
