/**
 * AdamW on host Float32Arrays, the update of models/optim.ts (same schedule `lrAt`, global-norm
 * clipping, bias-corrected moments, decoupled weight decay on the decayed names) for the onnx training
 * engine, whose weights live in TypeScript and are fed to onnxruntime every step. Its state has the
 * shape of `AdamWState`, so checkpoints are the same for both engines.
 */
import { type AdamWOptions, type AdamWState, lrAt } from '../optim.js';

/** AdamW over a fixed set of named Float32Array weights, updated in place. */
export class HostAdamW {
  step = 0;
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();

  constructor(
    private readonly weights: ReadonlyMap<string, Float32Array>,
    /** Names that get weight decay. */
    private readonly decayed: ReadonlySet<string>,
    readonly opts: AdamWOptions,
  ) {
    for (const [k, w] of weights) {
      this.m.set(k, new Float32Array(w.length));
      this.v.set(k, new Float32Array(w.length));
    }
  }

  /**
   * Clips `grads` to the global norm and applies one update to the weights.
   * @returns the gradient norm before clipping and the learning rate used
   */
  apply(grads: ReadonlyMap<string, Float32Array>): { gradNorm: number; lr: number } {
    this.step++;
    const lr = lrAt(this.opts, this.step);
    const b1 = this.opts.beta1 ?? 0.9;
    const b2 = this.opts.beta2 ?? 0.999;
    const eps = this.opts.eps ?? 1e-8;
    let sq = 0;
    for (const g of grads.values()) for (let i = 0; i < g.length; i++) sq += (g[i] as number) * (g[i] as number);
    const gradNorm = Math.sqrt(sq);
    const scale = gradNorm > this.opts.clipNorm ? this.opts.clipNorm / (gradNorm + 1e-12) : 1;
    const c1 = 1 - b1 ** this.step;
    const c2 = 1 - b2 ** this.step;
    for (const [k, w] of this.weights) {
      const g = grads.get(k);
      if (!g) continue;
      const m = this.m.get(k) as Float32Array;
      const v = this.v.get(k) as Float32Array;
      const wd = this.decayed.has(k) ? this.opts.weightDecay : 0;
      for (let i = 0; i < w.length; i++) {
        const gi = (g[i] as number) * scale;
        const mi = (m[i] as number) * b1 + gi * (1 - b1);
        const vi = (v[i] as number) * b2 + gi * gi * (1 - b2);
        m[i] = mi;
        v[i] = vi;
        const wi = w[i] as number;
        w[i] = wi - lr * (mi / c1 / (Math.sqrt(vi / c2) + eps) + wd * wi);
      }
    }
    return { gradNorm, lr };
  }

  /** A copy of the state (for checkpoints). */
  state(): AdamWState {
    const copy = (src: Map<string, Float32Array>) => new Map([...src].map(([k, a]) => [k, a.slice()] as const));
    return { step: this.step, m: copy(this.m), v: copy(this.v) };
  }

  /** Restores a state from `state()` (or the TensorFlow.js AdamW's). */
  load(s: AdamWState): void {
    this.step = s.step;
    for (const [src, dst] of [
      [s.m, this.m],
      [s.v, this.v],
    ] as const) {
      for (const [k, a] of src) dst.get(k)?.set(a);
    }
  }
}
