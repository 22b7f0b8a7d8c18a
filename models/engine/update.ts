/**
 * AdamW as graph nodes appended to a training graph, so one onnxruntime run computes the loss, the
 * gradients and the optimiser step, multi-threaded and without the gradients ever leaving the session:
 * the update of models/optim.ts (global-norm clipping, bias-corrected moments, decoupled weight decay on
 * the decayed names), with the step's learning rate and bias corrections fed as scalars (`lrAt`).
 */
import { Attr, type GraphBuilder } from '../onnx/proto.js';
import type { AdamWOptions } from '../optim.js';
import type { Value } from './autodiff.js';

/** The run-constant AdamW hyper-parameters baked into the graph. */
export interface AdamWConstants {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  clipNorm: number;
  /** Names of the weights that get weight decay. */
  decayed: ReadonlySet<string>;
}

/** The graph constants of `opts` (defaults as models/optim.ts: beta1 0.9, beta2 0.999, eps 1e-8). */
export function adamWConstants(opts: AdamWOptions, decayed: ReadonlySet<string>): AdamWConstants {
  return {
    beta1: opts.beta1 ?? 0.9,
    beta2: opts.beta2 ?? 0.999,
    eps: opts.eps ?? 1e-8,
    weightDecay: opts.weightDecay,
    clipNorm: opts.clipNorm,
    decayed,
  };
}

/** Input names of the per-step scalars: learning rate and the bias corrections 1 - beta^step. */
export const STEP_INPUTS = { lr: 'adam.lr', c1: 'adam.c1', c2: 'adam.c2' } as const;

/**
 * Appends the update of every weight. Inputs added: the step scalars (`STEP_INPUTS`) and the moments
 * `adam_m.<name>`, `adam_v.<name>`; outputs: `grad_norm` (before clipping) and the updated
 * `next.<name>`, `next_m.<name>`, `next_v.<name>`.
 */
export function appendAdamW(
  g: GraphBuilder,
  params: readonly Value[],
  grads: readonly string[],
  c: AdamWConstants,
): void {
  const scalar = (name: string) => g.input(name, 'FLOAT', []);
  const lr = scalar(STEP_INPUTS.lr);
  const c1 = scalar(STEP_INPUTS.c1);
  const c2 = scalar(STEP_INPUTS.c2);
  const k = (v: number) => g.f32([v], []);
  const squares = grads.map((d) => g.node('ReduceSumSquare', [d], { keepdims: Attr.i(0) }));
  const norm = g.sqrt(squares.length === 1 ? (squares[0] as string) : g.node('Sum', squares));
  g.output(norm, 'grad_norm', 'FLOAT', []);
  const clip = k(c.clipNorm);
  const scale = g.where(g.node('Greater', [norm, clip]), g.div(clip, g.add(norm, k(1e-12))), k(1));
  params.forEach((p, i) => {
    const m = g.input(`adam_m.${p.name}`, 'FLOAT', p.shape);
    const v = g.input(`adam_v.${p.name}`, 'FLOAT', p.shape);
    const gs = g.mul(grads[i] as string, scale);
    const m2 = g.add(g.mul(m, k(c.beta1)), g.mul(gs, k(1 - c.beta1)));
    const v2 = g.add(g.mul(v, k(c.beta2)), g.mul(g.mul(gs, gs), k(1 - c.beta2)));
    let upd = g.div(g.div(m2, c1), g.add(g.sqrt(g.div(v2, c2)), k(c.eps)));
    if (c.decayed.has(p.name) && c.weightDecay > 0) upd = g.add(upd, g.mul(p.name, k(c.weightDecay)));
    g.output(g.sub(p.name, g.mul(upd, lr)), `next.${p.name}`, 'FLOAT', p.shape);
    g.output(m2, `next_m.${p.name}`, 'FLOAT', p.shape);
    g.output(v2, `next_v.${p.name}`, 'FLOAT', p.shape);
  });
}
