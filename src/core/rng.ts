/**
 * Seeded randomness. Every random choice in semid goes through an explicit `Rng`, so the same seed
 * gives the same output (code tables, splits of work, initialisations).
 */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal sample (Box-Muller). */
  normal(): number;
  /** Fisher-Yates shuffle in place; returns the array. */
  shuffle<T>(a: T[]): T[];
  /** A fresh 32-bit seed, for handing to a child generator or to TensorFlow.js initialisers. */
  seed(): number;
  /** Index sampled proportionally to non-negative `weights`. */
  weighted(weights: ArrayLike<number>): number;
}

/** sfc32 seeded through splitmix32: fast, 128-bit state, good statistical quality. */
export function createRng(seed: number): Rng {
  let s = seed >>> 0;
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  const u32 = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) u32();
  let spare: number | undefined;
  const rng: Rng = {
    next: () => u32() / 4294967296,
    int: (n) => Math.floor((u32() / 4294967296) * n),
    normal: () => {
      if (spare !== undefined) {
        const v = spare;
        spare = undefined;
        return v;
      }
      let u = 0;
      while (u === 0) u = u32() / 4294967296;
      const v = u32() / 4294967296;
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    shuffle: (arr) => {
      for (let i = arr.length - 1; i > 0; i--) {
        const j = Math.floor((u32() / 4294967296) * (i + 1));
        const t = arr[i] as (typeof arr)[number];
        arr[i] = arr[j] as (typeof arr)[number];
        arr[j] = t;
      }
      return arr;
    },
    seed: () => u32(),
    weighted: (w) => {
      let total = 0;
      for (let i = 0; i < w.length; i++) total += w[i] as number;
      let r = (u32() / 4294967296) * total;
      for (let i = 0; i < w.length; i++) {
        r -= w[i] as number;
        if (r < 0) return i;
      }
      return w.length - 1;
    },
  };
  return rng;
}
