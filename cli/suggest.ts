/**
 * "Did you mean" for mistyped commands, options and names: the closest candidate by edit distance
 * (Damerau: a swap of two neighbours counts once), accepted when the distance is small for the
 * word's length, or when the input equals a candidate once case, `-` and `_` are ignored.
 */

/** Optimal-string-alignment distance between `a` and `b`. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => [i, ...new Array<number>(n).fill(0)]);
  for (let j = 0; j <= n; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= m; i++) {
    const row = d[i] as number[];
    const prev = d[i - 1] as number[];
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = v;
    }
  }
  return (d[m] as number[])[n] as number;
}

const loose = (s: string) => s.toLowerCase().replace(/[-_]/g, '');

/** The candidate closest to `input`, or undefined when none is close enough to be a likely typo. */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  const exactish = candidates.find((c) => loose(c) === loose(input));
  if (exactish !== undefined) return exactish;
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const dist = editDistance(input.toLowerCase(), c.toLowerCase());
    if (dist < bestD) {
      bestD = dist;
      best = c;
    }
  }
  const limit = Math.max(1, Math.floor(input.length / 3));
  return bestD <= limit ? best : undefined;
}

/** ` Did you mean "x"?` for the closest candidate, or the empty string. */
export function didYouMean(input: string, candidates: readonly string[], quote = (s: string) => `"${s}"`): string {
  const c = closest(input, candidates);
  return c === undefined ? '' : ` Did you mean ${quote(c)}?`;
}
