/** Writing item numbers as fixed-length base-b digit codes (sequential indexing). */

/** Levels needed to write every number below `n` in base `base` (at least 1). */
export function digitsNeeded(n: number, base: number): number {
  let levels = 1;
  let cap = base;
  while (cap < n) {
    cap *= base;
    levels++;
  }
  return levels;
}

/** `x` as `levels` base-`base` digits, most significant first. */
export function toDigits(x: number, base: number, levels: number): number[] {
  const out = new Array<number>(levels).fill(0);
  let v = x;
  for (let l = levels - 1; l >= 0; l--) {
    out[l] = v % base;
    v = Math.floor(v / base);
  }
  return out;
}
