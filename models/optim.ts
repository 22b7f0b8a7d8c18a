/**
 * AdamW with linear warm-up, cosine (or no) decay and global-norm gradient clipping, on the model's
 * tf.Variables. Its state (moments, step) can be read out and restored, so training resumes exactly.
 */
import { type Tensor, tf } from '../src/core/tf.js';

/** Optimiser hyper-parameters. */
export interface AdamWOptions {
  lr: number;
  warmup: number;
  /** Total steps of the run (for the cosine schedule). */
  totalSteps: number;
  decay: 'cosine' | 'none';
  weightDecay: number;
  clipNorm: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** Learning rate at step `step` (1-based): linear warm-up, then cosine down to 10 % of the peak (or constant). */
export function lrAt(o: Pick<AdamWOptions, 'lr' | 'warmup' | 'totalSteps' | 'decay'>, step: number): number {
  if (o.warmup > 0 && step <= o.warmup) return (o.lr * step) / o.warmup;
  if (o.decay === 'none') return o.lr;
  const span = Math.max(1, o.totalSteps - o.warmup);
  const frac = Math.min(1, Math.max(0, (step - o.warmup) / span));
  return o.lr * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * frac)));
}

/** Serialisable optimiser state: step count and both moments per weight. */
export interface AdamWState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

/** AdamW over a fixed set of named variables. */
export class AdamW {
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  constructor(
    private readonly vars: Map<string, tf.Variable>,
    /** Names that get weight decay. */
    private readonly decayed: ReadonlySet<string>,
    readonly opts: AdamWOptions,
  ) {
    const zeroVar = (w: tf.Variable) => {
      // tf.variable keeps its initial tensor alive as a separate tensor: dispose it
      const z = tf.zerosLike(w);
      const v = tf.variable(z, false);
      z.dispose();
      return v;
    };
    for (const [k, w] of vars) {
      this.m.set(k, zeroVar(w));
      this.v.set(k, zeroVar(w));
    }
  }

  /**
   * Clips `grads` to the global norm and applies one update. Does not dispose `grads`.
   * @returns the gradient norm before clipping and the learning rate used
   */
  apply(grads: Map<string, Tensor>): { gradNorm: number; lr: number } {
    this.step++;
    const lr = lrAt(this.opts, this.step);
    const b1 = this.opts.beta1 ?? 0.9;
    const b2 = this.opts.beta2 ?? 0.999;
    const eps = this.opts.eps ?? 1e-8;
    const gradNorm = tf.tidy(() => {
      const sq = [...grads.values()].map((g) => tf.sum(tf.square(g)));
      return Math.sqrt(tf.addN(sq).dataSync()[0] as number);
    });
    const scale = gradNorm > this.opts.clipNorm ? this.opts.clipNorm / (gradNorm + 1e-12) : 1;
    const c1 = 1 - b1 ** this.step;
    const c2 = 1 - b2 ** this.step;
    tf.tidy(() => {
      for (const [k, w] of this.vars) {
        const g0 = grads.get(k);
        if (!g0) continue;
        const g = scale === 1 ? g0 : tf.mul(g0, scale);
        const m = this.m.get(k) as tf.Variable;
        const v = this.v.get(k) as tf.Variable;
        m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
        v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
        let upd = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps));
        if (this.decayed.has(k) && this.opts.weightDecay > 0) upd = tf.add(upd, tf.mul(w, this.opts.weightDecay));
        w.assign(tf.sub(w, tf.mul(upd, lr)));
      }
    });
    return { gradNorm, lr };
  }

  /** A copy of the state (for checkpoints). */
  state(): AdamWState {
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const [k, t] of this.m) m.set(k, t.dataSync() as Float32Array);
    for (const [k, t] of this.v) v.set(k, t.dataSync() as Float32Array);
    return { step: this.step, m, v };
  }

  /** Restores a state from `state()`. */
  load(s: AdamWState): void {
    this.step = s.step;
    for (const [src, dst] of [
      [s.m, this.m],
      [s.v, this.v],
    ] as const) {
      for (const [k, a] of src) {
        const t = dst.get(k);
        if (!t) continue;
        const x = tf.tensor(a, t.shape, 'float32');
        t.assign(x);
        x.dispose();
      }
    }
  }

  /** Frees the moments. */
  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
