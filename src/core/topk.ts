/**
 * A bounded best-k collection: a binary min-heap whose root is the worst kept entry, so each offer
 * costs O(log k) and most offers are rejected by one comparison. Used by beam search (candidate
 * extensions) and by score-based rankers (top-k items of a score row).
 */
export class TopK<T> {
  readonly heap: T[] = [];
  /**
   * @param cap how many entries to keep
   * @param worse strict order: true when `a` ranks below `b` (ties must be broken, e.g. by index)
   */
  constructor(
    readonly cap: number,
    private readonly worse: (a: T, b: T) => boolean,
  ) {}

  /** Whether the collection holds `cap` entries (then only entries better than `worst()` enter). */
  get full(): boolean {
    return this.heap.length >= this.cap;
  }

  /** The worst kept entry (undefined when empty). */
  worst(): T | undefined {
    return this.heap[0];
  }

  /** Offers `x`; kept when there is room or it is better than the worst kept entry. */
  push(x: T): void {
    const h = this.heap;
    const worse = this.worse;
    if (this.cap <= 0) return;
    if (h.length < this.cap) {
      h.push(x);
      let i = h.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(h[i] as T, h[p] as T)) break;
        [h[i], h[p]] = [h[p] as T, h[i] as T];
        i = p;
      }
      return;
    }
    if (!worse(h[0] as T, x)) return;
    h[0] = x;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && worse(h[l] as T, h[m] as T)) m = l;
      if (r < h.length && worse(h[r] as T, h[m] as T)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m] as T, h[i] as T];
      i = m;
    }
  }

  /** The kept entries, best first. */
  sorted(): T[] {
    const worse = this.worse;
    return [...this.heap].sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
  }
}

/**
 * Indices of the k highest scores, best first; equal scores rank the lower index first. NaN
 * entries and indices in `skip` are never returned.
 */
export function topIndices(scores: Float32Array, k: number, skip?: ReadonlySet<number>): number[] {
  const top = new TopK<number>(k, (a, b) => {
    const sa = scores[a] as number;
    const sb = scores[b] as number;
    return sa < sb || (sa === sb && a > b);
  });
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] as number;
    if (Number.isNaN(s) || skip?.has(i)) continue;
    if (top.full && !(s > (scores[top.worst() as number] as number))) continue; // ties keep the lower index
    top.push(i);
  }
  return top.sorted();
}
